"""Rule 16 as a decision table: what a reviewer's reconciliation does to the data side. Pure: no ORM,
no clock. A row carries its condition, its words for docs/provenance.md, and what it decides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bootstraps.choices import ProviderState
from inventory.choices import DataState, DeploymentState, InventoryEffect, InventoryState
from inventory.rules import Row, combine, effect_for, first_match, no_detail

# Only these data states wait for what automation never reported; every other one is refused.
RECONCILABLE_DATA_STATES = frozenset({DataState.UNKNOWN, DataState.PARTIALLY_BOOTSTRAPPED})


@dataclass(frozen=True)
class ReconciliationFacts:
    """A reviewer's finding and the inventory it lands on. ``data_mutated`` is what the bootstrap it
    settles last reported (a result or a progress event); ``data_state_before`` what it remembered at
    its start."""

    provider_state: str
    data_state: str
    deployment_state: str = DeploymentState.UNRECORDED
    data_state_before: str = DataState.UNTOUCHED
    data_detail_before: str = ""
    data_mutated: bool | None = None


@dataclass(frozen=True)
class ReconciliationDecision:
    """What a reconciliation row decides. A non-empty ``refusal`` records nothing at all."""

    data_state: str | None  # None: the data state from before that bootstrap started, with its detail
    effect: InventoryEffect | None
    detail: Callable[[ReconciliationFacts], str] = no_detail
    refusal: Callable[[ReconciliationFacts], str] | None = None
    queues_verification: bool = False  # a run with trigger after_record, whatever verify_after_records says


@dataclass(frozen=True)
class ReconciliationOutcome:
    refusal: str  # empty when the reconciliation applies
    data_state: str
    deployment_state: str
    state: InventoryState
    effect: InventoryEffect
    data_detail: str
    queues_verification: bool = False
    restores_data_state: bool = False

    @property
    def refused(self) -> bool:
        return bool(self.refusal)


def _not_reconcilable(f: ReconciliationFacts) -> str:
    return (
        f"The data side is {f.data_state}, not unknown or partially_bootstrapped: there is nothing for a "
        "reconciliation to settle."
    )


REFUSED = {"data_state": "unchanged: refused, nothing recorded", "effect": "—", "verification run": "—"}

RECONCILIATION_ROWS: tuple[Row[ReconciliationFacts, ReconciliationDecision], ...] = (
    Row(
        "`data_state` other than `unknown` or `partially_bootstrapped`",
        lambda f: f.data_state not in RECONCILABLE_DATA_STATES,
        REFUSED,
        ReconciliationDecision(None, None, refusal=_not_reconcilable),
    ),
    Row(
        "provider `not_started`, but the bootstrap reported that data changed",
        lambda f: f.provider_state == ProviderState.NOT_STARTED and f.data_mutated is True,
        REFUSED,
        ReconciliationDecision(
            None,
            None,
            refusal=lambda f: (
                "The bootstrap reported that data changed; data that changed cannot un-change, so "
                "it cannot be reconciled as not_started. Reconcile it as partial or completed."
            ),
        ),
    ),
    Row(
        "provider `completed` (the bootstrap finished and changed the data)",
        lambda f: f.provider_state == ProviderState.COMPLETED,
        {
            "data_state": "`unverified`",
            "effect": "`marked`",
            "verification run": "queued, trigger `after_record` (whatever `verify_after_records` says)",
        },
        ReconciliationDecision(
            DataState.UNVERIFIED,
            InventoryEffect.MARKED,
            lambda f: "the provider shows the bootstrap completed; a verification run has to prove the data",
            queues_verification=True,
        ),
    ),
    Row(
        "provider `not_started` (it never changed the data)",
        lambda f: f.provider_state == ProviderState.NOT_STARTED,
        {"data_state": "before that bootstrap started", "effect": "`retained`", "verification run": "—"},
        ReconciliationDecision(None, InventoryEffect.RETAINED),
    ),
    Row(
        "provider `partial` (it stopped half-way)",
        lambda f: f.provider_state == ProviderState.PARTIAL,
        {"data_state": "`partially_bootstrapped`", "effect": "`marked`", "verification run": "—"},
        ReconciliationDecision(
            DataState.PARTIALLY_BOOTSTRAPPED,
            InventoryEffect.MARKED,
            lambda f: "the provider shows the bootstrap stopped part-way",
        ),
    ),
    Row(
        "any other `provider_state`",
        lambda f: True,
        REFUSED,
        ReconciliationDecision(
            None, None, refusal=lambda f: "provider_state must be one of completed, not_started, partial."
        ),
    ),
)


def decide_reconciliation(f: ReconciliationFacts) -> ReconciliationOutcome:
    """What a reconciliation does to inventory (rule 16). First matching row wins. The artifact side and
    last known good never move; the effect is ``marked`` or ``retained`` as rule 7 defines them."""
    _index, row = first_match(RECONCILIATION_ROWS, f)
    decision = row.result
    if decision.refusal is not None:
        return ReconciliationOutcome(
            refusal=decision.refusal(f),
            data_state=f.data_state,
            deployment_state=f.deployment_state,
            state=combine(f.deployment_state, f.data_state),
            effect=InventoryEffect.RETAINED,
            data_detail="",
        )
    restores = decision.data_state is None
    data_state = f.data_state_before if restores else str(decision.data_state)
    state = combine(f.deployment_state, data_state)
    return ReconciliationOutcome(
        refusal="",
        data_state=data_state,
        deployment_state=f.deployment_state,
        state=state,
        effect=effect_for(decision.effect, state),
        data_detail=f.data_detail_before if restores else decision.detail(f),
        queues_verification=decision.queues_verification,
        restores_data_state=restores,
    )
