"""What every service shares: the row lock, the server sequence, the observed identity, and
``apply_transition`` — the only writer of state fields, which appends exactly one transition (rule 11)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from inventory.choices import CheckStatus, RuntimeIdentityStatus
from inventory.models import (
    DeploymentRecord,
    Environment,
    EnvironmentInventory,
    InventoryTransition,
)
from inventory.models.queries import READ_MODEL_BY_ID, SEVERITY
from inventory.rules import (
    IdentityComparison,
    IdentityInput,
    combine,
    state_reason,
)
from inventory.selectors import expire_overdue, points_at_overdue
from inventory.signals import transition_applied
from launchplane.compiled import CompiledLookup
from launchplane.errors import Conflict, InvalidInput
from launchplane.transactions import atomic, holds_row_lock

CauseType = InventoryTransition.CauseType


def validation_fields(exc: ValidationError) -> dict[str, str]:
    if hasattr(exc, "error_dict"):
        return {name: " ".join(m for e in errors for m in e.messages) for name, errors in exc.error_dict.items()}
    return {"__all__": " ".join(exc.messages)}


# The row lock, compiled once per connection (launchplane/compiled.py) like the read that follows it.
LOCK_BY_ID = CompiledLookup(
    lambda pk: EnvironmentInventory.objects.select_for_update().filter(pk=pk).values_list("pk", flat=True), -1
)


# An API write names its environment by the pair, and its service locks the inventory row first thing:
# inside the write's all-or-nothing transaction one statement does both (environment_to_write), and
# lock_inventory() then knows the lock is held (launchplane/transactions.py: note_row_lock).
ENVIRONMENT_LOCKED_BY_PAIR = CompiledLookup(
    lambda context, instance: (
        EnvironmentInventory.objects.select_for_update(of=("self",))
        .filter(environment__context=context, environment__instance=instance)
        .select_related("environment")
        .only("environment")
    ),
    "(context)",
    "(instance)",
)


def inventory_lock(environment_pk: int) -> tuple[str, int]:
    """The name ``note_row_lock`` and ``holds_row_lock`` know an inventory row's lock by."""
    return ("inventory", environment_pk)


def lock_inventory(environment: Environment, *, now: datetime | None = None) -> EnvironmentInventory:
    """Lock the environment's inventory row and read it; call inside a transaction.

    The row lock serialises every record for one environment (rule 12), so each service reads the
    pointers it decides on and writes them back without another writer in between. The lock is taken
    by a statement of its own (the row's id only) and the row is read after it, with what the read
    model shows of the records it points at (``for_read_model``): joined into the locking statement,
    those records would come from that statement's snapshot, and under READ COMMITTED a deployment
    committed by the writer we waited for would not be in it (PostgreSQL re-reads only the locked row)
    — tests/test_concurrency.py caught exactly that. Read this way, the inventory a service leaves
    behind is also the read model its answer shows, with no read of its own.

    With ``now``, an operation of the environment that is overdue at ``now`` times out first (rule 9),
    under this lock and through the service the sweeper uses; the row says whether one is
    (``points_at_overdue``), so honouring rule 9 costs a write no query unless something is overdue.
    """
    if not transaction.get_connection().in_atomic_block:  # the compiled lock cannot ask for itself
        raise TransactionManagementError("lock_inventory() holds its lock until the end of a transaction.")
    # Locked already when the write looked its environment up (environment_to_write). Every environment
    # is created with its inventory; get_or_create covers a gap.
    if not holds_row_lock(inventory_lock(environment.pk)) and not LOCK_BY_ID.rows(environment.pk):
        EnvironmentInventory.objects.select_for_update().get_or_create(
            environment=environment, defaults={"state_changed_at": timezone.now()}
        )
    inventory = READ_MODEL_BY_ID.first(environment.pk)  # for_read_model(), compiled once
    if now is not None and points_at_overdue(inventory, now):
        expire_overdue(environment, now)
        inventory = READ_MODEL_BY_ID.first(environment.pk)
    inventory.environment = environment  # also caches environment.inventory (a one-to-one's reverse side)
    if inventory.current_deployment is not None:
        inventory.current_deployment.environment = environment  # its identity names the environment
    return inventory


def next_sequence(inventory: EnvironmentInventory) -> int:
    """The next number in the environment's server order. The caller saves ``last_sequence``."""
    inventory.last_sequence += 1
    return inventory.last_sequence


def note_identity(
    inventory: EnvironmentInventory, identity: IdentityInput, comparison: IdentityComparison, at: datetime
) -> list[str]:
    """Copy what a record observed of the runtime into inventory. Returns the fields it changed."""
    if not identity.carries_identity:
        return []
    inventory.observed_runtime_identity = identity.value if identity.sent else None
    inventory.runtime_identity_status = comparison.status
    inventory.runtime_identity_mismatches = list(comparison.mismatches)
    inventory.observed_at = at
    return ["observed_runtime_identity", "runtime_identity_status", "runtime_identity_mismatches", "observed_at"]


def forget_identity_comparison(inventory: EnvironmentInventory) -> list[str]:
    """The current deployment moved without a fresh identity: the old comparison no longer applies.

    The last observed identity stays visible; its status goes back to ``unchecked``.
    """
    inventory.runtime_identity_status = RuntimeIdentityStatus.UNCHECKED
    inventory.runtime_identity_mismatches = []
    return ["runtime_identity_status", "runtime_identity_mismatches"]


