"""``GET /v1/inventory/{context}/{instance}`` and ``GET /v1/deployments/{record_id}``: the existing
service's shapes, our state beside them, and our scope rules."""

from __future__ import annotations

import pytest

from tests.compat.support import accepted, deployment_url, inventory_url, payload, rejected, submit
from tests.factories import deploy, make_environment, start

pytestmark = pytest.mark.django_db

UPSTREAM_INVENTORY_FIELDS = {
    "context",
    "instance",
    "artifact_identity",
    "source_git_ref",
    "deploy",
    "post_deploy_update",
    "destination_health",
    "updated_at",
    "deployment_record_id",
    "bootstrap_record_id",
}
OUR_FIELDS = {"state", "state_reason", "deployment_state", "data_state", "freshness", "last_known_good"}


def ok(response) -> dict:
    assert response.status_code == 200, (response.status_code, response.content[:2000])
    body = response.json()
    assert set(body) == {"status", "trace_id", "record"}, body
    assert body["status"] == "ok" and body["trace_id"], body
    return body["record"]


def test_the_inventory_read_answers_the_existing_names_plus_ours(automation):
    make_environment()
    body = payload(record_id="gh-1", bootstrap="pass")
    records = accepted(submit(automation.http, body))

    record = ok(automation.http.get(inventory_url()))

    assert set(record) == UPSTREAM_INVENTORY_FIELDS | OUR_FIELDS
    submitted = body["deployment"]
    assert (record["context"], record["instance"]) == ("cm", "testing")
    assert record["artifact_identity"] == submitted["artifact_identity"]
    assert record["source_git_ref"] == submitted["source_git_ref"]
    for section in ("deploy", "post_deploy_update", "destination_health"):
        assert record[section] == submitted[section], section
    assert record["deployment_record_id"] == "gh-1"
    assert record["bootstrap_record_id"] == records["bootstrap_operation_id"]
    assert (record["deployment_state"], record["data_state"], record["state"]) == (
        "current",
        "unverified",
        "unverified",
    )
    assert "unverified" in record["state_reason"]
    assert record["freshness"] == "verified"
    assert record["last_known_good"]["deployment_record_id"] == "gh-1"
    assert record["updated_at"].endswith("Z")


def test_an_environment_with_nothing_recorded_reads_nulls_and_says_so(automation):
    make_environment()

    record = ok(automation.http.get(inventory_url()))

    assert {
        name: record[name] for name in UPSTREAM_INVENTORY_FIELDS - {"context", "instance", "updated_at"}
    } == dict.fromkeys(UPSTREAM_INVENTORY_FIELDS - {"context", "instance", "updated_at"})
    assert (record["state"], record["freshness"]) == ("unrecorded", "missing")
    assert record["last_known_good"] == {
        "deployment_record_id": None,
        "bootstrap_operation_id": None,
        "verified_at": None,
    }


def test_a_deployment_recorded_through_our_api_reads_under_the_existing_names(automation):
    environment = make_environment()
    deploy(environment, "dep-ours", post_deploy_status="skipped", health_status="pass")

    record = ok(automation.http.get(inventory_url()))

    assert record["artifact_identity"] == {"artifact_id": "artifact-dep-ours", "manifest_version": None}
    assert record["deploy"]["status"] == "pass"
    assert record["post_deploy_update"] == {"attempted": False, "status": "skipped"}
    assert record["destination_health"] == {"verified": True, "status": "pass", "runtime_identity_status": "match"}
    assert record["deployment_record_id"] == "dep-ours"


def test_bootstrap_evidence_alone_leaves_the_inventory_read_on_the_current_deployment(automation):
    environment = make_environment()
    deploy(environment, "dep-current")
    records = accepted(submit(automation.http, payload(deploy_status="skipped", bootstrap="pass")))

    record = ok(automation.http.get(inventory_url()))

    assert record["deployment_record_id"] == "dep-current"
    assert record["artifact_identity"]["artifact_id"] == "artifact-dep-current"
    assert record["bootstrap_record_id"] == records["bootstrap_operation_id"]


