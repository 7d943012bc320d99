"""Rule 6: what an artifact deployment does to the artifact side."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from inventory.choices import (
    DataState,
    DeploymentState,
    InventoryEffect,
    InventoryState,
)
from inventory.rules.core import (
    CHECK_NOT_PASSED,
    CS,
    Row,
    checks_phrase,
    combine,
    effect_for,
    first_match,
    identity_detail,
    identity_phrase,
    no_detail,
    unpassed_phrases,
)
from inventory.rules.identity import ID, IDENTITY_AGAINST, IDENTITY_UNPROVEN, IdentityComparison

# ---------------------------------------------------------------------------------------------------
# Deployments (rule 6)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeploymentFacts:
    """What rule 6 looks at. ``identity`` is already compared (with itself on pass, else with the
    current deployment)."""

    deploy_status: str
    post_deploy_status: str = CS.NOT_RUN
    health_status: str = CS.NOT_RUN
    identity: IdentityComparison = IdentityComparison(ID.UNCHECKED)
    health_required: bool = True
    identity_required: bool = True
    data_state: str = DataState.UNTOUCHED  # the data side as it stands; deployments never change it
    deployment_state: str = DeploymentState.UNRECORDED  # the artifact side before this record


@dataclass(frozen=True)
class DeploymentOutcome:
    row: int
    moves_pointer: bool
    deployment_state: DeploymentState
    data_state: str
    state: InventoryState
    effect: InventoryEffect
    detail: str  # why the artifact side is what it is now
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def advances(self) -> bool:
        return self.effect == InventoryEffect.ADVANCED


def _deployment_unverified(f: DeploymentFacts) -> bool:
    return (
        f.post_deploy_status in (CS.NOT_RUN, CS.UNKNOWN)
        or (f.health_required and f.health_status in CHECK_NOT_PASSED)
        or (f.identity_required and f.identity.status in IDENTITY_UNPROVEN)
    )


def _failed_checks_detail(f: DeploymentFacts) -> str:
    failed = ["post_deploy"] if f.post_deploy_status == CS.FAIL else []
    failed += ["health"] if f.health_required and f.health_status == CS.FAIL else []
    return checks_phrase(failed, "failed")


def _unverified_detail(f: DeploymentFacts) -> str:
    checks = {"post_deploy": f.post_deploy_status, "health": f.health_status}
    phrases = []
    if f.post_deploy_status in (CS.NOT_RUN, CS.UNKNOWN):
        phrases += unpassed_phrases(checks, ["post_deploy"])
    if f.health_required and f.health_status in CHECK_NOT_PASSED:
        phrases += unpassed_phrases(checks, ["health"])
    if f.identity_required and f.identity.status in IDENTITY_UNPROVEN:
        phrases.append(identity_phrase(f.identity))
    return ", ".join(phrases)


@dataclass(frozen=True)
class DeploymentDecision:
    """What a deployment row decides."""

    moves_pointer: bool  # the record becomes the current deployment
    deployment_state: DeploymentState | None  # None: the artifact side stays as it is
    effect: InventoryEffect | None  # None: ``advanced`` if the state is now current, else ``retained``
    detail: Callable[[DeploymentFacts], str] = no_detail  # why the artifact side is what it is now


DEPLOYMENT_ROWS: tuple[Row[DeploymentFacts, DeploymentDecision], ...] = (
    Row(
        "deploy `fail`, identity `mismatch` or `malformed` against the current deployment",
        lambda f: f.deploy_status == CS.FAIL and f.identity.status in IDENTITY_AGAINST,
        {"current deployment pointer": "unchanged", "deployment_state": "`stale_inventory`", "effect": "`marked`"},
        DeploymentDecision(False, DeploymentState.STALE_INVENTORY, InventoryEffect.MARKED, identity_detail),
    ),
    Row(
        "deploy `fail`",
        lambda f: f.deploy_status == CS.FAIL,
        {"current deployment pointer": "unchanged", "deployment_state": "unchanged", "effect": "`retained`"},
        DeploymentDecision(False, None, InventoryEffect.RETAINED),
    ),
    Row(
        "deploy `pass`, identity `mismatch` or `malformed`",
        lambda f: f.identity.status in IDENTITY_AGAINST,
        {"current deployment pointer": "this record", "deployment_state": "`stale_inventory`", "effect": "`marked`"},
        DeploymentDecision(True, DeploymentState.STALE_INVENTORY, InventoryEffect.MARKED, identity_detail),
    ),
    Row(
        "deploy `pass`, post-deploy `fail`, or health `fail` where required",
        lambda f: f.post_deploy_status == CS.FAIL or (f.health_required and f.health_status == CS.FAIL),
        {
            "current deployment pointer": "this record",
            "deployment_state": "`verification_failed`",
            "effect": "`marked`",
        },
        DeploymentDecision(True, DeploymentState.VERIFICATION_FAILED, InventoryEffect.MARKED, _failed_checks_detail),
    ),
    Row(
        "deploy `pass`, post-deploy `not_run`/`unknown`, health `skipped`/`not_run`/`unknown` where required, "
        "or identity `missing`/`unverifiable`/`unchecked` where required",
        _deployment_unverified,
        {"current deployment pointer": "this record", "deployment_state": "`unverified`", "effect": "`marked`"},
        DeploymentDecision(True, DeploymentState.UNVERIFIED, InventoryEffect.MARKED, _unverified_detail),
    ),
    Row(
        "deploy `pass`, everything else",
        lambda f: True,
        {
            "current deployment pointer": "this record",
            "deployment_state": "`current`",
            "effect": "`advanced` if `state` is now `current`, else `retained`",
        },
        DeploymentDecision(True, DeploymentState.CURRENT, None),
    ),
)


def decide_deployment(f: DeploymentFacts) -> DeploymentOutcome:
    """Rule 6: what one artifact deployment does to the artifact side. First matching row wins."""
    index, row = first_match(DEPLOYMENT_ROWS, f)
    decision = row.result
    deployment_state = decision.deployment_state or DeploymentState(f.deployment_state)
    state = combine(deployment_state, f.data_state)
    notes: tuple[str, ...] = ()
    if f.deploy_status == CS.PASS and not f.health_required and f.health_status == CS.FAIL:
        notes = ("health check failed but is not required",)
    return DeploymentOutcome(
        index,
        decision.moves_pointer,
        deployment_state,
        f.data_state,
        state,
        effect_for(decision.effect, state),
        decision.detail(f),
        notes,
    )
