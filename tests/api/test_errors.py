"""One error body everywhere, with stable codes and dotted field paths: media type, size, malformed and
unknown input, naive timestamps, unknown paths and methods, throttling and unexpected failures."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.test import override_settings

from launchplane.api.plumbing import ClientRateThrottle
from launchplane.models import IdempotencyKey
from tests.api.conftest import make_caller
from tests.api.support import (
    API,
    BOOTSTRAPS,
    DEPLOYMENTS,
    ENVIRONMENTS,
    POST_ENDPOINTS,
    deployed_env,
    deployment_body,
    error_of,
    new_key,
    post,
)
from tests.factories import row_counts

pytestmark = pytest.mark.django_db


NOT_JSON = [
    *[pytest.param(name, "text/plain", id=f"{name}-text") for name in POST_ENDPOINTS],
    *[pytest.param(name, "application/x-www-form-urlencoded", id=f"{name}-form") for name in POST_ENDPOINTS],
    pytest.param("deployments", "multipart/form-data; boundary=x", id="deployments-multipart"),
    pytest.param("deployments", "application/xml", id="deployments-xml"),
]


@pytest.mark.parametrize(("name", "content_type"), NOT_JSON)
def test_a_body_that_is_not_json_answers_415_unsupported_media_type(automation, name, content_type) -> None:
    url, body = POST_ENDPOINTS[name]()
    before = row_counts()

    response = automation.http.post(url, json.dumps(body), content_type=content_type, HTTP_IDEMPOTENCY_KEY=new_key())

    error_of(response, 415, "unsupported_media_type")
    assert row_counts() == before


@pytest.mark.parametrize("name", POST_ENDPOINTS)
def test_a_body_over_the_limit_answers_413_payload_too_large(automation, name) -> None:
    url, body = POST_ENDPOINTS[name]()
    raw = json.dumps(body).encode()
    before = row_counts()

    with override_settings(API_MAX_BODY_BYTES=len(raw) - 1):
        response = automation.http.post(url, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=new_key())

    error_of(response, 413, "payload_too_large")
    assert row_counts() == before


@pytest.mark.parametrize("name", POST_ENDPOINTS)
def test_a_body_at_the_limit_is_accepted(automation, name) -> None:
    url, body = POST_ENDPOINTS[name]()
    raw = json.dumps(body)

    with override_settings(API_MAX_BODY_BYTES=len(raw.encode())):
        response = automation.http.post(url, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=new_key())

    assert response.status_code in (200, 201), response.json()


MALFORMED = [
    *[pytest.param(name, "{not json", id=name) for name in POST_ENDPOINTS],
    pytest.param("deployments", '{"context": "cm",}', id="trailing-comma"),
    pytest.param("deployments", "", id="empty"),
]


@pytest.mark.parametrize(("name", "raw"), MALFORMED)
def test_malformed_json_answers_400_validation_error(automation, name, raw) -> None:
    url, _body = POST_ENDPOINTS[name]()
    before = row_counts()

    response = automation.http.post(url, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=new_key())

    error_of(response, 400, "validation_error")
    assert row_counts() == before


NOT_AN_OBJECT = [
    *[pytest.param(name, "[]", id=name) for name in POST_ENDPOINTS],
    *[pytest.param("bootstrap-result", raw, id=raw) for raw in ('"cm"', "42", "null")],
]


@pytest.mark.parametrize(("name", "raw"), NOT_AN_OBJECT)
def test_a_json_body_that_is_not_an_object_answers_400_validation_error(automation, name, raw) -> None:
    url, _body = POST_ENDPOINTS[name]()
    before = row_counts()

    response = automation.http.post(url, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=new_key())

    error_of(response, 400, "validation_error")
    assert row_counts() == before


# ---------------------------------------------------------------------------------------------------
# Unknown fields at every level, naive timestamps everywhere
# ---------------------------------------------------------------------------------------------------


def evidence_with(**extra) -> list[dict]:
    return [{"probe": "health", "url": "https://cm.example.com/web/health", "status": "pass", **extra}]


UNKNOWN_FIELDS = [
    pytest.param("environments", lambda body: {**body, "colour": "blue"}, "colour", id="environment"),
    pytest.param("deployments", lambda body: {**body, "colour": "blue"}, "colour", id="deployment"),
    pytest.param("observations", lambda body: {**body, "colour": "blue"}, "colour", id="observation"),
    pytest.param("bootstrap-start", lambda body: {**body, "colour": "blue"}, "colour", id="start"),
    pytest.param("bootstrap-cancel", lambda body: {**body, "colour": "blue"}, "colour", id="cancel"),
    pytest.param("bootstrap-result", lambda body: {**body, "colour": "blue"}, "colour", id="result"),
    pytest.param(
        "bootstrap-result",
        lambda body: {**body, "verification_evidence": evidence_with(colour="blue")},
        "verification_evidence.0.colour",
        id="result-evidence-item",
    ),
    pytest.param(
        "bootstrap-one-shot",
        lambda body: {**body, "result": {**body["result"], "colour": "blue"}},
        "result.colour",
        id="one-shot-result",
    ),
    pytest.param(
        "bootstrap-one-shot",
        lambda body: {**body, "result": {**body["result"], "verification_evidence": evidence_with(colour="blue")}},
        "result.verification_evidence.0.colour",
        id="one-shot-evidence-item",
    ),
]


@pytest.mark.parametrize(("name", "change", "field"), UNKNOWN_FIELDS)
def test_an_unknown_field_is_rejected_at_every_level_under_its_dotted_path(automation, name, change, field) -> None:
    url, body = POST_ENDPOINTS[name]()
    before = row_counts()

    response = post(automation.http, url, change(body), key=new_key())

    error = error_of(response, 400, "validation_error")
    assert field in error["fields"], error
    assert row_counts() == before


NAIVE = "2026-11-27T12:00:00"
NAIVE_TIMESTAMPS = [
    pytest.param("deployments", lambda body: {**body, "started_at": NAIVE}, "started_at", id="deployment-started"),
    pytest.param("deployments", lambda body: {**body, "finished_at": NAIVE}, "finished_at", id="deployment-finished"),
    pytest.param("observations", lambda body: {**body, "observed_at": NAIVE}, "observed_at", id="observation"),
    pytest.param("bootstrap-result", lambda body: {**body, "finished_at": NAIVE}, "finished_at", id="result"),
    pytest.param(
        "bootstrap-one-shot",
        lambda body: {**body, "result": {**body["result"], "finished_at": NAIVE}},
        "result.finished_at",
        id="one-shot-result",
    ),
]


@pytest.mark.parametrize(("name", "change", "field"), NAIVE_TIMESTAMPS)
def test_a_timestamp_without_a_timezone_is_rejected(automation, name, change, field) -> None:
    url, body = POST_ENDPOINTS[name]()
    before = row_counts()

    response = post(automation.http, url, change(body), key=new_key())

    error = error_of(response, 400, "validation_error")
    assert field in error["fields"], error
    assert row_counts() == before


@pytest.mark.parametrize("stamp", ["2026-11-27T12:00:00Z", "2026-11-27T14:00:00+02:00", "2026-11-27T12:00:00.123456Z"])
def test_a_timestamp_with_a_timezone_is_accepted(automation, stamp) -> None:
    deployed_env()

    body = deployment_body(record_id="dep-2", started_at="2026-11-27T11:00:00Z", finished_at=stamp)
    response = post(automation.http, DEPLOYMENTS, body)

    assert response.status_code == 201, response.json()


# ---------------------------------------------------------------------------------------------------
# Paths and methods
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [f"{API}/nowhere/", f"{API}/environments/cm/", f"{API}/deployments/a/b/", "/api/v2/"])
def test_an_unknown_api_path_answers_404_in_the_error_body(automation, path) -> None:
    error_of(automation.http.get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [("put", ENVIRONMENTS), ("delete", ENVIRONMENTS), ("patch", DEPLOYMENTS), ("put", BOOTSTRAPS)],
)
def test_a_method_an_endpoint_does_not_offer_answers_405_in_the_error_body(automation, method, path) -> None:
    error_of(getattr(automation.http, method)(path, {}, format="json"), 405, "method_not_allowed")


# ---------------------------------------------------------------------------------------------------
# Throttling
# ---------------------------------------------------------------------------------------------------


@pytest.fixture
def three_per_minute(monkeypatch) -> None:
    """DRF reads the rates at import: patch the throttle's copy. The cache is cleared around each test."""
    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "3/minute"})


