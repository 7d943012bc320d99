"""Services for data bootstraps: start, result, one-shot, cancel, and deadline expiry (rules 7, 9, 10).

Each runs in one transaction under the environment's inventory row lock and appends exactly one
``InventoryTransition`` when it is applied. A bootstrap never creates, edits or re-stamps a
``DeploymentRecord`` (rule 1): these services only read the current deployment to compare identities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from bootstraps.choices import ACTIVE_RUN_STATUSES, RESULT_RUN_STATUSES
from bootstraps.models import BootstrapOperation
from bootstraps.rules import (
    BootstrapOutcome,
    ResultFacts,
    contradictions,
    decide_result,
    decide_without_result,
    readiness_of,
    unmutating_contradiction,
)
from inventory.choices import CheckStatus, DataState, InventoryEffect
from inventory.models import Environment, EnvironmentInventory, InventoryTransition
from inventory.rules import NOT_SENT, IdentityInput, compare_identity
from inventory.services import (
    Cause,
    apply_transition,
    check_status,
    lock_inventory,
    next_sequence,
    note_identity,
    refuse_future,
    verified_at,
)
from launchplane.errors import BootstrapActive, ContradictoryResult, InvalidInput, NotFound, OperationFinished

Status = BootstrapOperation.Status
CauseType = InventoryTransition.CauseType
# The API accepts 1-86400 seconds (PRODUCT.md); operators and the demo seed may set longer deadlines.
MAX_TIMEOUT_SECONDS = 31 * 86400


@dataclass(frozen=True)
class BootstrapResult:
    """What a bootstrap driver reports when the run is over."""

    bootstrap_run_status: str
    data_mutated: bool | None
    post_deploy_status: str = CheckStatus.NOT_RUN
    health_status: str = CheckStatus.NOT_RUN
    canonical_status: str = CheckStatus.NOT_RUN
    logo_status: str = CheckStatus.NOT_RUN
    identity: IdentityInput = NOT_SENT
    verification_evidence: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    finished_at: datetime | None = None
    error_message: str = ""
    started_at: datetime | None = None  # a one-shot's own start; a two-step result's start is the operation's

    @property
    def checks(self) -> dict[str, str]:
        return {"health": self.health_status, "canonical": self.canonical_status, "logo": self.logo_status}

    def validate(self, prefix: str = "", *, now: datetime | None = None) -> None:
        """Reject unknown statuses and future timestamps (400 validation_error) and contradictions
        (400 contradictory_result)."""
        if now is not None:
            for name in ("started_at", "finished_at"):
                moment = getattr(self, name)
                if moment is None:
                    continue
                try:
                    refuse_future(name, moment, now)
                except InvalidInput as exc:
                    raise InvalidInput(exc.message, fields={f"{prefix}{k}": v for k, v in exc.fields.items()}) from exc
        if self.started_at is not None and self.finished_at is not None and self.finished_at < self.started_at:
            raise InvalidInput(
                "finished_at is before started_at.", fields={f"{prefix}finished_at": "before started_at"}
            )
        if self.bootstrap_run_status not in (*RESULT_RUN_STATUSES, *ACTIVE_RUN_STATUSES):
            raise InvalidInput(
                "bootstrap_run_status must be one of pass, fail, not_run, unknown.",
                fields={f"{prefix}bootstrap_run_status": f"not a run status: {self.bootstrap_run_status!r}"},
            )
        for name in ("post_deploy_status", "health_status", "canonical_status", "logo_status"):
            try:
                check_status(name, getattr(self, name))
            except InvalidInput as exc:
                raise InvalidInput(exc.message, fields={f"{prefix}{k}": v for k, v in exc.fields.items()}) from exc
        found = contradictions(
            bootstrap_run_status=self.bootstrap_run_status,
            data_mutated=self.data_mutated,
            post_deploy_status=self.post_deploy_status,
            identity=self.identity,
        )
        if found:
            raise ContradictoryResult(
                "The result contradicts itself: " + " ".join(found.values()),
                fields={f"{prefix}{name}": why for name, why in found.items()},
            )


def refuse_finish_before_start(
    finished_at: datetime | None, started_at: datetime, *, field: str, server_start: bool = True
) -> None:
    """Rule 13: a result never finishes before its operation started. A start the server stamped (the
    arrival) is compared allowing for the client's clock skew; a start the client sent is exact."""
    allowance = timedelta(seconds=settings.CLOCK_SKEW_SECONDS if server_start else 0)
    if finished_at is not None and finished_at < started_at - allowance:
        raise InvalidInput(
            f"{field} is before the operation started ({started_at:%Y-%m-%d %H:%M:%S} UTC).",
            fields={field: "before the start"},
        )


