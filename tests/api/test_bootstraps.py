"""GET|POST /api/v1/bootstraps/, GET /api/v1/bootstraps/{operation_id}/, POST .../result/ and .../cancel/
over HTTP, and an operation's deadline as the API shows it (rule 9)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from bootstraps.models import BootstrapOperation
from inventory.models import DeploymentRecord, InventoryTransition
from tests.api.support import (
    BOOTSTRAPS,
    DEPLOYMENTS,
    ENVIRONMENTS,
    OBSERVED_MINUTE,
    OMIT,
    at,
    bootstrap_url,
    cancel_url,
    clock_at,
    deployment_body,
    environment_url,
    error_of,
    history_url,
    new_key,
    observations_url,
    post,
    result_body,
    result_url,
    start_body,
)
from tests.factories import bootstrap_once, deploy, finish, make_environment, passing_result, runtime_identity, start

pytestmark = pytest.mark.django_db

OPERATION_FIELDS = {
    "operation_id",
    "context",
    "instance",
    "data_source",
    "status",
    "bootstrap_run_status",
    "data_mutated",
    "post_deploy_status",
    "health_status",
    "canonical_status",
    "logo_status",
    "runtime_identity_status",
    "readiness_status",
    "inventory_effect",
    "late",
    "deadline",
    "started_at",
    "finished_at",
}


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def deployed(db):
    """cm/testing with a current deployment ``dep-1`` (state current, data untouched)."""
    environment = make_environment()
    deploy(environment, "dep-1")
    return environment


@pytest.fixture
def expected() -> dict[str, Any]:
    """The identity a runtime running ``dep-1`` on cm/testing reports."""
    return {
        "context": "cm",
        "instance": "testing",
        "deployment_record_id": "dep-1",
        "artifact_id": "artifact-dep-1",
        "source_git_ref": "refs/heads/main",
    }


def transitions() -> int:
    return InventoryTransition.objects.count()


# ---------------------------------------------------------------------------------------------------
# Start
# ---------------------------------------------------------------------------------------------------


def test_it_starts_a_bootstrap_and_answers_201_running_and_pending(automation, deployed) -> None:
    response = post(automation.http, BOOTSTRAPS, start_body(timeout_seconds=600), key=new_key())

    assert response.status_code == 201
    body = response.json()
    assert OPERATION_FIELDS | {"environment"} <= set(body)
    assert body["operation_id"]
    assert (body["status"], body["readiness_status"], body["inventory_effect"]) == ("running", "pending", "pending")
    assert body["bootstrap_run_status"] == "running"
    assert body["late"] is False and body["finished_at"] is None
    assert parse(body["deadline"]) - parse(body["started_at"]) == timedelta(seconds=600)
    environment = body["environment"]
    assert (environment["data_state"], environment["state"]) == ("bootstrap_in_progress", "bootstrap_in_progress")
    assert environment["last_bootstrap"]["operation_id"] == body["operation_id"]
    assert environment["current_deployment"]["record_id"] == "dep-1"
    assert BootstrapOperation.objects.get().operation_id == body["operation_id"]


def test_a_start_defaults_to_a_one_hour_timeout(automation, deployed) -> None:
    body = post(automation.http, BOOTSTRAPS, start_body(reason=OMIT), key=new_key()).json()

    assert body["timeout_seconds"] == 3600
    assert body["reason"] == ""


@pytest.mark.parametrize("timeout_seconds", [1, 86400])
def test_a_start_accepts_the_timeout_bounds(automation, deployed, timeout_seconds) -> None:
    response = post(automation.http, BOOTSTRAPS, start_body(timeout_seconds=timeout_seconds), key=new_key())

    assert response.status_code == 201
    assert response.json()["timeout_seconds"] == timeout_seconds


def test_a_start_without_an_idempotency_key_answers_400_idempotency_key_required(automation, deployed) -> None:
    response = post(automation.http, BOOTSTRAPS, start_body())

    error = error_of(response, 400, "idempotency_key_required")
    assert "Idempotency-Key" in error["fields"]
    assert BootstrapOperation.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"context": OMIT}, "context"),
        ({"instance": OMIT}, "instance"),
        ({"data_source": OMIT}, "data_source"),
        ({"data_source": "copy"}, "data_source"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"timeout_seconds": 86401}, "timeout_seconds"),
        ({"timeout_seconds": "60"}, "timeout_seconds"),
        ({"timeout_seconds": 1.5}, "timeout_seconds"),
        ({"reason": 5}, "reason"),
        ({"colour": "blue"}, "colour"),
        ({"result": None}, "result"),
        ({"result": "pass"}, "result"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_it_rejects_an_invalid_start_naming_the_field(automation, deployed, changes, field) -> None:
    response = post(automation.http, BOOTSTRAPS, start_body(**changes), key=new_key())

    error = error_of(response, 400, "validation_error")
    assert field in error["fields"], error
    assert BootstrapOperation.objects.count() == 0


def test_a_start_naming_an_unknown_environment_answers_404_not_found(automation, deployed) -> None:
    response = post(automation.http, BOOTSTRAPS, start_body(instance="nowhere"), key=new_key())

    error_of(response, 404, "not_found")


def test_a_second_start_while_one_is_active_answers_409_bootstrap_active_naming_it(automation, deployed) -> None:
    active = start(deployed)

    response = post(automation.http, BOOTSTRAPS, start_body(), key=new_key())

    error = error_of(response, 409, "bootstrap_active")
    assert active.operation_id in error["message"]
    assert error["fields"].get("operation_id") == active.operation_id
    assert BootstrapOperation.objects.count() == 1


def test_a_start_after_the_active_one_finished_is_accepted(automation, deployed) -> None:
    finish(start(deployed), passing_result(deployed))

    response = post(automation.http, BOOTSTRAPS, start_body(), key=new_key())

    assert response.status_code == 201


# ---------------------------------------------------------------------------------------------------
# One-shot: start and result in one request
# ---------------------------------------------------------------------------------------------------


def test_a_start_with_a_result_records_a_finished_operation_with_one_transition(automation, deployed, expected) -> None:
    before = transitions()

    response = post(automation.http, BOOTSTRAPS, start_body(result=result_body(expected)), key=new_key())

    assert response.status_code == 201
    body = response.json()
    assert OPERATION_FIELDS | {"environment"} <= set(body)
    assert (body["status"], body["readiness_status"], body["inventory_effect"]) == ("finished", "ready", "advanced")
    assert body["late"] is False
    assert body["environment"]["last_bootstrap"]["operation_id"] == body["operation_id"]
    assert body["environment"]["last_known_good"]["bootstrap_operation_id"] == body["operation_id"]
    assert transitions() == before + 1


def test_a_one_shot_answers_with_the_same_body_as_a_result(automation, deployed, expected) -> None:
    one_shot = post(automation.http, BOOTSTRAPS, start_body(result=result_body(expected)), key=new_key()).json()
    operation = start(deployed)
    result = post(automation.http, result_url(operation.operation_id), result_body(expected)).json()

    assert set(one_shot) == set(result)
    assert set(one_shot["environment"]) == set(result["environment"])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"bootstrap_run_status": OMIT}, "result.bootstrap_run_status"),
        ({"data_mutated": OMIT}, "result.data_mutated"),
        ({"health_status": "green"}, "result.health_status"),
        ({"finished_at": "2026-11-27T12:00:00"}, "result.finished_at"),
        ({"colour": "blue"}, "result.colour"),
        ({"verification_evidence": [{"probe": "health", "status": "green"}]}, "result.verification_evidence.0.status"),
        (
            {"verification_evidence": [{"probe": "health", "status": "pass", "colour": "blue"}]},
            "result.verification_evidence.0.colour",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_it_rejects_an_invalid_result_in_a_start_naming_the_dotted_field(
    automation, deployed, expected, changes, field
) -> None:
    body = start_body(result=result_body(expected, **changes))

    response = post(automation.http, BOOTSTRAPS, body, key=new_key())

    error = error_of(response, 400, "validation_error")
    assert field in error["fields"], error
    assert BootstrapOperation.objects.count() == 0


def test_a_contradictory_result_in_a_start_names_the_dotted_fields(automation, deployed, expected) -> None:
    body = start_body(result=result_body(expected, data_mutated=False))

    response = post(automation.http, BOOTSTRAPS, body, key=new_key())

    error = error_of(response, 400, "contradictory_result")
    assert "result.data_mutated" in error["fields"], error
    assert BootstrapOperation.objects.count() == 0


# ---------------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------------


def test_a_result_answers_200_with_every_status_its_effect_late_and_the_read_model(
    automation, deployed, expected
) -> None:
    operation = start(deployed)
    evidence = [
        {
            "probe": "health",
            "url": "https://cm.example.com/web/health",
            "status": "pass",
            "status_code": 200,
            "failure_class": None,
            "detail": "ok",
        }
    ]

    body = result_body(expected, verification_evidence=evidence, error_message="")
    response = post(automation.http, result_url(operation.operation_id), body)

    assert response.status_code == 200
    answered = response.json()
    assert OPERATION_FIELDS | {"environment", "verification_evidence"} <= set(answered)
    assert answered["status"] == "finished"
    assert answered["bootstrap_run_status"] == "pass"
    assert answered["data_mutated"] is True
    for check in ("post_deploy_status", "health_status", "canonical_status", "logo_status"):
        assert answered[check] == "pass"
    assert answered["runtime_identity_status"] == "match"
    assert (answered["readiness_status"], answered["inventory_effect"], answered["late"]) == (
        "ready",
        "advanced",
        False,
    )
    assert answered["verification_evidence"] == evidence
    assert answered["environment"]["state"] == "current"
    assert answered["environment"]["last_bootstrap"]["readiness_status"] == "ready"


def test_a_result_defaults_the_checks_it_leaves_out_to_not_run(automation, deployed) -> None:
    operation = start(deployed)

    body = {"bootstrap_run_status": "fail", "data_mutated": None}
    answered = post(automation.http, result_url(operation.operation_id), body).json()

    for check in ("post_deploy_status", "health_status", "canonical_status", "logo_status"):
        assert answered[check] == "not_run"
    assert answered["data_mutated"] is None
    assert answered["readiness_status"] == "unknown"


def test_a_result_keeps_the_finished_at_the_client_sent(automation, deployed, expected) -> None:
    operation = start(deployed)

    sent = (operation.started_at + timedelta(seconds=90)).replace(microsecond=0)
    body = result_body(expected, finished_at=sent.isoformat())
    answered = post(automation.http, result_url(operation.operation_id), body).json()

    assert parse(answered["finished_at"]) == sent


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"bootstrap_run_status": OMIT}, "bootstrap_run_status"),
        ({"bootstrap_run_status": "ok"}, "bootstrap_run_status"),
        ({"data_mutated": OMIT}, "data_mutated"),
        ({"data_mutated": "yes"}, "data_mutated"),
        ({"health_status": "green"}, "health_status"),
        ({"canonical_status": None}, "canonical_status"),
        ({"logo_status": 1}, "logo_status"),
        ({"post_deploy_status": "done"}, "post_deploy_status"),
        ({"runtime_identity_status": "match"}, "runtime_identity_status"),
        ({"finished_at": "2026-11-27T12:00:00"}, "finished_at"),
        ({"error_message": 5}, "error_message"),
        ({"colour": "blue"}, "colour"),
        ({"verification_evidence": {"probe": "health"}}, "verification_evidence"),
        ({"verification_evidence": [{"status": "pass"}]}, "verification_evidence.0.probe"),
        ({"verification_evidence": [{"probe": "health", "status": "green"}]}, "verification_evidence.0.status"),
        (
            {"verification_evidence": [{"probe": "logo", "status": "pass"}, {"probe": "health", "status": "x"}]},
            "verification_evidence.1.status",
        ),
        (
            {"verification_evidence": [{"probe": "health", "status": "pass", "status_code": "200"}]},
            "verification_evidence.0.status_code",
        ),
        (
            {"verification_evidence": [{"probe": "health", "status": "pass", "colour": "blue"}]},
            "verification_evidence.0.colour",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_it_rejects_an_invalid_result_naming_the_field(automation, deployed, expected, changes, field) -> None:
    operation = start(deployed)

    response = post(automation.http, result_url(operation.operation_id), result_body(expected, **changes))

    error = error_of(response, 400, "validation_error")
    assert field in error["fields"], error
    assert BootstrapOperation.objects.get().status == "running"


CONTRADICTIONS = [
    pytest.param({"bootstrap_run_status": "not_run", "data_mutated": True}, {"data_mutated"}, id="not_run-mutated"),
    pytest.param({"bootstrap_run_status": "not_run", "data_mutated": None}, {"data_mutated"}, id="not_run-null"),
    pytest.param({"bootstrap_run_status": "pass", "data_mutated": False}, {"data_mutated"}, id="pass-unmutated"),
    pytest.param(
        {"bootstrap_run_status": "fail", "data_mutated": True, "post_deploy_status": "pass"},
        {"post_deploy_status"},
        id="fail-post_deploy-pass",
    ),
    pytest.param(
        {"bootstrap_run_status": "not_run", "data_mutated": False, "post_deploy_status": "fail"},
        {"post_deploy_status"},
        id="not_run-post_deploy-fail",
    ),
    pytest.param({"bootstrap_run_status": "pending"}, {"bootstrap_run_status"}, id="pending"),
    pytest.param({"bootstrap_run_status": "running"}, {"bootstrap_run_status"}, id="running"),
    pytest.param(
        {"runtime_identity_status": "unverifiable"},
        {"runtime_identity_status", "observed_runtime_identity"},
        id="unverifiable-with-identity",
    ),
]


@pytest.mark.parametrize(("changes", "fields"), CONTRADICTIONS)
def test_a_contradictory_result_answers_400_contradictory_result_naming_the_fields(
    automation, deployed, expected, changes, fields
) -> None:
    operation = start(deployed)
    before = transitions()

    response = post(automation.http, result_url(operation.operation_id), result_body(expected, **changes))

    error = error_of(response, 400, "contradictory_result")
    assert fields <= set(error["fields"]), error
    assert BootstrapOperation.objects.get().status == "running"
    assert transitions() == before


def test_an_unverifiable_result_may_leave_the_identity_out(automation, deployed) -> None:
    operation = start(deployed)

    body = result_body(None, runtime_identity_status="unverifiable")
    answered = post(automation.http, result_url(operation.operation_id), body).json()

    assert answered["runtime_identity_status"] == "unverifiable"
    assert answered["readiness_status"] == "unverified"


def test_a_result_for_a_finished_operation_answers_409_operation_finished(automation, deployed, expected) -> None:
    operation = finish(start(deployed), passing_result(deployed))

    response = post(automation.http, result_url(operation.operation_id), result_body(expected))

    error_of(response, 409, "operation_finished")


def test_a_result_for_a_cancelled_operation_answers_409_operation_finished(automation, deployed, expected) -> None:
    operation = start(deployed)
    post(automation.http, cancel_url(operation.operation_id), {"reason": "wrong source"})

    response = post(automation.http, result_url(operation.operation_id), result_body(expected))

    error_of(response, 409, "operation_finished")
    assert BootstrapOperation.objects.get().status == "cancelled"


def test_a_result_for_an_unknown_operation_answers_404_not_found(automation, deployed, expected) -> None:
    error_of(post(automation.http, result_url("op-nowhere"), result_body(expected)), 404, "not_found")


# ---------------------------------------------------------------------------------------------------
# Cancel
# ---------------------------------------------------------------------------------------------------


def test_a_cancel_with_data_unchanged_answers_200_and_restores_the_data_side(automation, deployed) -> None:
    operation = start(deployed)

    response = post(automation.http, cancel_url(operation.operation_id), {"reason": "wrong", "data_mutated": False})

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= OPERATION_FIELDS
    assert (body["status"], body["readiness_status"], body["bootstrap_run_status"]) == (
        "cancelled",
        "unknown",
        "unknown",
    )
    assert body["data_mutated"] is False
    assert body["inventory_effect"] == "retained"
    assert body["cancel_reason"] == "wrong"
    assert (body["environment"]["data_state"], body["environment"]["state"]) == ("untouched", "current")


def test_a_cancel_without_data_mutated_leaves_the_data_side_unknown(automation, deployed) -> None:
    operation = start(deployed)

    body = post(automation.http, cancel_url(operation.operation_id), {"reason": "driver lost"}).json()

    assert (body["status"], body["inventory_effect"]) == ("cancelled", "marked")
    assert (body["environment"]["data_state"], body["environment"]["state"]) == ("unknown", "unknown")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": 5}, "reason"),
        ({"reason": "x", "data_mutated": "no"}, "data_mutated"),
        ({"reason": "x", "colour": "blue"}, "colour"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_it_rejects_an_invalid_cancel_naming_the_field(automation, deployed, body, field) -> None:
    operation = start(deployed)

    response = post(automation.http, cancel_url(operation.operation_id), body)

    error = error_of(response, 400, "validation_error")
    assert field in error["fields"], error
    assert BootstrapOperation.objects.get().status == "running"


def test_a_cancel_of_a_finished_operation_answers_409_operation_finished(automation, deployed) -> None:
    operation = finish(start(deployed), passing_result(deployed))

    error_of(post(automation.http, cancel_url(operation.operation_id), {"reason": "late"}), 409, "operation_finished")


def test_a_cancel_of_a_cancelled_operation_answers_409_operation_finished(automation, deployed) -> None:
    operation = start(deployed)
    post(automation.http, cancel_url(operation.operation_id), {"reason": "first"})

    error_of(post(automation.http, cancel_url(operation.operation_id), {"reason": "again"}), 409, "operation_finished")


def test_a_cancel_of_an_unknown_operation_answers_404_not_found(automation) -> None:
    error_of(post(automation.http, cancel_url("op-nowhere"), {"reason": "x"}), 404, "not_found")


# ---------------------------------------------------------------------------------------------------
# Read
# ---------------------------------------------------------------------------------------------------


def test_it_reads_one_operation_by_operation_id(automation, deployed) -> None:
    operation = start(deployed)

    response = automation.http.get(bootstrap_url(operation.operation_id))

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= OPERATION_FIELDS
    assert (body["operation_id"], body["status"], body["readiness_status"]) == (
        operation.operation_id,
        "running",
        "pending",
    )


def test_an_unknown_operation_id_answers_404_not_found(automation) -> None:
    error_of(automation.http.get(bootstrap_url("op-nowhere")), 404, "not_found")


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_an_operation_cannot_be_edited_or_deleted_through_the_api(automation, deployed, method) -> None:
    operation = finish(start(deployed), passing_result(deployed))

    response = getattr(automation.http, method)(bootstrap_url(operation.operation_id), {"status": "x"}, format="json")

    error_of(response, 405, "method_not_allowed")


def test_the_bootstrap_list_is_paginated_and_newest_first(automation, deployed) -> None:
    first = bootstrap_once(deployed, passing_result(deployed))
    second = bootstrap_once(deployed, passing_result(deployed))
    third = start(deployed)

    body = automation.http.get(BOOTSTRAPS).json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert [row["operation_id"] for row in body["results"]] == [
        third.operation_id,
        second.operation_id,
        first.operation_id,
    ]
    assert set(body["results"][0]) >= OPERATION_FIELDS
    page = automation.http.get(BOOTSTRAPS, {"page_size": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


@pytest.mark.parametrize(
    ("params", "expected_names"),
    [
        ({}, ["prod-ready", "prod-running", "testing-partial"]),
        ({"context": "cm"}, ["prod-ready", "prod-running", "testing-partial"]),
        ({"instance": "testing"}, ["testing-partial"]),
        ({"status": "running"}, ["prod-running"]),
        ({"status": "finished"}, ["prod-ready", "testing-partial"]),
        ({"status": ["running", "finished"]}, ["prod-ready", "prod-running", "testing-partial"]),
        ({"readiness_status": "ready"}, ["prod-ready"]),
        ({"readiness_status": "partially_bootstrapped"}, ["testing-partial"]),
        ({"readiness_status": "pending"}, ["prod-running"]),
        ({"instance": "prod", "status": "finished"}, ["prod-ready"]),
    ],
    ids=repr,
)
def test_the_bootstrap_list_filters_by_context_instance_status_and_readiness(
    automation, deployed, params, expected_names
) -> None:
    names = {}
    partial = bootstrap_once(
        deployed, passing_result(deployed, bootstrap_run_status="fail", post_deploy_status="not_run")
    )
    names[partial.operation_id] = "testing-partial"
    prod = make_environment(instance="prod")
    deploy(prod)
    names[bootstrap_once(prod, passing_result(prod)).operation_id] = "prod-ready"
    names[start(prod).operation_id] = "prod-running"
    elsewhere = make_environment("acme", "prod")
    bootstrap_once(elsewhere, passing_result(elsewhere))

    response = automation.http.get(BOOTSTRAPS, params)

    assert response.status_code == 200
    assert sorted(names[row["operation_id"]] for row in response.json()["results"]) == expected_names


@pytest.mark.parametrize("params", [{"status": "sleeping"}, {"readiness_status": "maybe"}])
def test_an_unknown_bootstrap_filter_value_answers_400(automation, params) -> None:
    error = error_of(automation.http.get(BOOTSTRAPS, params), 400, "validation_error")

    assert set(params) <= set(error["fields"])


def test_a_bootstrap_never_touches_a_deployment_record_over_http(automation, deployed, expected) -> None:
    before = list(DeploymentRecord.objects.values())

    post(automation.http, BOOTSTRAPS, start_body(result=result_body(expected)), key=new_key())
    operation = start(deployed)
    post(automation.http, result_url(operation.operation_id), result_body(expected, canonical_status="fail"))

    assert list(DeploymentRecord.objects.values()) == before
    assert automation.http.get(environment_url()).json()["current_deployment"]["record_id"] == "dep-1"


# ---------------------------------------------------------------------------------------------------
# Deadlines (rule 9)
# ---------------------------------------------------------------------------------------------------


def test_an_overdue_operation_reads_timed_out_and_a_late_result_is_judged_by_the_table(
    automation, deployed, expected
) -> None:
    started = post(automation.http, BOOTSTRAPS, start_body(timeout_seconds=1), key=new_key()).json()
    operation_id, deadline = started["operation_id"], parse(started["deadline"])

    with clock_at(deadline + timedelta(seconds=5)):
        operation = automation.http.get(bootstrap_url(operation_id)).json()
        environment = automation.http.get(environment_url()).json()
        newest = automation.http.get(history_url()).json()["results"][0]
        late = post(automation.http, result_url(operation_id), result_body(expected))
        after = automation.http.get(environment_url()).json()

    assert (operation["status"], operation["readiness_status"]) == ("timed_out", "unknown")
    assert (operation["bootstrap_run_status"], operation["inventory_effect"]) == ("unknown", "marked")
    assert (environment["data_state"], environment["state"]) == ("unknown", "unknown")
    assert environment["last_bootstrap"]["status"] == "timed_out"
    assert (newest["cause_type"], newest["cause_id"]) == ("deadline", operation_id)
    assert parse(newest["occurred_at"]) == deadline
    assert late.status_code == 200
    answered = late.json()
    assert (answered["status"], answered["late"]) == ("finished", True)
    assert (answered["readiness_status"], answered["inventory_effect"]) == ("ready", "advanced")
    assert (after["data_state"], after["state"]) == ("current", "current")
    assert after["last_known_good"]["bootstrap_operation_id"] == operation_id


def test_a_late_failed_result_is_judged_by_the_table_too(automation, deployed) -> None:
    started = post(automation.http, BOOTSTRAPS, start_body(timeout_seconds=1), key=new_key()).json()

    with clock_at(parse(started["deadline"]) + timedelta(seconds=5)):
        body = {"bootstrap_run_status": "fail", "data_mutated": False}
        answered = post(automation.http, result_url(started["operation_id"]), body).json()

    assert (answered["late"], answered["readiness_status"], answered["inventory_effect"]) == (
        True,
        "failed_before_mutation",
        "retained",
    )
    assert answered["environment"]["data_state"] == "untouched"


@pytest.fixture
def overdue(deployed) -> BootstrapOperation:
    """An operation whose deadline passed an hour ago and that nothing has expired yet."""
    return start(deployed, timeout_seconds=60, now=timezone.now() - timedelta(hours=1))


def read_operation(http, operation: BootstrapOperation) -> dict[str, Any]:
    return http.get(bootstrap_url(operation.operation_id)).json()


def read_listed_operation(http, operation: BootstrapOperation) -> dict[str, Any]:
    rows = http.get(BOOTSTRAPS, {"status": "timed_out"}).json()["results"]
    return next(row for row in rows if row["operation_id"] == operation.operation_id)


def read_environment(http, operation: BootstrapOperation) -> dict[str, Any]:
    return http.get(environment_url()).json()["last_bootstrap"]


def read_listed_environment(http, operation: BootstrapOperation) -> dict[str, Any]:
    return http.get(ENVIRONMENTS, {"state": "unknown"}).json()["results"][0]["last_bootstrap"]


def read_history(http, operation: BootstrapOperation) -> dict[str, Any]:
    newest = http.get(history_url()).json()["results"][0]
    assert (newest["cause_type"], newest["data_state"]) == ("deadline", "unknown")
    return {"status": "timed_out", "readiness_status": "unknown"}


@pytest.mark.parametrize(
    "read", [read_operation, read_listed_operation, read_environment, read_listed_environment, read_history]
)
def test_every_reader_sees_an_overdue_operation_as_timed_out_without_the_sweeper(automation, overdue, read) -> None:
    seen = read(automation.http, overdue)

    assert (seen["status"], seen["readiness_status"]) == ("timed_out", "unknown")
    assert BootstrapOperation.objects.get().status == "timed_out"


def test_an_overdue_operation_no_longer_lists_as_running(automation, overdue) -> None:
    assert automation.http.get(BOOTSTRAPS, {"status": "running"}).json()["count"] == 0


def test_a_start_after_an_overdue_operation_expires_it_and_is_accepted(automation, overdue) -> None:
    response = post(automation.http, BOOTSTRAPS, start_body(), key=new_key())

    assert response.status_code == 201
    assert BootstrapOperation.objects.get(pk=overdue.pk).status == "timed_out"


def test_a_cancel_of_a_timed_out_operation_answers_409_operation_finished(automation, overdue) -> None:
    error_of(post(automation.http, cancel_url(overdue.operation_id), {"reason": "x"}), 409, "operation_finished")


def test_a_deployment_expires_an_overdue_operation_before_it_is_applied(automation, overdue) -> None:
    response = post(automation.http, DEPLOYMENTS, deployment_body(record_id="dep-2"))

    environment = response.json()["environment"]
    assert environment["last_bootstrap"]["status"] == "timed_out"
    assert (environment["data_state"], environment["state"]) == ("unknown", "unknown")
    assert environment["current_deployment"]["record_id"] == "dep-2"


def test_an_observation_expires_an_overdue_operation_before_it_is_applied(automation, overdue) -> None:
    body = {
        "observed_runtime_identity": runtime_identity("dep-1"),
        "source": "prober",
        "observed_at": at(OBSERVED_MINUTE),
    }

    response = post(automation.http, observations_url(), body)

    assert response.json()["environment"]["last_bootstrap"]["status"] == "timed_out"
    assert BootstrapOperation.objects.get().status == "timed_out"


def test_an_overdue_operation_no_longer_counts_as_in_progress_on_the_board(automation, overdue) -> None:
    assert automation.http.get(ENVIRONMENTS, {"state": "bootstrap_in_progress"}).json()["count"] == 0
    assert automation.http.get(ENVIRONMENTS, {"state": "unknown"}).json()["count"] == 1