def test_a_client_over_its_rate_answers_429_throttled_with_retry_after(automation, three_per_minute) -> None:
    for _ in range(3):
        assert automation.http.get(ENVIRONMENTS).status_code == 200

    response = automation.http.get(ENVIRONMENTS)

    error_of(response, 429, "throttled")
    assert int(response.headers["Retry-After"]) > 0


def test_a_throttled_write_writes_nothing(automation, three_per_minute) -> None:
    url, body = POST_ENDPOINTS["deployments"]()
    for _ in range(3):
        automation.http.get(ENVIRONMENTS)
    before = row_counts()

    error_of(post(automation.http, url, body, key=new_key()), 429, "throttled")

    assert row_counts() == before


def test_throttling_counts_each_client_apart(automation, three_per_minute) -> None:
    other = make_caller("ci-cm-2", ["cm"])
    for _ in range(3):
        automation.http.get(ENVIRONMENTS)

    assert other.http.get(ENVIRONMENTS).status_code == 200
    error_of(automation.http.get(ENVIRONMENTS), 429, "throttled")


# ---------------------------------------------------------------------------------------------------
# Unexpected failures
# ---------------------------------------------------------------------------------------------------


def test_an_unexpected_failure_answers_500_in_the_error_body_and_releases_the_key(automation) -> None:
    url, body = POST_ENDPOINTS["deployments"]()
    key = new_key()

    with mock.patch("inventory.api.views.record_deployment", side_effect=RuntimeError("disk on fire")):
        response = post(automation.http, url, body, key=key)

    error = error_of(response, 500, "server_error")
    assert "disk on fire" not in error["message"]
    assert not IdempotencyKey.objects.filter(key=key).exists()
    assert post(automation.http, url, body, key=key).status_code == 201