@dataclass(frozen=True)
class Cause:
    """What a transition is attributed to: ``occurred_at`` is when it happened (a client's finish, a
    deadline: evidence), ``recorded_at`` when Launchplane recorded it (server time: what "since" and
    ``state_changed_at`` show, rule 14)."""

    type: str
    id: str
    actor: str
    occurred_at: datetime
    recorded_at: datetime
    # occurred_at comes from our own clock (a deadline), so it is also when the state changed, however
    # late a request or the sweeper noticed it.
    server_clock: bool = False

    @property
    def state_changed_at(self) -> datetime:
        return self.occurred_at if self.server_clock else self.recorded_at


def apply_transition(
    inventory: EnvironmentInventory,
    *,
    deployment_state: str,
    data_state: str,
    effect: str,
    cause: Cause,
    reason: str,
    deployment_detail: str | None = None,
    data_detail: str | None = None,
    notes: Sequence[str] = (),
    changed_fields: Sequence[str] = (),
    recompose_reason: bool = True,
) -> InventoryTransition:
    """Set both sides, recompose ``state`` and ``state_reason``, save, and append the transition.

    ``None`` details keep the side's current detail. An acknowledgement (and its snooze) is cleared
    whenever either side changes: it answered the state as it was. Whoever holds the environment is
    released when it is ``current`` and fresh again (the reason says so): there is nothing left to hold.
    """
    from_state, from_deployment, from_data = inventory.state, inventory.deployment_state, inventory.data_state
    inventory.deployment_state = deployment_state
    inventory.data_state = data_state
    inventory.state = combine(deployment_state, data_state)
    inventory.severity = SEVERITY[inventory.state]
    if deployment_detail is not None:
        inventory.deployment_detail = deployment_detail[:500]
    if data_detail is not None:
        inventory.data_detail = data_detail[:500]
    if recompose_reason:
        inventory.state_reason = state_reason(
            deployment_state,
            data_state,
            deployment_detail=inventory.deployment_detail,
            data_detail=inventory.data_detail,
            notes=notes,
        )
    fields = {
        "deployment_state",
        "data_state",
        "state",
        "severity",
        "state_reason",
        "deployment_detail",
        "data_detail",
        "last_sequence",
        "updated_at",
        *changed_fields,
    }
    if (from_deployment, from_data) != (deployment_state, data_state):
        inventory.state_changed_at = cause.state_changed_at
        inventory.acknowledged_by = None
        inventory.acknowledged_at = None
        inventory.acknowledgement_note = ""
        inventory.acknowledged_until = None
        fields |= {
            "state_changed_at",
            "acknowledged_by",
            "acknowledged_at",
            "acknowledgement_note",
            "acknowledged_until",
        }
    released = release_when_settled(inventory, cause.recorded_at)
    if released is not None:
        fields |= {"assignee", "assigned_at"}
        reason = f"{reason} Released {released}'s hold: the environment is current and fresh again."
    sequence = next_sequence(inventory)
    inventory.save(update_fields=sorted(fields))
    transition = InventoryTransition.objects.create(
        environment=inventory.environment,
        sequence=sequence,
        from_state=from_state,
        to_state=inventory.state,
        from_deployment_state=from_deployment,
        from_data_state=from_data,
        deployment_state=deployment_state,
        data_state=data_state,
        effect=effect,
        cause_type=cause.type,
        cause_id=cause.id,
        reason=reason,
        actor=cause.actor,
        occurred_at=cause.occurred_at,
        recorded_at=cause.recorded_at,
    )
    transition_applied.send(sender=InventoryTransition, transition=transition, inventory=inventory)
    return transition


def release_when_settled(inventory: EnvironmentInventory, now: datetime) -> str | None:
    """Clear the holder of a settled environment; returns who held it (None when nobody did or it is
    not settled). Called by ``apply_transition`` only: every state change passes there, so this is the
    one place an environment is released by what happened to it rather than by a person."""
    if inventory.assignee_id is None or not inventory.is_settled(now):
        return None
    holder = inventory.holder
    inventory.assignee = None
    inventory.assigned_at = None
    return holder


def refuse_future(field: str, moment: datetime, now: datetime) -> None:
    """Client timestamps are evidence, never order (rule 4) — but one from the future would hold its
    place over every honest record until the clock caught up, so it is refused, allowing for skew."""
    skew = timedelta(seconds=settings.CLOCK_SKEW_SECONDS)
    if moment > now + skew:
        raise InvalidInput(
            f"{field} is in the future ({moment:%Y-%m-%d %H:%M:%S} UTC; server time {now:%Y-%m-%d %H:%M:%S} UTC). "
            "Check the reporting machine's clock.",
            fields={field: "in the future"},
        )


RECORD_ID_TAKEN = "That record_id is already used; choose another or leave it out to have one assigned."


def save_new_record(record: DeploymentRecord) -> None:
    """Insert a deployment record. A record_id taken meanwhile by a writer on another environment (whose
    lock we do not hold) is a 409 like any other reuse, not a 500."""
    try:
        with atomic():  # a savepoint, except in an all-or-nothing request (launchplane/transactions.py)
            record.save()
    except IntegrityError as exc:
        raise Conflict(RECORD_ID_TAKEN, fields={"record_id": "already used"}) from exc


def verified_at(evidence_time: datetime, now: datetime) -> datetime:
    """When last known good was verified: the record's own time, never later than we heard of it."""
    return min(evidence_time, now)


def check_status(name: str, value: str) -> str:
    if value not in CheckStatus.values:
        raise InvalidInput(
            f"{name} must be one of {', '.join(CheckStatus.values)}.", fields={name: f"not a check status: {value!r}"}
        )
    return value
