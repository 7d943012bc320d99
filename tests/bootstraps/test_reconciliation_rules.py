"""Rule 16 as a pure function: every pair of provider_state and data_state, the refused ones included."""

from __future__ import annotations

import itertools

import pytest

from bootstraps.choices import ProviderState
from bootstraps.rules.reconciliation import (
    RECONCILABLE_DATA_STATES,
    RECONCILIATION_ROWS,
    ReconciliationFacts,
    decide_reconciliation,
)
from inventory.choices import DataState, DeploymentState, InventoryEffect
from inventory.rules import combine

# What each provider state does to a data side waiting for settlement: (data_state, effect, queues a run).
EXPECTED = {
    ProviderState.COMPLETED: (DataState.UNVERIFIED, InventoryEffect.MARKED, True),
    ProviderState.NOT_STARTED: ("before", InventoryEffect.RETAINED, False),
    ProviderState.PARTIAL: (DataState.PARTIALLY_BOOTSTRAPPED, InventoryEffect.MARKED, False),
}


def facts(provider_state: str, data_state: str, **overrides) -> ReconciliationFacts:
    fields = {
        "provider_state": provider_state,
        "data_state": data_state,
        "deployment_state": DeploymentState.CURRENT,
        "data_state_before": DataState.CURRENT,
        "data_detail_before": "",
        "data_mutated": None,
    }
    fields.update(overrides)
    return ReconciliationFacts(**fields)


@pytest.mark.parametrize(
    ("provider_state", "data_state"), list(itertools.product(ProviderState.values, DataState.values))
)
def test_every_provider_state_on_every_data_state_is_decided_as_the_table_says(provider_state, data_state) -> None:
    outcome = decide_reconciliation(facts(provider_state, data_state))

    if data_state not in RECONCILABLE_DATA_STATES:
        assert outcome.refused
        assert data_state in outcome.refusal
        assert (outcome.data_state, outcome.queues_verification) == (data_state, False)
        return
    expected_state, effect, queues = EXPECTED[ProviderState(provider_state)]
    expected_state = DataState.CURRENT if expected_state == "before" else expected_state
    assert not outcome.refused
    assert (outcome.data_state, outcome.effect, outcome.queues_verification) == (expected_state, effect, queues)
    assert outcome.deployment_state == DeploymentState.CURRENT  # the artifact side never moves
    assert outcome.state == combine(DeploymentState.CURRENT, expected_state)
    assert outcome.effect != InventoryEffect.ADVANCED  # last known good never moves (rule 16)


@pytest.mark.parametrize("before", [DataState.UNTOUCHED, DataState.CURRENT, DataState.VERIFICATION_FAILED])
def test_not_started_restores_the_data_state_from_before_the_bootstrap_with_its_detail(before) -> None:
    outcome = decide_reconciliation(
        facts(ProviderState.NOT_STARTED, DataState.UNKNOWN, data_state_before=before, data_detail_before="as it was")
    )

    assert (outcome.data_state, outcome.data_detail, outcome.restores_data_state) == (before, "as it was", True)
    assert outcome.effect == InventoryEffect.RETAINED


@pytest.mark.parametrize("data_state", sorted(RECONCILABLE_DATA_STATES))
def test_not_started_is_refused_when_the_bootstrap_reported_that_data_changed(data_state) -> None:
    outcome = decide_reconciliation(facts(ProviderState.NOT_STARTED, data_state, data_mutated=True))

    assert outcome.refused
    assert "cannot un-change" in outcome.refusal


@pytest.mark.parametrize("provider_state", [ProviderState.COMPLETED, ProviderState.PARTIAL])
def test_completed_and_partial_apply_when_the_bootstrap_reported_that_data_changed(provider_state) -> None:
    assert not decide_reconciliation(facts(provider_state, DataState.UNKNOWN, data_mutated=True)).refused


def test_a_provider_state_outside_the_choices_is_refused() -> None:
    outcome = decide_reconciliation(facts("finished", DataState.UNKNOWN))

    assert outcome.refused
    assert "provider_state" in outcome.refusal


def test_the_deployment_side_keeps_its_state_and_decides_the_combined_state() -> None:
    outcome = decide_reconciliation(
        facts(ProviderState.NOT_STARTED, DataState.UNKNOWN, deployment_state=DeploymentState.STALE_INVENTORY)
    )

    assert (outcome.deployment_state, outcome.state) == (DeploymentState.STALE_INVENTORY, "stale_inventory")


def test_every_row_has_the_same_columns_and_the_table_ends_with_a_catch_all() -> None:
    columns = {tuple(row.then) for row in RECONCILIATION_ROWS}
    assert columns == {("data_state", "effect", "verification run")}
    assert RECONCILIATION_ROWS[-1].matches(facts("anything", DataState.UNKNOWN))
