"""Pure decision rules for the artifact side of inventory (PRODUCT.md rules 4, 5, 6 and 8).

No ORM and no clock: plain values in, a frozen outcome out. Services feed these functions what they
read under the inventory row lock and write what comes back. Each table is a tuple of rows; the first
row whose predicate holds decides, and ``docs/provenance.md`` is rendered from the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from inventory.choices import (
    CheckStatus,
    DataState,
    DeploymentState,
    Freshness,
    InventoryEffect,
    InventoryState,
    RuntimeIdentityStatus,
)

CHECKS = ("health", "canonical", "logo")
IDENTITY_KEYS = ("context", "instance", "deployment_record_id", "artifact_id", "source_git_ref")

ID = RuntimeIdentityStatus
CS = CheckStatus

# Identity outcomes that always count against the environment, whatever requires_runtime_identity says.
IDENTITY_AGAINST = frozenset({ID.MISMATCH, ID.MALFORMED})
# Identity outcomes that leave the runtime unverified where identity is required.
IDENTITY_UNPROVEN = frozenset({ID.MISSING, ID.UNVERIFIABLE, ID.UNCHECKED})
CHECK_NOT_PASSED = frozenset({CS.SKIPPED, CS.NOT_RUN, CS.UNKNOWN})

# ---------------------------------------------------------------------------------------------------
# Decision tables: an ordered list of rows, first match wins.
# ---------------------------------------------------------------------------------------------------

F = TypeVar("F")
R = TypeVar("R")


@dataclass(frozen=True)
class Row(Generic[F, R]):
    """One row of a decision table: when ``matches(facts)`` holds, the row decides ``result``.

    A row carries everything it decides (NetBox's ChoiceSet keeps value, label and colour together the
    same way): its condition, its words for the rendered table, and its result — so inserting or
    reordering rows changes nothing but which row matches first.
    """

    when: str  # the row's condition as PRODUCT.md words it
    matches: Callable[[F], bool]
    then: Mapping[str, str]  # column name -> what the row sets, for the rendered table
    result: R


def first_match(rows: Sequence[Row[F, R]], facts: F) -> tuple[int, Row[F, R]]:
    """Index and row of the first row that matches. Tables end with a catch-all, so one always does."""
    for index, row in enumerate(rows):
        if row.matches(facts):
            return index, row
    raise AssertionError("decision table without a catch-all row")  # pragma: no cover


def no_detail(facts: object) -> str:
    return ""


# ---------------------------------------------------------------------------------------------------
# Runtime identity (rule 5)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityInput:
    """What a record said about the runtime's identity.

    ``sent`` is False when the field was left out. ``value`` is what was sent (``None`` for JSON
    null). ``unverifiable`` is True when the client sent ``runtime_identity_status: "unverifiable"``.
    """

    sent: bool = False
    value: Any = None
    unverifiable: bool = False

    @property
    def is_contradictory(self) -> bool:
        """Unverifiable together with a non-null identity cannot both be true."""
        return self.unverifiable and self.sent and self.value is not None

    @property
    def carries_identity(self) -> bool:
        """Whether the record says anything about the runtime (and so updates inventory's view)."""
        return self.sent or self.unverifiable


NOT_SENT = IdentityInput()


@dataclass(frozen=True)
class IdentityComparison:
    status: RuntimeIdentityStatus
    mismatches: tuple[str, ...] = ()


def expected_identity(
    *, context: str, instance: str, deployment_record_id: str, artifact_id: str, source_git_ref: str
) -> dict[str, str]:
    """The identity a runtime should report when it runs the given deployment."""
    return {
        "context": context,
        "instance": instance,
        "deployment_record_id": deployment_record_id,
        "artifact_id": artifact_id,
        "source_git_ref": source_git_ref,
    }


def compare_identity(expected: Mapping[str, Any] | None, observed: IdentityInput) -> IdentityComparison:
    """Compare an observed runtime identity with the expected one (rule 5).

    Every non-empty expected key must be equal, as an exact string, in the observed object; an absent
    key is a difference. ``missing`` and ``malformed`` describe what was sent and apply even when
    there is nothing to compare with. Callers reject contradictory input before comparing.
    """
    if observed.unverifiable:
        return IdentityComparison(ID.UNVERIFIABLE)
    if not observed.sent:
        return IdentityComparison(ID.UNCHECKED)
    if observed.value is None:
        return IdentityComparison(ID.MISSING)
    if not isinstance(observed.value, Mapping):
        return IdentityComparison(ID.MALFORMED)
    if not expected:
        return IdentityComparison(ID.UNCHECKED)
    differing = tuple(
        key
        for key in IDENTITY_KEYS
        if expected.get(key) not in (None, "")
        and not (isinstance(observed.value.get(key), str) and observed.value.get(key) == expected[key])
    )
    if not any(expected.get(key) not in (None, "") for key in IDENTITY_KEYS):
        return IdentityComparison(ID.UNCHECKED)
    return IdentityComparison(ID.MISMATCH, differing) if differing else IdentityComparison(ID.MATCH)


# ---------------------------------------------------------------------------------------------------
# Combining the two sides (the board's ``state``)
# ---------------------------------------------------------------------------------------------------

# Most severe first. Data ``untouched`` counts as ``current``.
SEVERITY = tuple(InventoryState.values)


def severity(state: str) -> int:
    """Lower is worse. ``untouched`` ranks as ``current``."""
    return SEVERITY.index(InventoryState.CURRENT if state == DataState.UNTOUCHED else state)


def combine(deployment_state: str, data_state: str) -> InventoryState:
    """The more severe of the two sides."""
    return InventoryState(SEVERITY[min(severity(deployment_state), severity(data_state))])


def is_worse(new: str, old: str) -> bool:
    """Whether ``new`` is a strictly more severe state than ``old`` (on the board's scale)."""
    return severity(new) < severity(old)


_DEPLOYMENT_SIDE: dict[str, str] = {
    DeploymentState.UNRECORDED: "no artifact deployment is recorded",
    DeploymentState.UNVERIFIED: "the deployment is unverified",
    DeploymentState.VERIFICATION_FAILED: "the deployment failed verification",
    DeploymentState.STALE_INVENTORY: "the runtime reports an identity other than the recorded deployment",
}
_DATA_SIDE: dict[str, str] = {
    DataState.BOOTSTRAP_IN_PROGRESS: "a data bootstrap is in progress",
    DataState.UNKNOWN: "the outcome of the last data bootstrap is unknown",
    DataState.PARTIALLY_BOOTSTRAPPED: "the data is partially bootstrapped",
    DataState.VERIFICATION_FAILED: "the bootstrapped data failed verification",
    DataState.UNVERIFIED: "the bootstrapped data is unverified",
}


def state_reason(
    deployment_state: str,
    data_state: str,
    *,
    deployment_detail: str = "",
    data_detail: str = "",
    notes: Sequence[str] = (),
) -> str:
    """One sentence naming each side that is not current, with what is known about why."""
    parts: list[str] = []
    if data_state in _DATA_SIDE:
        parts.append(_DATA_SIDE[data_state] + (f" ({data_detail})" if data_detail else ""))
    if deployment_state in _DEPLOYMENT_SIDE:
        parts.append(_DEPLOYMENT_SIDE[deployment_state] + (f" ({deployment_detail})" if deployment_detail else ""))
    if not parts:
        parts.append(
            "the deployment and the data are current"
            if data_state == DataState.CURRENT
            else "the deployment is current and no data bootstrap has changed the data"
        )
    # A current side may still carry a remark: a check that failed but is not required.
    if deployment_state == DeploymentState.CURRENT and deployment_detail:
        parts.append(deployment_detail)
    if data_state in (DataState.CURRENT, DataState.UNTOUCHED) and data_detail:
        parts.append(data_detail)
    parts.extend(notes)
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."


def human_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def checks_phrase(names: Sequence[str], verb: str) -> str:
    """``health check failed``, ``canonical and logo checks not run``."""
    label = [name.replace("_", "-") for name in names]
    return f"{human_list(label)} check{'s' if len(label) > 1 else ''} {verb}"


def identity_phrase(comparison: IdentityComparison) -> str:
    if comparison.status == ID.MISMATCH:
        return f"runtime identity mismatch on {human_list(list(comparison.mismatches))}"
    return {
        ID.MALFORMED: "runtime identity malformed",
        ID.MISSING: "runtime reported no identity",
        ID.UNVERIFIABLE: "runtime identity unverifiable",
        ID.UNCHECKED: "runtime identity not checked",
        ID.MATCH: "runtime identity matches",
    }[comparison.status]


def unpassed_phrases(statuses: Mapping[str, str], names: Sequence[str]) -> list[str]:
    """Phrases for the named checks that did not pass, grouped by status (``logo check not run``)."""
    phrases = []
    for status, verb in (
        (CS.FAIL, "failed"),
        (CS.UNKNOWN, "unknown"),
        (CS.NOT_RUN, "not run"),
        (CS.SKIPPED, "skipped"),
    ):
        matching = [name for name in names if statuses[name] == status]
        if matching:
            phrases.append(checks_phrase(matching, verb))
    return phrases


# ---------------------------------------------------------------------------------------------------
# Ordering (rule 4)
# ---------------------------------------------------------------------------------------------------


def deployment_is_superseded(finished_at: datetime, current_finished_at: datetime | None) -> bool:
    """A deployment that finished before the current one is superseded; ties go to arrival."""
    return current_finished_at is not None and finished_at < current_finished_at


def observation_is_superseded(observed_at: datetime, current_finished_at: datetime | None) -> bool:
    """An observation made before the current deployment finished says nothing about it."""
    return current_finished_at is not None and observed_at < current_finished_at


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


def _identity_detail(f: DeploymentFacts | ObservationFacts) -> str:
    return identity_phrase(f.identity)


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
        DeploymentDecision(False, DeploymentState.STALE_INVENTORY, InventoryEffect.MARKED, _identity_detail),
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
        DeploymentDecision(True, DeploymentState.STALE_INVENTORY, InventoryEffect.MARKED, _identity_detail),
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


def effect_for(effect: InventoryEffect | None, state: InventoryState) -> InventoryEffect:
    """A row's effect; ``None`` means ``advanced`` when the state is now current, else ``retained``."""
    if effect is not None:
        return effect
    return InventoryEffect.ADVANCED if state == InventoryState.CURRENT else InventoryEffect.RETAINED


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


# ---------------------------------------------------------------------------------------------------
# Observations (rule 8)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObservationFacts:
    identity: IdentityComparison
    deployment_state: str
    data_state: str
    identity_required: bool = True


@dataclass(frozen=True)
class ObservationOutcome:
    row: int
    deployment_state: DeploymentState
    data_state: str
    state: InventoryState
    effect: InventoryEffect
    detail: str


@dataclass(frozen=True)
class ObservationDecision:
    """What an observation row decides."""

    deployment_state: DeploymentState | None  # None: unchanged
    effect: InventoryEffect
    detail: Callable[[ObservationFacts], str] = no_detail


OBSERVATION_ROWS: tuple[Row[ObservationFacts, ObservationDecision], ...] = (
    Row(
        "identity `mismatch` or `malformed`",
        lambda f: f.identity.status in IDENTITY_AGAINST,
        {"deployment_state": "`stale_inventory`", "effect": "`marked`"},
        ObservationDecision(DeploymentState.STALE_INVENTORY, InventoryEffect.MARKED, _identity_detail),
    ),
    Row(
        "identity `match` while `stale_inventory`",
        lambda f: f.identity.status == ID.MATCH and f.deployment_state == DeploymentState.STALE_INVENTORY,
        {"deployment_state": "`unverified` (the checks were not re-run)", "effect": "`marked`"},
        ObservationDecision(
            DeploymentState.UNVERIFIED,
            InventoryEffect.MARKED,
            lambda f: "the runtime matches again but the checks were not re-run",
        ),
    ),
    Row(
        "identity `missing` or `unverifiable` where required, while `current`",
        lambda f: (
            f.identity_required
            and f.identity.status in (ID.MISSING, ID.UNVERIFIABLE)
            and f.deployment_state == DeploymentState.CURRENT
        ),
        {"deployment_state": "`unverified`", "effect": "`marked`"},
        ObservationDecision(DeploymentState.UNVERIFIED, InventoryEffect.MARKED, _identity_detail),
    ),
    Row(
        "otherwise",
        lambda f: True,
        {"deployment_state": "unchanged", "effect": "`retained`"},
        ObservationDecision(None, InventoryEffect.RETAINED),
    ),
)


def decide_observation(f: ObservationFacts) -> ObservationOutcome:
    """Rule 8: what an observation of the runtime does. It never moves last known good."""
    index, row = first_match(OBSERVATION_ROWS, f)
    decision = row.result
    deployment_state = decision.deployment_state or DeploymentState(f.deployment_state)
    return ObservationOutcome(
        index,
        deployment_state,
        f.data_state,
        combine(deployment_state, f.data_state),
        decision.effect,
        decision.detail(f),
    )


# ---------------------------------------------------------------------------------------------------
# Freshness (derived, never stored)
# ---------------------------------------------------------------------------------------------------


def freshness(now: datetime, *, has_records: bool, verified_at: datetime | None, ttl_seconds: int) -> Freshness:
    """How recent the last verification is, measured from last known good's ``verified_at``."""
    if verified_at is None:
        return Freshness.RECORDED if has_records else Freshness.MISSING
    if now - verified_at <= timedelta(seconds=ttl_seconds):
        return Freshness.VERIFIED
    return Freshness.STALE
