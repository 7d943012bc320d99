"""Rule 12 on PostgreSQL: concurrent records for one environment, each thread on its own connection,
are serialised by the inventory row lock and lose nothing."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from bootstraps.models import BootstrapOperation
from bootstraps.services import BootstrapResult, expire_overdue, run_bootstrap_once
from inventory.models import DeploymentRecord, InventoryTransition
from inventory.rules import NOT_SENT
from inventory.services import take
from launchplane.errors import BootstrapActive
from launchplane.models import ApiClient
from tests.factories import T0, deploy, history, inventory_of, make_environment, staff_user, start

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

THREADS = 8
DEPLOYMENTS_PER_THREAD = 5


def run_in_threads(work: list[Callable[[], Any]]) -> list[Any]:
    """Run each callable in its own thread (own database connection), all released at once.

    Returns what each returned, or the exception it raised.
    """
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
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (lock never released?)"
    return outcomes


def ready_result() -> BootstrapResult:
    return BootstrapResult(
        bootstrap_run_status="pass",
        data_mutated=True,
        post_deploy_status="pass",
        health_status="pass",
        canonical_status="pass",
        logo_status="pass",
        identity=NOT_SENT,  # identity is not required here, so the outcome does not depend on arrival order
    )


def test_concurrent_results_for_one_environment_lose_no_transition_and_end_on_the_newest(on_postgres) -> None:
    environment = make_environment(requires_runtime_identity=False)
    rng = random.Random(12)
    minutes = list(range(1, THREADS * DEPLOYMENTS_PER_THREAD + 1))
    rng.shuffle(minutes)  # finished_at order differs from arrival order
    plan = {
        thread: [
            # (record_id, finished_at, deploy_status): every fourth deployment fails
            (f"dep-{thread}-{step}", T0 + timedelta(minutes=minute), "fail" if minute % 4 == 0 else "pass")
            for step, minute in enumerate(minutes[thread::THREADS])
        ]
        for thread in range(THREADS)
    }
    received_at = T0 + timedelta(days=1)

    def worker(thread: int) -> Callable[[], None]:
        def work() -> None:
            for step, (record_id, finished_at, deploy_status) in enumerate(plan[thread]):
                deploy(
                    environment,
                    record_id=record_id,
                    deploy_status=deploy_status,
                    identity="match" if deploy_status == "pass" else None,
                    finished_at=finished_at,
                    now=received_at,
                )
                if step == 2:  # a one-shot bootstrap in the middle of each thread's deployments
                    run_bootstrap_once(
                        environment, ready_result(), data_source="empty", actor=f"driver-{thread}", now=received_at
                    )

        return work

    outcomes = run_in_threads([worker(thread) for thread in range(THREADS)])

    assert [outcome for outcome in outcomes if outcome is not None] == []
    deployments = list(DeploymentRecord.objects.filter(environment=environment).order_by("sequence"))
    operations = list(BootstrapOperation.objects.filter(environment=environment).order_by("sequence"))
    transitions = list(reversed(history(environment)))
    assert len(deployments) == THREADS * DEPLOYMENTS_PER_THREAD
    assert len(operations) == THREADS

    # Replay rule 4 in server order: which deployments were superseded, and which one is current.
    current_finished_at = None
    expected_effects = {}
    for record in deployments:
        superseded = current_finished_at is not None and record.finished_at < current_finished_at
        expected_effects[record.record_id] = "superseded" if superseded else record.inventory_effect
        if not superseded and record.deploy_status == "pass":
            current_finished_at = record.finished_at
    assert {record.record_id: record.inventory_effect for record in deployments} == expected_effects
    applied = [record for record in deployments if record.inventory_effect != "superseded"]

    # Exactly one transition per applied record (every one-shot included), none for superseded ones.
    assert len(transitions) == len(applied) + len(operations)
    assert sorted(t.cause_id for t in transitions) == sorted(
        [record.record_id for record in applied] + [operation.operation_id for operation in operations]
    )
    # One server order for records and transitions alike: 1..N, no gap, no duplicate.
    inventory = inventory_of(environment)
    numbers = [r.sequence for r in deployments] + [o.sequence for o in operations] + [t.sequence for t in transitions]
    assert sorted(numbers) == list(range(1, inventory.last_sequence + 1))
    # An unbroken chain: every transition starts where the previous one ended (no lost update).
    for older, newer in itertools.pairwise(transitions):
        assert (newer.from_deployment_state, newer.from_data_state) == (older.deployment_state, older.data_state)

    # Inventory matches the newest result: the passing deployment that finished last.
    passing = [record for record in deployments if record.deploy_status == "pass"]
    newest = max(passing, key=lambda record: record.finished_at)
    assert newest.inventory_effect == "advanced"
    assert inventory.current_deployment == newest
    assert inventory.last_deployment_attempt == applied[-1]
    assert inventory.last_bootstrap == inventory.current_bootstrap == operations[-1]
    assert (inventory.state, inventory.deployment_state, inventory.data_state) == ("current", "current", "current")
    assert inventory.lkg_deployment == newest
    last_advanced = next(t for t in reversed(transitions) if t.effect == "advanced")
    assert transitions[-1].to_state == inventory.state
    if last_advanced.cause_type == "bootstrap":
        assert inventory.lkg_bootstrap.operation_id == last_advanced.cause_id
    else:
        earlier = [operation for operation in operations if operation.sequence < last_advanced.sequence]
        assert inventory.lkg_bootstrap == (earlier[-1] if earlier else None)


def test_concurrent_starts_let_exactly_one_bootstrap_through_and_name_it_to_the_others(on_postgres) -> None:
    environment = make_environment()
    transitions_before = InventoryTransition.objects.filter(environment=environment).count()

    outcomes = run_in_threads(
        [lambda thread=thread: start(environment, actor=f"driver-{thread}", now=T0) for thread in range(THREADS)]
    )

    started = [outcome for outcome in outcomes if isinstance(outcome, BootstrapOperation)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, BootstrapActive)]
    assert len(started) == 1
    assert len(refused) == THREADS - 1
    winner = started[0]
    assert {error.as_dict()["active_operation_id"] for error in refused} == {winner.operation_id}
    assert {error.fields["operation_id"] for error in refused} == {winner.operation_id}
    assert list(BootstrapOperation.objects.filter(environment=environment)) == [winner]
    assert InventoryTransition.objects.filter(environment=environment).count() == transitions_before + 1
    inventory = inventory_of(environment)
    assert (inventory.last_bootstrap, inventory.data_state) == (winner, "bootstrap_in_progress")


def test_concurrent_sweepers_expire_an_overdue_bootstrap_exactly_once(on_postgres) -> None:
    environment = make_environment()
    operation = start(environment, now=T0, timeout_seconds=60)
    later = T0 + timedelta(minutes=5)

    outcomes = run_in_threads([lambda: expire_overdue(now=later) for _ in range(THREADS)])

    assert sum(outcomes) == 1
    operation.refresh_from_db()
    assert operation.status == "timed_out"
    assert [(t.cause_type, t.occurred_at) for t in history(environment)] == [
        ("deadline", operation.deadline),
        ("bootstrap", T0),
    ]


def test_reviewers_taking_one_environment_at_once_are_serialised_and_each_take_is_recorded(on_postgres) -> None:
    environment = make_environment()
    deploy(environment, "dep-bad", health_status="fail")  # verification_failed: waiting for review
    reviewers = [staff_user(f"reviewer-{number}") for number in range(THREADS)]
    before = len(history(environment))

    outcomes = run_in_threads([lambda user=user: take(environment, user=user) for user in reviewers])

    assert not [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    takes = history(environment)[: len(history(environment)) - before]
    assert len(takes) == THREADS  # rule 11: every take appended its one transition, none was lost
    # Exactly one took it from nobody; every other took it over from whoever held it just before.
    ordered = sorted(takes, key=lambda t: t.sequence)
    assert ordered[0].reason == f"Taken by {ordered[0].actor}."
    for previous, later in itertools.pairwise(ordered):
        assert later.reason.startswith(f"Taken over by {later.actor} from {previous.actor} (held since ")
    assert inventory_of(environment).assignee.username == ordered[-1].actor


def test_concurrent_api_writes_for_one_environment_are_serialised_by_the_lock_their_lookup_takes(on_postgres) -> None:
    """Over the API with keys, the write's environment lookup takes the inventory row lock
    (environment_to_write) and the service only reads the row under it: nothing may be lost."""
    from rest_framework.test import APIClient

    from tests.api.support import deployment_body, new_key, post, result_body, start_body

    environment = make_environment(requires_runtime_identity=False)
    _client, token = ApiClient.issue("ci-concurrent", contexts=["cm"])
    plan = {
        thread: [deployment_body(identity_value=None) for _ in range(DEPLOYMENTS_PER_THREAD)]
        for thread in range(THREADS)
    }

    def worker(thread: int) -> Callable[[], list[int]]:
        def work() -> list[int]:
            http = APIClient()
            http.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            codes = []
            for step, body in enumerate(plan[thread]):
                codes.append(post(http, "/api/v1/deployments/", body, key=new_key()).status_code)
                if step == 2:  # a one-shot among each thread's deployments
                    one_shot = start_body(result=result_body(), data_source="empty")
                    codes.append(post(http, "/api/v1/bootstraps/", one_shot, key=new_key()).status_code)
            return codes

        return work

    outcomes = run_in_threads([worker(thread) for thread in range(THREADS)])

    assert [code for codes in outcomes for code in codes] == [201] * (THREADS * (DEPLOYMENTS_PER_THREAD + 1))
    deployments = DeploymentRecord.objects.filter(environment=environment)
    operations = BootstrapOperation.objects.filter(environment=environment)
    transitions = list(reversed(history(environment)))
    assert deployments.count() == THREADS * DEPLOYMENTS_PER_THREAD and operations.count() == THREADS
    applied = deployments.exclude(inventory_effect="superseded").count() + THREADS
    assert len(transitions) == applied  # one per applied record, none lost
    inventory = inventory_of(environment)
    numbers = [*deployments.values_list("sequence", flat=True), *operations.values_list("sequence", flat=True)]
    numbers += [t.sequence for t in transitions]
    assert sorted(numbers) == list(range(1, inventory.last_sequence + 1))  # one server order, no gap
    for older, newer in itertools.pairwise(transitions):  # an unbroken chain: no lost update
        assert (newer.from_deployment_state, newer.from_data_state) == (older.deployment_state, older.data_state)
    assert inventory.last_bootstrap == operations.order_by("-sequence").first()