def get_operation(operation_id: str) -> BootstrapOperation:
    try:
        return BootstrapOperation.objects.select_related("environment").get(operation_id=operation_id)
    except BootstrapOperation.DoesNotExist as exc:
        raise NotFound(f"No bootstrap operation {operation_id}.") from exc


# ---------------------------------------------------------------------------------------------------
# Deadlines (rule 9)
# ---------------------------------------------------------------------------------------------------


def _end_without_result(
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
        operation.environment = inventory.environment
        _end_without_result(
            inventory,
            operation,
            status=Status.TIMED_OUT,
            cause=Cause(
                CauseType.DEADLINE, operation.operation_id, "deadline", operation.deadline, now, server_clock=True
            ),
            why=f"timed out at its deadline ({operation.timeout_seconds}s)",
        )
        expired += 1
    return expired


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


def _lock_operation(operation: BootstrapOperation, now: datetime) -> tuple[EnvironmentInventory, BootstrapOperation]:
    """Lock the operation's environment and re-read the operation under the lock: its status may have
    changed since the caller loaded it. Call ``expire_overdue`` for the environment first, outside the
    transaction, so that an expiry stays committed even when the guarded write is then refused."""
    inventory = lock_inventory(operation.environment)
    operation = BootstrapOperation.objects.get(pk=operation.pk)
    operation.environment = inventory.environment
    return inventory, operation


def _refuse_unmutating(operation: BootstrapOperation, data_mutated: bool | None) -> None:
    """Data that was reported changed cannot become unchanged (rule 7's contradictions): one guard for
    progress events, cancels and results alike."""
    found = unmutating_contradiction(known=operation.data_mutated, reported=data_mutated)
    if found:
        raise ContradictoryResult(
            "Data was already reported changed; it cannot be reported unchanged now.", fields=found
        )


# ---------------------------------------------------------------------------------------------------
# Start
# ---------------------------------------------------------------------------------------------------


def _start_locked(
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
) -> BootstrapOperation:
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
    expire_locked(inventory, now)
    active = BootstrapOperation.objects.filter(environment=environment).active().first()
    if active is not None:
        raise BootstrapActive(
            f"Bootstrap {active.operation_id} is still active on {environment}; wait for its result or cancel it.",
            fields={"operation_id": active.operation_id},
            active_operation_id=active.operation_id,
        )
    try:
        with transaction.atomic():  # a savepoint: the partial unique index is the last word (rule 10)
            return BootstrapOperation.objects.create(
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
    except IntegrityError as exc:
        raise BootstrapActive(f"Another bootstrap is active on {environment}.") from exc


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
    with transaction.atomic():
        inventory = lock_inventory(environment)
        operation = _start_locked(
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
# Result
# ---------------------------------------------------------------------------------------------------


def _store_result(
    operation: BootstrapOperation, result: BootstrapResult, comparison, expected, now: datetime
) -> datetime:
    """Copy the result onto the operation (unsaved); returns when it finished."""
    operation.late = operation.status == Status.TIMED_OUT
    operation.status = Status.FINISHED
    operation.bootstrap_run_status = result.bootstrap_run_status
    operation.data_mutated = result.data_mutated
    operation.post_deploy_status = result.post_deploy_status
    operation.health_status = result.health_status
    operation.canonical_status = result.canonical_status
    operation.logo_status = result.logo_status
    operation.expected_runtime_identity = expected
    operation.observed_runtime_identity = result.identity.value if result.identity.sent else None
    operation.runtime_identity_status = comparison.status
    operation.runtime_identity_mismatches = list(comparison.mismatches)
    operation.verification_evidence = [dict(probe) for probe in result.verification_evidence]
    operation.error_message = result.error_message
    finished_at = result.finished_at or now
    operation.finished_at = finished_at
    operation.result_received_at = now
    return finished_at


def _apply_result_locked(
    inventory: EnvironmentInventory,
    operation: BootstrapOperation,
    result: BootstrapResult,
    *,
    actor: str,
    now: datetime,
    changed: Sequence[str] = (),
) -> InventoryTransition | None:
    environment = inventory.environment
    current = inventory.current_deployment
    expected = current.own_identity if current else None
    comparison = compare_identity(expected, result.identity)
    facts = ResultFacts(
        bootstrap_run_status=result.bootstrap_run_status,
        data_mutated=result.data_mutated,
        post_deploy_status=result.post_deploy_status,
        checks=result.checks,
        identity=comparison,
        required_checks=frozenset(environment.required_checks),
        identity_required=environment.requires_runtime_identity,
        data_state_before=operation.data_state_before,
        data_detail_before=operation.data_detail_before,
        deployment_state=inventory.deployment_state,
    )
    finished_at = _store_result(operation, result, comparison, expected, now)

    if inventory.last_bootstrap_id != operation.pk:  # step 1: another bootstrap started after this one
        operation.readiness_status = readiness_of(facts)
        operation.inventory_effect = InventoryEffect.SUPERSEDED
        operation.save()
        return None

    outcome: BootstrapOutcome = decide_result(facts)
    operation.readiness_status = outcome.readiness_status
    operation.inventory_effect = outcome.effect
    operation.save()
    changed = [*changed, *note_identity(inventory, result.identity, comparison, finished_at)]
    if outcome.readiness_status == BootstrapOperation.Readiness.READY:
        inventory.current_bootstrap = operation
        changed.append("current_bootstrap")
    if outcome.advances:
        inventory.lkg_deployment = current
        inventory.lkg_bootstrap = operation
        inventory.lkg_verified_at = verified_at(finished_at, now)
        changed += ["lkg_deployment", "lkg_bootstrap", "lkg_verified_at"]
    late = " (late)" if operation.late else ""
    if outcome.restores_data_state:  # the data state from before the start, with its own detail
        detail = outcome.data_detail
        why = ""
    else:  # a new data state: say why, and name checks that failed without being required
        remarks = "; ".join(part for part in (outcome.data_detail, *outcome.notes) if part)
        detail = f"bootstrap {operation.operation_id}: {remarks}" if remarks else ""
        why = outcome.data_detail
    if outcome.deployment_detail and outcome.deployment_detail != why:
        why = "; ".join(part for part in (why, outcome.deployment_detail) if part)
    return apply_transition(
        inventory,
        deployment_state=outcome.deployment_state,
        data_state=outcome.data_state,
        effect=outcome.effect,
        cause=Cause(CauseType.BOOTSTRAP, operation.operation_id, actor, finished_at, now),
        reason=f"Bootstrap {operation.operation_id} result{late}: run {result.bootstrap_run_status}, "
        f"readiness {outcome.readiness_status}" + (f" ({why})." if why else "."),
        data_detail=detail,
        deployment_detail=outcome.deployment_detail,
        changed_fields=changed,
    )


def record_bootstrap_result(
    operation: BootstrapOperation, result: BootstrapResult, *, actor: str, now: datetime | None = None
) -> BootstrapOperation:
    """Apply a bootstrap's result (rule 7). Late results for timed-out operations are accepted."""
    now = now or timezone.now()
    result.validate(now=now)
    expire_overdue(now, environment=operation.environment)  # rule 9, committed whatever follows
    with transaction.atomic():
        inventory, operation = _lock_operation(operation, now)
        refuse_finish_before_start(result.finished_at, operation.started_at, field="finished_at")
        if operation.status in (Status.FINISHED, Status.CANCELLED):
            raise OperationFinished(
                f"Bootstrap {operation.operation_id} is already {operation.status}; its result cannot change.",
                fields={"operation_id": operation.status},
            )
        _refuse_unmutating(operation, result.data_mutated)
        if operation.data_mutated is True and result.data_mutated is None:
            # The driver does not know; we do (a progress event said so). Not knowing cannot erase it.
            result = replace(result, data_mutated=True)
        _apply_result_locked(inventory, operation, result, actor=actor, now=now)
    return operation


def run_bootstrap_once(
    environment: Environment,
    result: BootstrapResult,
    *,
    data_source: str,
    actor: str,
    reason: str = "",
    timeout_seconds: int = 3600,
    idempotency_key: str = "",
    request_fingerprint: str = "",
    now: datetime | None = None,
) -> BootstrapOperation:
    """Start and finish a bootstrap in one request: one operation, one transition."""
    now = now or timezone.now()
    result.validate(prefix="result.", now=now)
    # The run's own start when the driver sent it, else the arrival (rule 13).
    refuse_finish_before_start(
        result.finished_at,
        result.started_at or now,
        field="result.finished_at",
        server_start=result.started_at is None,
    )
    if result.started_at is not None and result.finished_at is None and result.started_at > now:
        raise InvalidInput(
            "result.started_at is after the request arrived, which is when a result without finished_at finished.",
            fields={"result.started_at": "after the arrival; send result.finished_at"},
        )
    # Without started_at the start is the arrival — but never after the finish the driver reported
    # (its clock may run up to CLOCK_SKEW_SECONDS behind ours), so the operation never ends before it began.
    started_at = result.started_at or min(now, result.finished_at or now)
    with transaction.atomic():
        inventory = lock_inventory(environment)
        operation = _start_locked(
            inventory,
            data_source=data_source,
            reason=reason,
            timeout_seconds=timeout_seconds,
            actor=actor,
            idempotency_key=idempotency_key,
            request_fingerprint=request_fingerprint,
            now=now,
            started_at=started_at,
        )
        inventory.last_bootstrap = operation
        _apply_result_locked(inventory, operation, result, actor=actor, now=now, changed=["last_bootstrap"])
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
    expire_overdue(now, environment=operation.environment)  # rule 9, committed whatever follows
    with transaction.atomic():
        inventory, operation = _lock_operation(operation, now)
        if not operation.is_active:
            raise OperationFinished(
                f"Bootstrap {operation.operation_id} is already {operation.status}; it cannot be cancelled.",
                fields={"operation_id": operation.status},
            )
        _refuse_unmutating(operation, data_mutated)
        if data_mutated is not None:
            operation.data_mutated = data_mutated
            operation.save(update_fields=["data_mutated"])
        operation.cancel_reason = reason
        operation.finished_at = now
        _end_without_result(
            inventory,
            operation,
            status=Status.CANCELLED,
            cause=Cause(CauseType.CANCEL, operation.operation_id, actor, now, now),
            why=f"was cancelled by {actor} ({reason})",
        )
    return operation


# ---------------------------------------------------------------------------------------------------
# Progress and the sweeper
# ---------------------------------------------------------------------------------------------------


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
    expire_overdue(now, environment=operation.environment)  # rule 9, committed whatever follows
    with transaction.atomic():
        _inventory, operation = _lock_operation(operation, now)
        if not operation.is_active:
            raise OperationFinished(
                f"Bootstrap {operation.operation_id} is already {operation.status}; it takes no more events.",
                fields={"operation_id": operation.status},
            )
        _refuse_unmutating(operation, data_mutated)
        operation.phase = phase
        if data_mutated is not None:
            operation.data_mutated = data_mutated
        if extend_deadline_seconds is not None:
            operation.deadline = max(operation.deadline, now + timedelta(seconds=extend_deadline_seconds))
        operation.save(update_fields=["phase", "data_mutated", "deadline"])
    return operation


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
