"""Rule 12 for reconciliations, on PostgreSQL: a reviewer's reconciliation racing a late bootstrap result
on the same environment, each on its own connection. The row lock lets exactly one apply first; both are
recorded, and the end state is what the rules give in the order they were applied."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from bootstraps.models import BootstrapOperation, Reconciliation
from bootstraps.services import BootstrapResult, expire_overdue, reconcile, record_bootstrap_result
from tests.factories import T0, deploy, history, inventory_of, make_environment, start
from tests.test_concurrency import run_in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

START_AT = T0 + timedelta(minutes=30)
TIMEOUT = 600
NOW = START_AT + timedelta(minutes=20)
ROUNDS = 6  # each round races afresh on its own environment; the lock decides the order each time

# What each order ends on, from a data side left unknown by the timeout:
# reconciliation first: unknown → unverified (completed), then the late result (run fail, data changed)
# → partially_bootstrapped; the result first: unknown → partially_bootstrapped, then completed → unverified.
END_STATE = {"reconciliation": "partially_bootstrapped", "bootstrap": "unverified"}


def race(environment, operation, reviewer, reference: str) -> list:
    """The two writers: a reviewer reconciling ``completed`` and the driver's late result (run failed
    after changing data), both arriving at the same server time."""
    return [
        lambda: reconcile(
            environment,
            user=reviewer,
            provider_state="completed",
            inspected_at=NOW - timedelta(minutes=5),
            evidence_reference=reference,
            now=NOW,
        ),
        lambda: record_bootstrap_result(
            operation, BootstrapResult(bootstrap_run_status="fail", data_mutated=True), actor="driver", now=NOW
        ),
    ]


def test_a_reconciliation_racing_a_late_result_applies_both_in_lock_order(on_postgres) -> None:
    reviewer = get_user_model().objects.create_user(username="rita", is_staff=True)
    reviewer.groups.add(Group.objects.get(name="reviewers"))
    firsts = []
    for round_number in range(ROUNDS):
        environment = make_environment("cm", f"race-{round_number}")
        deploy(environment, finished_at=T0 + timedelta(minutes=10))
        operation = start(environment, now=START_AT, timeout_seconds=TIMEOUT)
        expire_overdue(now=START_AT + timedelta(seconds=TIMEOUT + 1), environment=environment)
        assert inventory_of(environment).data_state == "unknown"
        before = len(history(environment))

        outcomes = run_in_threads(race(environment, operation, reviewer, f"OPS-{round_number}"))

        assert not [outcome for outcome in outcomes if isinstance(outcome, BaseException)], outcomes
        # Both recorded: the reconciliation and the late result, each with its own transition.
        assert Reconciliation.objects.filter(environment=environment).count() == 1
        operation = BootstrapOperation.objects.get(pk=operation.pk)
        assert (operation.status, operation.late, operation.readiness_status) == (
            "finished",
            True,
            "partially_bootstrapped",
        )
        transitions = list(reversed(history(environment)))[before:]
        assert sorted(t.cause_type for t in transitions) == ["bootstrap", "reconciliation"]
        first, second = transitions
        # Exactly one applied first: the second starts where the first ended (no lost update).
        assert (first.from_data_state, second.from_data_state) == ("unknown", first.data_state)
        assert (
            first.data_state
            == {"reconciliation": "unverified", "bootstrap": "partially_bootstrapped"}[first.cause_type]
        )
        inventory = inventory_of(environment)
        assert inventory.data_state == second.data_state == END_STATE[first.cause_type]
        assert Reconciliation.objects.get(environment=environment).from_data_state == (
            "unknown" if first.cause_type == "reconciliation" else "partially_bootstrapped"
        )
        for older, newer in itertools.pairwise(transitions):
            assert newer.sequence == older.sequence + 1
        firsts.append(first.cause_type)
    # Not an assertion about which order wins (that is the scheduler's), only that each order was judged.
    assert set(firsts) <= set(END_STATE)
