"""Verification runs (rule 15): queue one, run its probes, apply what they found, abandon dead ones.

The road: a view, admin action, command, the sweeper or a record → ``queue_verification`` (one
queued-or-running run per environment; the task is enqueued on commit) → the task calls
``execute_run`` (claims the run, probes outside any transaction, then ``apply_verification`` under the
inventory row lock: rule 15 decides, one transition is appended). Every step is safe to repeat: the
claim is a conditional update, so two workers never run one run twice.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from inventory.choices import CheckStatus, DataState, InventoryEffect, VerificationStatus, VerificationTrigger
from inventory.models import Environment, EnvironmentInventory, InventoryTransition, VerificationRun
from inventory.rules import (
    DATA_PROVEN_BY_VERIFICATION,
    IdentityInput,
    VerificationFacts,
    compare_identity,
    decide_verification,
)
from inventory.selectors import expire_overdue
from inventory.services.transitions import Cause, apply_transition, lock_inventory, next_sequence, note_identity
from launchplane.errors import BootstrapActive, NotVerifiable

if TYPE_CHECKING:  # the probes (and httpx) load when a run executes, not with every service
    from inventory.probes import ProbeReport, ProbeTarget

logger = logging.getLogger(__name__)
CauseType = InventoryTransition.CauseType
Status = VerificationStatus


def abandon_after(timeout_seconds: int) -> timedelta:
    """How long past its start (or its queueing) an unfinished run counts as abandoned."""
    return timedelta(seconds=timeout_seconds + settings.VERIFY_ABANDON_GRACE_SECONDS)


# ---------------------------------------------------------------------------------------------------
# Queueing
# ---------------------------------------------------------------------------------------------------


def queue_verification(
    environment: Environment,
    *,
    trigger: str,
    requested_by: str,
    now: datetime | None = None,
    enqueue: bool = True,
) -> tuple[VerificationRun, bool]:
    """Queue a run for ``environment``, or return the one already queued or running.

    ``enqueue=False`` when the caller runs it itself (the ``verify`` command) rather than a worker.

    Returns ``(run, created)``. Refused with ``NotVerifiable`` without a ``base_url`` and with
    ``BootstrapActive`` while a bootstrap holds the environment (its data is being rewritten).
    """
    now = now or timezone.now()
    if not environment.is_verifiable:
        raise NotVerifiable(
            f"{environment} has no base_url to probe. Set one (PATCH the environment) first.",
            fields={"base_url": "required for verification"},
        )
    expire_overdue(environment, now)  # rule 9: an overdue bootstrap no longer holds the environment
    with transaction.atomic():
        inventory = lock_inventory(environment)  # serialises queueing with records and other queuers
        existing = VerificationRun.objects.active().filter(environment=environment).first()
        if existing is not None:
            return existing, False
        if inventory.data_state == DataState.BOOTSTRAP_IN_PROGRESS:
            active = inventory.last_bootstrap
            raise BootstrapActive(
                f"A bootstrap is active on {environment}"
                + (f" ({active.operation_id})" if active else "")
                + "; verify once it has finished.",
                fields={"environment": "bootstrap active"},
                **({"operation_id": active.operation_id} if active else {}),
            )
        timeout = environment.verification_timeout_seconds
        try:
            with transaction.atomic():
                run = VerificationRun.objects.create(
                    environment=environment,
                    trigger=trigger,
                    requested_by=requested_by[:150],
                    queued_at=now,
                    timeout_seconds=timeout,
                    deadline=now + abandon_after(timeout),
                    base_url=environment.base_url,
                )
        except IntegrityError:  # another queuer won between our read and insert (the constraint holds)
            return VerificationRun.objects.active().get(environment=environment), False
        if enqueue:
            transaction.on_commit(lambda: enqueue_run(run.run_id))
    return run, True


def enqueue_run(run_id: str) -> None:
    """Hand the run to the task backend. A backend that is down loses nothing: the sweeper abandons the
    run after its budget and the schedule (or the next request) queues a fresh one."""
    from inventory.tasks import verify_environment

    try:
        verify_environment.enqueue(run_id)
    except Exception:  # pragma: no cover - depends on the backend; the run is abandoned and re-queued
        logger.exception("Could not enqueue verification run %s", run_id)


def queue_after_record(environment: Environment, inventory: EnvironmentInventory, *, actor: str) -> None:
    """After an applied deployment or bootstrap result: queue a run when it left either side
    ``unverified`` and the environment asks for it (``verify_after_records``). Never fails the record."""
    if not (environment.verify_after_records and environment.is_verifiable):
        return
    if DataState.UNVERIFIED not in (inventory.deployment_state, inventory.data_state):
        return
    with contextlib.suppress(NotVerifiable, BootstrapActive):
        queue_verification(environment, trigger=VerificationTrigger.AFTER_RECORD, requested_by=actor)


def queue_scheduled_runs(now: datetime, *, limit: int | None = None) -> int:
    """Queue a run for each environment with a ``base_url`` and a current deployment whose last
    verification is older than its interval (interval 0: never). Returns how many it queued.

    Candidates are read in one query; each queueing locks its own inventory row and the one-active
    constraint makes a second sweeper on another host find the run already queued.
    """
    limit = limit or settings.VERIFY_SCHEDULE_BATCH
    candidates = (
        EnvironmentInventory.objects.filter(current_deployment__isnull=False)
        .exclude(environment__base_url="")
        .exclude(environment__verification_interval_seconds=0)
        .exclude(data_state=DataState.BOOTSTRAP_IN_PROGRESS)
        .exclude(environment__verifications__status__in=sorted(VerificationRun.ACTIVE))
        .select_related("environment", "last_verification")
        .order_by(F("last_verification__queued_at").asc(nulls_first=True), "pk")
    )
    queued = 0
    for inventory in candidates.iterator(chunk_size=200):
        if queued >= limit:
            break
        environment = inventory.environment
        last = inventory.last_verification
        if last is not None and now - last.queued_at < timedelta(seconds=environment.effective_interval_seconds):
            continue
        try:
            _run, created = queue_verification(
                environment, trigger=VerificationTrigger.SCHEDULE, requested_by="schedule", now=now
            )
        except (NotVerifiable, BootstrapActive):
            continue
        queued += created
    return queued


# ---------------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------------

Prober = Callable[["ProbeTarget"], "ProbeReport"]


def execute_run(
    run_id: str, *, prober: Prober | None = None, now: Callable[[], datetime] = timezone.now
) -> VerificationRun:
    """Claim a queued run, probe, and apply the outcome. Safe to call twice or from two workers: only
    the caller whose claim succeeds probes; the others get the run as it stands. ``prober`` defaults
    to the real probes (``inventory.probes.run_probes``)."""
    from inventory.probes import ProbeTarget, run_probes

    run = VerificationRun.objects.select_related("environment").get(run_id=run_id)
    started = claim_run(run, now())
    if not started:
        return VerificationRun.objects.get(pk=run.pk)
    environment = run.environment
    target = ProbeTarget(
        base_url=run.base_url or environment.base_url,
        health_path=environment.health_path,
        preview_marker=environment.preview_marker,
        verify_tls=environment.verify_tls,
        timeout_seconds=run.timeout_seconds,
    )
    try:
        report = (prober or run_probes)(target)
    except Exception:  # a bug in a probe must not leave the run running until it is abandoned
        logger.exception("Verification run %s: the probes raised", run.run_id)
        report = internal_failure(target, "the probes failed inside Launchplane; see the worker's log")
    return apply_verification(run, report, now=now())


def internal_failure(target: ProbeTarget, detail: str) -> ProbeReport:
    """What a run reports when the probes themselves broke: nothing is known about the runtime."""
    from inventory.probes import ProbeEvidence, ProbeReport

    evidence = ProbeEvidence(
        probe="health",
        url=target.base_url.rstrip("/") + target.health_path,
        status=CheckStatus.UNKNOWN,
        status_code=None,
        content_type="",
        failure_class="internal",
        detail=detail,
        elapsed_ms=0,
    )
    return ProbeReport(
        health_status=CheckStatus.UNKNOWN,
        canonical_status=CheckStatus.NOT_RUN,
        logo_status=CheckStatus.NOT_RUN,
        identity_sent=False,
        identity_value=None,
        identity_unverifiable=True,
        probes=(evidence,),
    )


def claim_run(run: VerificationRun, now: datetime) -> bool:
    """Move a queued run to running, noting what the inventory points at as the probes begin."""
    inventory = EnvironmentInventory.objects.get(pk=run.environment_id)
    claimed = VerificationRun.objects.filter(pk=run.pk, status=Status.QUEUED).update(
        status=Status.RUNNING,
        started_at=now,
        deadline=now + abandon_after(run.timeout_seconds),
        deployment_at_start_id=inventory.current_deployment_id,
        bootstrap_at_start_id=inventory.last_bootstrap_id,
    )
    if claimed:
        run.status, run.started_at = Status.RUNNING, now
        run.deployment_at_start_id = inventory.current_deployment_id
        run.bootstrap_at_start_id = inventory.last_bootstrap_id
    return bool(claimed)


def apply_verification(run: VerificationRun, report: ProbeReport, *, now: datetime) -> VerificationRun:
    """Store what the probes found and apply rule 15 under the row lock, appending one transition
    (none when superseded). A run abandoned meanwhile stays abandoned: its evidence is not applied."""
    environment = run.environment
    expire_overdue(environment, now)
    with transaction.atomic():
        inventory = lock_inventory(environment)
        fresh = VerificationRun.objects.select_for_update().get(pk=run.pk)
        if fresh.status != Status.RUNNING:
            return fresh
        current = inventory.current_deployment
        expected = current.own_identity if current else None
        identity = IdentityInput(
            sent=report.identity_sent, value=report.identity_value, unverifiable=report.identity_unverifiable
        )
        comparison = compare_identity(expected, identity)
        superseded = (
            inventory.current_deployment_id != fresh.deployment_at_start_id
            or inventory.last_bootstrap_id != fresh.bootstrap_at_start_id
            or inventory.data_state == DataState.BOOTSTRAP_IN_PROGRESS
        )
        checks = {"health": report.health_status, "canonical": report.canonical_status, "logo": report.logo_status}
        facts = VerificationFacts(
            checks=checks,
            required_checks=tuple(environment.required_checks),
            identity=comparison,
            identity_required=environment.requires_runtime_identity,
            deployment_state=inventory.deployment_state,
            data_state=inventory.data_state,
            has_current_deployment=current is not None,
            superseded=superseded,
            failures={probe.probe: probe.failure_class for probe in report.probes if probe.failure_class},
        )
        outcome = decide_verification(facts)
        fresh.status = Status.FINISHED
        fresh.finished_at = now
        fresh.health_status, fresh.canonical_status, fresh.logo_status = (
            report.health_status,
            report.canonical_status,
            report.logo_status,
        )
        fresh.expected_runtime_identity = expected
        fresh.observed_runtime_identity = report.identity_value if report.identity_sent else None
        fresh.runtime_identity_status = comparison.status
        fresh.runtime_identity_mismatches = list(comparison.mismatches)
        fresh.probes = [probe.as_dict() for probe in report.probes]
        fresh.inventory_effect = outcome.effect
        fresh.detail = "; ".join(part for part in (outcome.detail, *outcome.notes) if part)[:500]
        fresh.sequence = next_sequence(inventory)
        fresh.save()
        inventory.last_verification = fresh
        changed = ["last_verification"]
        if not outcome.applies:
            inventory.save(update_fields=["last_verification", "last_sequence", "updated_at"])
            return fresh
        if current is not None:
            changed += note_identity(inventory, identity, comparison, now)
        proves_data = facts.data_state in DATA_PROVEN_BY_VERIFICATION and outcome.data_state == DataState.CURRENT
        if proves_data:
            # The latest bootstrap's data is what this run proved: it is now the data in place.
            inventory.current_bootstrap = inventory.last_bootstrap
            changed.append("current_bootstrap")
        if outcome.advances:
            inventory.lkg_deployment = current
            inventory.lkg_bootstrap = inventory.current_bootstrap if outcome.data_state == DataState.CURRENT else None
            inventory.lkg_verified_at = now
            changed += ["lkg_deployment", "lkg_bootstrap", "lkg_verified_at"]
        remarks = "; ".join(part for part in (outcome.detail, *outcome.notes) if part)
        # The side's detail follows the run when the run decided the artifact side; a row that left it
        # as it was (unverified stays unverified) keeps the detail that explains it.
        decided = outcome.decides_deployment
        deployment_detail = (f"verification {fresh.run_id}: {remarks}" if remarks else "") if decided else None
        apply_transition(
            inventory,
            deployment_state=outcome.deployment_state,
            data_state=outcome.data_state,
            effect=outcome.effect,
            cause=Cause(CauseType.VERIFICATION, fresh.run_id, fresh.requested_by, now, now, server_clock=True),
            reason=verification_reason(fresh, outcome.detail),
            deployment_detail=deployment_detail,
            data_detail="" if proves_data else None,
            notes=() if decided else outcome.notes,
            changed_fields=changed,
        )
    return fresh


def verification_reason(run: VerificationRun, detail: str) -> str:
    checks = ", ".join(f"{name} {status}" for name, status in run.check_statuses.items())
    sentence = f"Verification {run.run_id} ({run.get_trigger_display()}): {checks}; runtime identity {run.runtime_identity_status}"
    return sentence + (f" — {detail}." if detail else ".")


# ---------------------------------------------------------------------------------------------------
# Abandoning runs whose worker died
# ---------------------------------------------------------------------------------------------------


def abandon_overdue_runs(now: datetime, *, limit: int = 100) -> int:
    """Mark queued or running runs past their deadline ``abandoned`` (inventory untouched), so the
    environment can be verified again. A conditional update: safe on several sweepers at once."""
    overdue = list(VerificationRun.objects.past_deadline(now).values_list("pk", flat=True)[:limit])
    if not overdue:
        return 0
    return VerificationRun.objects.filter(
        Q(pk__in=overdue), Q(status__in=sorted(VerificationRun.ACTIVE)), Q(deadline__lte=now)
    ).update(status=Status.ABANDONED, finished_at=now, inventory_effect=InventoryEffect.RETAINED)
