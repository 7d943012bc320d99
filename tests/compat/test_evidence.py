"""``POST /v1/evidence/deployments`` over HTTP: issue 14's acceptance list — a passing deployment, a failed
one, a deployment with bootstrap evidence (two records), bootstrap evidence with ``deploy.status: skipped``
(no deployment, the pointer unmoved), replay and key reuse, scope."""

from __future__ import annotations

from unittest import mock

import pytest

from bootstraps.models import BootstrapOperation
from compat.models import DeploymentEvidence
from inventory.models import DeploymentRecord, EnvironmentInventory
from launchplane.models import IdempotencyKey
from tests.api.support import DEPLOYMENTS, deployment_body, post
from tests.compat.support import EVIDENCE, accepted, payload, rejected, submit
from tests.factories import deploy, make_environment, row_counts, runtime_identity, start

pytestmark = pytest.mark.django_db


def inventory(environment) -> EnvironmentInventory:
    return EnvironmentInventory.objects.get(pk=environment.pk)


def test_a_passing_deployment_becomes_the_current_deployment(automation):
    environment = make_environment()
    body = payload(record_id="gh-1")

    records = accepted(submit(automation.http, body))

    assert records == {"deployment_record_id": "gh-1", "inventory_record_id": "cm-testing"}
    record = DeploymentRecord.objects.get(record_id="gh-1")
    assert (record.deploy_status, record.post_deploy_status, record.health_status) == ("pass", "pass", "pass")
    assert (record.runtime_identity_status, record.inventory_effect) == ("match", "advanced")
    assert record.recorded_by == "api:ci-cm"
    after = inventory(environment)
    assert after.current_deployment_id == record.pk
    assert (after.state, after.deployment_state) == ("current", "current")
    assert BootstrapOperation.objects.count() == 0


def test_a_failed_deployment_is_stored_and_leaves_the_current_one_in_place(automation):
    environment = make_environment()
    current = deploy(environment, "dep-current").record

    records = accepted(
        submit(
            automation.http,
            payload(deploy_status="fail", post_deploy=OMIT_POST, identity=runtime_identity("dep-current")),
        )
    )

    failed = DeploymentRecord.objects.get(record_id=records["deployment_record_id"])
    assert (failed.deploy_status, failed.inventory_effect) == ("fail", "retained")
    after = inventory(environment)
    assert after.current_deployment_id == current.pk
    assert after.last_deployment_attempt_id == failed.pk
    assert after.state == "current"


OMIT_POST = "not attempted"


def test_a_deployment_with_attempted_bootstrap_evidence_becomes_two_records(automation):
    environment = make_environment()

    records = accepted(submit(automation.http, payload(bootstrap="pass")))

    assert set(records) == {"deployment_record_id", "inventory_record_id", "bootstrap_operation_id"}
    record = DeploymentRecord.objects.get(record_id=records["deployment_record_id"])
    operation = BootstrapOperation.objects.get(operation_id=records["bootstrap_operation_id"])
    assert operation.environment == environment and record.environment == environment
    assert record.sequence < operation.sequence
    after = inventory(environment)
    assert (after.current_deployment_id, after.last_bootstrap_id) == (record.pk, operation.pk)
    # Canonical and logo were never checked (this payload never carries them): the data is unverified.
    assert (after.deployment_state, after.data_state) == ("current", "unverified")
    assert environment.transitions.filter(cause_type="deployment").count() == 1
    assert environment.transitions.filter(cause_type="bootstrap").count() == 1


def test_bootstrap_evidence_with_deploy_skipped_records_no_deployment_and_moves_no_pointer(automation):
    environment = make_environment()
    current = deploy(environment, "dep-current").record
    before = inventory(environment)

    records = accepted(
        submit(
            automation.http,
            payload(deploy_status="skipped", bootstrap="pass", identity=runtime_identity("dep-current")),
        )
    )

    assert records["deployment_record_id"] is None
    assert DeploymentRecord.objects.filter(environment=environment).count() == 1
    after = inventory(environment)
    assert (after.current_deployment_id, after.last_deployment_attempt_id) == (current.pk, current.pk)
    assert after.last_bootstrap.operation_id == records["bootstrap_operation_id"]
    assert after.deployment_state == before.deployment_state
    assert not environment.transitions.filter(cause_type="deployment").exclude(cause_id="dep-current").exists()


def test_a_bootstrap_refused_takes_the_deployment_with_it(automation):
    """One transaction: a payload whose bootstrap cannot be recorded (another is active, rule 10)
    records nothing, not even its deployment."""
    environment = make_environment()
    deploy(environment, "dep-current")
    start(environment)
    before = row_counts()

    error = rejected(submit(automation.http, payload(bootstrap="pass")), 409, "bootstrap_active")

    assert "still active" in error["message"]
    assert row_counts() == before


