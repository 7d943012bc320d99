"""GET|POST /api/v1/environments/, the read model, history and observations over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from inventory.models import Environment, EnvironmentInventory
from inventory.services import acknowledge
from tests.api.support import (
    DEPLOYMENTS,
    ENVIRONMENTS,
    OBSERVED_MINUTE,
    OMIT,
    READ_MODEL_FIELDS,
    at,
    deployment_body,
    environment_body,
    environment_url,
    error_of,
    history_url,
    observations_url,
    post,
)
from tests.factories import bootstrap_once, deploy, finish, make_environment, passing_result, runtime_identity, start

pytestmark = pytest.mark.django_db

DEPLOYMENT_SUMMARY_FIELDS = {"record_id", "artifact_id", "source_git_ref", "deploy_status", "finished_at"}
BOOTSTRAP_SUMMARY_FIELDS = {"operation_id", "status", "readiness_status", "finished_at"}
LAST_KNOWN_GOOD_FIELDS = {"deployment_record_id", "bootstrap_operation_id", "verified_at"}
HISTORY_FIELDS = {
    "from_state",
    "to_state",
    "deployment_state",
    "data_state",
    "effect",
    "cause_type",
    "cause_id",
    "reason",
    "actor",
    "occurred_at",
    "recorded_at",
}
NO_LAST_KNOWN_GOOD = {"deployment_record_id": None, "bootstrap_operation_id": None, "verified_at": None}


# ---------------------------------------------------------------------------------------------------
# Create
# ---------------------------------------------------------------------------------------------------


def test_it_creates_an_environment_with_the_defaults_the_contract_names(automation) -> None:
    response = post(automation.http, ENVIRONMENTS, {"context": "cm", "instance": "testing"})

    assert response.status_code == 201
    body = response.json()
    assert set(body) >= READ_MODEL_FIELDS
    assert (body["context"], body["instance"]) == ("cm", "testing")
    assert body["required_checks"] == ["health", "canonical", "logo"]
    assert body["requires_runtime_identity"] is True
    assert body["verification_ttl_seconds"] == 86400
    assert body["base_url"] == ""
    assert (body["state"], body["deployment_state"], body["data_state"]) == ("unrecorded", "unrecorded", "untouched")
    assert body["freshness"] == "missing"
    assert body["last_known_good"] == NO_LAST_KNOWN_GOOD
    assert body["current_deployment"] is None and body["last_bootstrap"] is None
    assert Environment.objects.filter(context="cm", instance="testing").count() == 1
    assert EnvironmentInventory.objects.filter(environment__context="cm", environment__instance="testing").exists()


def test_it_creates_an_environment_with_every_optional_field(automation) -> None:
    body = environment_body(
        instance="prod",
        base_url="https://cm.example.com",
        required_checks=["health"],
        requires_runtime_identity=False,
        verification_ttl_seconds=3600,
    )

    response = post(automation.http, ENVIRONMENTS, body)

    assert response.status_code == 201
    created = response.json()
    assert created["base_url"] == "https://cm.example.com"
    assert created["required_checks"] == ["health"]
    assert created["requires_runtime_identity"] is False
    assert created["verification_ttl_seconds"] == 3600


def test_it_answers_409_conflict_for_a_duplicate_environment(automation) -> None:
    make_environment()

    response = post(automation.http, ENVIRONMENTS, environment_body())

    error_of(response, 409, "conflict")
    assert Environment.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"context": OMIT}, "context"),
        ({"instance": OMIT}, "instance"),
        ({"context": "CM"}, "context"),
        ({"context": "-cm"}, "context"),
        ({"instance": "x" * 64}, "instance"),
        ({"instance": ["testing"]}, "instance"),
        ({"base_url": "not a url"}, "base_url"),
        ({"required_checks": []}, "required_checks"),
        ({"required_checks": "health"}, "required_checks"),
        ({"required_checks": ["health", "health"]}, "required_checks"),
        ({"required_checks": ["health", "ssl"]}, "required_checks.1"),
        ({"requires_runtime_identity": "yes"}, "requires_runtime_identity"),
        ({"requires_runtime_identity": None}, "requires_runtime_identity"),
        ({"verification_ttl_seconds": 0}, "verification_ttl_seconds"),
        ({"verification_ttl_seconds": "60"}, "verification_ttl_seconds"),
        ({"verification_ttl_seconds": 1.5}, "verification_ttl_seconds"),
        ({"colour": "blue"}, "colour"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_it_rejects_an_invalid_environment_body_naming_the_field(automation, changes, field) -> None:
    response = post(automation.http, ENVIRONMENTS, environment_body(**changes))

    error = error_of(response, 400, "validation_error")
    assert field in error["fields"], error
    assert Environment.objects.count() == 0


def test_it_accepts_the_longest_slug_the_contract_allows(automation) -> None:
    response = post(automation.http, ENVIRONMENTS, environment_body(instance="x" * 63))

    assert response.status_code == 201


# ---------------------------------------------------------------------------------------------------
# The read model
# ---------------------------------------------------------------------------------------------------


def test_the_read_model_carries_every_field_the_contract_names(driver) -> None:
    environment = make_environment()
    deploy(environment, "dep-1")
    operation = finish(start(environment), passing_result(environment))

    body = driver.read()

    assert set(body) >= READ_MODEL_FIELDS
    assert set(body["current_deployment"]) >= DEPLOYMENT_SUMMARY_FIELDS
    assert set(body["last_deployment_attempt"]) >= DEPLOYMENT_SUMMARY_FIELDS
    assert set(body["last_bootstrap"]) >= BOOTSTRAP_SUMMARY_FIELDS
    assert set(body["last_known_good"]) == LAST_KNOWN_GOOD_FIELDS
    assert body["current_deployment"]["record_id"] == "dep-1"
    assert body["last_bootstrap"]["operation_id"] == operation.operation_id
    assert body["last_known_good"]["deployment_record_id"] == "dep-1"
    assert body["last_known_good"]["bootstrap_operation_id"] == operation.operation_id
    assert body["last_known_good"]["verified_at"] is not None
    assert body["expected_runtime_identity"] == {
        "context": "cm",
        "instance": "testing",
        "deployment_record_id": "dep-1",
        "artifact_id": "artifact-dep-1",
        "source_git_ref": "refs/heads/main",
    }
    assert body["runtime_identity_status"] == "match"
    assert body["runtime_identity_mismatches"] == []
    assert body["acknowledgement"] is None
    assert (body["state"], body["freshness"]) == ("current", "verified")


def test_last_known_good_is_an_object_of_nulls_until_the_first_advanced_record(driver) -> None:
    environment = make_environment()
    assert driver.read()["last_known_good"] == NO_LAST_KNOWN_GOOD

    driver.deploy(record_id="dep-1", post_deploy_status="not_run")  # marked: unverified
    assert driver.read()["last_known_good"] == NO_LAST_KNOWN_GOOD
    bootstrap_once(
        environment,
        passing_result(environment, bootstrap_run_status="fail", data_mutated=True, post_deploy_status="not_run"),
    )  # marked: partially bootstrapped
    assert driver.read()["last_known_good"] == NO_LAST_KNOWN_GOOD

    driver.deploy(record_id="dep-2")  # pass, but the data side keeps the state from current: retained
    assert driver.read()["last_known_good"] == NO_LAST_KNOWN_GOOD
    bootstrap_once(environment, passing_result(environment))  # ready: advanced
    assert driver.read()["last_known_good"]["deployment_record_id"] == "dep-2"


def test_it_answers_404_not_found_for_an_unknown_environment(automation) -> None:
    error_of(automation.http.get(environment_url("cm", "nowhere")), 404, "not_found")
    error_of(automation.http.get(history_url("cm", "nowhere")), 404, "not_found")


def test_an_acknowledgement_shows_in_the_read_model(driver, reviewer) -> None:
    acknowledge(make_environment(), user=reviewer, note="known: waiting for the driver")

    acknowledgement = driver.read()["acknowledgement"]

    assert acknowledgement["by"] == "rita"
    assert acknowledgement["note"] == "known: waiting for the driver"
    assert acknowledgement["at"]


def test_an_acknowledgement_outlives_its_reviewers_account(driver, reviewer) -> None:
    acknowledge(make_environment(), user=reviewer, note="seen")
    reviewer.delete()

    assert driver.read()["acknowledgement"]["by"] is None


def test_an_acknowledgement_stays_until_the_next_change_of_state_over_http(automation, driver, reviewer) -> None:
    environment = make_environment()
    deploy(environment, "dep-0")
    acknowledge(environment, user=reviewer, note="seen")

    post(automation.http, DEPLOYMENTS, deployment_body(record_id="dep-1", deploy_status="fail", identity_value=OMIT))
    assert driver.read()["acknowledgement"]["note"] == "seen"  # retained: no side changed

    post(automation.http, DEPLOYMENTS, deployment_body(record_id="dep-2", post_deploy_status="not_run"))
    assert driver.read()["acknowledgement"] is None  # the artifact side moved to unverified


# ---------------------------------------------------------------------------------------------------
# List and filters
# ---------------------------------------------------------------------------------------------------


def test_the_environment_list_is_paginated_and_newest_first(automation) -> None:
    for instance in ("one", "two", "three"):
        make_environment(instance=instance)

    body = automation.http.get(ENVIRONMENTS).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert [row["instance"] for row in body["results"]] == ["three", "two", "one"]
    assert set(body["results"][0]) >= READ_MODEL_FIELDS

    first = automation.http.get(ENVIRONMENTS, {"page_size": 2}).json()
    assert [row["instance"] for row in first["results"]] == ["three", "two"]
    assert first["previous"] is None and first["next"]
    second = automation.http.get(first["next"]).json()
    assert [row["instance"] for row in second["results"]] == ["one"]
    assert second["next"] is None and second["previous"]


@pytest.fixture
def board(db) -> None:
    """cm/fresh verified, cm/old stale, cm/bare missing, cm/shaky recorded (unverified), cm/busy in progress,
    and acme/elsewhere, outside the client's scope."""
    deploy(make_environment(instance="fresh"))
    deploy(make_environment(instance="old", verification_ttl_seconds=60))  # verified hours ago, with a one-minute TTL
    make_environment(instance="bare")
    deploy(make_environment(instance="shaky"), post_deploy_status="not_run")
    start(make_environment(instance="busy"))
    deploy(make_environment("acme", "elsewhere"))


