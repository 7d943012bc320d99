"""GET|POST /api/v1/deployments/ and GET /api/v1/deployments/{record_id}/ over HTTP."""

from __future__ import annotations

import pytest

from inventory.models import DeploymentRecord
from tests.api.support import (
    DEPLOYMENTS,
    OMIT,
    deployment_body,
    deployment_url,
    error_of,
    post,
)
from tests.factories import deploy, make_environment, runtime_identity

pytestmark = pytest.mark.django_db

RECORD_FIELDS = {
    "record_id",
    "context",
    "instance",
    "artifact_id",
    "source_git_ref",
    "image_digest",
    "deploy_status",
    "post_deploy_status",
    "health_status",
    "observed_runtime_identity",
    "runtime_identity_status",
    "inventory_effect",
    "started_at",
    "finished_at",
}


def test_it_records_a_deployment_and_answers_201_with_the_record_its_effect_and_the_read_model(automation) -> None:
    make_environment()
    body = deployment_body(record_id="dep-1")

    response = post(automation.http, DEPLOYMENTS, body)

    assert response.status_code == 201
    created = response.json()
    assert RECORD_FIELDS | {"environment"} <= set(created)
    assert created["record_id"] == "dep-1"
    for name in ("artifact_id", "source_git_ref", "image_digest", "deploy_status", "post_deploy_status"):
        assert created[name] == body[name]
    assert created["observed_runtime_identity"] == body["observed_runtime_identity"]
    assert created["runtime_identity_status"] == "match"
    assert created["inventory_effect"] == "advanced"
    assert created["recorded_by"] == "api:ci-cm"
    environment = created["environment"]
    assert (environment["context"], environment["instance"], environment["state"]) == ("cm", "testing", "current")
    assert environment["current_deployment"]["record_id"] == "dep-1"
    assert environment["last_known_good"]["deployment_record_id"] == "dep-1"
    assert DeploymentRecord.objects.get().record_id == "dep-1"


def test_the_server_assigns_a_record_id_when_the_client_sends_none(automation) -> None:
    make_environment()

    response = post(automation.http, DEPLOYMENTS, deployment_body(record_id=OMIT, identity_value=OMIT))

    assert response.status_code == 201
    record_id = response.json()["record_id"]
    assert record_id and DeploymentRecord.objects.get().record_id == record_id
    assert automation.http.get(deployment_url(record_id)).json()["record_id"] == record_id


def test_a_failed_deployment_is_stored_whole_without_moving_the_current_pointer(automation) -> None:
    deploy(make_environment(), "dep-1")

    response = post(automation.http, DEPLOYMENTS, deployment_body(record_id="dep-2", deploy_status="fail"))

    assert response.status_code == 201
    environment = response.json()["environment"]
    assert environment["current_deployment"]["record_id"] == "dep-1"
    assert environment["last_deployment_attempt"]["record_id"] == "dep-2"
    assert environment["last_deployment_attempt"]["deploy_status"] == "fail"


