"""What the API tests share: URLs, request bodies, a scenario driver that talks HTTP only, the
assertions on the error body, and every endpoint ready to call. Prior state is built with
``tests.factories`` (through the services), and so is the time base ``at`` counts from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

from rest_framework.test import APIClient

from tests.factories import GIT_REF, T0, deploy, make_environment, next_moment, next_number, runtime_identity, start

API = "/api/v1"
ENVIRONMENTS = f"{API}/environments/"
DEPLOYMENTS = f"{API}/deployments/"
BOOTSTRAPS = f"{API}/bootstraps/"

OMIT = object()  # leave a field out of a body (as opposed to sending JSON null)

# The read model's fields PRODUCT.md names (the contract; more may be present).
READ_MODEL_FIELDS = {
    "context",
    "instance",
    "state",
    "state_reason",
    "deployment_state",
    "data_state",
    "freshness",
    "current_deployment",
    "last_deployment_attempt",
    "last_known_good",
    "last_bootstrap",
    "expected_runtime_identity",
    "observed_runtime_identity",
    "runtime_identity_status",
    "runtime_identity_mismatches",
    "acknowledgement",
    "updated_at",
}

# Client timestamps are evidence, never order (rule 4): they count from ``T0``, some hours ago, so they
# are in the past (last known good's verified_at is the record's own time) and inside the default
# 1-day TTL. Every scripted moment (up to T0 + 400 minutes) is not in the future.
OBSERVED_MINUTE = 300  # observations sent over HTTP come after every deployment a test records (ticks are seconds)


def at(minutes: float) -> str:
    """An ISO 8601 timestamp ``minutes`` after ``T0``, with its timezone."""
    return iso(T0 + timedelta(minutes=minutes))


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def environment_url(context: str = "cm", instance: str = "testing") -> str:
    return f"{ENVIRONMENTS}{context}/{instance}/"


def history_url(context: str = "cm", instance: str = "testing") -> str:
    return f"{environment_url(context, instance)}history/"


def observations_url(context: str = "cm", instance: str = "testing") -> str:
    return f"{environment_url(context, instance)}observations/"


def deployment_url(record_id: str) -> str:
    return f"{DEPLOYMENTS}{record_id}/"


def bootstrap_url(operation_id: str) -> str:
    return f"{BOOTSTRAPS}{operation_id}/"


def result_url(operation_id: str) -> str:
    return f"{bootstrap_url(operation_id)}result/"


def cancel_url(operation_id: str) -> str:
    return f"{bootstrap_url(operation_id)}cancel/"


def new_key() -> str:
    return f"key-{next_number()}"


def post(http: APIClient, url: str, body: Any, *, key: str | None = None, **extra: Any):
    """POST ``body`` as JSON, with an ``Idempotency-Key`` when ``key`` is given."""
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    return http.post(url, body, format="json", **extra)


def without_omitted(body: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in body.items() if value is not OMIT}


def environment_body(context: str = "cm", instance: str = "testing", **fields: Any) -> dict[str, Any]:
    return without_omitted({"context": context, "instance": instance, **fields})


def deployment_body(
    context: str = "cm",
    instance: str = "testing",
    *,
    record_id: Any = None,
    deploy_status: str = "pass",
    post_deploy_status: Any = "pass",
    health_status: Any = "pass",
    identity_value: Any = "match",
    finished_minute: float | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A deployment body. ``identity_value="match"`` sends the identity the record itself expects;
    ``OMIT`` leaves the identity out; anything else is sent as it is (``None`` is JSON null)."""
    number = next_number()
    record_id = f"rec-{number}" if record_id is None else record_id
    finished = next_moment() if finished_minute is None else T0 + timedelta(minutes=finished_minute)
    body: dict[str, Any] = {
        "context": context,
        "instance": instance,
        "record_id": record_id,
        "artifact_id": f"artifact-{record_id}" if record_id is not OMIT else f"artifact-{number}",
        "source_git_ref": GIT_REF,
        "image_digest": f"sha256:{number:064x}",
        "deploy_status": deploy_status,
        "post_deploy_status": post_deploy_status,
        "health_status": health_status,
        "started_at": iso(finished - timedelta(seconds=30)),
        "finished_at": iso(finished),
    }
    if identity_value == "match":
        body["observed_runtime_identity"] = runtime_identity(
            record_id,
            context="cm" if context is OMIT else context,
            instance="testing" if instance is OMIT else instance,
            artifact_id=body["artifact_id"],
        )
    elif identity_value is not OMIT:
        body["observed_runtime_identity"] = identity_value
    body.update(fields)
    return without_omitted(body)


def start_body(context: str = "cm", instance: str = "testing", **fields: Any) -> dict[str, Any]:
    body = {"context": context, "instance": instance, "data_source": "upstream_restore", "reason": "refresh"}
    body.update(fields)
    return without_omitted(body)


