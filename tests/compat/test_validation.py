"""Every validation rule of the existing payload, and every kind of bad input, answered 4xx in the existing
service's envelope — never a 5xx — with nothing stored."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings

from tests.api.support import OMIT
from tests.compat.support import EVIDENCE, accepted, changed, deployment_url, inventory_url, payload, rejected, submit
from tests.factories import make_environment, row_counts

pytestmark = pytest.mark.django_db

Body = Callable[[], Any]
D = "deployment"


def set_(path: str, value: Any, **kwargs: Any) -> Body:
    return lambda: changed(payload(**kwargs), path, value)


VERIFIED_HEALTH = {
    "verified": True,
    "urls": ["https://x.example.com/web/health"],
    "timeout_seconds": 30,
    "status": "pass",
}

# (case, body, the field the message names)
INVALID: list[tuple[str, Body, str]] = [
    # Unknown fields, at every level.
    ("unknown top-level field", set_("extra", 1), "extra"),
    ("unknown record field", set_(f"{D}.image_digest", "sha256:0"), f"{D}.image_digest"),
    ("unknown artifact field", set_(f"{D}.artifact_identity.digest", "x"), f"{D}.artifact_identity.digest"),
    ("unknown deploy field", set_(f"{D}.deploy.region", "eu"), f"{D}.deploy.region"),
    ("unknown target field", set_(f"{D}.resolved_target.zone", "a"), f"{D}.resolved_target.zone"),
    (
        "unknown bootstrap field",
        set_(f"{D}.bootstrap.data_mutated", True, bootstrap="pass"),
        f"{D}.bootstrap.data_mutated",
    ),
    ("unknown post-deploy field", set_(f"{D}.post_deploy_update.when", "now"), f"{D}.post_deploy_update.when"),
    ("unknown health field", set_(f"{D}.destination_health.code", 200), f"{D}.destination_health.code"),
    # Required fields and versions.
    ("no schema_version", set_("schema_version", OMIT), "schema_version"),
    ("schema_version 2", set_("schema_version", 2), "schema_version"),
    ("schema_version true", set_("schema_version", True), "schema_version"),
    ("record schema_version 2", set_(f"{D}.schema_version", 2), f"{D}.schema_version"),
    ("no product", set_("product", OMIT), "product"),
    ("no deployment", set_(D, OMIT), D),
    ("deployment not an object", set_(D, [1]), D),
    ("record_id with a space", set_(f"{D}.record_id", "gh 1"), f"{D}.record_id"),
    ("no artifact_identity", set_(f"{D}.artifact_identity", OMIT), f"{D}.artifact_identity"),
    ("no artifact_id", set_(f"{D}.artifact_identity.artifact_id", OMIT), f"{D}.artifact_identity.artifact_id"),
    ("artifact_id padded", set_(f"{D}.artifact_identity.artifact_id", "a "), f"{D}.artifact_identity.artifact_id"),
    ("manifest_version an object", set_(f"{D}.artifact_identity.manifest_version", {}), "manifest_version"),
    ("no context", set_(f"{D}.context", OMIT), f"{D}.context"),
    ("context not a slug", set_(f"{D}.context", "CM"), f"{D}.context"),
    ("no instance", set_(f"{D}.instance", OMIT), f"{D}.instance"),
    ("no source_git_ref", set_(f"{D}.source_git_ref", OMIT), f"{D}.source_git_ref"),
    ("source_git_ref with a newline", set_(f"{D}.source_git_ref", "main\n"), f"{D}.source_git_ref"),
    ("source_git_ref a number", set_(f"{D}.source_git_ref", 7), f"{D}.source_git_ref"),
    ("no_cache a string", set_(f"{D}.no_cache", "false"), f"{D}.no_cache"),
    ("delegated_executor a number", set_(f"{D}.delegated_executor", 3), f"{D}.delegated_executor"),
    # deploy
    ("deploy status unknown", set_(f"{D}.deploy.status", "done"), f"{D}.deploy.status"),
    ("deploy without status", set_(f"{D}.deploy.status", OMIT), f"{D}.deploy.status"),
    ("deploy pass without started_at", set_(f"{D}.deploy.started_at", OMIT), f"{D}.deploy.started_at"),
    (
        "deploy fail without finished_at",
        set_(f"{D}.deploy.finished_at", None, deploy_status="fail"),
        f"{D}.deploy.finished_at",
    ),
    ("naive timestamp", set_(f"{D}.deploy.finished_at", "2026-11-27T12:00:00"), f"{D}.deploy.finished_at"),
    ("finished before started", set_(f"{D}.deploy.started_at", "2099-01-01T00:00:00Z"), f"{D}.deploy.finished_at"),
    ("finished in the future", set_(f"{D}.deploy.finished_at", "2099-01-01T00:00:00Z"), "finished_at"),
    # bootstrap: not attempted means both skipped; attempted means neither.
    (
        "bootstrap not attempted with a run status",
        set_(f"{D}.bootstrap", {"attempted": False, "run_status": "pass", "readiness_status": "skipped"}),
        f"{D}.bootstrap.run_status",
    ),
    (
        "bootstrap not attempted with a readiness",
        set_(f"{D}.bootstrap", {"attempted": False, "run_status": "skipped", "readiness_status": "pending"}),
        f"{D}.bootstrap.readiness_status",
    ),
    (
        "bootstrap attempted but skipped",
        set_(f"{D}.bootstrap", {"attempted": True, "run_status": "skipped", "readiness_status": "pass"}),
        f"{D}.bootstrap.run_status",
    ),
    (
        "bootstrap attempted with readiness skipped",
        set_(f"{D}.bootstrap", {"attempted": True, "run_status": "pass", "readiness_status": "skipped"}),
        f"{D}.bootstrap.readiness_status",
    ),
    (
        "bootstrap readiness unknown",
        set_(f"{D}.bootstrap", {"attempted": True, "run_status": "pass", "readiness_status": "ready"}),
        f"{D}.bootstrap.readiness_status",
    ),
    (
        "bootstrap attempted a string",
        set_(f"{D}.bootstrap.attempted", "yes", bootstrap="pass"),
        f"{D}.bootstrap.attempted",
    ),
    (
        "bootstrap failed after a post-deploy update",
        lambda: payload(bootstrap="fail", post_deploy="pass"),
        f"{D}.post_deploy_update.status",
    ),
    # post_deploy_update: not attempted means skipped; attempted is never skipped.
    (
        "post-deploy not attempted but passed",
        set_(f"{D}.post_deploy_update", {"attempted": False, "status": "pass"}),
        f"{D}.post_deploy_update.status",
    ),
    (
        "post-deploy attempted but skipped",
        set_(f"{D}.post_deploy_update", {"attempted": True, "status": "skipped"}),
        f"{D}.post_deploy_update.status",
    ),
    ("post-deploy evidence with NUL", set_(f"{D}.post_deploy_update.evidence", {"log": "a\u0000b"}), "NUL"),
    # destination_health: verified means URLs, a timeout and pass or fail.
    ("verified health without URLs", set_(f"{D}.destination_health", {**VERIFIED_HEALTH, "urls": []}), "urls"),
    (
        "verified health without timeout",
        set_(f"{D}.destination_health", {**VERIFIED_HEALTH, "timeout_seconds": None}),
        "timeout_seconds",
    ),
    ("verified health pending", set_(f"{D}.destination_health", {**VERIFIED_HEALTH, "status": "pending"}), "status"),
    (
        "verified health without status",
        set_(f"{D}.destination_health", {"verified": True, "urls": ["u"], "timeout_seconds": 1}),
        "status",
    ),
    (
        "timeout a string",
        set_(f"{D}.destination_health", {**VERIFIED_HEALTH, "timeout_seconds": "30"}),
        "timeout_seconds",
    ),
    ("timeout zero", set_(f"{D}.destination_health", {**VERIFIED_HEALTH, "timeout_seconds": 0}), "timeout_seconds"),
    (
        "timeout negative",
        set_(f"{D}.destination_health", {**VERIFIED_HEALTH, "timeout_seconds": -1.5}),
        "timeout_seconds",
    ),
    ("health verified a string", set_(f"{D}.destination_health.verified", "true"), f"{D}.destination_health.verified"),
    (
        "unverifiable with an identity",
        set_(f"{D}.destination_health.runtime_identity_status", "unverifiable"),
        f"{D}.destination_health.observed_runtime_identity",
    ),
    # The mapping's own refusals.
    ("neither a deployment nor a bootstrap", lambda: payload(deploy_status="pending"), f"{D}.deploy.status"),
]


@pytest.mark.parametrize(("case", "body", "named"), INVALID, ids=[case for case, _, _ in INVALID])
def test_each_invalid_payload_is_400_invalid_request_naming_the_field(case, body, named, automation):
    make_environment()
    sent = body()
    before = row_counts()

    error = rejected(submit(automation.http, sent), 400, "invalid_request")

    assert named in error["message"], error
    assert row_counts() == before


def test_a_payload_that_breaks_no_rule_is_accepted(automation):
    """The fixture the table above bends is itself valid (so each refusal is its own rule's)."""
    make_environment()
    accepted(submit(automation.http, payload(bootstrap="pass")))


def test_optional_sections_may_be_null(automation):
    make_environment()
    body = payload(resolved_target=None, deployed_target=None, runtime_identity=None, delegated_executor=None)
    for section in ("bootstrap", "post_deploy_update"):
        body = changed(body, f"deployment.{section}", None)
    accepted(submit(automation.http, body))


# ---------------------------------------------------------------------------------------------------
# Bad input of every kind: never a 5xx, always the envelope
# ---------------------------------------------------------------------------------------------------


RAW: list[tuple[str, bytes | str, str]] = [
    ("malformed JSON", b'{"schema_version": 1,', "application/json"),
    ("empty body", b"", "application/json"),
    ("a JSON list", b"[1, 2]", "application/json"),
    ("a JSON string", b'"deploy"', "application/json"),
    ("JSON null", b"null", "application/json"),
    ("not UTF-8", b'{"product": "\xff"}', "application/json"),
    ("a NUL byte in a key", b'{"schema_version": 1, "pro\\u0000duct": "cm"}', "application/json"),
    ("a lone surrogate", b'{"schema_version": 1, "product": "\\ud800", "deployment": {}}', "application/json"),
    ("deeply nested", b'{"deployment": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json"),
    ("wrong content type", b"schema_version=1", "application/x-www-form-urlencoded"),
    ("text/plain", b"{}", "text/plain"),
]


@pytest.mark.parametrize(("case", "raw", "content_type"), RAW, ids=[case for case, _, _ in RAW])
def test_bad_bodies_are_400_invalid_request_in_the_envelope(case, raw, content_type, automation):
    make_environment()
    before = row_counts()

    rejected(automation.http.post(EVIDENCE, raw, content_type=content_type), 400, "invalid_request")

    assert row_counts() == before


def test_a_nul_byte_in_an_identifier_is_400(automation):
    make_environment()
    body = json.dumps(payload()).replace('"refs/heads/main"', '"refs/heads/ma\\u0000in"')
    rejected(automation.http.post(EVIDENCE, body, content_type="application/json"), 400, "invalid_request")


@override_settings(API_MAX_BODY_BYTES=2048)
def test_a_body_over_the_limit_is_413_request_entity_too_large(automation):
    make_environment()
    body = payload(runtime_source="x" * 4000)
    before = row_counts()

    rejected(submit(automation.http, body), 413, "request_entity_too_large")

    assert row_counts() == before


def test_a_chunked_body_without_a_length_is_411_in_the_envelope(automation):
    response = automation.http.generic(
        "POST", EVIDENCE, b"", content_type="application/json", HTTP_TRANSFER_ENCODING="chunked"
    )
    rejected(response, 411, "length_required")


def test_a_huge_body_is_refused_before_it_is_read(automation):
    response = automation.http.generic(
        "POST", EVIDENCE, b"{}", content_type="application/json", CONTENT_LENGTH="99999999"
    )
    rejected(response, 413, "request_entity_too_large")


@pytest.mark.parametrize(
    "url",
    [
        inventory_url("cm", "te\x00st"),
        inventory_url("c\x00m", "testing"),
        inventory_url("CM", "testing"),
        inventory_url("cm", "x" * 64),
        deployment_url("gh\x00-1"),
        deployment_url("gh 1"),
        deployment_url("x" * 129),
    ],
    ids=["NUL instance", "NUL context", "not a slug", "too long", "NUL record id", "space", "long record id"],
)
def test_path_segments_that_cannot_name_anything_are_404_before_any_query(
    url, automation, django_assert_max_num_queries
):
    make_environment()
    with django_assert_max_num_queries(2):  # the token's client, and nothing that reads the path
        rejected(automation.http.get(url), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/v1/"),
        ("get", "/v1/evidence/deployments/"),  # a trailing slash is not the route
        ("post", "/v1/evidence"),
        ("get", "/v1/inventory/cm"),
        ("get", "/v1/deployments/"),
        ("put", "/v1/nothing/here"),
    ],
)
def test_any_other_path_under_v1_is_404_in_the_envelope(method, url, automation):
    rejected(getattr(automation.http, method)(url), 404, "not_found")


def test_an_accept_header_that_names_nothing_json_is_406_in_the_envelope(automation):
    make_environment()
    rejected(automation.http.get(inventory_url(), HTTP_ACCEPT="text/html"), 406, "not_acceptable")


@pytest.mark.parametrize("url", [EVIDENCE, inventory_url(), deployment_url("dep-1")])
@pytest.mark.parametrize("method", ["options", "put", "patch", "delete"])
def test_other_methods_are_405_in_the_envelope(method, url, automation):
    """OPTIONS used to be a 500 (DRF's metadata wants one serializer_class); found by schemathesis.
    The 405's Allow header lists only the methods the route answers."""
    response = getattr(automation.http, method)(url)
    rejected(response, 405, "method_not_allowed")
    assert "OPTIONS" not in response["Allow"] and response["Allow"].split(", ")[0] in ("GET", "POST")
