"""Starting a bootstrap (rule 10: one active per environment), reporting progress, cancelling."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError
from django.utils import timezone

from bootstraps.models import BootstrapOperation
from bootstraps.services.deadlines import (
    MAX_TIMEOUT_SECONDS,
    end_without_result,
    expire_operation_locked,
    expire_overdue,
    lock_operation,
    refuse_unmutating,
)
from inventory.choices import DataState, InventoryEffect
from inventory.models import Environment, EnvironmentInventory, InventoryTransition
from inventory.services import (
    Cause,
    apply_transition,
    lock_inventory,
    next_sequence,
)
from launchplane.errors import BootstrapActive, InvalidInput, OperationFinished
from launchplane.transactions import atomic

Status = BootstrapOperation.Status
CauseType = InventoryTransition.CauseType


# ---------------------------------------------------------------------------------------------------
# Start
# ---------------------------------------------------------------------------------------------------


def start_locked(
    inventory: EnvironmentInventory,
    *,
    data_source: str,
    reason: str,
    timeout_seconds: int,
    actor: str,
    idempotency_key: str,
    request_fingerprint: str,
    now: datetime,
    started_at: datetime | None = None,
    insert: bool = True,
) -> BootstrapOperation:
    """A new running operation on the locked inventory's environment (rule 10 checked). ``insert=False``
    leaves it unsaved, for a caller that finishes it before inserting it (a one-shot: one INSERT)."""
    environment = inventory.environment
    if data_source not in BootstrapOperation.DataSource.values:
        raise InvalidInput(
            "data_source must be empty or upstream_restore.",
            fields={"data_source": f"not a data source: {data_source!r}"},
        )
    if not 1 <= timeout_seconds <= MAX_TIMEOUT_SECONDS:
        raise InvalidInput(
            f"timeout_seconds must be between 1 and {MAX_TIMEOUT_SECONDS}.", fields={"timeout_seconds": "out of range"}
        )
    # The active operation, if any, is the latest bootstrap: at most one is active (rule 10) and a start
    # moves last_bootstrap to it, so the locked row says so without a query. Overdue, it times out
    # first (rule 9; lock_inventory(now=...) has done so already for the callers here).
    latest = inventory.last_bootstrap
    active = latest if latest is not None and latest.is_active else None
    if active is not None and active.deadline <= now:
        expire_operation_locked(inventory, BootstrapOperation.objects.get(pk=active.pk), now)
        active = None
    if active is not None:
        raise BootstrapActive(
            f"Bootstrap {active.operation_id} is still active on {environment}; wait for its result or cancel it.",
            fields={"operation_id": active.operation_id},
            active_operation_id=active.operation_id,
        )
    operation = BootstrapOperation(
        environment=environment,
        sequence=next_sequence(inventory),
        data_source=data_source,
        reason=reason,
        requested_by=actor,
        idempotency_key=idempotency_key,
        request_fingerprint=request_fingerprint,
        status=Status.RUNNING,
        bootstrap_run_status=BootstrapOperation.RunStatus.RUNNING,
        data_state_before=inventory.data_state,
        data_detail_before=inventory.data_detail,
        timeout_seconds=timeout_seconds,
        deadline=now + timedelta(seconds=timeout_seconds),
        started_at=started_at or now,
    )
    if insert:
        insert_operation(operation)
    return operation


def insert_operation(operation: BootstrapOperation) -> None:
    """Insert a new operation. The partial unique index is the last word on rule 10: a second active
    operation inserted meanwhile answers ``bootstrap_active`` (a savepoint keeps the caller's transaction,
    except in an all-or-nothing request: launchplane/transactions.py)."""
    try:
        with atomic():
            operation.save(force_insert=True)
    except IntegrityError as exc:
        raise BootstrapActive(f"Another bootstrap is active on {operation.environment}.") from exc


def start_bootstrap(
    environment: Environment,
    *,
    data_source: str,
    actor: str,
    reason: str = "",
    timeout_seconds: int = 3600,
    idempotency_key: str = "",
    request_fingerprint: str = "",
    now: datetime | None = None,
) -> BootstrapOperation:
    """Start a bootstrap: the data side reads ``bootstrap_in_progress`` until its outcome is known."""
    now = now or timezone.now()
    with atomic():
        inventory = lock_inventory(environment, now=now)  # overdue operations time out first (rule 9)
        operation = start_locked(
            inventory,
            data_source=data_source,
            reason=reason,
            timeout_seconds=timeout_seconds,
            actor=actor,
            idempotency_key=idempotency_key,
            request_fingerprint=request_fingerprint,
            now=now,
        )
        inventory.last_bootstrap = operation
        apply_transition(
            inventory,
            deployment_state=inventory.deployment_state,
            data_state=DataState.BOOTSTRAP_IN_PROGRESS,
            effect=InventoryEffect.PENDING,
            cause=Cause(CauseType.BOOTSTRAP, operation.operation_id, actor, now, now),
            reason=f"Bootstrap {operation.operation_id} started ({data_source}).",
            # No deadline here: a heartbeat moves it, and the operation itself always shows the current one.
            data_detail=f"bootstrap {operation.operation_id} from {data_source}, started {now:%Y-%m-%d %H:%M} UTC",
            changed_fields=["last_bootstrap"],
        )
    return operation


# ---------------------------------------------------------------------------------------------------
# Cancel
# ---------------------------------------------------------------------------------------------------


def cancel_bootstrap(
    operation: BootstrapOperation,
    *,
    reason: str,
    actor: str,
    data_mutated: bool | None = None,
    now: datetime | None = None,
) -> BootstrapOperation:
    """Cancel an active operation. Unless data is known unchanged, the data side becomes ``unknown``."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("A cancel needs a reason.", fields={"reason": "required"})
    expire_overdue(
        now, environment=operation.environment
    )  # rule 9: before the lock, so the inventory read under it reflects them
    with atomic():
        inventory, operation = lock_operation(operation, now)
        if not operation.is_active:
            raise OperationFinished(
                f"Bootstrap {operation.operation_id} is already {operation.status}; it cannot be cancelled.",
                fields={"operation_id": operation.status},
            )
        refuse_unmutating(operation, data_mutated)
        if data_mutated is not None:
            operation.data_mutated = data_mutated
            operation.save(update_fields=["data_mutated"])
        operation.cancel_reason = reason
        operation.finished_at = now
        end_without_result(
            inventory,
            operation,
            status=Status.CANCELLED,
            cause=Cause(CauseType.CANCEL, operation.operation_id, actor, now, now),
            why=f"was cancelled by {actor} ({reason})",
        )
    return operation