def instances(http, **params: Any) -> list[str]:
    response = http.get(ENVIRONMENTS, params)
    assert response.status_code == 200, response.json()
    return sorted(row["instance"] for row in response.json()["results"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["bare", "busy", "fresh", "old", "shaky"]),
        ({"context": "cm"}, ["bare", "busy", "fresh", "old", "shaky"]),
        ({"instance": "old"}, ["old"]),
        ({"state": "current"}, ["fresh", "old"]),
        ({"state": "unverified"}, ["shaky"]),
        ({"state": "bootstrap_in_progress"}, ["busy"]),
        ({"state": ["unverified", "unrecorded"]}, ["bare", "shaky"]),
        ({"freshness": "verified"}, ["fresh"]),
        ({"freshness": "stale"}, ["old"]),
        ({"freshness": "missing"}, ["bare"]),
        ({"freshness": "recorded"}, ["busy", "shaky"]),
        ({"state": "current", "freshness": "verified"}, ["fresh"]),
    ],
    ids=repr,
)
def test_the_environment_list_filters_by_context_instance_state_and_freshness(
    automation, board, params, expected
) -> None:
    assert instances(automation.http, **params) == expected


def test_each_listed_environment_reads_the_freshness_it_is_filtered_by(automation, board) -> None:
    rows = automation.http.get(ENVIRONMENTS).json()["results"]

    assert {row["instance"]: row["freshness"] for row in rows} == {
        "fresh": "verified",
        "old": "stale",
        "bare": "missing",
        "shaky": "recorded",
        "busy": "recorded",
    }


