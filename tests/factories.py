"""Builders for tests. Everything goes through the services, as production code does."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any

from bootstraps.models import BootstrapOperation
from bootstraps.services import (
    BootstrapResult,
    record_bootstrap_result,
    record_progress,
    run_bootstrap_once,
    start_bootstrap,
)
from inventory.models import DeploymentRecord, Environment, EnvironmentInventory, InventoryTransition
from inventory.rules import NOT_SENT, IdentityInput, combine
from inventory.services import Recorded, create_environment, record_deployment

T0 = datetime.fromisoformat("2026-11-01T12:00:00+00:00")
_artifacts = count(1)


def make_environment(context: str = "cm", instance: str = "testing", **kwargs: Any) -> Environment:
    return create_environment(context=context, instance=instance, **kwargs)


def inventory_of(environment: Environment) -> EnvironmentInventory:
    return EnvironmentInventory.objects.with_related().get(pk=environment.pk)


def identity_of(record: DeploymentRecord | None, **overrides: Any) -> IdentityInput:
    """The identity a runtime running ``record`` reports, with ``overrides`` applied."""
    value = dict(record.own_identity) if record else {}
    value.update(overrides)
    return IdentityInput(sent=True, value=value)


def deploy(
    environment: Environment,
    *,
    deploy_status: str = "pass",
    post_deploy_status: str = "pass",
    health_status: str = "pass",
    identity: IdentityInput | str | None = "match",
    finished_at: datetime | None = None,
    record_id: str | None = None,
    now: datetime | None = None,
    actor: str = "ci",
) -> Recorded:
    """Record a deployment. ``identity="match"`` sends the identity the record itself expects."""
    number = next(_artifacts)
    record_id = record_id or f"dep-{number}"
    finished_at = finished_at or T0 + timedelta(minutes=number)
    if identity == "match":
        identity = IdentityInput(
            sent=True,
            value={
                "context": environment.context,
                "instance": environment.instance,
                "deployment_record_id": record_id,
                "artifact_id": f"artifact-{number}",
                "source_git_ref": "refs/heads/main",
                "image_reference": f"registry.example/odoo:{number}",
            },
        )
    elif identity is None:
        identity = NOT_SENT
    return record_deployment(
        environment,
        record_id=record_id,
        artifact_id=f"artifact-{number}",
        source_git_ref="refs/heads/main",
        deploy_status=deploy_status,
        post_deploy_status=post_deploy_status,
        health_status=health_status,
        started_at=finished_at - timedelta(minutes=2),
        finished_at=finished_at,
        identity=identity,
        actor=actor,
        now=now or finished_at,
    )


def passing_result(environment: Environment, **overrides: Any) -> BootstrapResult:
    """A result that passes everything and reports the current deployment's identity."""
    inventory = inventory_of(environment)
    fields: dict[str, Any] = {
        "bootstrap_run_status": "pass",
        "data_mutated": True,
        "post_deploy_status": "pass",
        "health_status": "pass",
        "canonical_status": "pass",
        "logo_status": "pass",
        "identity": identity_of(inventory.current_deployment) if inventory.current_deployment else NOT_SENT,
    }
    fields.update(overrides)
    return BootstrapResult(**fields)


def start(environment: Environment, *, now: datetime | None = None, **kwargs: Any) -> BootstrapOperation:
    kwargs.setdefault("data_source", "upstream_restore")
    kwargs.setdefault("actor", "driver")
    return start_bootstrap(environment, now=now or T0, **kwargs)


def finish(
    operation: BootstrapOperation, result: BootstrapResult, *, now: datetime | None = None
) -> BootstrapOperation:
    return record_bootstrap_result(operation, result, actor="driver", now=now or T0 + timedelta(minutes=1))


def bootstrap_once(
    environment: Environment, result: BootstrapResult, *, now: datetime | None = None
) -> BootstrapOperation:
    return run_bootstrap_once(environment, result, data_source="empty", actor="driver", now=now or T0)


# ---------------------------------------------------------------------------------------------------
# Helpers for service, sequence and concurrency tests
# ---------------------------------------------------------------------------------------------------

MISSING_IDENTITY = IdentityInput(sent=True, value=None)
MALFORMED_IDENTITY = IdentityInput(sent=True, value=["not", "an", "object"])
UNVERIFIABLE_IDENTITY = IdentityInput(unverifiable=True)


def wrong_identity(record: DeploymentRecord, **overrides: Any) -> IdentityInput:
    """An identity that differs from ``record``'s on ``artifact_id`` (and on whatever else is overridden)."""
    return identity_of(record, **{"artifact_id": "artifact-elsewhere", **overrides})


def report_progress(
    operation: BootstrapOperation, *, data_mutated: bool | None, now: datetime | None = None, phase: str = "bootstrap"
) -> BootstrapOperation:
    """A progress event from the bootstrap driver, e.g. reporting whether data has changed so far."""
    return record_progress(operation, phase=phase, actor="driver", data_mutated=data_mutated, now=now or T0)


def row_counts() -> dict[str, int]:
    """Rows of every installed model, to prove that a refused request wrote nothing."""
    from django.apps import apps

    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def field_values(instance: Any) -> dict[str, Any]:
    """Every concrete field of a row as stored in the database right now."""
    fresh = type(instance)._default_manager.get(pk=instance.pk)
    return {field.attname: getattr(fresh, field.attname) for field in fresh._meta.concrete_fields}


def history(environment: Environment) -> list[Any]:
    """The environment's transitions, newest first (by server sequence)."""
    from inventory.models import InventoryTransition

    return list(InventoryTransition.objects.filter(environment=environment).order_by("-sequence"))


def busy_environment(context: str, instance: str = "prod", *, now: datetime) -> Environment:
    """An environment with one of everything, relative to ``now`` (the admin reads the wall clock):
    a deployment, an observation, a finished bootstrap and an active one."""
    from inventory.services import record_observation

    environment = make_environment(context, instance)
    recorded = deploy(environment, finished_at=now - timedelta(hours=3), now=now - timedelta(hours=3))
    record_observation(
        environment,
        identity=identity_of(recorded.record),
        source="probe",
        observed_at=now - timedelta(hours=2),
        actor="probe",
        now=now - timedelta(hours=2),
    )
    bootstrap_once(environment, passing_result(environment), now=now - timedelta(hours=1))
    start(environment, now=now - timedelta(minutes=10))
    return environment


def assert_transition(
    transition: InventoryTransition,
    *,
    from_sides: tuple[str, str],
    sides: tuple[str, str],
    effect: str,
    cause_type: str,
    cause_id: str,
    actor: str,
    occurred_at,
) -> None:
    """A transition carries from/to states, both sides before and after, effect, cause, actor and time."""
    assert (transition.from_deployment_state, transition.from_data_state) == from_sides
    assert (transition.deployment_state, transition.data_state) == sides
    assert transition.from_state == combine(*from_sides)
    assert transition.to_state == combine(*sides)
    assert transition.effect == effect
    assert (transition.cause_type, transition.cause_id) == (cause_type, cause_id)
    assert transition.actor == actor
    assert transition.occurred_at == occurred_at
    assert transition.recorded_at is not None
    assert transition.reason
