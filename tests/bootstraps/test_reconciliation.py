"""The reconciliation service (rule 16) against the database: each row of the table once through the
service, the refusals that record nothing (a data state with nothing to settle, a newer bootstrap, bad
input, read-only staff), the verification run a ``completed`` reconciliation queues, and evidence that
cannot change."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from bootstraps.models import Reconciliation
from bootstraps.services import BootstrapResult, expire_overdue, reconcile
from inventory.models import VerificationRun
from launchplane.errors import InvalidInput, NotReconcilable, PermissionRefused
from tests.factories import (
    T0,
    assert_transition,
    bootstrap_once,
    deploy,
    finish,
    history,
    inventory_of,
    make_environment,
    passing_result,
    row_counts,
    start,
)

pytestmark = pytest.mark.django_db

BASELINE_AT = T0 + timedelta(minutes=10)
READY_AT = T0 + timedelta(minutes=15)
START_AT = T0 + timedelta(minutes=30)
TIMEOUT = 600
INSPECTED_AT = START_AT + timedelta(minutes=20)
NOW = START_AT + timedelta(minutes=25)


def staff(username: str, group: str | None = None):
    user = get_user_model().objects.create_user(username=username, is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def rita(db):
    return staff("rita", "reviewers")


def current_environment(**kwargs: Any):
    """A current deployment and current data from a ready bootstrap: last known good set."""
    environment = make_environment(**kwargs)
    deploy(environment, record_id=f"dep-{environment.instance}", finished_at=BASELINE_AT)
    bootstrap_once(environment, passing_result(environment), now=READY_AT)
    assert inventory_of(environment).state == "current"
    return environment


def left_unknown(**kwargs: Any):
    """A bootstrap that lost its connection: it timed out at its deadline and the data side is unknown."""
    environment = current_environment(**kwargs)
    operation = start(environment, now=START_AT, timeout_seconds=TIMEOUT)
    expire_overdue(now=START_AT + timedelta(seconds=TIMEOUT + 1), environment=environment)
    assert inventory_of(environment).data_state == "unknown"
    operation.refresh_from_db()
    return environment, operation


def left_partial(**kwargs: Any):
    """A bootstrap whose run passed but whose post-deploy update failed; whether data changed is not known."""
    environment = current_environment(**kwargs)
    operation = start(environment, now=START_AT, timeout_seconds=TIMEOUT)
    finish(
        operation,
        BootstrapResult(bootstrap_run_status="pass", data_mutated=None, post_deploy_status="fail"),
        now=START_AT + timedelta(minutes=2),
    )
    assert inventory_of(environment).data_state == "partially_bootstrapped"
    operation.refresh_from_db()
    return environment, operation


SCENARIOS = {"unknown": left_unknown, "partially_bootstrapped": left_partial}


def reconciled(environment, user, provider_state: str, **overrides: Any):
    fields: dict[str, Any] = {
        "user": user,
        "provider_state": provider_state,
        "inspected_at": INSPECTED_AT,
        "evidence_reference": "https://provider.example.com/jobs/42",
        "note": "Looked at the provider's job log.",
        "now": NOW,
    }
    fields.update(overrides)
    return reconcile(environment, **fields)


# ---------------------------------------------------------------------------------------------------
# The rows
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider_state", "data_state", "effect"),
    [
        ("completed", "unverified", "marked"),
        ("not_started", "current", "retained"),
        ("partial", "partially_bootstrapped", "marked"),
    ],
)
@pytest.mark.parametrize("before", sorted(SCENARIOS))
def test_each_provider_state_sets_the_data_side_as_the_table_says_and_appends_one_transition(
    rita, before, provider_state, data_state, effect
) -> None:
    environment, operation = SCENARIOS[before]()
    lkg = inventory_of(environment).last_known_good
    transitions = len(history(environment))

    done = reconciled(environment, rita, provider_state)

    inventory = inventory_of(environment)
    assert (inventory.deployment_state, inventory.data_state) == ("current", data_state)
    assert inventory.last_known_good == lkg  # never moves (rule 16)
    assert len(history(environment)) == transitions + 1
    assert_transition(
        history(environment)[0],
        from_sides=("current", before),
        sides=("current", data_state),
        effect=effect,
        cause_type="reconciliation",
        cause_id=done.reconciliation.reconciliation_id,
        actor="rita",
        occurred_at=INSPECTED_AT,
    )
    assert history(environment)[0].recorded_at == NOW
    stored = Reconciliation.objects.get()
    assert (stored.bootstrap, stored.environment, stored.reviewer) == (operation, environment, "rita")
    assert (stored.provider_state, stored.from_data_state, stored.data_state) == (provider_state, before, data_state)
    assert (stored.inventory_effect, stored.inspected_at, stored.recorded_at) == (effect, INSPECTED_AT, NOW)
    assert stored.evidence_reference == "https://provider.example.com/jobs/42"
    assert stored.note == "Looked at the provider's job log."
    operation.refresh_from_db()
    assert operation.status in ("timed_out", "finished")  # the operation itself is left as it was


def test_not_started_restores_the_data_side_as_it_was_before_that_bootstrap(rita) -> None:
    environment = make_environment()
    deploy(environment, finished_at=BASELINE_AT)
    assert inventory_of(environment).data_state == "untouched"
    start(environment, now=START_AT, timeout_seconds=TIMEOUT)
    expire_overdue(now=START_AT + timedelta(seconds=TIMEOUT + 1), environment=environment)

    reconciled(environment, rita, "not_started")

    inventory = inventory_of(environment)
    assert (inventory.data_state, inventory.state) == ("untouched", "current")
    assert "reconcil" not in inventory.state_reason.lower()


def test_completed_and_partial_name_the_reconciliation_in_the_state_reason(rita) -> None:
    environment, operation = left_unknown()

    done = reconciled(environment, rita, "partial")

    reason = inventory_of(environment).state_reason
    assert done.reconciliation.reconciliation_id in reason and operation.operation_id in reason
    assert "stopped part-way" in reason


def test_completed_queues_a_verification_run_after_the_record_even_when_the_environment_does_not_ask(rita) -> None:
    environment, _operation = left_unknown(base_url="http://127.0.0.1:9", verify_after_records=False)

    done = reconciled(environment, rita, "completed")

    run = VerificationRun.objects.get()
    assert (run.trigger, run.status, run.requested_by) == ("after_record", "queued", "rita")
    assert (done.verification_run, done.run_created) == (run, True)
    assert Reconciliation.objects.get().verification_run == run


@pytest.mark.parametrize("provider_state", ["not_started", "partial"])
def test_only_completed_queues_a_verification_run(rita, provider_state) -> None:
    environment, _operation = left_unknown(base_url="http://127.0.0.1:9")

    assert reconciled(environment, rita, provider_state).verification_run is None
    assert not VerificationRun.objects.exists()


def test_completed_applies_without_a_base_url_and_queues_nothing(rita) -> None:
    environment, _operation = left_unknown()

    done = reconciled(environment, rita, "completed")

    assert done.verification_run is None
    assert inventory_of(environment).data_state == "unverified"
    assert not VerificationRun.objects.exists()


def test_it_expires_an_overdue_bootstrap_first_and_then_reconciles_what_it_left(rita) -> None:
    environment = current_environment()
    operation = start(environment, now=START_AT, timeout_seconds=TIMEOUT)  # overdue at NOW, not yet expired

    reconciled(environment, rita, "partial")

    operation.refresh_from_db()
    assert operation.status == "timed_out"
    assert [t.cause_type for t in history(environment)[:2]] == ["reconciliation", "deadline"]
    assert inventory_of(environment).data_state == "partially_bootstrapped"


# ---------------------------------------------------------------------------------------------------
# Refusals: nothing recorded
# ---------------------------------------------------------------------------------------------------


def assert_refused(environment, user, error: type[Exception], match: str, **overrides: Any) -> None:
    before = row_counts()
    state = inventory_of(environment).state
    with pytest.raises(error, match=match):
        reconciled(environment, user, overrides.pop("provider_state", "completed"), **overrides)
    assert row_counts() == before
    assert inventory_of(environment).state == state


@pytest.mark.parametrize("provider_state", ["completed", "not_started", "partial"])
def test_it_refuses_to_reconcile_a_current_environment_and_records_nothing(rita, provider_state) -> None:
    assert_refused(current_environment(), rita, NotReconcilable, "data side is current", provider_state=provider_state)


def test_it_refuses_while_a_bootstrap_is_in_progress(rita) -> None:
    environment = current_environment()
    start(environment, now=NOW - timedelta(minutes=1), timeout_seconds=TIMEOUT)

    assert_refused(environment, rita, NotReconcilable, "bootstrap_in_progress")


def test_it_refuses_an_environment_without_any_bootstrap(rita) -> None:
    environment = make_environment()
    deploy(environment, finished_at=BASELINE_AT)

    assert_refused(environment, rita, NotReconcilable, "No bootstrap")


def test_it_refuses_to_settle_a_bootstrap_when_a_newer_one_exists(rita) -> None:
    environment, old = left_unknown()
    newer = start(environment, now=START_AT + timedelta(minutes=15), timeout_seconds=TIMEOUT)
    finish(newer, BootstrapResult(bootstrap_run_status="fail", data_mutated=None), now=START_AT + timedelta(minutes=16))
    assert inventory_of(environment).data_state == "unknown"

    assert_refused(environment, rita, NotReconcilable, f"{newer.operation_id} started", operation_id=old.operation_id)
    # The newer one is the latest, so it can be settled.
    assert reconciled(environment, rita, "partial", operation_id=newer.operation_id).reconciliation.bootstrap == newer


def test_it_refuses_a_bootstrap_of_another_environment(rita) -> None:
    environment, _operation = left_unknown()
    _elsewhere, foreign = left_unknown(instance="prod")

    assert_refused(environment, rita, InvalidInput, "No bootstrap", operation_id=foreign.operation_id)


def test_it_refuses_not_started_when_the_bootstrap_reported_that_data_changed(rita) -> None:
    environment = current_environment()
    operation = start(environment, now=START_AT, timeout_seconds=TIMEOUT)
    finish(
        operation, BootstrapResult(bootstrap_run_status="fail", data_mutated=True), now=START_AT + timedelta(minutes=2)
    )

    assert_refused(environment, rita, NotReconcilable, "cannot un-change", provider_state="not_started")


def test_it_refuses_an_inspection_in_the_future(rita) -> None:
    environment, _operation = left_unknown()

    assert_refused(
        environment, rita, InvalidInput, "inspected_at is in the future", inspected_at=NOW + timedelta(hours=1)
    )


def test_it_refuses_an_inspection_before_the_bootstrap_started(rita) -> None:
    environment, _operation = left_unknown()

    assert_refused(
        environment, rita, InvalidInput, "before bootstrap .* started", inspected_at=START_AT - timedelta(seconds=1)
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"provider_state": "finished"}, "provider_state", id="unknown-provider-state"),
        pytest.param({"inspected_at": None}, "inspected_at", id="no-inspection-time"),
        pytest.param({"inspected_at": INSPECTED_AT.replace(tzinfo=None)}, "inspected_at", id="naive-time"),
        pytest.param({"evidence_reference": ""}, "evidence_reference", id="no-evidence"),
        pytest.param({"evidence_reference": " JIRA-12"}, "evidence_reference", id="leading-space"),
        pytest.param({"evidence_reference": "JIRA-12\n"}, "evidence_reference", id="trailing-newline"),
        pytest.param({"evidence_reference": "JIRA\x0012"}, "evidence_reference", id="control-character"),
        pytest.param({"evidence_reference": "x" * 501}, "evidence_reference", id="too-long"),
        pytest.param({"note": "x" * 2001}, "note", id="note-too-long"),
    ],
)
def test_it_refuses_bad_input_naming_the_field_and_records_nothing(rita, overrides, field) -> None:
    environment, _operation = left_unknown()
    before = row_counts()

    with pytest.raises(InvalidInput) as refused:
        reconciled(environment, rita, overrides.pop("provider_state", "completed"), **overrides)

    assert field in refused.value.fields
    assert row_counts() == before


def test_it_refuses_read_only_staff_and_records_nothing(view_only_staff) -> None:
    environment, _operation = left_unknown()

    assert_refused(environment, view_only_staff, PermissionRefused, "not reconcile")


def test_operators_may_reconcile_too() -> None:
    environment, _operation = left_unknown()

    assert reconciled(environment, staff("olga", "operators"), "partial").reconciliation.reviewer == "olga"


# ---------------------------------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------------------------------


def test_a_reconciliation_is_evidence_that_cannot_be_changed_or_deleted(rita) -> None:
    environment, _operation = left_unknown()
    stored = reconciled(environment, rita, "partial").reconciliation

    stored.note = "rewritten"
    with pytest.raises(ValidationError):
        stored.save()
    with pytest.raises(ValidationError):
        stored.delete()
    assert Reconciliation.objects.get().note == "Looked at the provider's job log."


def test_operators_and_reviewers_hold_the_reconcile_permission_and_automation_does_not() -> None:
    held = {
        group.name: group.permissions.filter(codename="reconcile_environmentinventory").exists()
        for group in Group.objects.all()
    }

    assert held == {"operators": True, "reviewers": True, "automation": False}
