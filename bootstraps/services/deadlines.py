"""Deadlines (rule 9): operations that end without a result, the sweeper's unit of work, and the
guards every operation service shares (the lock and re-read, data that cannot un-change)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from bootstraps.models import BootstrapOperation
from bootstraps.rules import (
    decide_without_result,
    unmutating_contradiction,
)
from inventory.choices import InventoryEffect
from inventory.models import Environment, EnvironmentInventory, InventoryTransition
from inventory.services import (
    Cause,
    apply_transition,
    lock_inventory,
)
from launchplane.errors import ContradictoryResult

Status = BootstrapOperation.Status
CauseType = InventoryTransition.CauseType
# The API accepts 1-86400 seconds (PRODUCT.md); operators and the demo seed may set longer deadlines.
MAX_TIMEOUT_SECONDS = 31 * 86400


# ---------------------------------------------------------------------------------------------------
# Deadlines (rule 9)
# ---------------------------------------------------------------------------------------------------


def end_without_result(
    inventory: EnvironmentInventory, operation: BootstrapOperation, *, status: str, cause: Cause, why: str
) -> InventoryTransition:
    """Rule 7 step 2 for an operation that ends with no result (deadline or cancel)."""
    outcome = decide_without_result(
        data_mutated=operation.data_mutated,
        data_state_before=operation.data_state_before,
        data_detail_before=operation.data_detail_before,
        deployment_state=inventory.deployment_state,
        why=f"bootstrap {operation.operation_id} {why}",
    )
    operation.status = status
    operation.bootstrap_run_status = outcome.bootstrap_run_status or BootstrapOperation.RunStatus.UNKNOWN
    operation.readiness_status = outcome.readiness_status
    operation.inventory_effect = outcome.effect
    operation.save(
        update_fields=[
            "status",
            "bootstrap_run_status",
            "readiness_status",
            "inventory_effect",
            "cancel_reason",
            "finished_at",
        ]
    )
    return apply_transition(
        inventory,
        deployment_state=outcome.deployment_state,
        data_state=outcome.data_state,
        effect=outcome.effect,
        cause=cause,
        reason=f"Bootstrap {operation.operation_id} {why}; "
        + (
            "data unchanged, data state restored."
            if outcome.effect == InventoryEffect.RETAINED
            else "data state unknown."
        ),
        data_detail=outcome.data_detail,
    )


def expire_locked(inventory: EnvironmentInventory, now: datetime) -> int:
    """Time out the environment's overdue operations; the caller holds the inventory lock.

    The transition is stamped with the deadline, not with the moment we noticed.
    """
    expired = 0
    for operation in BootstrapOperation.objects.filter(environment=inventory.environment).overdue(now):
        expire_operation_locked(inventory, operation, now)
        expired += 1
    return expired


def expire_operation_locked(inventory: EnvironmentInventory, operation: BootstrapOperation, now: datetime) -> None:
    """Time out one overdue operation of the locked inventory's environment, stamped with its deadline."""
    operation.environment = inventory.environment
    end_without_result(
        inventory,
        operation,
        status=Status.TIMED_OUT,
        cause=Cause(CauseType.DEADLINE, operation.operation_id, "deadline", operation.deadline, now, server_clock=True),
        why=f"timed out at its deadline ({operation.timeout_seconds}s)",
    )


def expire_overdue(
    now: datetime | None = None,
    *,
    environment: Environment | None = None,
    environments: QuerySet[Environment] | None = None,
) -> int:
    """Time out every overdue operation (or those of some environments). Safe to run on several hosts
    at once: each environment is handled under its row lock and re-checked there."""
    now = now or timezone.now()
    overdue = BootstrapOperation.objects.overdue(now)
    if environment is not None:
        overdue = overdue.filter(environment=environment)
    if environments is not None:
        overdue = overdue.filter(environment__in=environments)
    expired = 0
    for environment_id in overdue.order_by().values_list("environment_id", flat=True).distinct():
        with transaction.atomic():
            env = Environment.objects.get(pk=environment_id)
            expired += expire_locked(lock_inventory(env), now)
    return expired


def lock_operation(operation: BootstrapOperation, now: datetime) -> tuple[EnvironmentInventory, BootstrapOperation]:
    """Lock the operation's environment and re-read the operation under the lock: its status may have
    changed since the caller loaded it. Call ``expire_overdue`` for the environment first, outside the
    transaction, so that an expiry stays committed even when the guarded write is then refused."""
    inventory = lock_inventory(operation.environment)
    operation = BootstrapOperation.objects.get(pk=operation.pk)
    operation.environment = inventory.environment
    if inventory.last_bootstrap_id == operation.pk:  # one object: what the write changes, its answer shows
        inventory.last_bootstrap = operation
    return inventory, operation


def refuse_unmutating(operation: BootstrapOperation, data_mutated: bool | None) -> None:
    """Data that was reported changed cannot become unchanged (rule 7's contradictions): one guard for
    progress events, cancels and results alike."""
    found = unmutating_contradiction(known=operation.data_mutated, reported=data_mutated)
    if found:
        raise ContradictoryResult(
            "Data was already reported changed; it cannot be reported unchanged now.", fields=found
        )


# ---------------------------------------------------------------------------------------------------
# Progress and the sweeper
# ---------------------------------------------------------------------------------------------------


def expire_next(now: datetime | None = None, *, batch: int = 20) -> int:
    """One unit of the sweeper's work: expire the overdue operations of one environment.

    Returns how many operations it expired (0 when nothing is overdue, or everything overdue is being
    handled by another sweeper). On PostgreSQL ``SKIP LOCKED`` lets several sweepers share the work
    without waiting on each other; the re-check under the lock makes each operation expire once.
    """
    now = now or timezone.now()
    candidates = BootstrapOperation.objects.overdue(now).order_by("deadline").values_list("environment_id", flat=True)
    for environment_id in list(dict.fromkeys(candidates[:batch])):
        with transaction.atomic():
            inventory = (
                EnvironmentInventory.objects.select_for_update(skip_locked=True)
                .select_related("environment")
                .filter(pk=environment_id)
                .first()
            )
            if inventory is None:
                continue
            expired = expire_locked(inventory, now)
        if expired:
            return expired
    return 0
