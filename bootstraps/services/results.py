"""A bootstrap's result (rule 7), in two steps or in one request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from bootstraps.choices import ACTIVE_RUN_STATUSES, RESULT_RUN_STATUSES
from bootstraps.models import BootstrapOperation
from bootstraps.rules import (
    BootstrapOutcome,
    ResultFacts,
    contradictions,
    decide_result,
    readiness_of,
)
from bootstraps.services.deadlines import expire_overdue, lock_operation, refuse_unmutating
from bootstraps.services.lifecycle import insert_operation, start_locked
from inventory.choices import CheckStatus, InventoryEffect
from inventory.models import Environment, EnvironmentInventory, InventoryTransition
from inventory.rules import NOT_SENT, IdentityInput, compare_identity
from inventory.services import (
    Cause,
    apply_transition,
    check_status,
    lock_inventory,
    note_identity,
    refuse_future,
    verified_at,
)
from inventory.services.verification import queue_after_record
from launchplane.errors import ContradictoryResult, InvalidInput, NotFound, OperationFinished
from launchplane.transactions import atomic

Status = BootstrapOperation.Status
CauseType = InventoryTransition.CauseType


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
    """Rule 13: a result never finishes before its operation started. A one-shot's start that is the
    arrival allows for the driver's clock skew (the start then becomes the finish); otherwise exact."""
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

    # Step 1: another bootstrap started after this one (a one-shot's operation, not inserted yet, is the latest).
    if operation.pk is not None and inventory.last_bootstrap_id != operation.pk:
        operation.readiness_status = readiness_of(facts)
        operation.inventory_effect = InventoryEffect.SUPERSEDED
        operation.save()
        return None

    outcome: BootstrapOutcome = decide_result(facts)
    operation.readiness_status = outcome.readiness_status
    operation.inventory_effect = outcome.effect
    if operation.pk is None:
        insert_operation(operation)  # a one-shot: started and finished in one INSERT
    else:
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
    expire_overdue(
        now, environment=operation.environment
    )  # rule 9: before the lock, so the inventory read under it reflects them
    with atomic():
        inventory, operation = lock_operation(operation, now)
        if operation.status in (Status.FINISHED, Status.CANCELLED):
            raise OperationFinished(
                f"Bootstrap {operation.operation_id} is already {operation.status}; its result cannot change.",
                fields={"operation_id": operation.status},
            )
        # The operation's start is the server's and cannot move: a finish before it is refused (rule 13).
        refuse_finish_before_start(result.finished_at, operation.started_at, field="finished_at", server_start=False)
        refuse_unmutating(operation, result.data_mutated)
        if operation.data_mutated is True and result.data_mutated is None:
            # The driver does not know; we do (a progress event said so). Not knowing cannot erase it.
            result = replace(result, data_mutated=True)
        _apply_result_locked(inventory, operation, result, actor=actor, now=now)
    queue_after_record(operation.environment, inventory, actor=actor)
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
            started_at=started_at,
            insert=False,  # inserted once, finished (_apply_result_locked)
        )
        inventory.last_bootstrap = operation
        _apply_result_locked(inventory, operation, result, actor=actor, now=now, changed=["last_bootstrap"])
    queue_after_record(environment, inventory, actor=actor)
    return operation
