"""Sequences of records for one environment: inventory and its history (newest first) end right."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from bootstraps.models import BootstrapOperation
from bootstraps.services import BootstrapResult, cancel_bootstrap
from inventory.models import DeploymentRecord
from tests.factories import (
    T0,
    deploy,
    field_values,
    finish,
    history,
    identity_of,
    inventory_of,
    make_environment,
    passing_result,
    start,
)

pytestmark = pytest.mark.django_db


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def timeline(environment) -> list[tuple[str, str, str, str]]:
    """(cause type, cause id, effect, state after), newest first; sequences strictly decreasing."""
    transitions = history(environment)
    sequences = [t.sequence for t in transitions]
    assert sequences == sorted(set(sequences), reverse=True)
    for newer, older in itertools.pairwise(transitions):  # an unbroken chain: nothing lost
        assert (newer.from_deployment_state, newer.from_data_state) == (older.deployment_state, older.data_state)
        assert newer.from_state == older.to_state
    return [(t.cause_type, t.cause_id, t.effect, t.to_state) for t in transitions]


def failed_after_mutation(environment) -> BootstrapResult:
    return passing_result(environment, bootstrap_run_status="fail", data_mutated=True, post_deploy_status="not_run")


def pointers(environment) -> dict[str, object]:
    inventory = inventory_of(environment)
    return {
        "state": (inventory.state, inventory.deployment_state, inventory.data_state),
        "current_deployment": inventory.current_deployment.record_id if inventory.current_deployment else None,
        "last_deployment_attempt": (
            inventory.last_deployment_attempt.record_id if inventory.last_deployment_attempt else None
        ),
        "last_bootstrap": inventory.last_bootstrap.operation_id if inventory.last_bootstrap else None,
        "current_bootstrap": inventory.current_bootstrap.operation_id if inventory.current_bootstrap else None,
        "last_known_good": inventory.last_known_good,
    }


@pytest.fixture
def deployed():
    environment = make_environment()
    first = deploy(environment, record_id="dep-1", finished_at=at(10)).record
    return environment, first


def test_a_successful_bootstrap_then_a_failed_one_keeps_last_known_good_and_shows_the_failure(deployed) -> None:
    environment, first = deployed
    evidence = field_values(first)
    good = finish(start(environment, now=at(20)), passing_result(environment), now=at(21))
    bad = finish(start(environment, now=at(30)), failed_after_mutation(environment), now=at(31))

    assert pointers(environment) == {
        "state": ("partially_bootstrapped", "current", "partially_bootstrapped"),
        "current_deployment": "dep-1",
        "last_deployment_attempt": "dep-1",
        "last_bootstrap": bad.operation_id,
        "current_bootstrap": good.operation_id,
        "last_known_good": {
            "deployment_record_id": "dep-1",
            "bootstrap_operation_id": good.operation_id,
            "verified_at": at(21),
        },
    }
    assert timeline(environment) == [
        ("bootstrap", bad.operation_id, "marked", "partially_bootstrapped"),
        ("bootstrap", bad.operation_id, "pending", "bootstrap_in_progress"),
        ("bootstrap", good.operation_id, "advanced", "current"),
        ("bootstrap", good.operation_id, "pending", "bootstrap_in_progress"),
        ("deployment", "dep-1", "advanced", "current"),
    ]
    assert DeploymentRecord.objects.count() == 1
    assert field_values(first) == evidence


def test_a_failed_bootstrap_then_a_successful_one_advances_from_partial_to_current(deployed) -> None:
    environment, first = deployed
    evidence = field_values(first)
    bad = finish(start(environment, now=at(20)), failed_after_mutation(environment), now=at(21))
    good = finish(start(environment, now=at(30)), passing_result(environment), now=at(31))

    good.refresh_from_db()
    assert good.data_state_before == "partially_bootstrapped"
    assert pointers(environment) == {
        "state": ("current", "current", "current"),
        "current_deployment": "dep-1",
        "last_deployment_attempt": "dep-1",
        "last_bootstrap": good.operation_id,
        "current_bootstrap": good.operation_id,
        "last_known_good": {
            "deployment_record_id": "dep-1",
            "bootstrap_operation_id": good.operation_id,
            "verified_at": at(31),
        },
    }
    assert timeline(environment) == [
        ("bootstrap", good.operation_id, "advanced", "current"),
        ("bootstrap", good.operation_id, "pending", "bootstrap_in_progress"),
        ("bootstrap", bad.operation_id, "marked", "partially_bootstrapped"),
        ("bootstrap", bad.operation_id, "pending", "bootstrap_in_progress"),
        ("deployment", "dep-1", "advanced", "current"),
    ]
    assert DeploymentRecord.objects.count() == 1
    assert field_values(first) == evidence


def test_a_deployment_during_a_bootstrap_moves_the_pointer_and_the_state_stays_in_progress(deployed) -> None:
    environment, _first = deployed
    operation = start(environment, now=at(20))

    second = deploy(environment, record_id="dep-2", finished_at=at(25))

    assert second.effect == "retained"
    assert pointers(environment) == {
        "state": ("bootstrap_in_progress", "current", "bootstrap_in_progress"),
        "current_deployment": "dep-2",
        "last_deployment_attempt": "dep-2",
        "last_bootstrap": operation.operation_id,
        "current_bootstrap": None,
        "last_known_good": {"deployment_record_id": "dep-1", "bootstrap_operation_id": None, "verified_at": at(10)},
    }

    finish(operation, passing_result(environment), now=at(30))

    operation.refresh_from_db()
    assert operation.expected_runtime_identity == second.record.own_identity
    assert (operation.readiness_status, operation.inventory_effect) == ("ready", "advanced")
    assert pointers(environment)["last_known_good"] == {
        "deployment_record_id": "dep-2",
        "bootstrap_operation_id": operation.operation_id,
        "verified_at": at(30),
    }
    assert timeline(environment) == [
        ("bootstrap", operation.operation_id, "advanced", "current"),
        ("deployment", "dep-2", "retained", "bootstrap_in_progress"),
        ("bootstrap", operation.operation_id, "pending", "bootstrap_in_progress"),
        ("deployment", "dep-1", "advanced", "current"),
    ]


def test_a_bootstrap_that_sees_the_old_deployment_after_a_newer_one_is_recorded_marks_stale(deployed) -> None:
    environment, first = deployed
    operation = start(environment, now=at(20))
    deploy(environment, record_id="dep-2", finished_at=at(25))

    finish(operation, passing_result(environment, identity=identity_of(first)), now=at(30))

    operation.refresh_from_db()
    assert (operation.readiness_status, operation.runtime_identity_mismatches) == (
        "verification_failed",
        ["deployment_record_id", "artifact_id"],
    )
    assert pointers(environment)["state"] == ("stale_inventory", "stale_inventory", "verification_failed")
    assert pointers(environment)["current_deployment"] == "dep-2"


def test_a_deployment_after_a_partial_bootstrap_moves_the_pointer_and_the_state_stays_partial(deployed) -> None:
    environment, _first = deployed
    bad = finish(start(environment, now=at(20)), failed_after_mutation(environment), now=at(21))

    second = deploy(environment, record_id="dep-2", finished_at=at(30))
    third = deploy(environment, record_id="dep-3", deploy_status="fail", identity=None, finished_at=at(40))

    assert (second.effect, third.effect) == ("retained", "retained")
    inventory = inventory_of(environment)
    assert "the data is partially bootstrapped" in inventory.state_reason.lower()
    assert pointers(environment) == {
        "state": ("partially_bootstrapped", "current", "partially_bootstrapped"),
        "current_deployment": "dep-2",
        "last_deployment_attempt": "dep-3",
        "last_bootstrap": bad.operation_id,
        "current_bootstrap": None,
        "last_known_good": {"deployment_record_id": "dep-1", "bootstrap_operation_id": None, "verified_at": at(10)},
    }
    assert timeline(environment) == [
        ("deployment", "dep-3", "retained", "partially_bootstrapped"),
        ("deployment", "dep-2", "retained", "partially_bootstrapped"),
        ("bootstrap", bad.operation_id, "marked", "partially_bootstrapped"),
        ("bootstrap", bad.operation_id, "pending", "bootstrap_in_progress"),
        ("deployment", "dep-1", "advanced", "current"),
    ]


def test_a_late_result_after_a_newer_bootstrap_is_superseded_and_changes_nothing(deployed) -> None:
    environment, first = deployed
    evidence = field_values(first)
    old = start(environment, now=at(20), timeout_seconds=600)  # deadline at(30)
    newer = start(environment, now=at(31))  # expires the old one first
    finish(newer, passing_result(environment), now=at(32))
    before = pointers(environment)

    finish(old, passing_result(environment), now=at(33))

    old.refresh_from_db()
    assert (old.status, old.late, old.readiness_status, old.inventory_effect) == (
        "finished",
        True,
        "ready",
        "superseded",
    )
    assert (
        pointers(environment)
        == before
        == {
            "state": ("current", "current", "current"),
            "current_deployment": "dep-1",
            "last_deployment_attempt": "dep-1",
            "last_bootstrap": newer.operation_id,
            "current_bootstrap": newer.operation_id,
            "last_known_good": {
                "deployment_record_id": "dep-1",
                "bootstrap_operation_id": newer.operation_id,
                "verified_at": at(32),
            },
        }
    )
    assert timeline(environment) == [
        ("bootstrap", newer.operation_id, "advanced", "current"),
        ("bootstrap", newer.operation_id, "pending", "bootstrap_in_progress"),
        ("deadline", old.operation_id, "marked", "unknown"),
        ("bootstrap", old.operation_id, "pending", "bootstrap_in_progress"),
        ("deployment", "dep-1", "advanced", "current"),
    ]
    assert history(environment)[2].occurred_at == at(30)
    assert DeploymentRecord.objects.count() == 1
    assert field_values(first) == evidence


def test_deployments_arriving_out_of_order_end_on_the_newest_and_keep_every_record() -> None:
    environment = make_environment()
    arrivals = [
        ("dep-3", "pass", "pass", at(30), "advanced"),
        ("dep-1", "pass", "pass", at(10), "superseded"),
        ("dep-2", "fail", "not_run", at(20), "superseded"),
        ("dep-4", "pass", "not_run", at(40), "marked"),
        ("dep-5", "pass", "pass", at(40), "advanced"),  # ties with dep-4: arrival decides
        ("dep-0", "pass", "pass", at(5), "superseded"),
        ("dep-6", "fail", "not_run", at(50), "retained"),
    ]
    for record_id, deploy_status, post_deploy_status, finished_at, _effect in arrivals:
        deploy(
            environment,
            record_id=record_id,
            deploy_status=deploy_status,
            post_deploy_status=post_deploy_status,
            identity="match" if deploy_status == "pass" else None,
            finished_at=finished_at,
        )

    records = {record.record_id: record for record in DeploymentRecord.objects.filter(environment=environment)}
    assert {record_id: records[record_id].inventory_effect for record_id, *_ in arrivals} == {
        record_id: effect for record_id, *_, effect in arrivals
    }
    assert [records[record_id].sequence for record_id, *_ in arrivals] == sorted(
        records[record_id].sequence for record_id, *_ in arrivals
    )
    assert pointers(environment) == {
        "state": ("current", "current", "untouched"),
        "current_deployment": "dep-5",
        "last_deployment_attempt": "dep-6",
        "last_bootstrap": None,
        "current_bootstrap": None,
        "last_known_good": {"deployment_record_id": "dep-5", "bootstrap_operation_id": None, "verified_at": at(40)},
    }
    assert timeline(environment) == [
        ("deployment", "dep-6", "retained", "current"),
        ("deployment", "dep-5", "advanced", "current"),
        ("deployment", "dep-4", "marked", "unverified"),
        ("deployment", "dep-3", "advanced", "current"),
    ]
    assert BootstrapOperation.objects.count() == 0


def test_a_bootstrap_cancelled_with_data_unchanged_after_a_deployment_restores_state_but_not_last_known_good(
    deployed,
) -> None:
    environment, _first = deployed
    operation = start(environment, now=at(20))
    deploy(environment, record_id="dep-2", finished_at=at(25))

    cancel_bootstrap(operation, reason="wrong source", actor="ops", data_mutated=False, now=at(26))

    assert pointers(environment) == {
        "state": ("current", "current", "untouched"),
        "current_deployment": "dep-2",
        "last_deployment_attempt": "dep-2",
        "last_bootstrap": operation.operation_id,
        "current_bootstrap": None,
        # Last known good moves exactly on `advanced`; a cancel that restores is `retained`.
        "last_known_good": {"deployment_record_id": "dep-1", "bootstrap_operation_id": None, "verified_at": at(10)},
    }
    assert timeline(environment) == [
        ("cancel", operation.operation_id, "retained", "current"),
        ("deployment", "dep-2", "retained", "bootstrap_in_progress"),
        ("bootstrap", operation.operation_id, "pending", "bootstrap_in_progress"),
        ("deployment", "dep-1", "advanced", "current"),
    ]
