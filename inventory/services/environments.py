"""Creating environments (the only way one comes to exist) and changing their settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import (
    Environment,
    EnvironmentInventory,
)
from inventory.rules import (
    CHECKS,
)
from inventory.services.transitions import ENVIRONMENT_LOCKED_BY_PAIR, inventory_lock, validation_fields
from launchplane.compiled import CompiledLookup
from launchplane.errors import Conflict, InvalidInput, NotFound
from launchplane.transactions import can_note_row_lock, note_row_lock


def create_environment(
    *,
    context: str,
    instance: str,
    base_url: str = "",
    required_checks: Sequence[str] | None = None,
    requires_runtime_identity: bool = True,
    verification_ttl_seconds: int = 86400,
    now: datetime | None = None,
    **verification_settings: Any,
) -> Environment:
    """Create an environment and its inventory pointer together. A duplicate raises ``Conflict``.

    ``verification_settings`` are the probes' settings (``SETTINGS`` names them), defaults as the model's.
    """
    unknown = set(verification_settings) - set(VERIFICATION_SETTINGS)
    if unknown:
        raise TypeError(f"Unknown environment settings: {', '.join(sorted(unknown))}")
    environment = Environment(
        context=context,
        instance=instance,
        base_url=base_url,
        required_checks=list(CHECKS if required_checks is None else required_checks),
        requires_runtime_identity=requires_runtime_identity,
        verification_ttl_seconds=verification_ttl_seconds,
        **verification_settings,
    )
    clean_environment(environment)
    try:
        with transaction.atomic():
            environment.save()
            EnvironmentInventory.objects.create(environment=environment, state_changed_at=now or timezone.now())
    except IntegrityError as exc:
        raise Conflict(
            f"Environment {context}/{instance} already exists.", fields={"instance": "already exists"}
        ) from exc
    return environment


# What an environment's settings are: everything but its name. Changing them changes no state.
VERIFICATION_SETTINGS = (
    "health_path",
    "verification_interval_seconds",
    "verification_timeout_seconds",
    "preview_marker",
    "verify_tls",
    "verify_after_records",
)
SETTINGS = (
    "base_url",
    "required_checks",
    "requires_runtime_identity",
    "verification_ttl_seconds",
    *VERIFICATION_SETTINGS,
)


def clean_environment(environment: Environment) -> None:
    try:
        environment.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput("The environment is not valid.", fields=validation_fields(exc)) from exc


def update_environment_settings(environment: Environment, **changes: Any) -> Environment:
    """Change an environment's settings (never its name, never a state field). Only the given fields
    are written, so two clients changing different settings at once both keep their change."""
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise InvalidInput("Only settings can change.", fields=dict.fromkeys(sorted(unknown), "not a setting"))
    for name, value in changes.items():
        setattr(environment, name, value)
    clean_environment(environment)
    if changes:
        environment.save(update_fields=sorted(changes))
    return environment


# Every write names its environment by the pair: compiled once per connection (launchplane/compiled.py).
ENVIRONMENT_BY_PAIR = CompiledLookup(
    lambda context, instance: Environment.objects.filter(context=context, instance=instance), "(context)", "(instance)"
)


def get_environment(context: str, instance: str) -> Environment:
    environment = ENVIRONMENT_BY_PAIR.first(context, instance)
    if environment is None:
        raise NotFound(
            f"No environment {context}/{instance}. Create it first (POST /api/v1/environments/).",
            fields={"context": "unknown environment", "instance": "unknown environment"},
        )
    return environment


def environment_to_write(context: str, instance: str) -> Environment:
    """The environment a write names (404 when unknown), for a service that locks its inventory row.

    Inside an API write's all-or-nothing transaction the lookup takes that lock itself — the lock the
    service takes first thing (``lock_inventory``), one statement sooner and one statement fewer. Then
    the service's ``lock_inventory`` only reads the row. Elsewhere it is ``get_environment``.
    """
    if not can_note_row_lock():
        return get_environment(context, instance)
    locked = ENVIRONMENT_LOCKED_BY_PAIR.first(context, instance)
    if locked is None:  # unknown (404), or an environment without its inventory row: lock_inventory's gap
        return get_environment(context, instance)
    note_row_lock(inventory_lock(locked.pk))
    return locked.environment