@pytest.mark.parametrize("params", [{"state": "sparkling"}, {"freshness": "rotten"}])
def test_an_unknown_filter_value_answers_400_validation_error(automation, params) -> None:
    error = error_of(automation.http.get(ENVIRONMENTS, params), 400, "validation_error")

    assert set(params) <= set(error["fields"])


# ---------------------------------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------------------------------


def test_history_lists_transitions_newest_first_with_the_contract_fields(automation) -> None:
    environment = make_environment()
    deploy(environment, "dep-1")
    operation = start(environment)

    body = automation.http.get(history_url()).json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    newest, oldest = body["results"]
    assert set(newest) >= HISTORY_FIELDS
    assert (newest["cause_type"], newest["cause_id"], newest["effect"]) == (
        "bootstrap",
        operation.operation_id,
        "pending",
    )
    assert (newest["from_state"], newest["to_state"]) == ("current", "bootstrap_in_progress")
    assert (newest["deployment_state"], newest["data_state"]) == ("current", "bootstrap_in_progress")
    assert newest["actor"] == "driver"
    assert (oldest["cause_type"], oldest["cause_id"], oldest["effect"]) == ("deployment", "dep-1", "advanced")
    assert (oldest["from_state"], oldest["to_state"]) == ("unrecorded", "current")