def record_progress(
    operation: BootstrapOperation,
    *,
    phase: str,
    actor: str,
    data_mutated: bool | None = None,
    extend_deadline_seconds: int | None = None,
    now: datetime | None = None,
) -> BootstrapOperation:
    """A running operation reports its phase (and, as soon as it knows, whether data changed).

    Progress changes no inventory state, so it appends no transition; ``extend_deadline_seconds``
    moves the deadline to now + that many seconds, never earlier than it was (a heartbeat). ``data_mutated`` can only move from
    unknown or false to true: data that has changed cannot un-change.
    """
    now = now or timezone.now()
    if phase not in BootstrapOperation.Phase.values:
        raise InvalidInput(
            "phase must be bootstrap, post_deploy or verification.", fields={"phase": f"not a phase: {phase!r}"}
        )
    if extend_deadline_seconds is not None and not 1 <= extend_deadline_seconds <= MAX_TIMEOUT_SECONDS:
        raise InvalidInput(
            "extend_deadline_seconds is out of range.", fields={"extend_deadline_seconds": "out of range"}
        )
    expire_overdue(
        now, environment=operation.environment
    )  # rule 9: before the lock, so the inventory read under it reflects them
    with atomic():
        _inventory, operation = lock_operation(operation, now)
        if not operation.is_active:
            raise OperationFinished(
                f"Bootstrap {operation.operation_id} is already {operation.status}; it takes no more events.",
                fields={"operation_id": operation.status},
            )
        refuse_unmutating(operation, data_mutated)
        operation.phase = phase
        if data_mutated is not None:
            operation.data_mutated = data_mutated
        if extend_deadline_seconds is not None:
            operation.deadline = max(operation.deadline, now + timedelta(seconds=extend_deadline_seconds))
        operation.save(update_fields=["phase", "data_mutated", "deadline"])
    return operation
