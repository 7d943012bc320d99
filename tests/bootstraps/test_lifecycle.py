"""An operation's lifecycle against the database: progress events and heartbeats, deadlines and cancels
after what progress said about the data, late results judged against inventory as it is when they
arrive, and the sweeper — alone and several at once on PostgreSQL (rules 4, 7, 9).

Time is always injected (the services' ``now=``); nothing here sleeps. ``test_services.py`` has the
rows of rule 7 itself; this module extends it along the operation's life.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from bootstraps.models import BootstrapOperation
from bootstraps.services import (
    MAX_TIMEOUT_SECONDS,
    BootstrapResult,
    cancel_bootstrap,
    expire_next,
    expire_overdue,
    record_progress,
)
from inventory.models import EnvironmentInventory, InventoryTransition
from launchplane.errors import ContradictoryResult, InvalidInput, OperationFinished
from tests.factories import (
    T0,
    bootstrap_once,
    deploy,
    field_values,
    finish,
    history,
    identity_of,
    inventory_of,
    make_environment,
    passing_result,
    report_progress,
    row_counts,
    start,
)

pytestmark = pytest.mark.django_db

BASELINE_AT = T0 + timedelta(minutes=10)  # the current deployment finished
READY_AT = T0 + timedelta(minutes=15)  # a first bootstrap made the data current
START_AT = T0 + timedelta(minutes=30)  # the operation under test starts
TIMEOUT = 600
DEADLINE = START_AT + timedelta(seconds=TIMEOUT)


class Baseline:
    """cm/testing with a current deployment (``dep-base``) and current data from a ready bootstrap."""

    def __init__(self) -> None:
        self.environment = make_environment()
        self.deployment = deploy(self.environment, record_id="dep-base", finished_at=BASELINE_AT).record
        self.ready = bootstrap_once(self.environment, passing_result(self.environment), now=READY_AT)
        assert inventory_of(self.environment).state == "current"

    def start(self, **kwargs: Any) -> BootstrapOperation:
        kwargs.setdefault("timeout_seconds", TIMEOUT)
        return start(self.environment, now=START_AT, **kwargs)


@pytest.fixture
def base() -> Baseline:
    return Baseline()


def progress(operation: BootstrapOperation, at_minute: float, **kwargs: Any) -> BootstrapOperation:
    kwargs.setdefault("phase", "bootstrap")
    return record_progress(operation, actor="driver", now=START_AT + timedelta(minutes=at_minute), **kwargs)


def inventory_fields(environment) -> dict[str, Any]:
    return field_values(EnvironmentInventory.objects.get(pk=environment.pk))


def newest(environment) -> InventoryTransition:
    return history(environment)[0]


def reloaded(operation: BootstrapOperation) -> BootstrapOperation:
    return BootstrapOperation.objects.get(pk=operation.pk)


# ---------------------------------------------------------------------------------------------------
# Progress events
# ---------------------------------------------------------------------------------------------------


def test_a_progress_event_records_the_phase_and_changes_no_inventory_state(base) -> None:
    operation = base.start()
    inventory_before = inventory_fields(base.environment)
    transitions = InventoryTransition.objects.count()

    for minute, phase in enumerate(["bootstrap", "post_deploy", "verification"], start=1):
        operation = progress(operation, minute, phase=phase)
        assert reloaded(operation).phase == phase

    stored = reloaded(operation)
    assert (stored.status, stored.data_mutated, stored.deadline) == ("running", None, DEADLINE)
    assert InventoryTransition.objects.count() == transitions
    assert inventory_fields(base.environment) == inventory_before


def test_a_progress_event_without_data_mutated_keeps_what_an_earlier_event_said(base) -> None:
    operation = base.start()
    progress(operation, 1, data_mutated=True)

    progress(operation, 2, phase="post_deploy")

    assert (reloaded(operation).phase, reloaded(operation).data_mutated) == ("post_deploy", True)


def test_a_progress_event_cannot_take_data_mutated_back_to_false_and_writes_nothing(base) -> None:
    operation = base.start()
    progress(operation, 1, data_mutated=True)
    counts = row_counts()
    stored = field_values(operation)

    with pytest.raises(ContradictoryResult) as raised:
        progress(operation, 2, phase="verification", data_mutated=False, extend_deadline_seconds=3600)

    assert raised.value.code == "contradictory_result"
    assert set(raised.value.fields) == {"data_mutated"}
    assert row_counts() == counts
    assert field_values(operation) == stored


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        pytest.param({"phase": "restore"}, "phase", id="unknown-phase"),
        pytest.param({"phase": ""}, "phase", id="empty-phase"),
        pytest.param({"extend_deadline_seconds": 0}, "extend_deadline_seconds", id="extend-by-zero"),
        pytest.param(
            {"extend_deadline_seconds": MAX_TIMEOUT_SECONDS + 1}, "extend_deadline_seconds", id="extend-too-far"
        ),
    ],
)
def test_a_progress_event_with_an_invalid_field_is_refused_naming_it_and_writes_nothing(base, changes, named) -> None:
    operation = base.start()
    counts = row_counts()
    stored = field_values(operation)

    with pytest.raises(InvalidInput) as raised:
        progress(operation, 1, **changes)

    assert set(raised.value.fields) == {named}
    assert row_counts() == counts
    assert field_values(operation) == stored


def test_a_heartbeat_moves_the_deadline_so_the_operation_is_not_expired_at_the_old_one(base) -> None:
    operation = base.start()
    progress(operation, 9, extend_deadline_seconds=600)  # heartbeat at START+9m: deadline START+19m
    extended = START_AT + timedelta(minutes=19)
    assert reloaded(operation).deadline == extended

    assert expire_overdue(now=DEADLINE + timedelta(minutes=1)) == 0
    assert reloaded(operation).status == "running"
    assert inventory_of(base.environment).data_state == "bootstrap_in_progress"

    assert expire_overdue(now=extended) == 1
    assert reloaded(operation).status == "timed_out"
    expiry = newest(base.environment)
    assert (expiry.cause_type, expiry.cause_id, expiry.occurred_at) == ("deadline", operation.operation_id, extended)
    assert inventory_of(base.environment).state_changed_at == extended


def test_a_heartbeat_never_brings_the_deadline_closer(base) -> None:
    operation = base.start()

    progress(operation, 1, extend_deadline_seconds=1)

    assert reloaded(operation).deadline == DEADLINE


def test_a_result_after_the_original_deadline_but_before_the_extended_one_is_on_time(base) -> None:
    operation = base.start()
    progress(operation, 9, extend_deadline_seconds=600)
    arrived_at = DEADLINE + timedelta(minutes=2)

    finish(operation, passing_result(base.environment), now=arrived_at)

    stored = reloaded(operation)
    assert (stored.status, stored.late, stored.inventory_effect) == ("finished", False, "advanced")
    assert [t.cause_type for t in history(base.environment)[:2]] == ["bootstrap", "bootstrap"]
    assert not InventoryTransition.objects.filter(cause_type="deadline").exists()


def _finished(base: Baseline) -> BootstrapOperation:
    return finish(base.start(), passing_result(base.environment), now=START_AT + timedelta(minutes=1))


def _cancelled(base: Baseline) -> BootstrapOperation:
    return cancel_bootstrap(base.start(), reason="stop", actor="ops", now=START_AT + timedelta(minutes=1))


def _timed_out(base: Baseline) -> BootstrapOperation:
    operation = base.start()
    expire_overdue(now=DEADLINE)
    return reloaded(operation)


@pytest.mark.parametrize("ended", [_finished, _cancelled, _timed_out], ids=["finished", "cancelled", "timed-out"])
def test_a_progress_event_for_an_operation_that_is_over_is_refused_and_writes_nothing(base, ended) -> None:
    operation = ended(base)
    counts = row_counts()
    stored = field_values(operation)
    inventory_before = inventory_fields(base.environment)

    with pytest.raises(OperationFinished) as raised:
        progress(operation, 20, phase="verification", data_mutated=True, extend_deadline_seconds=3600)

    assert raised.value.code == "operation_finished"
    assert row_counts() == counts
    assert field_values(operation) == stored
    assert inventory_fields(base.environment) == inventory_before


def _event(operation: BootstrapOperation) -> None:
    progress(operation, 11, extend_deadline_seconds=3600)


def _cancel(operation: BootstrapOperation) -> None:
    cancel_bootstrap(operation, reason="stop", actor="ops", now=START_AT + timedelta(minutes=11))


@pytest.mark.parametrize("write", [_event, _cancel], ids=["progress-event", "cancel"])
def test_a_write_to_an_overdue_operation_expires_it_first_and_is_then_refused(base, write) -> None:
    operation = base.start()

    with pytest.raises(OperationFinished):
        write(operation)  # the deadline passed at START+10m

    stored = reloaded(operation)
    assert (stored.status, stored.deadline) == ("timed_out", DEADLINE)
    expiry = newest(base.environment)
    assert (expiry.cause_type, expiry.occurred_at) == ("deadline", DEADLINE)


# ---------------------------------------------------------------------------------------------------
# Rule 7 step 2 after what progress said: the deadline and the cancel
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        pytest.param([False, None], ("current", "retained"), id="false-then-silent-restores"),
        pytest.param([None, False], ("current", "retained"), id="silent-then-false-restores"),
        pytest.param([False, True], ("unknown", "marked"), id="false-then-true-is-unknown"),
        pytest.param([True, None], ("unknown", "marked"), id="true-then-silent-is-unknown"),
    ],
)
def test_a_timeout_restores_the_data_side_only_when_the_last_word_on_data_was_unchanged(
    base, reported, expected
) -> None:
    operation = base.start()
    for minute, data_mutated in enumerate(reported, start=1):
        progress(operation, minute, data_mutated=data_mutated)

    assert expire_overdue(now=DEADLINE + timedelta(seconds=30)) == 1

    data_state, effect = expected
    stored = reloaded(operation)
    assert (stored.status, stored.bootstrap_run_status, stored.readiness_status) == ("timed_out", "unknown", "unknown")
    assert stored.inventory_effect == effect
    inventory = inventory_of(base.environment)
    assert inventory.data_state == data_state
    expiry = newest(base.environment)
    assert (expiry.cause_type, expiry.effect, expiry.data_state, expiry.occurred_at) == (
        "deadline",
        effect,
        data_state,
        DEADLINE,
    )


def test_a_timeout_before_any_mutation_brings_back_a_worse_data_state_and_its_detail(base) -> None:
    partial = BootstrapResult(bootstrap_run_status="fail", data_mutated=True, error_message="filestore copy failed")
    bootstrap_once(base.environment, partial, now=START_AT - timedelta(minutes=5))
    before = inventory_of(base.environment)
    assert before.data_state == "partially_bootstrapped"
    operation = base.start()
    report_progress(operation, data_mutated=False, now=START_AT + timedelta(minutes=1))

    expire_overdue(now=DEADLINE)

    after = inventory_of(base.environment)
    assert (after.data_state, after.state) == ("partially_bootstrapped", "partially_bootstrapped")
    assert after.data_detail == before.data_detail
    assert reloaded(operation).inventory_effect == "retained"
    assert (newest(base.environment).from_data_state, newest(base.environment).effect) == (
        "bootstrap_in_progress",
        "retained",
    )


def test_a_timeout_before_any_mutation_on_a_never_bootstrapped_environment_leaves_it_untouched(db) -> None:
    environment = make_environment()
    deploy(environment, record_id="dep-only", finished_at=BASELINE_AT)
    operation = start(environment, now=START_AT, timeout_seconds=TIMEOUT)
    report_progress(operation, data_mutated=False, now=START_AT + timedelta(minutes=1))

    expire_overdue(now=DEADLINE)

    inventory = inventory_of(environment)
    assert (inventory.data_state, inventory.state) == ("untouched", "current")
    assert inventory.last_known_good["bootstrap_operation_id"] is None  # a timeout never advances
    assert reloaded(operation).inventory_effect == "retained"


@pytest.mark.parametrize(
    ("reported", "cancel_says", "expected"),
    [
        pytest.param(False, None, ("current", "retained"), id="progress-false-cancel-silent-restores"),
        pytest.param(False, False, ("current", "retained"), id="progress-false-cancel-false-restores"),
        pytest.param(False, True, ("unknown", "marked"), id="progress-false-cancel-true-is-unknown"),
        pytest.param(True, None, ("unknown", "marked"), id="progress-true-cancel-silent-is-unknown"),
        pytest.param(True, True, ("unknown", "marked"), id="progress-true-cancel-true-is-unknown"),
    ],
)
def test_a_cancel_restores_the_data_side_only_when_data_is_known_unchanged(
    base, reported, cancel_says, expected
) -> None:
    operation = base.start()
    report_progress(operation, data_mutated=reported, now=START_AT + timedelta(minutes=1))
    cancelled_at = START_AT + timedelta(minutes=2)

    cancel_bootstrap(operation, reason="wrong upstream", actor="ops", data_mutated=cancel_says, now=cancelled_at)

    data_state, effect = expected
    stored = reloaded(operation)
    assert (stored.status, stored.readiness_status, stored.inventory_effect) == ("cancelled", "unknown", effect)
    assert stored.data_mutated is (cancel_says if cancel_says is not None else reported)
    assert inventory_of(base.environment).data_state == data_state
    transition = newest(base.environment)
    assert (transition.cause_type, transition.effect, transition.actor, transition.occurred_at) == (
        "cancel",
        effect,
        "ops",
        cancelled_at,
    )


def test_a_cancelled_operation_takes_no_late_result(base) -> None:
    operation = _cancelled(base)
    counts = row_counts()

    with pytest.raises(OperationFinished):
        finish(operation, passing_result(base.environment), now=DEADLINE + timedelta(minutes=1))

    assert row_counts() == counts
    assert reloaded(operation).status == "cancelled"


# ---------------------------------------------------------------------------------------------------
# Late results, judged against inventory as it is when they arrive
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("identity", ["new", "old"], ids=["reports-new-deployment", "reports-old-deployment"])
def test_a_late_result_after_a_newer_deployment_is_compared_with_the_new_current_deployment(base, identity) -> None:
    operation = base.start()
    expire_overdue(now=DEADLINE)
    newer = deploy(base.environment, record_id="dep-new", finished_at=DEADLINE + timedelta(minutes=2)).record
    assert inventory_of(base.environment).current_deployment == newer
    reported = identity_of(newer if identity == "new" else base.deployment)
    arrived_at = DEADLINE + timedelta(minutes=5)

    finish(operation, passing_result(base.environment, identity=reported), now=arrived_at)

    stored = reloaded(operation)
    inventory = inventory_of(base.environment)
    assert (stored.status, stored.late) == ("finished", True)
    assert stored.expected_runtime_identity == newer.own_identity
    assert stored.observed_runtime_identity == reported.value
    if identity == "new":
        assert (stored.runtime_identity_status, stored.runtime_identity_mismatches) == ("match", [])
        assert (stored.readiness_status, stored.inventory_effect) == ("ready", "advanced")
        assert (inventory.deployment_state, inventory.data_state, inventory.state) == ("current", "current", "current")
        assert (inventory.lkg_deployment, inventory.lkg_bootstrap) == (newer, stored)
    else:
        assert stored.runtime_identity_status == "mismatch"
        assert set(stored.runtime_identity_mismatches) == {"deployment_record_id", "artifact_id"}
        assert (stored.readiness_status, stored.inventory_effect) == ("verification_failed", "marked")
        assert (inventory.deployment_state, inventory.data_state) == ("stale_inventory", "verification_failed")
        assert inventory.runtime_identity_mismatches == stored.runtime_identity_mismatches
        assert inventory.lkg_bootstrap == base.ready
    assert inventory.current_deployment == newer  # a bootstrap never moves the deployment pointer
    assert (newest(base.environment).cause_type, newest(base.environment).occurred_at) == ("bootstrap", arrived_at)


@pytest.mark.parametrize(
    ("result_fields", "readiness"),
    [
        pytest.param({}, "ready", id="late-success"),
        pytest.param(
            {"bootstrap_run_status": "fail", "data_mutated": True, "post_deploy_status": "not_run"},
            "partially_bootstrapped",
            id="late-failure",
        ),
    ],
)
def test_a_late_result_after_a_newer_bootstrap_finished_is_stored_superseded_and_the_newer_one_has_the_last_word(
    base, result_fields, readiness
) -> None:
    old = base.start()
    newer = start(base.environment, now=DEADLINE + timedelta(minutes=1))  # expires the old one first
    newer = finish(newer, passing_result(base.environment), now=DEADLINE + timedelta(minutes=2))
    inventory_before = inventory_fields(base.environment)
    transitions_before = [t.pk for t in history(base.environment)]

    finish(old, passing_result(base.environment, **result_fields), now=DEADLINE + timedelta(minutes=3))

    stored = reloaded(old)
    assert (stored.status, stored.late, stored.readiness_status) == ("finished", True, readiness)
    assert stored.inventory_effect == "superseded"
    assert [t.pk for t in history(base.environment)] == transitions_before
    assert inventory_fields(base.environment) == inventory_before
    assert [(t.cause_type, t.cause_id, t.effect) for t in history(base.environment)[:4]] == [
        ("bootstrap", newer.operation_id, "advanced"),
        ("bootstrap", newer.operation_id, "pending"),
        ("deadline", old.operation_id, "marked"),
        ("bootstrap", old.operation_id, "pending"),
    ]
    inventory = inventory_of(base.environment)
    assert inventory.last_bootstrap == inventory.current_bootstrap == inventory.lkg_bootstrap == newer


def test_a_second_late_result_for_the_same_operation_is_refused_and_writes_nothing(base) -> None:
    operation = base.start()
    finish(operation, passing_result(base.environment), now=DEADLINE + timedelta(minutes=1))
    counts = row_counts()
    stored = field_values(operation)

    with pytest.raises(OperationFinished):
        finish(operation, passing_result(base.environment), now=DEADLINE + timedelta(minutes=2))

    assert row_counts() == counts
    assert field_values(operation) == stored


# ---------------------------------------------------------------------------------------------------
# The sweeper
# ---------------------------------------------------------------------------------------------------

OVERDUE_ENVIRONMENTS = 24  # more than one batch of expire_next (20)


def overdue_everywhere(count: int, *, now) -> list[BootstrapOperation]:
    """``count`` environments, each with one operation whose deadline passed an hour before ``now``."""
    return [
        start(make_environment("cm", f"lane-{number}"), now=now - timedelta(hours=2), timeout_seconds=3600)
        for number in range(count)
    ]


def assert_each_expired_exactly_once(operations: list[BootstrapOperation]) -> None:
    deadlines = InventoryTransition.objects.filter(cause_type="deadline")
    assert sorted(deadlines.values_list("cause_id", flat=True)) == sorted(o.operation_id for o in operations)
    for operation in operations:
        stored = reloaded(operation)
        assert (stored.status, stored.readiness_status) == ("timed_out", "unknown")
        assert deadlines.get(cause_id=operation.operation_id).occurred_at == stored.deadline
        assert inventory_of(stored.environment).data_state == "unknown"


def test_the_sweep_command_expires_every_overdue_operation_and_returns(db) -> None:
    now = timezone.now()
    overdue = overdue_everywhere(OVERDUE_ENVIRONMENTS, now=now)
    on_time = start(make_environment("cm", "on-time"), now=now, timeout_seconds=3600)
    out = StringIO()

    call_command("sweep", stdout=out)  # without --loop it returns once nothing is overdue

    assert f"Expired {OVERDUE_ENVIRONMENTS} operations" in out.getvalue()
    assert_each_expired_exactly_once(overdue)
    assert reloaded(on_time).status == "running"
    assert expire_next(timezone.now()) == 0


def run_in_threads(work: list[Callable[[], Any]]) -> list[Any]:
    """Run each callable in its own thread (its own connection), released together; return what each
    returned, or the exception it raised."""
    barrier = threading.Barrier(len(work))
    outcomes: list[Any] = [None] * len(work)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = work[index]()
        except BaseException as exc:  # handed back to the test thread
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a sweeper is stuck"
    return outcomes


def sweep_until_done(now) -> Callable[[], int]:
    """One sweeper host: take units of work until ``expire_next`` finds none; return how many it expired."""

    def work() -> int:
        total = 0
        while expired := expire_next(now):
            total += expired
        return total

    return work


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sweepers", [2, 4])
def test_sweepers_running_at_once_on_postgresql_expire_each_overdue_operation_exactly_once(
    on_postgres, sweepers
) -> None:
    now = timezone.now()
    overdue = overdue_everywhere(OVERDUE_ENVIRONMENTS, now=now)

    outcomes = run_in_threads([sweep_until_done(now) for _ in range(sweepers)])

    assert all(isinstance(outcome, int) for outcome in outcomes), outcomes
    assert sum(outcomes) == OVERDUE_ENVIRONMENTS
    assert_each_expired_exactly_once(overdue)
    assert InventoryTransition.objects.count() == 2 * OVERDUE_ENVIRONMENTS  # each start, each timeout


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sweep_commands_running_at_once_on_postgresql_expire_each_overdue_operation_exactly_once(
    on_postgres,
) -> None:
    overdue = overdue_everywhere(OVERDUE_ENVIRONMENTS, now=timezone.now())
    outputs = [StringIO() for _ in range(3)]

    outcomes = run_in_threads([lambda out=out: call_command("sweep", stdout=out) for out in outputs])

    assert outcomes == [None, None, None]
    reported = sum(int(out.getvalue().split()[1]) for out in outputs if out.getvalue())
    assert reported == OVERDUE_ENVIRONMENTS
    assert_each_expired_exactly_once(overdue)
