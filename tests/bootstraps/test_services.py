"""Bootstrap services against the database: start, every row of rule 7's three steps, deadlines and
cancels (rule 9), one active bootstrap (rule 10), one transition per applied record (rule 11), and bad
input that writes nothing (rule 13). A bootstrap never touches deployment evidence (rule 1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from bootstraps.models import BootstrapOperation
from bootstraps.services import (
    MAX_TIMEOUT_SECONDS,
    BootstrapResult,
    cancel_bootstrap,
    expire_overdue,
    run_bootstrap_once,
)
from inventory.models import DeploymentRecord, EnvironmentInventory, InventoryTransition
from inventory.rules import NOT_SENT, IdentityInput, combine
from launchplane.errors import BootstrapActive, ContradictoryResult, InvalidInput, OperationFinished
from tests.factories import (
    MALFORMED_IDENTITY,
    MISSING_IDENTITY,
    T0,
    UNVERIFIABLE_IDENTITY,
    assert_transition,
    bootstrap_once,
    deploy,
    field_values,
    finish,
    history,
    inventory_of,
    make_environment,
    passing_result,
    report_progress,
    row_counts,
    start,
    wrong_identity,
)

pytestmark = pytest.mark.django_db

BASELINE_AT = T0 + timedelta(minutes=10)  # the current deployment finished
READY_AT = T0 + timedelta(minutes=15)  # a first bootstrap made the data current
START_AT = T0 + timedelta(minutes=30)  # the bootstrap under test starts
RESULT_AT = START_AT + timedelta(minutes=1)
TIMEOUT = 600
DEADLINE = START_AT + timedelta(seconds=TIMEOUT)
COUNTER_FIELDS = {"last_sequence"}


def inventory_fields(environment) -> dict[str, Any]:
    return {
        name: value
        for name, value in field_values(EnvironmentInventory.objects.get(pk=environment.pk)).items()
        if name not in COUNTER_FIELDS
    }


def result_for(environment, **overrides: Any) -> BootstrapResult:
    """A result, by default passing everything against the current deployment; "wrong" identity differs."""
    if overrides.get("identity") == "wrong":
        overrides["identity"] = wrong_identity(inventory_of(environment).current_deployment)
    return passing_result(environment, **overrides)


def not_run_result(**overrides: Any) -> BootstrapResult:
    return BootstrapResult(**{"bootstrap_run_status": "not_run", "data_mutated": False, **overrides})


class Baseline:
    """An environment with a current deployment and current data from an earlier ready bootstrap."""

    def __init__(self, **environment_kwargs: Any) -> None:
        self.environment = make_environment(**environment_kwargs)
        self.deployment = deploy(self.environment, record_id="dep-base", finished_at=BASELINE_AT).record
        self.ready = bootstrap_once(self.environment, passing_result(self.environment), now=READY_AT)
        inventory = inventory_of(self.environment)
        assert (inventory.state, inventory.data_state, inventory.current_bootstrap) == (
            "current",
            "current",
            self.ready,
        )
        self.lkg = inventory.last_known_good
        self.evidence = field_values(self.deployment)
        self.deployments = DeploymentRecord.objects.count()

    def assert_deployment_untouched(self) -> None:
        """Rule 1: no DeploymentRecord created, edited or re-stamped; the current pointer stays."""
        assert DeploymentRecord.objects.count() == self.deployments
        assert field_values(self.deployment) == self.evidence
        assert inventory_of(self.environment).current_deployment == self.deployment


@pytest.fixture
def baseline():
    return Baseline


# ---------------------------------------------------------------------------------------------------
# Start
# ---------------------------------------------------------------------------------------------------


def test_it_marks_the_data_side_in_progress_and_remembers_it_when_a_bootstrap_starts(baseline) -> None:
    base = baseline()
    transitions = InventoryTransition.objects.count()

    operation = start(base.environment, now=START_AT, timeout_seconds=TIMEOUT, reason="refresh from prod")

    operation.refresh_from_db()
    inventory = inventory_of(base.environment)
    assert (operation.status, operation.bootstrap_run_status) == ("running", "running")
    assert (operation.readiness_status, operation.inventory_effect) == ("pending", "pending")
    assert (operation.data_state_before, operation.deadline) == ("current", DEADLINE)
    assert operation.sequence < history(base.environment)[0].sequence
    assert (inventory.deployment_state, inventory.data_state, inventory.state) == (
        "current",
        "bootstrap_in_progress",
        "bootstrap_in_progress",
    )
    assert inventory.last_bootstrap == operation
    assert inventory.current_bootstrap == base.ready
    assert inventory.last_known_good == base.lkg
    assert InventoryTransition.objects.count() == transitions + 1
    assert_transition(
        history(base.environment)[0],
        from_sides=("current", "current"),
        sides=("current", "bootstrap_in_progress"),
        effect="pending",
        cause_type="bootstrap",
        cause_id=operation.operation_id,
        actor="driver",
        occurred_at=START_AT,
    )
    base.assert_deployment_untouched()


# ---------------------------------------------------------------------------------------------------
# Rule 7 step 3: a result, every row
# ---------------------------------------------------------------------------------------------------

BEFORE = "before"  # the data state before the start

RESULT_ROWS = [
    # result fields, environment kwargs, (readiness, data_state, deployment_state, effect)
    pytest.param(
        {
            "bootstrap_run_status": "not_run",
            "data_mutated": False,
            "post_deploy_status": "not_run",
            "health_status": "not_run",
            "canonical_status": "not_run",
            "logo_status": "not_run",
            "identity": NOT_SENT,
        },
        {},
        ("not_run", BEFORE, "current", "retained"),
        id="run-not-run-restores-data-state",
    ),
    pytest.param(
        {"bootstrap_run_status": "fail", "data_mutated": False, "post_deploy_status": "not_run"},
        {},
        ("failed_before_mutation", BEFORE, "current", "retained"),
        id="run-fail-data-unchanged-fails-before-mutation",
    ),
    pytest.param(
        {"bootstrap_run_status": "unknown", "data_mutated": False, "post_deploy_status": "unknown"},
        {},
        ("unknown", BEFORE, "current", "retained"),
        id="run-unknown-data-unchanged-restores-data-state",
    ),
    pytest.param(
        {"bootstrap_run_status": "fail", "data_mutated": True, "post_deploy_status": "not_run"},
        {},
        ("partially_bootstrapped", "partially_bootstrapped", "current", "marked"),
        id="run-fail-data-changed-marks-partial",
    ),
    pytest.param(
        {"bootstrap_run_status": "fail", "data_mutated": None, "post_deploy_status": "skipped"},
        {},
        ("unknown", "unknown", "current", "marked"),
        id="run-fail-data-mutated-null-marks-unknown",
    ),
    pytest.param(
        {"bootstrap_run_status": "unknown", "data_mutated": True},
        {},
        ("unknown", "unknown", "current", "marked"),
        id="run-unknown-data-changed-marks-unknown",
    ),
    pytest.param(
        {"bootstrap_run_status": "unknown", "data_mutated": None},
        {},
        ("unknown", "unknown", "current", "marked"),
        id="run-unknown-data-mutated-null-marks-unknown",
    ),
    *[
        pytest.param(
            {"post_deploy_status": status},
            {},
            ("partially_bootstrapped", "partially_bootstrapped", "current", "marked"),
            id=f"run-pass-post-deploy-{status}-marks-partial",
        )
        for status in ("fail", "unknown", "not_run")
    ],
    pytest.param(
        {"identity": "wrong"},
        {},
        ("verification_failed", "verification_failed", "stale_inventory", "marked"),
        id="run-pass-identity-mismatch-fails-verification-and-marks-stale",
    ),
    pytest.param(
        {"identity": MALFORMED_IDENTITY},
        {},
        ("verification_failed", "verification_failed", "stale_inventory", "marked"),
        id="run-pass-identity-malformed-fails-verification-and-marks-stale",
    ),
    pytest.param(
        {"identity": "wrong"},
        {"requires_runtime_identity": False},
        ("verification_failed", "verification_failed", "stale_inventory", "marked"),
        id="run-pass-identity-mismatch-counts-even-where-identity-not-required",
    ),
    *[
        pytest.param(
            {f"{check}_status": "fail"},
            {},
            ("verification_failed", "verification_failed", "current", "marked"),
            id=f"run-pass-required-{check}-fail-fails-verification",
        )
        for check in ("health", "canonical", "logo")
    ],
    *[
        pytest.param(
            {f"{check}_status": status},
            {},
            ("unverified", "unverified", "current", "marked"),
            id=f"run-pass-required-{check}-{status}-marks-unverified",
        )
        for check, status in (("health", "skipped"), ("canonical", "not_run"), ("logo", "unknown"))
    ],
    *[
        pytest.param(
            {"identity": identity},
            {},
            ("unverified", "unverified", "current", "marked"),
            id=f"run-pass-identity-{name}-where-required-marks-unverified",
        )
        for name, identity in (
            ("missing", MISSING_IDENTITY),
            ("unverifiable", UNVERIFIABLE_IDENTITY),
            ("unchecked", NOT_SENT),
        )
    ],
    pytest.param({}, {}, ("ready", "current", "current", "advanced"), id="run-pass-everything-else-is-ready"),
    pytest.param(
        {"logo_status": "fail", "canonical_status": "skipped"},
        {"required_checks": ["health"]},
        ("ready", "current", "current", "advanced"),
        id="run-pass-checks-not-required-never-block",
    ),
    pytest.param(
        {"identity": MISSING_IDENTITY},
        {"requires_runtime_identity": False},
        ("ready", "current", "current", "advanced"),
        id="run-pass-identity-missing-where-not-required-is-ready",
    ),
    pytest.param(
        {"post_deploy_status": "skipped"},
        {},
        ("ready", "current", "current", "advanced"),
        id="run-pass-post-deploy-skipped-is-everything-else",
    ),
]


@pytest.mark.parametrize(("result_fields", "environment_kwargs", "expected"), RESULT_ROWS)
def test_each_result_row_sets_readiness_and_data_side_as_the_table_says(
    baseline, result_fields, environment_kwargs, expected
) -> None:
    base = baseline(**environment_kwargs)
    readiness, data_state, deployment_state, effect = expected
    data_state = "current" if data_state == BEFORE else data_state
    operation = start(base.environment, now=START_AT)
    transitions = InventoryTransition.objects.count()

    operation = finish(operation, result_for(base.environment, **result_fields), now=RESULT_AT)

    operation.refresh_from_db()
    inventory = inventory_of(base.environment)
    assert (operation.status, operation.late) == ("finished", False)
    assert operation.bootstrap_run_status == result_fields.get("bootstrap_run_status", "pass")
    assert (operation.readiness_status, operation.inventory_effect) == (readiness, effect)
    assert operation.expected_runtime_identity == base.deployment.own_identity
    assert (inventory.deployment_state, inventory.data_state) == (deployment_state, data_state)
    assert inventory.state == combine(deployment_state, data_state)
    assert inventory.last_bootstrap == operation
    assert inventory.current_bootstrap == (operation if readiness == "ready" else base.ready)
    if effect == "advanced":
        assert inventory.last_known_good == {
            "deployment_record_id": "dep-base",
            "bootstrap_operation_id": operation.operation_id,
            "verified_at": RESULT_AT,
        }
    else:
        assert inventory.last_known_good == base.lkg
    assert InventoryTransition.objects.count() == transitions + 1
    assert_transition(
        history(base.environment)[0],
        from_sides=("current", "bootstrap_in_progress"),
        sides=(deployment_state, data_state),
        effect=effect,
        cause_type="bootstrap",
        cause_id=operation.operation_id,
        actor="driver",
        occurred_at=RESULT_AT,
    )
    base.assert_deployment_untouched()


@pytest.mark.parametrize(
    "result_fields",
    [
        pytest.param({"bootstrap_run_status": "not_run", "data_mutated": False}, id="run-not-run"),
        pytest.param({"bootstrap_run_status": "fail", "data_mutated": False}, id="run-fail-data-unchanged"),
        pytest.param({"bootstrap_run_status": "unknown", "data_mutated": False}, id="run-unknown-data-unchanged"),
    ],
)
def test_it_restores_a_worse_data_state_from_before_the_start(baseline, result_fields) -> None:
    base = baseline()
    bootstrap_once(base.environment, not_run_result(**result_fields), now=START_AT - timedelta(minutes=5))
    first = bootstrap_once(
        base.environment,
        BootstrapResult(bootstrap_run_status="fail", data_mutated=True),
        now=START_AT - timedelta(minutes=4),
    )
    assert inventory_of(base.environment).data_state == "partially_bootstrapped"
    detail_before = inventory_of(base.environment).data_detail
    operation = start(base.environment, now=START_AT)

    finish(operation, BootstrapResult(**result_fields), now=RESULT_AT)

    inventory = inventory_of(base.environment)
    assert (inventory.data_state, inventory.state) == ("partially_bootstrapped", "partially_bootstrapped")
    assert inventory.data_detail == detail_before
    assert first.operation_id in inventory.state_reason
    assert history(base.environment)[0].effect == "retained"
    base.assert_deployment_untouched()


def test_it_names_a_failed_check_that_is_not_required_in_state_reason(baseline) -> None:
    base = baseline(required_checks=["health"])

    operation = bootstrap_once(base.environment, result_for(base.environment, logo_status="fail"), now=START_AT)

    inventory = inventory_of(base.environment)
    assert (operation.readiness_status, inventory.state) == ("ready", "current")
    assert "logo check failed but is not required" in inventory.state_reason


def test_it_turns_the_artifact_side_current_when_a_ready_bootstrap_sees_the_expected_identity(baseline) -> None:
    base = baseline()
    unverified = deploy(base.environment, finished_at=START_AT - timedelta(minutes=5), post_deploy_status="not_run")
    assert inventory_of(base.environment).deployment_state == "unverified"

    operation = bootstrap_once(base.environment, result_for(base.environment), now=START_AT)

    inventory = inventory_of(base.environment)
    assert (operation.readiness_status, operation.inventory_effect) == ("ready", "advanced")
    assert (inventory.deployment_state, inventory.data_state, inventory.state) == ("current", "current", "current")
    assert inventory.current_deployment == unverified.record
    assert inventory.last_known_good["deployment_record_id"] == unverified.record.record_id


def test_it_retains_when_a_ready_bootstrap_lands_on_an_unverified_artifact_side(baseline) -> None:
    base = baseline(requires_runtime_identity=False)
    deploy(base.environment, finished_at=START_AT - timedelta(minutes=5), post_deploy_status="not_run")
    lkg = inventory_of(base.environment).last_known_good

    operation = bootstrap_once(base.environment, result_for(base.environment, identity=NOT_SENT), now=START_AT)

    inventory = inventory_of(base.environment)
    assert (operation.readiness_status, operation.inventory_effect) == ("ready", "retained")
    assert (inventory.deployment_state, inventory.data_state, inventory.state) == (
        "unverified",
        "current",
        "unverified",
    )
    assert inventory.current_bootstrap == operation
    assert inventory.last_known_good == lkg


def test_it_never_advances_without_a_recorded_deployment(db) -> None:
    environment = make_environment(requires_runtime_identity=False)

    operation = bootstrap_once(environment, passing_result(environment), now=START_AT)

    inventory = inventory_of(environment)
    assert (operation.readiness_status, operation.inventory_effect) == ("ready", "retained")
    assert (inventory.deployment_state, inventory.data_state, inventory.state) == (
        "unrecorded",
        "current",
        "unrecorded",
    )
    assert inventory.last_known_good == {
        "deployment_record_id": None,
        "bootstrap_operation_id": None,
        "verified_at": None,
    }
    assert DeploymentRecord.objects.count() == 0


def test_it_keeps_the_observed_identity_with_the_result_but_never_in_deployment_evidence(baseline) -> None:
    base = baseline()
    identity = wrong_identity(base.deployment, image_reference="registry.example/odoo:other")

    operation = bootstrap_once(base.environment, result_for(base.environment, identity=identity), now=START_AT)

    inventory = inventory_of(base.environment)
    assert operation.observed_runtime_identity == identity.value
    assert (operation.runtime_identity_status, operation.runtime_identity_mismatches) == ("mismatch", ["artifact_id"])
    assert inventory.observed_runtime_identity == identity.value
    assert (inventory.runtime_identity_status, inventory.runtime_identity_mismatches) == ("mismatch", ["artifact_id"])
    base.assert_deployment_untouched()


# ---------------------------------------------------------------------------------------------------
# Rule 7 step 2: no result (deadline or cancel)
# ---------------------------------------------------------------------------------------------------

NO_RESULT_ROWS = [
    # data_mutated known before the end, (data_state, effect)
    pytest.param(False, ("current", "retained"), id="data-known-unchanged-restores-before-state"),
    pytest.param(None, ("unknown", "marked"), id="data-mutation-not-known-marks-unknown"),
    pytest.param(True, ("unknown", "marked"), id="data-changed-marks-unknown"),
]


@pytest.mark.parametrize(("data_mutated", "expected"), NO_RESULT_ROWS)
def test_it_times_out_an_overdue_bootstrap_stamped_with_its_deadline(baseline, data_mutated, expected) -> None:
    base = baseline()
    data_state, effect = expected
    operation = start(base.environment, now=START_AT, timeout_seconds=TIMEOUT)
    if data_mutated is not None:  # a progress event said whether data changed so far
        operation = report_progress(operation, data_mutated=data_mutated, now=START_AT + timedelta(minutes=1))
    transitions = InventoryTransition.objects.count()

    assert expire_overdue(now=DEADLINE - timedelta(seconds=1)) == 0
    assert expire_overdue(now=DEADLINE + timedelta(minutes=5), environment=base.environment) == 1

    operation.refresh_from_db()
    inventory = inventory_of(base.environment)
    assert (operation.status, operation.bootstrap_run_status) == ("timed_out", "unknown")
    assert (operation.readiness_status, operation.inventory_effect) == ("unknown", effect)
    assert (inventory.deployment_state, inventory.data_state) == ("current", data_state)
    assert inventory.state == combine("current", data_state)
    assert inventory.state_changed_at == DEADLINE
    assert inventory.last_bootstrap == operation
    assert inventory.current_bootstrap == base.ready
    assert inventory.last_known_good == base.lkg
    assert InventoryTransition.objects.count() == transitions + 1
    assert_transition(
        history(base.environment)[0],
        from_sides=("current", "bootstrap_in_progress"),
        sides=("current", data_state),
        effect=effect,
        cause_type="deadline",
        cause_id=operation.operation_id,
        actor="deadline",
        occurred_at=DEADLINE,
    )
    assert expire_overdue(now=DEADLINE + timedelta(hours=1)) == 0
    base.assert_deployment_untouched()


@pytest.mark.parametrize(("data_mutated", "expected"), NO_RESULT_ROWS)
def test_it_cancels_a_bootstrap_and_restores_data_only_when_known_unchanged(baseline, data_mutated, expected) -> None:
    base = baseline()
    data_state, effect = expected
    operation = start(base.environment, now=START_AT)
    cancelled_at = START_AT + timedelta(minutes=2)

    cancel_bootstrap(operation, reason="wrong upstream", actor="ops", data_mutated=data_mutated, now=cancelled_at)

    operation.refresh_from_db()
    inventory = inventory_of(base.environment)
    assert (operation.status, operation.bootstrap_run_status) == ("cancelled", "unknown")
    assert (operation.readiness_status, operation.inventory_effect) == ("unknown", effect)
    assert (operation.data_mutated, operation.cancel_reason) == (data_mutated, "wrong upstream")
    assert (inventory.deployment_state, inventory.data_state) == ("current", data_state)
    assert inventory.last_bootstrap == operation
    assert inventory.last_known_good == base.lkg
    assert_transition(
        history(base.environment)[0],
        from_sides=("current", "bootstrap_in_progress"),
        sides=("current", data_state),
        effect=effect,
        cause_type="cancel",
        cause_id=operation.operation_id,
        actor="ops",
        occurred_at=cancelled_at,
    )
    base.assert_deployment_untouched()


def test_it_expires_an_overdue_bootstrap_before_judging_its_result_and_accepts_the_result_as_late(
    baseline,
) -> None:
    base = baseline()
    operation = start(base.environment, now=START_AT, timeout_seconds=TIMEOUT)
    arrived_at = DEADLINE + timedelta(minutes=3)

    operation = finish(operation, result_for(base.environment), now=arrived_at)

    operation.refresh_from_db()
    inventory = inventory_of(base.environment)
    assert (operation.status, operation.late) == ("finished", True)
    assert (operation.readiness_status, operation.inventory_effect) == ("ready", "advanced")
    assert (inventory.data_state, inventory.state) == ("current", "current")
    assert [(t.cause_type, t.effect, t.occurred_at) for t in history(base.environment)[:2]] == [
        ("bootstrap", "advanced", arrived_at),
        ("deadline", "marked", DEADLINE),
    ]
    assert inventory.last_known_good["bootstrap_operation_id"] == operation.operation_id
    base.assert_deployment_untouched()


@pytest.mark.parametrize(
    ("result_fields", "expected"),
    [
        pytest.param({}, ("ready", "current", "advanced"), id="late-pass-is-ready"),
        pytest.param(
            {"bootstrap_run_status": "fail", "data_mutated": False, "post_deploy_status": "not_run"},
            ("failed_before_mutation", "current", "retained"),
            id="late-fail-before-mutation-restores-before-start",
        ),
        pytest.param(
            {"bootstrap_run_status": "fail", "data_mutated": True, "post_deploy_status": "not_run"},
            ("partially_bootstrapped", "partially_bootstrapped", "marked"),
            id="late-fail-after-mutation-is-partial",
        ),
    ],
)
def test_it_judges_a_late_result_for_a_timed_out_bootstrap_by_the_table(baseline, result_fields, expected) -> None:
    base = baseline()
    readiness, data_state, effect = expected
    operation = start(base.environment, now=START_AT, timeout_seconds=TIMEOUT)
    expire_overdue(now=DEADLINE + timedelta(seconds=1))
    assert inventory_of(base.environment).data_state == "unknown"
    arrived_at = DEADLINE + timedelta(minutes=10)

    operation = finish(operation, result_for(base.environment, **result_fields), now=arrived_at)

    operation.refresh_from_db()
    inventory = inventory_of(base.environment)
    assert (operation.status, operation.late, operation.readiness_status) == ("finished", True, readiness)
    assert operation.inventory_effect == effect
    assert inventory.data_state == data_state
    assert_transition(
        history(base.environment)[0],
        from_sides=("current", "unknown"),
        sides=("current", data_state),
        effect=effect,
        cause_type="bootstrap",
        cause_id=operation.operation_id,
        actor="driver",
        occurred_at=arrived_at,
    )
    base.assert_deployment_untouched()


def test_it_marks_an_on_time_result_not_late(baseline) -> None:
    base = baseline()
    operation = start(base.environment, now=START_AT, timeout_seconds=TIMEOUT)

    operation = finish(operation, result_for(base.environment), now=DEADLINE - timedelta(seconds=1))

    operation.refresh_from_db()
    assert (operation.status, operation.late) == ("finished", False)


def test_it_stamps_the_result_with_the_finish_the_driver_reports(baseline) -> None:
    base = baseline()
    operation = start(base.environment, now=START_AT)
    finished_at = START_AT + timedelta(seconds=30)

    finish(operation, result_for(base.environment, finished_at=finished_at), now=RESULT_AT)

    operation.refresh_from_db()
    assert (operation.finished_at, operation.result_received_at) == (finished_at, RESULT_AT)
    assert history(base.environment)[0].occurred_at == finished_at
    assert inventory_of(base.environment).lkg_verified_at == finished_at


def test_it_refuses_a_cancel_that_says_data_unchanged_after_progress_said_it_changed(baseline) -> None:
    base = baseline()
    operation = start(base.environment, now=START_AT)
    report_progress(operation, data_mutated=True, now=START_AT + timedelta(minutes=1))
    counts = row_counts()
    inventory_before = inventory_fields(base.environment)

    with pytest.raises(ContradictoryResult) as raised:
        cancel_bootstrap(operation, reason="stop", actor="ops", data_mutated=False, now=RESULT_AT)

    assert "data_mutated" in raised.value.fields
    assert row_counts() == counts
    assert inventory_fields(base.environment) == inventory_before
    operation.refresh_from_db()
    assert (operation.status, operation.data_mutated) == ("running", True)


# ---------------------------------------------------------------------------------------------------
# Rule 9: whatever writes inventory first expires the environment's overdue bootstrap
# ---------------------------------------------------------------------------------------------------


def _deploy_late(base, now):
    return deploy(base.environment, record_id="dep-late", finished_at=now, now=now)


def _observe_late(base, now):
    from inventory.services import record_observation

    identity = IdentityInput(sent=True, value=dict(base.deployment.own_identity))
    return record_observation(base.environment, identity=identity, source="prober", observed_at=now, actor="p", now=now)


def _acknowledge_late(base, now):
    from django.contrib.auth import get_user_model

    from inventory.services import acknowledge

    user = get_user_model().objects.create_user(username="late-reviewer")
    return acknowledge(base.environment, user=user, note="seen", now=now)


@pytest.mark.parametrize(
    ("write", "cause_type"),
    [(_deploy_late, "deployment"), (_observe_late, "observation"), (_acknowledge_late, "review")],
    ids=["deployment", "observation", "acknowledgement"],
)
def test_it_expires_an_overdue_bootstrap_before_any_write_applies(baseline, write, cause_type) -> None:
    base = baseline()
    operation = start(base.environment, now=START_AT, timeout_seconds=TIMEOUT)
    now = DEADLINE + timedelta(minutes=5)

    write(base, now)

    operation.refresh_from_db()
    assert operation.status == "timed_out"
    newest, expiry = history(base.environment)[:2]
    assert (expiry.cause_type, expiry.cause_id, expiry.occurred_at) == ("deadline", operation.operation_id, DEADLINE)
    assert (newest.cause_type, newest.from_data_state, newest.data_state) == (cause_type, "unknown", "unknown")


# ---------------------------------------------------------------------------------------------------
# Rule 7 step 1: superseded
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result_fields", "readiness"),
    [
        pytest.param({}, "ready", id="late-pass-reads-ready"),
        pytest.param(
            {"bootstrap_run_status": "fail", "data_mutated": True, "post_deploy_status": "not_run"},
            "partially_bootstrapped",
            id="late-fail-after-mutation-reads-partial",
        ),
        pytest.param({"identity": "wrong"}, "verification_failed", id="late-mismatch-reads-verification-failed"),
        pytest.param({"health_status": "skipped"}, "unverified", id="late-unverified-reads-unverified"),
    ],
)
def test_it_supersedes_a_late_result_after_a_newer_bootstrap_started(baseline, result_fields, readiness) -> None:
    base = baseline()
    old = start(base.environment, now=START_AT, timeout_seconds=TIMEOUT)
    newer = start(base.environment, now=DEADLINE + timedelta(minutes=1))  # expires the old one first
    old.refresh_from_db()
    assert old.status == "timed_out"
    inventory_before = inventory_fields(base.environment)
    transitions = InventoryTransition.objects.count()
    result = result_for(base.environment, **result_fields)

    finish(old, result, now=DEADLINE + timedelta(minutes=2))

    old.refresh_from_db()
    assert (old.status, old.late) == ("finished", True)
    assert (old.readiness_status, old.inventory_effect) == (readiness, "superseded")
    assert old.bootstrap_run_status == result.bootstrap_run_status
    assert (old.data_mutated, old.health_status) == (result.data_mutated, result.health_status)
    assert InventoryTransition.objects.count() == transitions
    assert inventory_fields(base.environment) == inventory_before
    assert inventory_of(base.environment).last_bootstrap == newer
    base.assert_deployment_untouched()


# ---------------------------------------------------------------------------------------------------
# Rule 10: one active bootstrap per environment
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["start", "one-shot"])
def test_it_refuses_a_second_bootstrap_naming_the_active_one_and_writes_nothing(baseline, how) -> None:
    base = baseline()
    active = start(base.environment, now=START_AT)
    counts = row_counts()
    inventory_before = inventory_fields(base.environment)

    with pytest.raises(BootstrapActive) as raised:
        if how == "start":
            start(base.environment, now=RESULT_AT)
        else:
            bootstrap_once(base.environment, result_for(base.environment), now=RESULT_AT)

    error = raised.value
    assert error.code == "bootstrap_active"
    assert error.fields == {"operation_id": active.operation_id}
    assert error.as_dict()["active_operation_id"] == active.operation_id
    assert active.operation_id in error.message
    assert row_counts() == counts
    assert inventory_fields(base.environment) == inventory_before


def test_it_starts_a_new_bootstrap_once_the_active_one_is_overdue(baseline) -> None:
    base = baseline()
    old = start(base.environment, now=START_AT, timeout_seconds=TIMEOUT)

    newer = start(base.environment, now=DEADLINE + timedelta(seconds=1))

    old.refresh_from_db()
    assert (old.status, newer.status) == ("timed_out", "running")
    assert newer.data_state_before == "unknown"
    assert [(t.cause_type, t.cause_id) for t in history(base.environment)[:2]] == [
        ("bootstrap", newer.operation_id),
        ("deadline", old.operation_id),
    ]
    assert history(base.environment)[1].occurred_at == DEADLINE


def test_it_enforces_one_active_bootstrap_in_the_database(baseline) -> None:
    from django.db import IntegrityError, transaction

    base = baseline()
    active = start(base.environment, now=START_AT)

    with pytest.raises(IntegrityError), transaction.atomic():
        BootstrapOperation.objects.create(
            environment=base.environment,
            sequence=10_000,
            data_source="empty",
            requested_by="sneaky",
            data_state_before="current",
            deadline=DEADLINE,
            started_at=START_AT,
        )
    assert list(BootstrapOperation.objects.active()) == [active]


# ---------------------------------------------------------------------------------------------------
# Rule 11: one transition per applied record; one for a one-shot
# ---------------------------------------------------------------------------------------------------


def test_it_appends_one_transition_for_a_one_shot_bootstrap(baseline) -> None:
    base = baseline()
    transitions = InventoryTransition.objects.count()

    operation = run_bootstrap_once(
        base.environment,
        result_for(base.environment, bootstrap_run_status="fail", data_mutated=True, post_deploy_status="not_run"),
        data_source="empty",
        actor="ci-driver",
        now=START_AT,
    )

    operation.refresh_from_db()
    inventory = inventory_of(base.environment)
    assert (operation.status, operation.late, operation.readiness_status) == (
        "finished",
        False,
        "partially_bootstrapped",
    )
    assert (operation.data_state_before, operation.inventory_effect) == ("current", "marked")
    assert inventory.last_bootstrap == operation
    assert InventoryTransition.objects.count() == transitions + 1
    transition = history(base.environment)[0]
    assert_transition(
        transition,
        from_sides=("current", "current"),
        sides=("current", "partially_bootstrapped"),
        effect="marked",
        cause_type="bootstrap",
        cause_id=operation.operation_id,
        actor="ci-driver",
        occurred_at=START_AT,
    )
    assert operation.sequence < transition.sequence
    base.assert_deployment_untouched()


def test_it_appends_one_transition_per_start_result_timeout_and_cancel_and_none_when_superseded(baseline) -> None:
    base = baseline()
    first_count = InventoryTransition.objects.count()
    a = start(base.environment, now=START_AT, timeout_seconds=TIMEOUT)  # +1
    finish(a, result_for(base.environment), now=RESULT_AT)  # +1
    b = start(base.environment, now=RESULT_AT, timeout_seconds=TIMEOUT)  # +1
    c = start(base.environment, now=RESULT_AT + timedelta(seconds=TIMEOUT + 1))  # +2: b times out, c starts
    finish(b, result_for(base.environment), now=RESULT_AT + timedelta(seconds=TIMEOUT + 2))  # superseded: +0
    cancel_bootstrap(c, reason="stop", actor="ops", now=RESULT_AT + timedelta(seconds=TIMEOUT + 3))  # +1

    transitions = history(base.environment)[: InventoryTransition.objects.count() - first_count]
    assert [(t.cause_type, t.cause_id, t.effect) for t in transitions] == [
        ("cancel", c.operation_id, "marked"),
        ("bootstrap", c.operation_id, "pending"),
        ("deadline", b.operation_id, "marked"),
        ("bootstrap", b.operation_id, "pending"),
        ("bootstrap", a.operation_id, "advanced"),
        ("bootstrap", a.operation_id, "pending"),
    ]
    sequences = [t.sequence for t in transitions]
    assert sequences == sorted(set(sequences), reverse=True)
    base.assert_deployment_untouched()


# ---------------------------------------------------------------------------------------------------
# Bad input and finished operations
# ---------------------------------------------------------------------------------------------------

CONTRADICTIONS = [
    pytest.param({"bootstrap_run_status": "not_run", "data_mutated": True}, {"data_mutated"}, id="not-run-mutated"),
    pytest.param(
        {"bootstrap_run_status": "not_run", "data_mutated": None}, {"data_mutated"}, id="not-run-mutated-null"
    ),
    pytest.param({"bootstrap_run_status": "pass", "data_mutated": False}, {"data_mutated"}, id="pass-not-mutated"),
    pytest.param(
        {"bootstrap_run_status": "fail", "data_mutated": True, "post_deploy_status": "pass"},
        {"post_deploy_status"},
        id="fail-with-post-deploy-pass",
    ),
    pytest.param(
        {"bootstrap_run_status": "fail", "data_mutated": True, "post_deploy_status": "fail"},
        {"post_deploy_status"},
        id="fail-with-post-deploy-fail",
    ),
    pytest.param(
        {"bootstrap_run_status": "not_run", "data_mutated": False, "post_deploy_status": "pass"},
        {"post_deploy_status"},
        id="not-run-with-post-deploy-pass",
    ),
    pytest.param(
        {"bootstrap_run_status": "not_run", "data_mutated": True, "post_deploy_status": "fail"},
        {"data_mutated", "post_deploy_status"},
        id="not-run-mutated-with-post-deploy-fail-names-both",
    ),
    pytest.param({"bootstrap_run_status": "pending", "data_mutated": True}, {"bootstrap_run_status"}, id="run-pending"),
    pytest.param({"bootstrap_run_status": "running", "data_mutated": True}, {"bootstrap_run_status"}, id="run-running"),
    pytest.param(
        {"identity": IdentityInput(sent=True, value={"context": "cm"}, unverifiable=True)},
        {"runtime_identity_status", "observed_runtime_identity"},
        id="unverifiable-with-identity",
    ),
]


def _contradictory(environment, fields: dict[str, Any]) -> BootstrapResult:
    base_fields = {"post_deploy_status": "not_run", **fields}
    return result_for(environment, **base_fields)


@pytest.mark.parametrize(("result_fields", "named"), CONTRADICTIONS)
def test_it_refuses_a_contradictory_result_naming_the_fields_and_writes_nothing(baseline, result_fields, named) -> None:
    base = baseline()
    operation = start(base.environment, now=START_AT)
    counts = row_counts()
    inventory_before = inventory_fields(base.environment)
    operation_before = field_values(operation)

    with pytest.raises(ContradictoryResult) as raised:
        finish(operation, _contradictory(base.environment, result_fields), now=RESULT_AT)

    assert raised.value.code == "contradictory_result"
    assert set(raised.value.fields) == named
    assert row_counts() == counts
    assert inventory_fields(base.environment) == inventory_before
    assert field_values(operation) == operation_before


@pytest.mark.parametrize(("result_fields", "named"), CONTRADICTIONS)
def test_it_refuses_a_contradictory_one_shot_naming_result_fields_and_writes_nothing(
    baseline, result_fields, named
) -> None:
    base = baseline()
    counts = row_counts()
    inventory_before = inventory_fields(base.environment)

    with pytest.raises(ContradictoryResult) as raised:
        bootstrap_once(base.environment, _contradictory(base.environment, result_fields), now=START_AT)

    assert set(raised.value.fields) == {f"result.{name}" for name in named}
    assert row_counts() == counts
    assert inventory_fields(base.environment) == inventory_before


@pytest.mark.parametrize(
    ("result_fields", "named"),
    [
        pytest.param({"bootstrap_run_status": "maybe"}, "bootstrap_run_status", id="unknown-run-status"),
        pytest.param({"canonical_status": "green"}, "canonical_status", id="unknown-check-status"),
    ],
)
def test_it_refuses_a_result_with_unknown_statuses_and_writes_nothing(baseline, result_fields, named) -> None:
    base = baseline()
    operation = start(base.environment, now=START_AT)
    counts = row_counts()

    with pytest.raises(InvalidInput) as raised:
        finish(operation, result_for(base.environment, **result_fields), now=RESULT_AT)

    assert raised.value.code == "validation_error"
    assert named in raised.value.fields
    assert row_counts() == counts


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        pytest.param({"data_source": "tape"}, "data_source", id="unknown-data-source"),
        pytest.param({"timeout_seconds": 0}, "timeout_seconds", id="timeout-too-short"),
        pytest.param({"timeout_seconds": MAX_TIMEOUT_SECONDS + 1}, "timeout_seconds", id="timeout-too-long"),
    ],
)
def test_it_refuses_an_invalid_start_and_writes_nothing(baseline, kwargs, named) -> None:
    base = baseline()
    counts = row_counts()
    inventory_before = inventory_fields(base.environment)

    with pytest.raises(InvalidInput) as raised:
        start(base.environment, now=START_AT, **kwargs)

    assert named in raised.value.fields
    assert row_counts() == counts
    assert inventory_fields(base.environment) == inventory_before


@pytest.mark.parametrize("reason", ["", "  "])
def test_it_refuses_a_cancel_without_a_reason_and_writes_nothing(baseline, reason) -> None:
    base = baseline()
    operation = start(base.environment, now=START_AT)
    counts = row_counts()
    operation_before = field_values(operation)

    with pytest.raises(InvalidInput) as raised:
        cancel_bootstrap(operation, reason=reason, actor="ops", now=RESULT_AT)

    assert "reason" in raised.value.fields
    assert row_counts() == counts
    assert field_values(operation) == operation_before


def _finished(base) -> BootstrapOperation:
    operation = start(base.environment, now=START_AT)
    return finish(operation, result_for(base.environment), now=RESULT_AT)


def _cancelled(base) -> BootstrapOperation:
    operation = start(base.environment, now=START_AT)
    return cancel_bootstrap(operation, reason="stop", actor="ops", now=RESULT_AT)


@pytest.mark.parametrize("ended", [_finished, _cancelled], ids=["finished", "cancelled"])
def test_it_refuses_a_result_for_a_finished_or_cancelled_bootstrap_and_writes_nothing(baseline, ended) -> None:
    base = baseline()
    operation = ended(base)
    counts = row_counts()
    inventory_before = inventory_fields(base.environment)
    operation_before = field_values(operation)

    with pytest.raises(OperationFinished) as raised:
        finish(operation, result_for(base.environment), now=RESULT_AT + timedelta(minutes=1))

    assert raised.value.code == "operation_finished"
    assert row_counts() == counts
    assert inventory_fields(base.environment) == inventory_before
    assert field_values(operation) == operation_before


def _timed_out(base) -> BootstrapOperation:
    operation = start(base.environment, now=START_AT, timeout_seconds=TIMEOUT)
    expire_overdue(now=DEADLINE + timedelta(seconds=1))
    operation.refresh_from_db()
    return operation


@pytest.mark.parametrize("ended", [_finished, _cancelled, _timed_out], ids=["finished", "cancelled", "timed-out"])
def test_it_refuses_to_cancel_a_bootstrap_that_is_over_and_writes_nothing(baseline, ended) -> None:
    base = baseline()
    operation = ended(base)
    counts = row_counts()
    operation_before = field_values(operation)

    with pytest.raises(OperationFinished):
        cancel_bootstrap(operation, reason="too late", actor="ops", now=DEADLINE + timedelta(minutes=5))

    assert row_counts() == counts
    assert field_values(operation) == operation_before


def test_it_refuses_to_change_a_finished_bootstrap(baseline) -> None:
    base = baseline()
    operation = BootstrapOperation.objects.get(pk=_finished(base).pk)
    stored = field_values(operation)
    operation.reason = "rewritten"
    operation.readiness_status = "ready"

    try:
        with pytest.raises((ValidationError, ProtectedError)):
            operation.save()
    finally:
        assert field_values(operation) == stored


def test_it_refuses_to_delete_a_finished_bootstrap(baseline) -> None:
    base = baseline()
    bootstrap_once(base.environment, result_for(base.environment), now=START_AT)  # the baseline's is now history
    inventory = inventory_of(base.environment)
    finished = BootstrapOperation.objects.get(pk=base.ready.pk)
    assert finished.status == "finished"
    assert finished.pk not in {inventory.last_bootstrap_id, inventory.current_bootstrap_id, inventory.lkg_bootstrap_id}

    try:
        with pytest.raises((ValidationError, ProtectedError)):
            finished.delete()
    finally:
        assert BootstrapOperation.objects.filter(pk=base.ready.pk).exists()
