"""What the reconcile form says before it is submitted (rule 16): one sentence per provider state and
what it will do to this environment, asked of the rule itself (``decide_reconciliation``), so the page
cannot promise what the service would not do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bootstraps.choices import ProviderState
from bootstraps.models import BootstrapOperation
from bootstraps.rules.reconciliation import RECONCILABLE_DATA_STATES, ReconciliationFacts, decide_reconciliation
from inventory.choices import DataState, InventoryState

# What each provider state means, in one sentence (PRODUCT.md rule 16's words).
MEANINGS = {
    ProviderState.COMPLETED: "The bootstrap finished and changed the data.",
    ProviderState.NOT_STARTED: "The bootstrap never changed the data.",
    ProviderState.PARTIAL: "The bootstrap stopped half-way: some data changed.",
}


@dataclass(frozen=True)
class ProviderOption:
    value: str
    label: str
    meaning: str
    consequence: str  # what it will do to the environment, or why it is refused
    refused: bool


@dataclass(frozen=True)
class ReconcileAction:
    """The reconcile form of one environment, or ``shown=False`` where there is nothing to settle."""

    inventory: Any
    bootstrap: BootstrapOperation | None
    options: list[ProviderOption]
    blocked: str  # why the user cannot submit it (read-only staff); empty when they can
    next_url: str

    @property
    def shown(self) -> bool:
        return self.bootstrap is not None and self.inventory.data_state in RECONCILABLE_DATA_STATES


def _words(state: str) -> str:
    return (DataState(state).label if state in DataState.values else state).replace("_", " ")


def consequence(inventory: Any, bootstrap: BootstrapOperation, provider_state: str) -> tuple[str, bool]:
    """What ``provider_state`` will do to this environment, and whether it would be refused."""
    outcome = decide_reconciliation(
        ReconciliationFacts(
            provider_state=provider_state,
            data_state=inventory.data_state,
            deployment_state=inventory.deployment_state,
            data_state_before=bootstrap.data_state_before,
            data_detail_before=bootstrap.data_detail_before,
            data_mutated=bootstrap.data_mutated,
        )
    )
    if outcome.refused:
        return outcome.refusal, True
    if outcome.data_state == inventory.data_state:
        sentence = f"The data side stays {_words(outcome.data_state)}"
    else:
        sentence = f"The data side goes from {_words(inventory.data_state)} to {_words(outcome.data_state)}"
    if outcome.restores_data_state:
        sentence += f", as it was before {bootstrap.operation_id} started"
    sentence += f"; the environment reads {InventoryState(outcome.state).label}."
    if outcome.queues_verification:
        if inventory.environment.base_url:
            sentence += " Launchplane then queues a verification run to prove the data."
        else:
            sentence += (
                " No verification run can be queued: this environment has no base URL, so set one and re-verify."
            )
    return sentence, False


def reconcile_action(inventory: Any, *, next_url: str, may_reconcile: bool) -> ReconcileAction:
    """The form's options for ``inventory`` (its ``last_bootstrap`` is the bootstrap it settles)."""
    bootstrap = inventory.last_bootstrap if inventory.last_bootstrap_id else None
    options: list[ProviderOption] = []
    if bootstrap is not None and inventory.data_state in RECONCILABLE_DATA_STATES:
        for value, label in ProviderState.choices:
            sentence, refused = consequence(inventory, bootstrap, value)
            options.append(ProviderOption(value, label, MEANINGS[ProviderState(value)], sentence, refused))
    blocked = (
        ""
        if may_reconcile
        else "you can read inventory but not reconcile it: that needs the reconcile permission (operators and "
        "reviewers have it)"
    )
    return ReconcileAction(inventory, bootstrap, options, blocked, next_url)