def test_it_accepts_an_artifact_id_of_exactly_512_characters(automation) -> None:
    make_environment()

    response = post(automation.http, DEPLOYMENTS, deployment_body(artifact_id="a" * 512, identity_value=OMIT))

    assert response.status_code == 201
    assert response.json()["artifact_id"] == "a" * 512


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"context": OMIT}, "context"),
        ({"instance": OMIT}, "instance"),
        ({"artifact_id": OMIT}, "artifact_id"),
        ({"source_git_ref": OMIT}, "source_git_ref"),
        ({"deploy_status": OMIT}, "deploy_status"),
        ({"started_at": OMIT}, "started_at"),
        ({"finished_at": OMIT}, "finished_at"),
        ({"artifact_id": "a" * 513}, "artifact_id"),
        ({"artifact_id": 42}, "artifact_id"),
        ({"record_id": "has space"}, "record_id"),
        ({"record_id": "r" * 129}, "record_id"),
        ({"record_id": "dep/1"}, "record_id"),
        ({"deploy_status": "ok"}, "deploy_status"),
        ({"deploy_status": "unknown"}, "deploy_status"),
        ({"post_deploy_status": "green"}, "post_deploy_status"),
        ({"health_status": 1}, "health_status"),
        ({"started_at": "2026-11-27T12:00:00"}, "started_at"),
        ({"finished_at": "2026-11-27T12:00:00"}, "finished_at"),
        ({"finished_at": "2026-11-27"}, "finished_at"),
        ({"finished_at": 1790000000}, "finished_at"),
        ({"started_at": "2026-11-27T12:00:00Z", "finished_at": "2026-11-27T11:00:00Z"}, "finished_at"),
        ({"runtime_identity_status": "match"}, "runtime_identity_status"),
        ({"image_digest": 7}, "image_digest"),
        ({"colour": "blue"}, "colour"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_it_rejects_an_invalid_deployment_naming_the_field(automation, changes, field) -> None:
    make_environment()

    response = post(automation.http, DEPLOYMENTS, deployment_body(**changes))

    error = error_of(response, 400, "validation_error")
    assert field in error["fields"], error
    assert DeploymentRecord.objects.count() == 0


def test_it_answers_409_conflict_when_a_record_id_is_reused(automation) -> None:
    deploy(make_environment(), "dep-1")

    response = post(automation.http, DEPLOYMENTS, deployment_body(record_id="dep-1", deploy_status="fail"))

    error = error_of(response, 409, "conflict")
    assert "record_id" in error["fields"]
    assert DeploymentRecord.objects.count() == 1


def test_it_answers_409_conflict_when_a_record_id_is_reused_in_another_environment(automation) -> None:
    deploy(make_environment(), "dep-1")
    make_environment(instance="prod")

    response = post(automation.http, DEPLOYMENTS, deployment_body(instance="prod", record_id="dep-1"))

    error_of(response, 409, "conflict")


def test_an_unverifiable_deployment_that_carries_an_identity_is_contradictory(automation) -> None:
    make_environment()

    response = post(automation.http, DEPLOYMENTS, deployment_body(runtime_identity_status="unverifiable"))

    error = error_of(response, 400, "contradictory_result")
    assert {"runtime_identity_status", "observed_runtime_identity"} <= set(error["fields"])
    assert DeploymentRecord.objects.count() == 0


def test_an_unverifiable_deployment_may_leave_the_identity_out(automation) -> None:
    make_environment()

    body = deployment_body(identity_value=OMIT, runtime_identity_status="unverifiable")
    response = post(automation.http, DEPLOYMENTS, body)

    assert response.status_code == 201
    assert response.json()["runtime_identity_status"] == "unverifiable"


def test_an_identity_sent_as_null_reads_missing(automation) -> None:
    make_environment()

    response = post(automation.http, DEPLOYMENTS, deployment_body(identity_value=None))

    assert response.status_code == 201
    assert response.json()["runtime_identity_status"] == "missing"


def test_a_deployment_naming_an_unknown_environment_answers_404_not_found(automation) -> None:
    make_environment()

    response = post(automation.http, DEPLOYMENTS, deployment_body(instance="nowhere"))

    error_of(response, 404, "not_found")
    assert DeploymentRecord.objects.count() == 0


def test_it_reads_one_deployment_by_record_id(automation) -> None:
    deploy(make_environment(), "dep-1.a:b_c")

    response = automation.http.get(deployment_url("dep-1.a:b_c"))

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= RECORD_FIELDS
    assert (body["record_id"], body["context"], body["instance"]) == ("dep-1.a:b_c", "cm", "testing")


def test_an_unknown_record_id_answers_404_not_found(automation) -> None:
    error_of(automation.http.get(deployment_url("dep-nowhere")), 404, "not_found")


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_deployment_record_cannot_be_edited_or_deleted_through_the_api(automation, method) -> None:
    deploy(make_environment(), "dep-1")

    response = getattr(automation.http, method)(deployment_url("dep-1"), {"deploy_status": "fail"}, format="json")

    error_of(response, 405, "method_not_allowed")
    assert DeploymentRecord.objects.get().deploy_status == "pass"


def test_the_deployment_list_is_paginated_and_newest_first(automation) -> None:
    environment = make_environment()
    for record_id in ("dep-1", "dep-2", "dep-3"):
        deploy(environment, record_id)

    body = automation.http.get(DEPLOYMENTS).json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert [row["record_id"] for row in body["results"]] == ["dep-3", "dep-2", "dep-1"]
    assert set(body["results"][0]) >= RECORD_FIELDS
    page = automation.http.get(DEPLOYMENTS, {"page_size": 1, "page": 2}).json()
    assert [row["record_id"] for row in page["results"]] == ["dep-2"]
    assert page["next"] and page["previous"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["p-ok", "p-bad", "t-ok"]),
        ({"context": "cm"}, ["p-ok", "p-bad", "t-ok"]),
        ({"instance": "prod"}, ["p-ok", "p-bad"]),
        ({"deploy_status": "fail"}, ["p-bad"]),
        ({"instance": "testing", "deploy_status": "pass"}, ["t-ok"]),
    ],
    ids=repr,
)
def test_the_deployment_list_filters_by_context_instance_and_deploy_status(automation, params, expected) -> None:
    testing, prod, elsewhere = make_environment(), make_environment(instance="prod"), make_environment("acme", "prod")
    deploy(testing, "t-ok")
    deploy(prod, "p-bad", deploy_status="fail")
    deploy(prod, "p-ok")
    deploy(elsewhere, "a-ok")

    response = automation.http.get(DEPLOYMENTS, params)

    assert response.status_code == 200
    assert [row["record_id"] for row in response.json()["results"]] == expected


def test_an_unknown_deploy_status_filter_answers_400(automation) -> None:
    error = error_of(automation.http.get(DEPLOYMENTS, {"deploy_status": "maybe"}), 400, "validation_error")

    assert "deploy_status" in error["fields"]


def test_a_mismatching_identity_is_stored_with_the_differing_keys(automation) -> None:
    make_environment()
    observed = runtime_identity("dep-1", artifact_id="artifact-elsewhere", source_git_ref="refs/heads/other")

    body = deployment_body(record_id="dep-1", identity_value=observed)
    created = post(automation.http, DEPLOYMENTS, body).json()

    assert created["runtime_identity_status"] == "mismatch"
    assert created["runtime_identity_mismatches"] == ["artifact_id", "source_git_ref"]
    assert created["environment"]["runtime_identity_mismatches"] == ["artifact_id", "source_git_ref"]


def test_a_record_id_sent_as_a_json_number_is_rejected(automation) -> None:
    make_environment()

    response = post(automation.http, DEPLOYMENTS, deployment_body(record_id=42, identity_value=OMIT))

    error = error_of(response, 400, "validation_error")
    assert "record_id" in error["fields"]
    assert DeploymentRecord.objects.count() == 0


@pytest.mark.parametrize(
    "bound",
    ["0001-01-01T00:00:00+05:00", "1900-01-01T00:00:00Z", "9999-12-31T23:00:00-05:00", "9999-12-31T23:59:59Z"],
)
def test_a_date_filter_accepts_every_valid_date(automation, bound):
    for name in ("finished_after", "finished_before"):
        response = automation.http.get("/api/v1/deployments/", {name: bound})
        assert response.status_code == 200, (name, bound, response.content[:300])
