"""Rule 15: what one of Launchplane's own verification runs does to both sides."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from inventory.choices import DataState, DeploymentState, InventoryEffect, InventoryState
from inventory.rules.core import (
    CHECK_NOT_PASSED,
    CHECKS,
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

# Data states a passing run proves: the data was there, only its verification was missing or failed.
DATA_PROVEN_BY_VERIFICATION = frozenset({DataState.UNVERIFIED, DataState.VERIFICATION_FAILED})


@dataclass(frozen=True)
class VerificationFacts:
    """What rule 15 looks at, read under the inventory row lock when the run is applied.

    ``superseded``: the current deployment changed, or a bootstrap started, after the run began.
    ``checks`` maps each of health, canonical and logo to its status; ``failures`` to the probe's
    failure class where it failed. ``identity`` is already compared with the current deployment.
    """

    checks: Mapping[str, str]
    required_checks: tuple[str, ...] = CHECKS
    identity: IdentityComparison = IdentityComparison(ID.UNCHECKED)
    identity_required: bool = True
    deployment_state: str = DeploymentState.UNVERIFIED
    data_state: str = DataState.UNTOUCHED
    has_current_deployment: bool = True
    superseded: bool = False
    failures: Mapping[str, str] = field(default_factory=dict)

    def required(self, check: str) -> bool:
        return check in self.required_checks

    def required_with(self, statuses: frozenset[str] | set[str]) -> list[str]:
        return [name for name in CHECKS if self.required(name) and self.checks[name] in statuses]


@dataclass(frozen=True)
class VerificationDecision:
    """What a verification row decides. ``None`` states: that side stays as it is."""

    deployment_state: Callable[[VerificationFacts], str | None]
    data_state: Callable[[VerificationFacts], str | None]
    effect: InventoryEffect | None  # None: ``advanced`` if the state is now current, else ``retained``
    detail: Callable[[VerificationFacts], str] = no_detail
    # ``marked`` only when a side changed, else ``retained``.
    marks_only_on_change: bool = False


@dataclass(frozen=True)
class VerificationOutcome:
    row: int
    deployment_state: DeploymentState
    data_state: DataState
    state: InventoryState
    effect: InventoryEffect
    detail: str  # why the artifact side is what it is now
    notes: tuple[str, ...] = ()  # checks that failed without being required
    decides_deployment: bool = False  # the row set the artifact side (rather than leaving it as it was)

    @property
    def advances(self) -> bool:
        return self.effect == InventoryEffect.ADVANCED

    @property
    def superseded(self) -> bool:
        return self.effect == InventoryEffect.SUPERSEDED

    @property
    def applies(self) -> bool:
        """Whether the run changes inventory at all (and so appends a transition, rule 11)."""
        return self.effect != InventoryEffect.SUPERSEDED


def _failed_phrase(f: VerificationFacts, names: list[str]) -> str:
    classes = [f.failures.get(name, "") for name in names]
    phrase = checks_phrase(names, "failed")
    named = [c for c in classes if c]
    return phrase + (f" ({', '.join(named)})" if named else "")


def _failed_detail(f: VerificationFacts) -> str:
    return _failed_phrase(f, f.required_with({CS.FAIL}))


def _unproven(f: VerificationFacts) -> bool:
    return bool(f.required_with(set(CHECK_NOT_PASSED))) or (
        f.identity_required and f.identity.status in IDENTITY_UNPROVEN
    )


def _unproven_detail(f: VerificationFacts) -> str:
    phrases = unpassed_phrases(f.checks, f.required_with(set(CHECK_NOT_PASSED)))
    if f.identity_required and f.identity.status in IDENTITY_UNPROVEN:
        phrases.append(identity_phrase(f.identity))
    return ", ".join(phrases)


def _unchanged(f: VerificationFacts) -> None:
    return None


VERIFICATION_ROWS: tuple[Row[VerificationFacts, VerificationDecision], ...] = (
    Row(
        "the current deployment changed, or a bootstrap started, after the run began",
        lambda f: f.superseded,
        {"deployment_state": "unchanged", "data_state": "unchanged", "effect": "`superseded`"},
        VerificationDecision(_unchanged, _unchanged, InventoryEffect.SUPERSEDED),
    ),
    Row(
        "no current deployment",
        lambda f: not f.has_current_deployment,
        {"deployment_state": "unchanged", "data_state": "unchanged", "effect": "`retained` (the evidence is kept)"},
        VerificationDecision(
            _unchanged, _unchanged, InventoryEffect.RETAINED, lambda f: "no current deployment to verify"
        ),
    ),
    Row(
        "identity `mismatch` or `malformed`",
        lambda f: f.identity.status in IDENTITY_AGAINST,
        {"deployment_state": "`stale_inventory`", "data_state": "unchanged", "effect": "`marked`"},
        VerificationDecision(
            lambda f: DeploymentState.STALE_INVENTORY, _unchanged, InventoryEffect.MARKED, identity_detail
        ),
    ),
    Row(
        "a required check `fail`",
        lambda f: bool(f.required_with({CS.FAIL})),
        {"deployment_state": "`verification_failed`", "data_state": "unchanged", "effect": "`marked`"},
        VerificationDecision(
            lambda f: DeploymentState.VERIFICATION_FAILED, _unchanged, InventoryEffect.MARKED, _failed_detail
        ),
    ),
    Row(
        "a required check `not_run`/`unknown`, or identity `missing`/`unverifiable` where required",
        _unproven,
        {
            "deployment_state": "`unverified` if it was `current`, else unchanged",
            "data_state": "unchanged",
            "effect": "`marked` if a side changed, else `retained`",
        },
        VerificationDecision(
            lambda f: DeploymentState.UNVERIFIED if f.deployment_state == DeploymentState.CURRENT else None,
            _unchanged,
            InventoryEffect.MARKED,
            _unproven_detail,
            marks_only_on_change=True,
        ),
    ),
    Row(
        "everything required passed",
        lambda f: True,
        {
            "deployment_state": "`current`",
            "data_state": "`current` if it was `unverified` or `verification_failed`, else unchanged",
            "effect": "`advanced` if `state` is now `current`, else `retained`",
        },
        VerificationDecision(
            lambda f: DeploymentState.CURRENT,
            lambda f: DataState.CURRENT if f.data_state in DATA_PROVEN_BY_VERIFICATION else None,
            None,
        ),
    ),
)


def decide_verification(f: VerificationFacts) -> VerificationOutcome:
    """Rule 15: what a finished verification run does. First matching row wins.

    Verification proves readiness, not provenance: no row clears ``partially_bootstrapped`` or
    ``unknown`` data. A check that failed but is not required never blocks; it is named in ``notes``.
    """
    index, row = first_match(VERIFICATION_ROWS, f)
    decision = row.result
    decided = decision.deployment_state(f)
    deployment_state = DeploymentState(decided or f.deployment_state)
    data_state = DataState(decision.data_state(f) or f.data_state)
    state = combine(deployment_state, data_state)
    effect = effect_for(decision.effect, state)
    if decision.marks_only_on_change and (deployment_state, data_state) == (f.deployment_state, f.data_state):
        effect = InventoryEffect.RETAINED
    optional_failures = [name for name in CHECKS if not f.required(name) and f.checks[name] == CS.FAIL]
    notes = (_failed_phrase(f, optional_failures) + " but not required",) if optional_failures else ()
    return VerificationOutcome(
        index, deployment_state, data_state, state, effect, decision.detail(f), notes, decided is not None
    )