def test_a_failure_after_the_deployment_rolls_the_deployment_back(automation):
    environment = make_environment()
    before = row_counts()

    with mock.patch("compat.services.run_bootstrap_once", side_effect=RuntimeError("boom")):
        response = submit(automation.http, payload(bootstrap="pass"))

    rejected(response, 500, "server_error")
    assert row_counts() == before
    assert inventory(environment).current_deployment_id is None


def test_the_whole_payload_is_kept_as_evidence(automation):
    make_environment()
    body = payload(bootstrap="pass")

    records = accepted(submit(automation.http, body))

    evidence = DeploymentEvidence.objects.get()
    assert evidence.payload == body
    assert evidence.deployment.record_id == records["deployment_record_id"]
    assert evidence.bootstrap.operation_id == records["bootstrap_operation_id"]
    assert (evidence.submitted_by, evidence.product) == ("api:ci-cm", "cm")


# ---------------------------------------------------------------------------------------------------
# Replay and key reuse (one key table with /api/v1/)
# ---------------------------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_replays_the_first_answer_and_records_nothing_new(automation):
    make_environment()
    body = payload(bootstrap="pass")
    first = submit(automation.http, body, key="deploy-4711")
    before = row_counts()

    again = submit(automation.http, body, key="deploy-4711")

    assert again.status_code == 202
    assert again.json() == {**first.json(), "replayed": True}
    assert again["Idempotent-Replayed"] == "true"
    assert "replayed" not in first.json()
    assert row_counts() == before


def test_the_same_key_with_another_body_is_409_idempotency_key_reused(automation):
    make_environment()
    accepted(submit(automation.http, payload(), key="deploy-4711"))
    before = row_counts()

    error = rejected(submit(automation.http, payload(), key="deploy-4711"), 409, "idempotency_key_reused")

    assert "deploy-4711" in error["message"]
    assert row_counts() == before


def test_a_key_used_on_our_api_is_the_same_key_here(automation):
    environment = make_environment()
    deploy(environment, "dep-current")
    assert post(automation.http, DEPLOYMENTS, deployment_body(), key="shared-1").status_code == 201

    rejected(submit(automation.http, payload(), key="shared-1"), 409, "idempotency_key_reused")
    accepted(submit(automation.http, payload(), key="shared-2"))
    # ... and the other way round: our API answers its own 422 for a key used here.
    response = post(automation.http, DEPLOYMENTS, deployment_body(), key="shared-2")
    assert (response.status_code, response.json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert IdempotencyKey.objects.filter(key__startswith="shared-").count() == 2


def test_a_refused_request_keeps_no_key_so_it_can_be_fixed_and_retried(automation):
    rejected(submit(automation.http, payload(), key="deploy-4712"), 404, "not_found")  # no environment yet
    make_environment()

    accepted(submit(automation.http, payload(), key="deploy-4712"))


def test_a_record_id_is_used_once_even_when_only_a_bootstrap_was_recorded(automation):
    environment = make_environment()
    deploy(environment, "dep-current")
    identity = runtime_identity("dep-current")
    accepted(
        submit(automation.http, payload(record_id="gh-9", deploy_status="skipped", bootstrap="pass", identity=identity))
    )
    before = row_counts()

    error = rejected(
        submit(
            automation.http, payload(record_id="gh-9", deploy_status="skipped", bootstrap="pass", identity=identity)
        ),
        409,
        "conflict",
    )

    assert "gh-9" in error["message"]
    assert row_counts() == before


# ---------------------------------------------------------------------------------------------------
# Scope
# ---------------------------------------------------------------------------------------------------


def test_no_token_is_401_authentication_required_with_www_authenticate(anonymous):
    make_environment()
    response = submit(anonymous, payload())
    rejected(response, 401, "authentication_required")
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_bad_token_is_401(anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer lp_not-a-token")
    response = submit(anonymous, payload())
    rejected(response, 401, "authentication_required")
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_client_scoped_elsewhere_gets_403_before_any_fault_of_the_body(outsider):
    make_environment()
    before = row_counts()

    error = rejected(submit(outsider.http, payload(source_git_ref=" padded")), 403, "authorization_denied")

    assert "cm" in error["message"]
    assert row_counts() == before


def test_a_read_only_client_cannot_post(reader):
    make_environment()
    before = row_counts()

    error = rejected(submit(reader.http, payload()), 403, "authorization_denied")

    assert "only read" in error["message"]
    assert row_counts() == before


def test_a_staff_session_without_superuser_rights_may_not_post(staff_session):
    make_environment()
    rejected(submit(staff_session, payload()), 403, "authorization_denied")


def test_the_trace_id_differs_per_request(automation):
    make_environment()
    first = submit(automation.http, payload()).json()["trace_id"]
    second = submit(automation.http, payload()).json()["trace_id"]
    assert first != second


def test_only_post_is_answered(automation):
    rejected(automation.http.get(EVIDENCE), 405, "method_not_allowed")
