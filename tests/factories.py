"""The one module of test builders: prior state for service, sequence, admin and HTTP tests alike.
Everything goes through the services, as production code does.

Time:

- ``T0`` is the suite's one base time: twelve hours before the run started, to the second. Client
  timestamps built from it are in the past and inside the default one-day verification TTL, so HTTP
  tests may send them; service tests use it only relatively (``T0 + timedelta(...)``).
- ``next_moment()`` is a moment later than every earlier one in the run (``T0`` + n seconds), so
  records finish in the order tests make them.

The server's ``now`` when a builder is not given one:

- ``deploy`` and ``observe`` record evidence: ``finished_at`` / ``observed_at`` default to
  ``next_moment()``, and ``now`` defaults to that evidence time (the record arrived as it finished),
  so a test that places a record in time places the server there too.
- ``start``, ``finish``, ``bootstrap_once`` and ``report_progress`` act on operations with deadlines:
  without ``now`` they pass ``None`` and the service reads ``timezone.now()`` (the wall clock, or
  whatever ``mock.patch("django.utils.timezone.now")`` answers), so an operation a test starts is not
  overdue when the test's requests reach it.

Identity: ``runtime_identity(record_id)`` is what a runtime running deployment ``record_id`` reports.
``deploy`` records that deployment with artifact ``artifact-<record_id>`` and, by default, reports
exactly that identity, so the identity a deployment expects and the one an HTTP body sends agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from itertools import count
from typing import Any

from django.utils import timezone

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
from inventory.services import Recorded, create_environment, record_deployment, record_observation

T0 = timezone.now().replace(microsecond=0) - timedelta(hours=12)
GIT_REF = "refs/heads/main"

_numbers = count(1)
_ticks = count(1)


def next_number() -> int:
    """A number no earlier call in this run returned: for record ids, digests and idempotency keys."""
    return next(_numbers)


def next_moment() -> datetime:
    """A moment later than every earlier one in this run: records finish in the order tests make them."""
    return T0 + timedelta(seconds=next(_ticks))


# ---------------------------------------------------------------------------------------------------
# Environments, deployments, observations
# ---------------------------------------------------------------------------------------------------


def make_environment(context: str = "cm", instance: str = "testing", **kwargs: Any) -> Environment:
    return create_environment(context=context, instance=instance, **kwargs)


def inventory_of(environment: Environment) -> EnvironmentInventory:
    return EnvironmentInventory.objects.with_related().get(pk=environment.pk)


def runtime_identity(
    record_id: str, *, context: str = "cm", instance: str = "testing", **overrides: Any
) -> dict[str, Any]:
    """The runtime identity a runtime running deployment ``record_id`` (as ``deploy`` records it)
    reports, with ``overrides`` applied."""
    value = {
        "context": context,
        "instance": instance,
        "deployment_record_id": record_id,
        "artifact_id": f"artifact-{record_id}",
        "source_git_ref": GIT_REF,
        "image_reference": f"registry.example/odoo:{record_id}",
    }
    value.update(overrides)
    return value


def identity_of(record: DeploymentRecord | None, **overrides: Any) -> IdentityInput:
    """The identity a runtime running ``record`` reports, with ``overrides`` applied."""
    value = dict(record.own_identity) if record else {}
    value.update(overrides)
    return IdentityInput(sent=True, value=value)


def deploy(
    environment: Environment,
    record_id: str | None = None,
    *,
    deploy_status: str = "pass",
    post_deploy_status: str = "pass",
    health_status: str = "pass",
    identity: IdentityInput | str | None = "match",
    finished_at: datetime | None = None,
    now: datetime | None = None,
    actor: str = "ci",
) -> Recorded:
    """Record deployment ``record_id`` (``rec-<n>`` if not given) of ``artifact-<record_id>``.

    ``identity="match"`` reports ``runtime_identity(record_id)`` in the environment, the identity the
    record itself expects; ``None`` reports none. ``finished_at`` defaults to ``next_moment()`` and the
    service's ``now`` to ``finished_at``."""
    record_id = record_id or f"rec-{next_number()}"
    finished_at = finished_at or next_moment()
    if identity == "match":
        identity = IdentityInput(
            sent=True,
            value=runtime_identity(record_id, context=environment.context, instance=environment.instance),
        )
    elif identity is None:
        identity = NOT_SENT
    return record_deployment(
        environment,
        record_id=record_id,
        artifact_id=f"artifact-{record_id}",
        source_git_ref=GIT_REF,
        deploy_status=deploy_status,
        post_deploy_status=post_deploy_status,
        health_status=health_status,
        started_at=finished_at - timedelta(minutes=2),
        finished_at=finished_at,
        identity=identity,
        actor=actor,
        now=now or finished_at,
    )


