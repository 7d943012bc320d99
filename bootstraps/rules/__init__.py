"""Pure decision rules for data bootstraps (PRODUCT.md rule 7) and their reconciliation (rule 16).

An outcome is found in three steps: superseded (rule 4), no result (a deadline or a cancel), or a
result judged on its own fields by ``RESULT_ROWS`` — first matching row wins. A reviewer's reconciliation
is judged by ``RECONCILIATION_ROWS`` the same way, in ``bootstraps.rules.reconciliation``. No ORM, no
clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bootstraps.choices import ACTIVE_RUN_STATUSES, Readiness
from inventory.choices import CheckStatus, DataState, DeploymentState, InventoryEffect, InventoryState
from inventory.rules import (
    CHECK_NOT_PASSED,
    CHECKS,
    IDENTITY_AGAINST,
    IDENTITY_UNPROVEN,
    IdentityComparison,
    IdentityInput,
    Row,
    checks_phrase,
    combine,
    effect_for,
    first_match,
    identity_phrase,
    no_detail,
    unpassed_phrases,
)
from inventory.rules import ID as IdentityStatus

CS = CheckStatus


# ---------------------------------------------------------------------------------------------------
# Contradictions
# ---------------------------------------------------------------------------------------------------


def contradictions(
    *, bootstrap_run_status: str, data_mutated: bool | None, post_deploy_status: str, identity: IdentityInput
) -> dict[str, str]:
    """Fields of a result that cannot all be true, each with why. Empty when the result is coherent."""
    found: dict[str, str] = {}
    if bootstrap_run_status in ACTIVE_RUN_STATUSES:
        found["bootstrap_run_status"] = f"A result cannot report bootstrap_run_status {bootstrap_run_status!r}."
    if bootstrap_run_status == "not_run" and data_mutated is not False:
        found["data_mutated"] = "A run that did not run cannot have changed data: data_mutated must be false."
    if bootstrap_run_status == "pass" and data_mutated is False:
        found["data_mutated"] = "A passing bootstrap changes data: data_mutated cannot be false."
    if bootstrap_run_status in ("fail", "not_run") and post_deploy_status in (CS.PASS, CS.FAIL):
        found["post_deploy_status"] = (
            f"The post-deploy update cannot have run ({post_deploy_status!r}) after a bootstrap run "
            f"{bootstrap_run_status!r}."
        )
    if identity.is_contradictory:
        found["runtime_identity_status"] = "'unverifiable' cannot be sent together with a runtime identity."
        found["observed_runtime_identity"] = "A runtime identity cannot be sent together with 'unverifiable'."
    return found


def unmutating_contradiction(*, known: bool | None, reported: bool | None) -> dict[str, str]:
    """Data the operation already knows changed (a progress event said so) cannot un-change: a later
    ``data_mutated: false`` — in an event, a cancel or a result — contradicts it."""
    if known is True and reported is False:
        return {"data_mutated": "already reported true"}
    return {}


# ---------------------------------------------------------------------------------------------------
# Step 2: no result (deadline passed or cancelled)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BootstrapOutcome:
    row: int  # index into RESULT_ROWS; -1 for step 2
    readiness_status: str
    data_state: str
    deployment_state: str
    state: InventoryState
    effect: InventoryEffect
    data_detail: str
    deployment_detail: str | None = None  # None: the artifact side's detail stays as it is
    notes: tuple[str, ...] = field(default_factory=tuple)
    bootstrap_run_status: str | None = None  # set by step 2, which forces "unknown"
    restores_data_state: bool = False  # the data side goes back to what it was before the start, with its detail

    @property
    def advances(self) -> bool:
        return self.effect == InventoryEffect.ADVANCED


def decide_without_result(
    *, data_mutated: bool | None, data_state_before: str, data_detail_before: str, deployment_state: str, why: str
) -> BootstrapOutcome:
    """Step 2: the deadline passed or the operation was cancelled before any result arrived."""
    if data_mutated is False:
        data_state, effect, detail = data_state_before, InventoryEffect.RETAINED, data_detail_before
    else:
        data_state, effect = DataState.UNKNOWN, InventoryEffect.MARKED
        mutated = "data may have changed" if data_mutated is None else "data had changed"
        detail = f"{why}; {mutated}"
    return BootstrapOutcome(
        row=-1,
        readiness_status=Readiness.UNKNOWN,
        data_state=data_state,
        deployment_state=deployment_state,
        state=combine(deployment_state, data_state),
        effect=effect,
        data_detail=detail,
        bootstrap_run_status="unknown",
    )


# ---------------------------------------------------------------------------------------------------
# Step 3: a result, judged on its own fields
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultFacts:
    """A coherent result (``contradictions`` returned nothing) and the inventory it lands on."""

    bootstrap_run_status: str
    data_mutated: bool | None
    post_deploy_status: str = CS.NOT_RUN
    checks: Mapping[str, str] = field(default_factory=lambda: {name: CS.NOT_RUN for name in CHECKS})
    identity: IdentityComparison = IdentityComparison(IdentityStatus.UNCHECKED)
    required_checks: frozenset[str] = frozenset(CHECKS)
    identity_required: bool = True
    data_state_before: str = DataState.UNTOUCHED
    data_detail_before: str = ""
    deployment_state: str = DeploymentState.UNRECORDED

    def required_with(self, statuses: frozenset[str] | tuple[str, ...]) -> list[str]:
        return [name for name in CHECKS if name in self.required_checks and self.checks[name] in statuses]


def _run(status: str, *mutated: bool | None) -> Callable[[ResultFacts], bool]:
    return lambda f: f.bootstrap_run_status == status and (not mutated or f.data_mutated in mutated)


def _mutation_detail(f: ResultFacts) -> str:
    mutated = {True: "data changed", False: "data unchanged", None: "data may have changed"}[f.data_mutated]
    return f"the bootstrap run reported {f.bootstrap_run_status}; {mutated}"


def _post_deploy_detail(f: ResultFacts) -> str:
    return ", ".join(unpassed_phrases({"post_deploy": f.post_deploy_status}, ["post_deploy"]))


def _failed_checks_detail(f: ResultFacts) -> str:
    return checks_phrase(f.required_with((CS.FAIL,)), "failed")


def _unverified_detail(f: ResultFacts) -> str:
    phrases = unpassed_phrases(f.checks, f.required_with(tuple(CHECK_NOT_PASSED)))
    if f.identity_required and f.identity.status in IDENTITY_UNPROVEN:
        phrases.append(identity_phrase(f.identity))
    return ", ".join(phrases)


@dataclass(frozen=True)
class ResultDecision:
    """What a result row decides about the operation and the data side."""

    readiness_status: str
    data_state: str | None  # None: the data state from before the start, with its own detail
    effect: InventoryEffect | None  # None: ``advanced`` if the state is now current, else ``retained``
    detail: Callable[[ResultFacts], str] = no_detail  # why the data side is what it is now
    proves_runtime: bool = False  # a matching identity makes the artifact side current

    @property
    def restores_data_state(self) -> bool:
        return self.data_state is None


RESULT_ROWS: tuple[Row[ResultFacts, ResultDecision], ...] = (
    Row(
        "run `not_run`",
        _run("not_run"),
        {"readiness_status": "`not_run`", "data_state": "before the start", "effect": "`retained`"},
        ResultDecision(Readiness.NOT_RUN, None, InventoryEffect.RETAINED),
    ),
    Row(
        "run `fail`, data_mutated false",
        _run("fail", False),
        {"readiness_status": "`failed_before_mutation`", "data_state": "before the start", "effect": "`retained`"},
        ResultDecision(Readiness.FAILED_BEFORE_MUTATION, None, InventoryEffect.RETAINED),
    ),
    Row(
        "run `unknown`, data_mutated false",
        _run("unknown", False),
        {"readiness_status": "`unknown`", "data_state": "before the start", "effect": "`retained`"},
        ResultDecision(Readiness.UNKNOWN, None, InventoryEffect.RETAINED),
    ),
    Row(
        "run `fail`, data_mutated true",
        _run("fail", True),
        {
            "readiness_status": "`partially_bootstrapped`",
            "data_state": "`partially_bootstrapped`",
            "effect": "`marked`",
        },
        ResultDecision(
            Readiness.PARTIALLY_BOOTSTRAPPED,
            DataState.PARTIALLY_BOOTSTRAPPED,
            InventoryEffect.MARKED,
            lambda f: "the bootstrap run failed after changing data",
        ),
    ),
    Row(
        "run `fail` with data_mutated null, or run `unknown` with true or null",
        lambda f: _run("fail", None)(f) or _run("unknown", True, None)(f),
        {"readiness_status": "`unknown`", "data_state": "`unknown`", "effect": "`marked`"},
        ResultDecision(Readiness.UNKNOWN, DataState.UNKNOWN, InventoryEffect.MARKED, _mutation_detail),
    ),
    Row(
        "run `pass`, post-deploy `fail`, `unknown` or `not_run`",
        lambda f: f.post_deploy_status in (CS.FAIL, CS.UNKNOWN, CS.NOT_RUN),
        {
            "readiness_status": "`partially_bootstrapped`",
            "data_state": "`partially_bootstrapped`",
            "effect": "`marked`",
        },
        ResultDecision(
            Readiness.PARTIALLY_BOOTSTRAPPED,
            DataState.PARTIALLY_BOOTSTRAPPED,
            InventoryEffect.MARKED,
            _post_deploy_detail,
        ),
    ),
    Row(
        "run `pass`, identity `mismatch` or `malformed`",
        lambda f: f.identity.status in IDENTITY_AGAINST,
        {
            "readiness_status": "`verification_failed`",
            "data_state": "`verification_failed`, and `deployment_state` `stale_inventory`",
            "effect": "`marked`",
        },
        # The artifact side is marked by the identity rule below, as on every row.
        ResultDecision(
            Readiness.VERIFICATION_FAILED,
            DataState.VERIFICATION_FAILED,
            InventoryEffect.MARKED,
            lambda f: identity_phrase(f.identity),
        ),
    ),
    Row(
        "run `pass`, a required check (health, canonical, logo) `fail`",
        lambda f: bool(f.required_with((CS.FAIL,))),
        {"readiness_status": "`verification_failed`", "data_state": "`verification_failed`", "effect": "`marked`"},
        ResultDecision(
            Readiness.VERIFICATION_FAILED, DataState.VERIFICATION_FAILED, InventoryEffect.MARKED, _failed_checks_detail
        ),
    ),
    Row(
        "run `pass`, a required check `skipped`/`not_run`/`unknown`, or identity "
        "`missing`/`unverifiable`/`unchecked` where required",
        lambda f: (
            bool(f.required_with(tuple(CHECK_NOT_PASSED)))
            or (f.identity_required and f.identity.status in IDENTITY_UNPROVEN)
        ),
        {"readiness_status": "`unverified`", "data_state": "`unverified`", "effect": "`marked`"},
        ResultDecision(Readiness.UNVERIFIED, DataState.UNVERIFIED, InventoryEffect.MARKED, _unverified_detail),
    ),
    Row(
        "run `pass`, everything else",
        lambda f: True,
        {
            "readiness_status": "`ready`",
            "data_state": "`current`, and `deployment_state` `current` when the identity matched",
            "effect": "`advanced` if `state` is now `current`, else `retained`",
        },
        ResultDecision(Readiness.READY, DataState.CURRENT, None, proves_runtime=True),
    ),
)


def decide_result(f: ResultFacts) -> BootstrapOutcome:
    """Step 3: what a coherent result does to inventory. First matching row wins."""
    index, row = first_match(RESULT_ROWS, f)
    decision = row.result
    data_state = decision.data_state or f.data_state_before
    deployment_state = f.deployment_state
    deployment_detail: str | None = None
    effect = decision.effect
    if f.identity.status in IDENTITY_AGAINST:
        # Identity is judged on every applied result, whatever row decides the data side (rule 7):
        # a runtime reporting another identity always counts against the environment (rule 5).
        deployment_state, deployment_detail = DeploymentState.STALE_INVENTORY, identity_phrase(f.identity)
        effect = InventoryEffect.MARKED
    elif (
        decision.proves_runtime
        and f.identity.status == IdentityStatus.MATCH
        and f.deployment_state != DeploymentState.CURRENT
    ):
        # The runtime proved the deployment: the artifact side becomes current and says why no more. A
        # side that was current already keeps its remarks (a health check that failed unrequired).
        deployment_state, deployment_detail = DeploymentState.CURRENT, ""
    state = combine(deployment_state, data_state)
    notes: tuple[str, ...] = ()
    if f.bootstrap_run_status == "pass":
        optional_failed = [name for name in CHECKS if name not in f.required_checks and f.checks[name] == CS.FAIL]
        if optional_failed:
            notes = (
                checks_phrase(optional_failed, "failed")
                + " but "
                + ("are" if len(optional_failed) > 1 else "is")
                + " not required",
            )
    return BootstrapOutcome(
        row=index,
        readiness_status=decision.readiness_status,
        data_state=data_state,
        deployment_state=deployment_state,
        state=state,
        effect=effect_for(effect, state),
        data_detail=f.data_detail_before if decision.restores_data_state else decision.detail(f),
        deployment_detail=deployment_detail,
        notes=notes,
        restores_data_state=decision.restores_data_state,
    )


def readiness_of(f: ResultFacts) -> str:
    """Readiness from step 3's table alone — what a superseded result is stored with."""
    return first_match(RESULT_ROWS, f)[1].result.readiness_status