# ---------------------------------------------------------------------------------------------------
# Bad input never answers 5xx (rule 13)
# ---------------------------------------------------------------------------------------------------

DEEP = 5000  # a 10 KB body, far under the size limit


@pytest.mark.parametrize(
    ("name", "nest"),
    [
        ("environments", lambda body: {**body, "base_url": "@"}),
        ("observations", lambda body: {**body, "observed_runtime_identity": "@"}),
        ("bootstrap-result", lambda body: {**body, "verification_evidence": "@"}),
    ],
    ids=["environment-field", "observation-identity", "result-evidence"],
)
def test_a_body_nested_too_deep_answers_400_not_500(automation, name, nest) -> None:
    url, body = POST_ENDPOINTS[name]()
    raw = json.dumps(nest(body)).replace('"@"', "[" * DEEP + "]" * DEEP)
    before = row_counts()

    response = automation.http.post(url, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=new_key())

    error_of(response, 400, "validation_error")
    assert row_counts() == before


NUL_IDENTITY = [
    pytest.param(
        "deployments", lambda body: {**body, "observed_runtime_identity": {"context": "cm\x00"}}, id="deployment"
    ),
    pytest.param(
        "observations", lambda body: {**body, "observed_runtime_identity": {"context\x00": "cm"}}, id="observation"
    ),
    pytest.param("bootstrap-result", lambda body: {**body, "observed_runtime_identity": "\x00"}, id="result"),
    pytest.param(
        "bootstrap-one-shot",
        lambda body: {**body, "result": {**body["result"], "observed_runtime_identity": {"a": ["\x00"]}}},
        id="one-shot",
    ),
]


@pytest.mark.parametrize(("name", "change"), NUL_IDENTITY)
def test_a_nul_character_in_an_identity_answers_400_naming_the_field(automation, name, change) -> None:
    url, body = POST_ENDPOINTS[name]()
    before = row_counts()

    response = post(automation.http, url, change(body), key=new_key())

    error = error_of(response, 400, "validation_error")
    assert any(path.endswith("observed_runtime_identity") for path in error["fields"]), error
    assert row_counts() == before