def test_an_overdue_bootstrap_reads_timed_out_without_waiting_for_the_sweeper(automation):
    from datetime import timedelta

    from django.utils import timezone

    environment = make_environment()
    deploy(environment, "dep-current")
    start(environment, now=timezone.now() - timedelta(hours=2), timeout_seconds=60)

    record = ok(automation.http.get(inventory_url()))

    assert record["data_state"] == "unknown"  # rule 9: expired on read, data_mutated not known


def test_the_inventory_read_of_an_unknown_environment_is_404(automation):
    rejected(automation.http.get(inventory_url("cm", "nowhere")), 404, "not_found")


def test_the_inventory_read_outside_the_scope_is_403(outsider):
    make_environment()
    error = rejected(outsider.http.get(inventory_url()), 403, "authorization_denied")
    assert "cm" in error["message"]


def test_a_read_only_client_reads(reader):
    make_environment()
    ok(reader.http.get(inventory_url()))


def test_reads_need_a_token(anonymous):
    make_environment()
    response = anonymous.get(inventory_url())
    rejected(response, 401, "authentication_required")
    assert response["WWW-Authenticate"] == "Bearer"


def test_the_deployment_read_answers_the_submitted_record_and_what_we_made_of_it(automation):
    make_environment()
    body = payload(record_id="gh-2", bootstrap="pass")
    records = accepted(submit(automation.http, body))

    record = ok(automation.http.get(deployment_url("gh-2")))

    for name, value in body["deployment"].items():
        assert record[name] == value, name
    assert (record["deploy_status"], record["post_deploy_status"], record["health_status"]) == ("pass", "pass", "pass")
    assert (record["runtime_identity_status"], record["runtime_identity_mismatches"]) == ("match", [])
    assert record["inventory_effect"] == "advanced"
    assert record["bootstrap_record_id"] == records["bootstrap_operation_id"]
    assert record["recorded_at"].endswith("Z")


def test_a_deployment_recorded_through_our_api_reads_in_the_existing_shape(automation):
    environment = make_environment()
    deploy(environment, "dep-ours", deploy_status="fail", post_deploy_status="not_run", health_status="not_run")

    record = ok(automation.http.get(deployment_url("dep-ours")))

    assert (record["record_id"], record["context"], record["instance"]) == ("dep-ours", "cm", "testing")
    assert record["artifact_identity"] == {"artifact_id": "artifact-dep-ours", "manifest_version": None}
    assert record["deploy"]["status"] == "fail"
    assert record["post_deploy_update"] == {"attempted": False, "status": "not_run"}
    assert record["bootstrap_record_id"] is None


def test_a_deployment_outside_the_scope_is_404_like_an_unknown_one(outsider, automation):
    environment = make_environment()
    deploy(environment, "dep-cm")

    rejected(outsider.http.get(deployment_url("dep-cm")), 404, "not_found")
    rejected(automation.http.get(deployment_url("dep-unknown")), 404, "not_found")


def test_a_read_only_client_reads_a_deployment(reader):
    deploy(make_environment(), "dep-cm")
    assert ok(reader.http.get(deployment_url("dep-cm")))["record_id"] == "dep-cm"


def test_the_deployment_read_costs_a_fixed_number_of_queries(automation, django_assert_max_num_queries):
    make_environment()
    accepted(submit(automation.http, payload(record_id="gh-3", bootstrap="pass")))

    with django_assert_max_num_queries(3):  # the token's client, then the record with its evidence
        ok(automation.http.get(deployment_url("gh-3")))


def test_the_inventory_read_costs_a_fixed_number_of_queries(automation, django_assert_max_num_queries):
    make_environment()
    accepted(submit(automation.http, payload(bootstrap="pass")))

    with django_assert_max_num_queries(3):  # the token's client, the read model, the payload behind it
        ok(automation.http.get(inventory_url()))