def test_history_is_paginated(automation) -> None:
    environment = make_environment()
    for _ in range(3):
        deploy(environment)

    page = automation.http.get(history_url(), {"page_size": 2}).json()

    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


def test_history_cannot_be_written_through_the_api(automation) -> None:
    make_environment()

    response = post(automation.http, history_url(), {"effect": "advanced"})

    error_of(response, 405, "method_not_allowed")


# ---------------------------------------------------------------------------------------------------
# Observations
# ---------------------------------------------------------------------------------------------------


def test_it_records_an_observation_and_answers_201_with_it_and_the_read_model(automation) -> None:
    deploy(make_environment(), "dep-1")
    observed = runtime_identity("dep-1", artifact_id="artifact-elsewhere")

    response = post(
        automation.http,
        observations_url(),
        {"observed_runtime_identity": observed, "source": "prober", "observed_at": at(OBSERVED_MINUTE)},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["source"] == "prober"
    assert body["observed_runtime_identity"] == observed
    assert body["runtime_identity_status"] == "mismatch"
    assert body["runtime_identity_mismatches"] == ["artifact_id"]
    assert body["inventory_effect"] == "marked"
    assert body["environment"]["deployment_state"] == "stale_inventory"
    assert body["environment"]["observed_runtime_identity"] == observed


def test_an_observation_may_leave_the_identity_out_when_it_says_unverifiable(automation) -> None:
    deploy(make_environment())

    response = post(
        automation.http,
        observations_url(),
        {"runtime_identity_status": "unverifiable", "source": "prober", "observed_at": at(OBSERVED_MINUTE)},
    )

    assert response.status_code == 201
    assert response.json()["runtime_identity_status"] == "unverifiable"


VALID_OBSERVATION = {
    "observed_runtime_identity": {"context": "cm"},
    "source": "prober",
    "observed_at": at(OBSERVED_MINUTE),
}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"observed_runtime_identity": OMIT}, "observed_runtime_identity"),
        ({"source": OMIT}, "source"),
        ({"source": ""}, "source"),
        ({"observed_at": OMIT}, "observed_at"),
        ({"observed_at": "2026-11-27T12:00:00"}, "observed_at"),
        ({"observed_at": "last tuesday"}, "observed_at"),
        ({"runtime_identity_status": "match"}, "runtime_identity_status"),
        ({"colour": "blue"}, "colour"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_it_rejects_an_invalid_observation_naming_the_field(automation, changes, field) -> None:
    make_environment()
    body = {name: value for name, value in {**VALID_OBSERVATION, **changes}.items() if value is not OMIT}

    response = post(automation.http, observations_url(), body)

    error = error_of(response, 400, "validation_error")
    assert field in error["fields"], error


def test_an_unverifiable_observation_that_carries_an_identity_is_contradictory(automation) -> None:
    make_environment()

    response = post(
        automation.http, observations_url(), {**VALID_OBSERVATION, "runtime_identity_status": "unverifiable"}
    )

    error = error_of(response, 400, "contradictory_result")
    assert {"runtime_identity_status", "observed_runtime_identity"} <= set(error["fields"])


def test_an_observation_of_an_unknown_environment_answers_404(automation) -> None:
    error_of(post(automation.http, observations_url("cm", "nowhere"), VALID_OBSERVATION), 404, "not_found")


@pytest.mark.parametrize("field", ["context", "instance"])
def test_a_slug_sent_as_a_json_number_is_rejected(automation, field) -> None:
    response = post(automation.http, ENVIRONMENTS, environment_body(**{field: 7}))

    error = error_of(response, 400, "validation_error")
    assert field in error["fields"]
    assert Environment.objects.count() == 0
