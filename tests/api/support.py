"""What the API tests share: URLs, request bodies, a scenario driver that talks HTTP only, and the
assertions on the error body."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import count
from typing import Any
from unittest import mock

from django.utils import timezone
from rest_framework.test import APIClient

API = "/api/v1"
ENVIRONMENTS = f"{API}/environments/"
DEPLOYMENTS = f"{API}/deployments/"
BOOTSTRAPS = f"{API}/bootstraps/"

OMIT = object()  # leave a field out of a body (as opposed to sending JSON null)
GIT_REF = "refs/heads/main"

# Client timestamps are evidence, never order (rule 4); a fixed base some hours ago keeps them in the
# past (so last known good's verified_at is the record's own time) and inside the default 1-day TTL.
# Far enough in the past that every scripted moment (up to BASE + 400 minutes) is not in the future.
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


BASE = timezone.now().replace(microsecond=0) - timedelta(hours=12)
_numbers = count(1)
_ticks = count(1)
_keys = count(1)
OBSERVED_MINUTE = 300  # observations come after every deployment a test records (ticks are seconds)


def next_moment() -> datetime:
    """A moment later than every earlier one in this run: records finish in the order tests make them."""
    return BASE + timedelta(seconds=next(_ticks))


def at(minutes: float) -> str:
    """An ISO 8601 timestamp ``minutes`` after the base, with its timezone."""
    return iso(BASE + timedelta(minutes=minutes))


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
    return f"key-{next(_keys)}"


def post(http: APIClient, url: str, body: Any, *, key: str | None = None, **extra: Any):
    """POST ``body`` as JSON, with an ``Idempotency-Key`` when ``key`` is given."""
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    return http.post(url, body, format="json", **extra)


def without_omitted(body: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in body.items() if value is not OMIT}


def identity(
    record_id: str,
    *,
    context: str = "cm",
    instance: str = "testing",
    artifact_id: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """The runtime identity a runtime running deployment ``record_id`` reports."""
    value = {
        "context": context,
        "instance": instance,
        "deployment_record_id": record_id,
        "artifact_id": artifact_id or f"artifact-{record_id}",
        "source_git_ref": GIT_REF,
        "image_reference": f"registry.example/odoo:{record_id}",
    }
    value.update(overrides)
    return value


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
    number = next(_numbers)
    record_id = f"rec-{number}" if record_id is None else record_id
    finished = next_moment() if finished_minute is None else BASE + timedelta(minutes=finished_minute)
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
        body["observed_runtime_identity"] = identity(
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
# Prior state through the services (as production code writes it), so that each test spends its HTTP
# requests on the request under test and on reading the result back.
# ---------------------------------------------------------------------------------------------------


def make_env(context: str = "cm", instance: str = "testing", **fields: Any):
    from inventory.services import create_environment

    return create_environment(context=context, instance=instance, **fields)


def record(
    environment,
    record_id: str | None = None,
    *,
    deploy_status: str = "pass",
    post_deploy_status: str = "pass",
    health_status: str = "pass",
    identity_value: Any = "match",
    minute: float | None = None,
):
    """Record a deployment through the service; ``identity_value="match"`` reports its own identity."""
    from inventory.rules import NOT_SENT, IdentityInput
    from inventory.services import record_deployment

    number = next(_numbers)
    record_id = record_id or f"rec-{number}"
    artifact_id = f"artifact-{record_id}"
    if identity_value == "match":
        sent = IdentityInput(
            sent=True,
            value=identity(
                record_id, context=environment.context, instance=environment.instance, artifact_id=artifact_id
            ),
        )
    elif identity_value is OMIT:
        sent = NOT_SENT
    else:
        sent = IdentityInput(sent=True, value=identity_value)
    finished_at = next_moment() if minute is None else BASE + timedelta(minutes=minute)
    return record_deployment(
        environment,
        record_id=record_id,
        artifact_id=artifact_id,
        source_git_ref=GIT_REF,
        deploy_status=deploy_status,
        post_deploy_status=post_deploy_status,
        health_status=health_status,
        started_at=finished_at - timedelta(seconds=30),
        finished_at=finished_at,
        identity=sent,
        actor="api:setup",
    ).record


def begin(environment, *, timeout_seconds: int = 3600, now: datetime | None = None):
    """Start a bootstrap through the service."""
    from bootstraps.services import start_bootstrap

    return start_bootstrap(
        environment,
        data_source="upstream_restore",
        actor="api:setup",
        timeout_seconds=timeout_seconds,
        now=now or timezone.now(),
    )


def passing_result(environment, **overrides: Any):
    """A service-level result that passes everything and reports the current deployment's identity."""
    from bootstraps.services import BootstrapResult
    from inventory.models import EnvironmentInventory
    from inventory.rules import NOT_SENT, IdentityInput

    current = EnvironmentInventory.objects.get(pk=environment.pk).current_deployment
    fields: dict[str, Any] = {
        "bootstrap_run_status": "pass",
        "data_mutated": True,
        "post_deploy_status": "pass",
        "health_status": "pass",
        "canonical_status": "pass",
        "logo_status": "pass",
        "identity": IdentityInput(sent=True, value=current.own_identity) if current else NOT_SENT,
    }
    fields.update(overrides)
    return BootstrapResult(**fields)