@pytest.mark.parametrize(
    ("name", "change", "field"),
    [
        ("environments", lambda body: {**body, "base_url": "https://cm\x00.example.com"}, "base_url"),
        ("deployments", lambda body: {**body, "artifact_id": "artifact\x00"}, "artifact_id"),
        ("observations", lambda body: {**body, "source": "prober\x00"}, "source"),
        ("bootstrap-cancel", lambda body: {**body, "reason": "stop\x00"}, "reason"),
        ("bootstrap-result", lambda body: {**body, "error_message": "\x00"}, "error_message"),
    ],
    ids=["base_url", "artifact_id", "source", "reason", "error_message"],
)
def test_a_nul_character_in_a_text_field_answers_400_naming_the_field(automation, name, change, field) -> None:
    url, body = POST_ENDPOINTS[name]()

    error = error_of(post(automation.http, url, change(body), key=new_key()), 400, "validation_error")

    assert field in error["fields"], error


def post_ascii_json(http, url: str, body: dict, **extra):
    """POST ``body`` as ASCII JSON: a lone surrogate travels as its ``\\udXXX`` escape, as JSON allows."""
    return http.post(url, json.dumps(body), content_type="application/json", **extra)


def test_a_lone_surrogate_with_an_idempotency_key_answers_400_naming_the_field(automation) -> None:
    url, body = POST_ENDPOINTS["observations"]()
    automation.http.raise_request_exception = False
    before = row_counts()

    response = post_ascii_json(automation.http, url, {**body, "source": "prober\ud800"}, HTTP_IDEMPOTENCY_KEY="k")

    error = error_of(response, 400, "validation_error")
    assert "source" in error["fields"]
    assert row_counts() == before


def test_a_lone_surrogate_in_a_text_field_answers_400_naming_the_field(automation) -> None:
    url, body = POST_ENDPOINTS["observations"]()

    error = error_of(post_ascii_json(automation.http, url, {**body, "source": "prober\ud800"}), 400, "validation_error")

    assert "source" in error["fields"]


@pytest.mark.parametrize("name", ["observations", "deployments", "bootstrap-result"])
def test_a_lone_surrogate_in_an_identity_answers_400_and_stores_nothing(automation, name) -> None:
    url, body = POST_ENDPOINTS[name]()
    automation.http.raise_request_exception = False
    before = row_counts()

    response = post_ascii_json(automation.http, url, {**body, "observed_runtime_identity": {"context": "cm\udfff"}})

    error = error_of(response, 400, "validation_error")
    assert "observed_runtime_identity" in error["fields"]
    assert row_counts() == before


NOT_A_MOMENT = [
    "2026-02-30T12:00:00Z",
    "2026-11-27T12:00:00+24:00",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
]


@pytest.mark.parametrize(
    ("name", "change", "field"),
    [
        *[
            pytest.param(
                "deployments",
                lambda body, stamp=stamp: {**body, "started_at": stamp, "finished_at": stamp},
                "started_at",
                id=f"deployment-{stamp}",
            )
            for stamp in NOT_A_MOMENT
        ],
        pytest.param(
            "observations", lambda body: {**body, "observed_at": NOT_A_MOMENT[0]}, "observed_at", id="observation"
        ),
        pytest.param(
            "bootstrap-result", lambda body: {**body, "finished_at": NOT_A_MOMENT[3]}, "finished_at", id="result"
        ),
    ],
)
def test_a_timestamp_that_is_not_a_real_moment_answers_400_and_stores_nothing(automation, name, change, field) -> None:
    url, body = POST_ENDPOINTS[name]()
    automation.http.raise_request_exception = False
    before = row_counts()

    response = post(automation.http, url, change(body), key=new_key())

    reads = [automation.http.get(path).status_code for path in (ENVIRONMENTS, DEPLOYMENTS)]
    error = error_of(response, 400, "validation_error")
    assert field in error["fields"], error
    assert row_counts() == before
    assert reads == [200, 200]
