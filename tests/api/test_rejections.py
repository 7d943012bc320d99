"""No rejected request leaves a row behind: every model's rows are counted before and after each kind
of refusal, on every endpoint it applies to. Every refused request carries an Idempotency-Key, so a
kept key would show up as a row too."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from launchplane.api.idempotency import fingerprint
from launchplane.api.plumbing import ClientRateThrottle
from launchplane.models import IdempotencyKey
from tests.api.conftest import Caller
from tests.api.support import (
    BOOTSTRAPS,
    DEPLOYMENTS,
    ENVIRONMENTS,
    POST_ENDPOINTS,
    POSTS_BY_ID,
    cancel_url,
    deployed_env,
    deployment_body,
    environment_body,
    error_of,
    new_key,
    observations_url,
    post,
    result_body,
    result_url,
    start_body,
)
from tests.factories import finish, passing_result, row_counts, start

pytestmark = pytest.mark.django_db


@dataclass
class Cast:
    automation: Caller
    reader: Caller
    outsider: Caller
    anonymous: Any


@pytest.fixture
def cast(automation, reader, outsider, anonymous) -> Cast:
    return Cast(automation, reader, outsider, anonymous)


@dataclass(frozen=True)
class Rejection:
    status: int
    code: str
    prepare: Callable[[Cast], Callable[[], Any]]


def on_endpoint(name: str, change: Callable[[dict], dict], who: str = "automation") -> Callable:
    def prepare(cast: Cast) -> Callable[[], Any]:
        url, body = POST_ENDPOINTS[name]()
        http = getattr(cast, who).http if who != "anonymous" else cast.anonymous
        return lambda: post(http, url, change(body), key=new_key())

    return prepare


def unchanged(body: dict) -> dict:
    return body


def with_unknown_field(body: dict) -> dict:
    return {**body, "colour": "blue"}


def raw_request(name: str, raw: bytes, content_type: str = "application/json") -> Callable:
    def prepare(cast: Cast) -> Callable[[], Any]:
        url, _body = POST_ENDPOINTS[name]()
        http = cast.automation.http
        return lambda: http.post(url, raw, content_type=content_type, HTTP_IDEMPOTENCY_KEY=new_key())

    return prepare


def too_large(name: str) -> Callable:
    def prepare(cast: Cast) -> Callable[[], Any]:
        url, body = POST_ENDPOINTS[name]()
        raw = json.dumps(body).encode()

        def send() -> Any:
            with override_settings(API_MAX_BODY_BYTES=len(raw) - 1):
                return cast.automation.http.post(url, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")

        return send

    return prepare


def in_flight(name: str) -> Callable:
    def prepare(cast: Cast) -> Callable[[], Any]:
        url, body = POST_ENDPOINTS[name]()
        now = timezone.now()
        IdempotencyKey.objects.create(
            owner=f"client:{cast.automation.model.pk}",
            key="busy",
            fingerprint=fingerprint("POST", url, body),
            created_at=now,
            expires_at=now + timedelta(hours=1),
        )
        return lambda: post(cast.automation.http, url, body, key="busy")

    return prepare


def key_reused(name: str) -> Callable:
    def prepare(cast: Cast) -> Callable[[], Any]:
        url, body = POST_ENDPOINTS[name]()
        assert post(cast.automation.http, url, body, key="once").status_code in (200, 201)
        return lambda: post(cast.automation.http, url, {**body, "reason": "another"}, key="once")

    return prepare


def throttled(name: str) -> Callable:
    def prepare(cast: Cast) -> Callable[[], Any]:
        url, body = POST_ENDPOINTS[name]()
        ClientRateThrottle.THROTTLE_RATES = {"client": "1/minute"}  # restored by the fixture below
        cast.automation.http.get(ENVIRONMENTS)
        return lambda: post(cast.automation.http, url, body, key=new_key())

    return prepare


def bootstrap_active(one_shot: bool) -> Callable:
    def prepare(cast: Cast) -> Callable[[], Any]:
        start(deployed_env())
        body = start_body(result=result_body()) if one_shot else start_body()
        return lambda: post(cast.automation.http, BOOTSTRAPS, body, key=new_key())

    return prepare


def operation_finished(action: str, how: str) -> Callable:
    def prepare(cast: Cast) -> Callable[[], Any]:
        operation = start(deployed_env())
        if how == "finished":
            finish(operation, passing_result(operation.environment))
        else:
            post(cast.automation.http, cancel_url(operation.operation_id), {"reason": "stop"})
        url = result_url(operation.operation_id) if action == "result" else cancel_url(operation.operation_id)
        body = result_body() if action == "result" else {"reason": "again"}
        return lambda: post(cast.automation.http, url, body, key=new_key())

    return prepare


def conflict(kind: str) -> Callable:
    def prepare(cast: Cast) -> Callable[[], Any]:
        deployed_env()
        if kind == "environment":
            return lambda: post(cast.automation.http, ENVIRONMENTS, environment_body(), key=new_key())
        body = deployment_body(record_id="dep-1", deploy_status="fail")
        return lambda: post(cast.automation.http, DEPLOYMENTS, body, key=new_key())

    return prepare


def unknown_environment(name: str) -> Callable:
    def prepare(cast: Cast) -> Callable[[], Any]:
        url, body = POST_ENDPOINTS[name]()
        if name == "observations":
            url = observations_url("cm", "nowhere")
        else:
            body = {**body, "instance": "nowhere"}
        return lambda: post(cast.automation.http, url, body, key=new_key())

    return prepare


def unknown_operation(action: str) -> Callable:
    def prepare(cast: Cast) -> Callable[[], Any]:
        deployed_env()
        url = result_url("op-nowhere") if action == "result" else cancel_url("op-nowhere")
        body = result_body() if action == "result" else {"reason": "x"}
        return lambda: post(cast.automation.http, url, body, key=new_key())

    return prepare


def without_key(one_shot: bool) -> Callable:
    def prepare(cast: Cast) -> Callable[[], Any]:
        deployed_env()
        body = start_body(result=result_body()) if one_shot else start_body()
        return lambda: post(cast.automation.http, BOOTSTRAPS, body)

    return prepare


def contradictory(name: str) -> Callable:
    changes: dict[str, Callable[[dict], dict]] = {
        "deployments": lambda body: {**body, "runtime_identity_status": "unverifiable"},
        "observations": lambda body: {**body, "runtime_identity_status": "unverifiable"},
        "bootstrap-result": lambda body: {**body, "data_mutated": False},
        "bootstrap-one-shot": lambda body: {**body, "result": {**body["result"], "data_mutated": False}},
    }
    return on_endpoint(name, changes[name])


REJECTIONS: dict[str, Rejection] = {
    **{
        f"400-validation-{n}": Rejection(400, "validation_error", on_endpoint(n, with_unknown_field))
        for n in POST_ENDPOINTS
    },
    **{f"400-malformed-json-{n}": Rejection(400, "validation_error", raw_request(n, b"{oops")) for n in POST_ENDPOINTS},
    **{
        f"400-contradictory-{n}": Rejection(400, "contradictory_result", contradictory(n))
        for n in ("deployments", "observations", "bootstrap-result", "bootstrap-one-shot")
    },
    "400-key-required-start": Rejection(400, "idempotency_key_required", without_key(one_shot=False)),
    "400-key-required-one-shot": Rejection(400, "idempotency_key_required", without_key(one_shot=True)),
    **{f"401-{n}": Rejection(401, "not_authenticated", on_endpoint(n, unchanged, "anonymous")) for n in POST_ENDPOINTS},
    **{
        f"403-read-only-{n}": Rejection(403, "permission_denied", on_endpoint(n, unchanged, "reader"))
        for n in POST_ENDPOINTS
    },
    **{
        f"403-outside-scope-{n}": Rejection(403, "permission_denied", on_endpoint(n, unchanged, "outsider"))
        for n in POST_ENDPOINTS
        if n not in POSTS_BY_ID
    },
    **{
        f"404-outside-scope-{n}": Rejection(404, "not_found", on_endpoint(n, unchanged, "outsider"))
        for n in POSTS_BY_ID
    },
    **{
        f"404-unknown-environment-{n}": Rejection(404, "not_found", unknown_environment(n))
        for n in ("deployments", "observations", "bootstrap-start", "bootstrap-one-shot")
    },
    "404-unknown-operation-result": Rejection(404, "not_found", unknown_operation("result")),
    "404-unknown-operation-cancel": Rejection(404, "not_found", unknown_operation("cancel")),
    "409-duplicate-environment": Rejection(409, "conflict", conflict("environment")),
    "409-reused-record-id": Rejection(409, "conflict", conflict("deployment")),
    "409-bootstrap-active-start": Rejection(409, "bootstrap_active", bootstrap_active(one_shot=False)),
    "409-bootstrap-active-one-shot": Rejection(409, "bootstrap_active", bootstrap_active(one_shot=True)),
    "409-result-for-finished": Rejection(409, "operation_finished", operation_finished("result", "finished")),
    "409-result-for-cancelled": Rejection(409, "operation_finished", operation_finished("result", "cancelled")),
    "409-cancel-finished": Rejection(409, "operation_finished", operation_finished("cancel", "finished")),
    **{f"409-in-flight-{n}": Rejection(409, "idempotency_in_flight", in_flight(n)) for n in POST_ENDPOINTS},
    **{f"413-{n}": Rejection(413, "payload_too_large", too_large(n)) for n in POST_ENDPOINTS},
    **{
        f"415-{n}": Rejection(415, "unsupported_media_type", raw_request(n, b"context=cm", "text/plain"))
        for n in POST_ENDPOINTS
    },
    **{
        f"422-key-reused-{n}": Rejection(422, "idempotency_key_reused", key_reused(n))
        for n in ("bootstrap-start", "bootstrap-cancel")
    },
    "429-throttled-deployment": Rejection(429, "throttled", throttled("deployments")),
}


@pytest.fixture(autouse=True)
def _restore_throttle_rates():
    rates = ClientRateThrottle.THROTTLE_RATES
    yield
    ClientRateThrottle.THROTTLE_RATES = rates


@pytest.mark.parametrize("rejection", REJECTIONS.values(), ids=REJECTIONS.keys())
def test_a_rejected_request_leaves_no_row_behind(cast, rejection: Rejection) -> None:
    send = rejection.prepare(cast)
    before = row_counts()

    response = send()

    error_of(response, rejection.status, rejection.code)
    assert row_counts() == before
