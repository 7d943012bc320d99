"""The indexes a write pays for: the ones rules and reads need are there, the ones nothing reads are not.

Every index on a table is maintained by every insert, and an index on a column an update changes keeps
PostgreSQL from updating the row in place (docs/performance.md, "Indexes a write pays"). The migrations
that dropped the unused foreign-key indexes had to leave the partial unique indexes on the same columns
alone: those enforce rule 10 and the one-run-per-environment rule of verification.
"""

from __future__ import annotations

import pytest
from django.db import connection

from bootstraps.models import BootstrapOperation, Reconciliation
from inventory.models import (
    DeploymentRecord,
    EnvironmentInventory,
    InventoryTransition,
    RuntimeObservation,
    VerificationRun,
)

pytestmark = pytest.mark.django_db


def indexes_of(model) -> dict[str, dict]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: info for name, info in found.items() if info["index"] or info["unique"]}


def columns_indexed_alone(model) -> set[str]:
    """Columns with a plain index of their own (no condition, not unique, not the primary key)."""
    alone = set()
    for name, info in indexes_of(model).items():
        if info["primary_key"] or info["unique"] or len(info["columns"]) != 1:
            continue
        if name in {index.name for index in model._meta.indexes}:  # a Meta index the model asks for
            continue
        alone.add(info["columns"][0])
    return alone


@pytest.mark.parametrize(
    "model",
    [DeploymentRecord, InventoryTransition, RuntimeObservation, VerificationRun, BootstrapOperation, Reconciliation],
)
def test_records_are_found_by_environment_through_a_composite_index_only(model):
    assert "environment_id" not in columns_indexed_alone(model)
    leading = [info["columns"] for info in indexes_of(model).values() if info["columns"][:1] == ["environment_id"]]
    assert any(len(columns) > 1 for columns in leading), leading  # (environment_id, sequence) or newest first


def test_the_inventory_pointers_carry_no_index_of_their_own():
    pointers = {
        "current_deployment_id",
        "last_deployment_attempt_id",
        "current_bootstrap_id",
        "last_bootstrap_id",
        "lkg_deployment_id",
        "lkg_bootstrap_id",
        "last_verification_id",
    }
    assert not pointers & columns_indexed_alone(EnvironmentInventory)
    # The reviewers' foreign keys keep theirs: deleting a user nulls them (SET_NULL) by that index.
    assert {"acknowledged_by_id", "assignee_id"} <= columns_indexed_alone(EnvironmentInventory)


@pytest.mark.parametrize(
    "model, name",
    [
        (BootstrapOperation, "bootstrap_one_active_per_environment"),
        (VerificationRun, "verification_one_active_per_environment"),
    ],
)
def test_one_active_per_environment_is_still_enforced_by_its_index(model, name):
    info = indexes_of(model)[name]
    assert info["unique"] and info["columns"] == ["environment_id"]
