"""Reconciliation (rule 16): a reviewer records what they found by inspecting the provider about a
bootstrap that automation never settled, and the data side follows ``RECONCILIATION_ROWS``.

One transaction under the inventory row lock, like every record: the guard (a data state waiting for
settlement, the latest bootstrap, coherent input), the pure rule, one transition with cause type
``reconciliation`` and the reviewer as actor, and the evidence row. ``completed`` queues a verification
run in the same transaction (trigger ``after_record``, whatever ``verify_after_records`` says); its task
is enqueued on commit, so a rolled-back reconciliation queues nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from bootstraps.choices import ProviderState
from bootstraps.models import BootstrapOperation, Reconciliation, new_reconciliation_id, validate_evidence_reference
from bootstraps.rules.reconciliation import ReconciliationFacts, decide_reconciliation
from bootstraps.services.deadlines import expire_overdue
from inventory.choices import VerificationTrigger
from inventory.models import Environment, EnvironmentInventory, InventoryTransition, VerificationRun
from inventory.services import Cause, apply_transition, lock_inventory, refuse_future
from inventory.services.verification import queue_verification
from launchplane.errors import InvalidInput, NotReconcilable, PermissionRefused

CauseType = InventoryTransition.CauseType
# The same permission the pages check (granted to operators and reviewers, launchplane/groups.py).
RECONCILE_PERMISSION = "inventory.reconcile_environmentinventory"
NOTE_MAX_LENGTH = 2000


@dataclass(frozen=True)
class Reconciled:
    """What ``reconcile`` recorded, and the verification run it queued (``run_created`` False when one
    was already queued or running; ``verification_run`` None when nothing could be queued)."""

    reconciliation: Reconciliation
    inventory: EnvironmentInventory
    transition: InventoryTransition
    verification_run: VerificationRun | None = None
    run_created: bool = False


def validate_reconciliation_input(
    *, provider_state: str, inspected_at: datetime | None, evidence_reference: str, note: str, now: datetime
) -> None:
    """Refuse bad input with every field at fault named (400 ``validation_error``); nothing is recorded."""
    fields: dict[str, str] = {}
    messages: list[str] = []
    if provider_state not in ProviderState.values:
        fields["provider_state"] = "not a provider state"
        messages.append(f"provider_state must be one of {', '.join(ProviderState.values)}.")
    if inspected_at is None:
        fields["inspected_at"] = "required"
        messages.append("Say when you inspected the provider (inspected_at).")
    elif timezone.is_naive(inspected_at):
        fields["inspected_at"] = "no time zone"
        messages.append("inspected_at needs a time zone.")
    else:
        try:
            refuse_future("inspected_at", inspected_at, now)
        except InvalidInput as exc:
            fields.update(exc.fields)
            messages.append(exc.message)
    try:
        validate_evidence_reference(evidence_reference)
    except ValidationError as exc:
        fields["evidence_reference"] = exc.messages[0]
        messages.append(f"evidence_reference: {exc.messages[0]}")
    if len(evidence_reference) > 500:
        fields["evidence_reference"] = "longer than 500 characters"
        messages.append("evidence_reference is longer than 500 characters.")
    if len(note) > NOTE_MAX_LENGTH:
        fields["note"] = f"longer than {NOTE_MAX_LENGTH} characters"
        messages.append(f"The note is longer than {NOTE_MAX_LENGTH} characters.")
    if fields:
        raise InvalidInput(" ".join(messages), fields=fields)


def reconcile(
    environment: Environment,
    *,
    user: Any,
    provider_state: str,
    inspected_at: datetime | None,
    evidence_reference: str,
    note: str = "",
    operation_id: str = "",
    now: datetime | None = None,
) -> Reconciled:
    """Record a reviewer's reconciliation of the environment's latest bootstrap (rule 16).

    ``operation_id`` is the bootstrap the reviewer looked at (the page sends the one it showed); empty
    means the latest. Refused, with nothing recorded: without the reconcile permission
    (``PermissionRefused``), on bad input (``InvalidInput``), and when the data side is not ``unknown`` or
    ``partially_bootstrapped`` or a newer bootstrap exists (``NotReconcilable``).
    """
    now = now or timezone.now()
    if not user.has_perm(RECONCILE_PERMISSION):
        raise PermissionRefused(
            "You can read inventory but not reconcile it: that needs the reconcile permission "
            "(operators and reviewers have it)."
        )
    validate_reconciliation_input(
        provider_state=provider_state,
        inspected_at=inspected_at,
        evidence_reference=evidence_reference,
        note=note,
        now=now,
    )
    assert inspected_at is not None  # validated above
    actor = user.get_username()
    # Rule 9: an overdue bootstrap times out first (its own transaction, committed even when this
    # reconciliation is then refused), so the data state read under the lock is the one it left.
    expire_overdue(now, environment=environment)
    with transaction.atomic():
        inventory = lock_inventory(environment)
        # Read under the lock: a late result committed while we waited has changed it.
        latest = (
            BootstrapOperation.objects.filter(pk=inventory.last_bootstrap_id).first()
            if inventory.last_bootstrap_id is not None
            else None
        )
        if latest is None:
            raise NotReconcilable(
                f"No bootstrap is recorded on {environment}: there is nothing to reconcile.",
                fields={"operation_id": "no bootstrap"},
            )
        if operation_id and operation_id != latest.operation_id:
            if not BootstrapOperation.objects.filter(environment=environment, operation_id=operation_id).exists():
                raise InvalidInput(
                    f"No bootstrap {operation_id} on {environment}.", fields={"operation_id": "not found"}
                )
            raise NotReconcilable(
                f"Bootstrap {latest.operation_id} started on {environment} after {operation_id}; a reconciliation "
                f"settles the latest bootstrap only. Reload the page and look at {latest.operation_id}.",
                fields={"operation_id": "a newer bootstrap exists"},
                operation_id=latest.operation_id,
            )
        outcome = decide_reconciliation(
            ReconciliationFacts(
                provider_state=provider_state,
                data_state=inventory.data_state,
                deployment_state=inventory.deployment_state,
                data_state_before=latest.data_state_before,
                data_detail_before=latest.data_detail_before,
                data_mutated=latest.data_mutated,
            )
        )
        if outcome.refused:
            raise NotReconcilable(outcome.refusal, fields={"data_state": inventory.data_state})
        if inspected_at < latest.started_at:
            raise InvalidInput(
                f"inspected_at is before bootstrap {latest.operation_id} started "
                f"({latest.started_at:%Y-%m-%d %H:%M:%S} UTC): an inspection then cannot say how it ended.",
                fields={"inspected_at": "before the bootstrap started"},
            )

        reconciliation_id = new_reconciliation_id()
        from_data_state = inventory.data_state
        label = ProviderState(provider_state).label
        if outcome.restores_data_state:
            detail = outcome.data_detail
        else:
            detail = f"reconciliation {reconciliation_id} by {actor} of bootstrap {latest.operation_id}: {outcome.data_detail}"
        transition = apply_transition(
            inventory,
            deployment_state=outcome.deployment_state,
            data_state=outcome.data_state,
            effect=outcome.effect,
            cause=Cause(CauseType.RECONCILIATION, reconciliation_id, actor, inspected_at, now),
            reason=f"Reconciled by {actor}: the provider shows bootstrap {latest.operation_id} {label}; "
            f"data {from_data_state} → {outcome.data_state} (evidence: {evidence_reference}).",
            data_detail=detail,
        )
        run: VerificationRun | None = None
        created = False
        if outcome.queues_verification and environment.is_verifiable:
            # Rule 16: whatever verify_after_records says. Inside this transaction (the lock is ours
            # already): the run exists exactly when the reconciliation does; its task goes on commit.
            run, created = queue_verification(
                environment, trigger=VerificationTrigger.AFTER_RECORD, requested_by=actor, now=now
            )
        reconciliation = Reconciliation.objects.create(
            reconciliation_id=reconciliation_id,
            environment=environment,
            bootstrap=latest,
            provider_state=provider_state,
            inspected_at=inspected_at,
            evidence_reference=evidence_reference,
            note=note,
            reviewer=actor,
            recorded_at=now,
            from_data_state=from_data_state,
            data_state=outcome.data_state,
            inventory_effect=outcome.effect,
            verification_run=run,
        )
    return Reconciled(reconciliation, inventory, transition, run, created)