def result_body(expected: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A result that passes everything and, given the current deployment's identity, reports it."""
    body: dict[str, Any] = {
        "bootstrap_run_status": "pass",
        "data_mutated": True,
        "post_deploy_status": "pass",
        "health_status": "pass",
        "canonical_status": "pass",
        "logo_status": "pass",
    }
    if expected is not None:
        body["observed_runtime_identity"] = expected
    body.update(fields)
    return without_omitted(body)


def error_of(response, status: int, code: str) -> dict[str, Any]:
    """Assert the one error body (``{"error": {"code", "message", "fields"}}``) and return ``error``."""
    assert response.status_code == status, (response.status_code, getattr(response, "data", response.content))
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "fields"} <= set(error), error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["fields"], dict), error
    return error


@contextmanager
def clock_at(moment: datetime) -> Iterator[datetime]:
    """Make every ``django.utils.timezone.now()`` (views, services, auth) answer ``moment``."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield moment


class Driver:
    """Talks HTTP only, as an automation client does, asserting each step succeeded."""

    def __init__(self, http: APIClient) -> None:
        self.http = http

    def deploy(self, context: str = "cm", instance: str = "testing", **fields: Any) -> dict[str, Any]:
        response = post(self.http, DEPLOYMENTS, deployment_body(context, instance, **fields))
        assert response.status_code == 201, response.json()
        return response.json()

    def read(self, context: str = "cm", instance: str = "testing") -> dict[str, Any]:
        response = self.http.get(environment_url(context, instance))
        assert response.status_code == 200, response.json()
        return response.json()


# ---------------------------------------------------------------------------------------------------
# Every endpoint, ready to call: each ``prepare`` builds the world the request needs (cm/testing with a
# current deployment, and a running bootstrap where the request addresses one) and returns what to send.
# ---------------------------------------------------------------------------------------------------


def deployed_env(context: str = "cm", instance: str = "testing", record_id: str = "dep-1"):
    """``context``/``instance`` with ``record_id`` current (passed everything, reported its own identity)."""
    environment = make_environment(context, instance)
    deploy(environment, record_id)
    return environment


def prepare_environment_create() -> tuple[str, dict[str, Any]]:
    return ENVIRONMENTS, environment_body(instance="fresh", required_checks=["health"])


def prepare_deployment_create() -> tuple[str, dict[str, Any]]:
    deployed_env()
    return DEPLOYMENTS, deployment_body(record_id="dep-2")


def prepare_observation() -> tuple[str, dict[str, Any]]:
    deployed_env()
    return observations_url(), {
        "observed_runtime_identity": runtime_identity("dep-1"),
        "source": "prober",
        "observed_at": at(OBSERVED_MINUTE),
    }


def prepare_bootstrap_start() -> tuple[str, dict[str, Any]]:
    deployed_env()
    return BOOTSTRAPS, start_body()


def prepare_bootstrap_one_shot() -> tuple[str, dict[str, Any]]:
    deployed_env()
    return BOOTSTRAPS, start_body(result=result_body(runtime_identity("dep-1")))


def prepare_bootstrap_result() -> tuple[str, dict[str, Any]]:
    operation = start(deployed_env())
    return result_url(operation.operation_id), result_body(runtime_identity("dep-1"))


def prepare_bootstrap_cancel() -> tuple[str, dict[str, Any]]:
    operation = start(deployed_env())
    return cancel_url(operation.operation_id), {"reason": "wrong source", "data_mutated": False}


POST_ENDPOINTS = {
    "environments": prepare_environment_create,
    "deployments": prepare_deployment_create,
    "observations": prepare_observation,
    "bootstrap-start": prepare_bootstrap_start,
    "bootstrap-one-shot": prepare_bootstrap_one_shot,
    "bootstrap-result": prepare_bootstrap_result,
    "bootstrap-cancel": prepare_bootstrap_cancel,
}
# Which POSTs address a record by id (outside the scope: 404), rather than name a context (403).
POSTS_BY_ID = ("bootstrap-result", "bootstrap-cancel")
CREATED = {"bootstrap-result": 200, "bootstrap-cancel": 200}  # every other POST answers 201


def prepare_get(name: str) -> str:
    """cm/testing with dep-1 and a running operation; the URL of the named GET endpoint."""
    operation = start(deployed_env())
    return {
        "environments": ENVIRONMENTS,
        "environment": environment_url(),
        "history": history_url(),
        "deployments": DEPLOYMENTS,
        "deployment": deployment_url("dep-1"),
        "bootstraps": BOOTSTRAPS,
        "bootstrap": bootstrap_url(operation.operation_id),
    }[name]


GET_ENDPOINTS = ["environments", "environment", "history", "deployments", "deployment", "bootstraps", "bootstrap"]
GETS_BY_ID = ("deployment", "bootstrap")
GET_LISTS = ("environments", "deployments", "bootstraps")