def observe(
    environment: Environment,
    identity: IdentityInput | Mapping[str, Any],
    *,
    observed_at: datetime | None = None,
    source: str = "prober",
    now: datetime | None = None,
) -> Recorded:
    """Record what a prober read of the runtime's identity: an ``IdentityInput``, or the identity
    object itself. ``observed_at`` defaults to ``next_moment()`` and the service's ``now`` to it."""
    if not isinstance(identity, IdentityInput):
        identity = IdentityInput(sent=True, value=dict(identity))
    observed_at = observed_at or next_moment()
    return record_observation(
        environment, identity=identity, source=source, observed_at=observed_at, actor="prober", now=now or observed_at
    )


# ---------------------------------------------------------------------------------------------------
# Bootstraps (the service's ``now`` is the wall clock unless given)
# ---------------------------------------------------------------------------------------------------


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
    """Start a bootstrap (from ``upstream_restore``, by the driver, with the service's default timeout)."""
    kwargs.setdefault("data_source", "upstream_restore")
    kwargs.setdefault("actor", "driver")
    return start_bootstrap(environment, now=now, **kwargs)


def finish(
    operation: BootstrapOperation, result: BootstrapResult, *, now: datetime | None = None
) -> BootstrapOperation:
    return record_bootstrap_result(operation, result, actor="driver", now=now)


def bootstrap_once(
    environment: Environment, result: BootstrapResult, *, now: datetime | None = None
) -> BootstrapOperation:
    return run_bootstrap_once(environment, result, data_source="empty", actor="driver", now=now)


def report_progress(
    operation: BootstrapOperation, *, data_mutated: bool | None, now: datetime | None = None, phase: str = "bootstrap"
) -> BootstrapOperation:
    """A progress event from the bootstrap driver, e.g. reporting whether data has changed so far."""
    return record_progress(operation, phase=phase, actor="driver", data_mutated=data_mutated, now=now)


# ---------------------------------------------------------------------------------------------------
# Helpers for service, sequence and concurrency tests
# ---------------------------------------------------------------------------------------------------

MISSING_IDENTITY = IdentityInput(sent=True, value=None)
MALFORMED_IDENTITY = IdentityInput(sent=True, value=["not", "an", "object"])
UNVERIFIABLE_IDENTITY = IdentityInput(unverifiable=True)


def wrong_identity(record: DeploymentRecord, **overrides: Any) -> IdentityInput:
    """An identity that differs from ``record``'s on ``artifact_id`` (and on whatever else is overridden)."""
    return identity_of(record, **{"artifact_id": "artifact-elsewhere", **overrides})


def row_counts() -> dict[str, int]:
    """Rows in the table of every installed model, counted in one query (no manager filters any out),
    to prove that a refused request wrote nothing."""
    from django.apps import apps
    from django.db import connection

    models = apps.get_models()
    quote = connection.ops.quote_name
    sql = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(model._meta.db_table)})" for model in models)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        counts = cursor.fetchone()
    return {model._meta.label: number for model, number in zip(models, counts, strict=True)}


def field_values(instance: Any) -> dict[str, Any]:
    """Every concrete field of a row as stored in the database right now."""
    fresh = type(instance)._default_manager.get(pk=instance.pk)
    return {field.attname: getattr(fresh, field.attname) for field in fresh._meta.concrete_fields}


def history(environment: Environment) -> list[Any]:
    """The environment's transitions, newest first (by server sequence)."""
    return list(InventoryTransition.objects.filter(environment=environment).order_by("-sequence"))


def busy_environment(context: str, instance: str = "prod", *, now: datetime) -> Environment:
    """An environment with one of everything, relative to ``now`` (the admin reads the wall clock):
    a deployment, an observation, a finished bootstrap and an active one."""
    environment = make_environment(context, instance)
    recorded = deploy(environment, finished_at=now - timedelta(hours=3))
    observe(environment, identity_of(recorded.record), source="probe", observed_at=now - timedelta(hours=2))
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


# ---------------------------------------------------------------------------------------------------
# Webhook subscriptions
# ---------------------------------------------------------------------------------------------------

HOOK_URL = "http://127.0.0.1:9/hooks/launchplane"  # loopback, nothing listens: tests stub the transport


def subscribe(name: str | None = None, *, url: str = HOOK_URL, **kwargs: Any) -> tuple[Any, str]:
    """A webhook subscription (``webhook-<n>`` unless named) and its signing secret, through the same
    ``issue`` that ``create_webhook`` calls. ``contexts``/``events`` default to everything."""
    from notifications.models import WebhookSubscription

    return WebhookSubscription.issue(name or f"webhook-{next_number()}", url=url, **kwargs)


# ---------------------------------------------------------------------------------------------------
# Staff
# ---------------------------------------------------------------------------------------------------


def staff_user(username: str, group: str | None = "reviewers") -> Any:
    """A staff user in ``group`` (launchplane/groups.py: reviewers and operators may take, release and
    acknowledge), or in none (read-only staff). No password: hashing is slow."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(username=username, is_staff=True)
    if group is not None:
        user.groups.add(Group.objects.get(name=group))
    return user