def conclude(operation, **overrides: Any):
    """Report a result for ``operation`` through the service (a passing one unless overridden)."""
    from bootstraps.services import record_bootstrap_result

    result = passing_result(operation.environment, **overrides)
    return record_bootstrap_result(operation, result, actor="api:setup")


def once(environment, **overrides: Any):
    """A one-shot bootstrap through the service (a passing one unless overridden)."""
    from bootstraps.services import run_bootstrap_once

    result = passing_result(environment, **overrides)
    return run_bootstrap_once(environment, result, data_source="empty", actor="api:setup", now=timezone.now())


def observe(environment, value: Any = OMIT, *, unverifiable: bool = False, minute: float = OBSERVED_MINUTE):
    """Record an observation through the service."""
    from inventory.rules import NOT_SENT, IdentityInput
    from inventory.services import record_observation

    sent = NOT_SENT if value is OMIT else IdentityInput(sent=True, value=value)
    if unverifiable:
        sent = IdentityInput(sent=sent.sent, value=sent.value, unverifiable=True)
    return record_observation(
        environment,
        identity=sent,
        source="prober",
        observed_at=BASE + timedelta(minutes=minute),
        actor="api:setup",
    ).record


# ---------------------------------------------------------------------------------------------------
# Every endpoint, ready to call: each ``prepare`` builds the world the request needs (cm/testing with a
# current deployment, and a running bootstrap where the request addresses one) and returns what to send.
# ---------------------------------------------------------------------------------------------------


def deployed_env(context: str = "cm", instance: str = "testing", record_id: str = "dep-1"):
    environment = make_env(context, instance)
    record(environment, record_id)
    return environment


def own_identity(record_id: str = "dep-1", context: str = "cm", instance: str = "testing") -> dict[str, Any]:
    return {
        "context": context,
        "instance": instance,
        "deployment_record_id": record_id,
        "artifact_id": f"artifact-{record_id}",
        "source_git_ref": GIT_REF,
    }


def prepare_environment_create() -> tuple[str, dict[str, Any]]:
    return ENVIRONMENTS, environment_body(instance="fresh", required_checks=["health"])


def prepare_deployment_create() -> tuple[str, dict[str, Any]]:
    deployed_env()
    return DEPLOYMENTS, deployment_body(record_id="dep-2")


def prepare_observation() -> tuple[str, dict[str, Any]]:
    deployed_env()
    return observations_url(), {
        "observed_runtime_identity": own_identity(),
        "source": "prober",
        "observed_at": at(OBSERVED_MINUTE),
    }


def prepare_bootstrap_start() -> tuple[str, dict[str, Any]]:
    deployed_env()
    return BOOTSTRAPS, start_body()


def prepare_bootstrap_one_shot() -> tuple[str, dict[str, Any]]:
    deployed_env()
    return BOOTSTRAPS, start_body(result=result_body(own_identity()))


def prepare_bootstrap_result() -> tuple[str, dict[str, Any]]:
    operation = begin(deployed_env())
    return result_url(operation.operation_id), result_body(own_identity())


def prepare_bootstrap_cancel() -> tuple[str, dict[str, Any]]:
    operation = begin(deployed_env())
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
    operation = begin(deployed_env())
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


def row_counts() -> dict[str, int]:
    """Rows of every installed model, to prove that a refused request wrote nothing."""
    from django.apps import apps

    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def report_data_unchanged(operation, *, now: datetime):
    """The bootstrap driver's progress event saying no data has changed yet (before the deadline)."""
    from bootstraps.services import record_progress

    return record_progress(operation, phase="bootstrap", actor="api:setup", data_mutated=False, now=now)
