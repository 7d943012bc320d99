"""The review actions (PRODUCT.md, "Review"): acknowledging (with an optional snooze), taking
responsibility and releasing it. None changes state; each appends one ``review`` transition with the
reviewer as actor (rule 11), under the row lock like every record.

Whoever holds an environment is also released by ``apply_transition`` (``release_when_settled``) when
a record leaves it current and fresh again: that release rides on the record's own transition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from inventory.choices import InventoryEffect
from inventory.models import Environment, EnvironmentInventory, InventoryTransition
from inventory.selectors import expire_overdue
from inventory.services.transitions import Cause, apply_transition, lock_inventory
from launchplane.errors import InvalidInput, PermissionRefused

CauseType = InventoryTransition.CauseType

# The same permission the pages and the admin check for every review action (operators and reviewers).
ACKNOWLEDGE_PERMISSION = "inventory.acknowledge_environmentinventory"
# How far ahead an acknowledgement may snooze an environment (PRODUCT.md, "Review").
SNOOZE_LIMIT = timedelta(days=7)


def refuse_without_permission(user: Any, doing: str) -> None:
    if not user.has_perm(ACKNOWLEDGE_PERMISSION):
        raise PermissionRefused(
            f"You can read inventory but not {doing}: that needs the permission to acknowledge environment "
            "inventories (operators and reviewers have it)."
        )


def validate_snooze(until: datetime | None, now: datetime) -> None:
    """A snooze ends in the future, at most ``SNOOZE_LIMIT`` ahead; ``None`` is no snooze."""
    if until is None:
        return
    if timezone.is_naive(until):
        raise InvalidInput("until needs a time zone.", fields={"until": "no time zone"})
    if until <= now:
        raise InvalidInput(
            f"Snooze until a time in the future: {until:%Y-%m-%d %H:%M} UTC has passed "
            f"(server time {now:%Y-%m-%d %H:%M} UTC).",
            fields={"until": "not in the future"},
        )
    latest = now + SNOOZE_LIMIT
    if until > latest:
        raise InvalidInput(
            f"Snooze for at most 7 days: until {latest:%Y-%m-%d %H:%M} UTC at the latest.",
            fields={"until": "more than 7 days ahead"},
        )


def acknowledge(
    environment: Environment,
    *,
    user: Any,
    note: str,
    until: datetime | None = None,
    now: datetime | None = None,
) -> InventoryTransition:
    """A reviewer has seen the environment's state. Never changes state; the next change clears it.

    ``until`` snoozes it: the environment leaves the default review queue until then, or until its
    state changes, whichever is first (the acknowledgement, snooze included, is cleared by that change).
    A new acknowledgement replaces the previous one, snooze included.
    """
    now = now or timezone.now()
    note = (note or "").strip()
    if not note:
        raise InvalidInput("An acknowledgement needs a note.", fields={"note": "required"})
    validate_snooze(until, now)
    expire_overdue(environment, now)  # rule 9: before the lock, so the inventory read under it reflects them
    with transaction.atomic():
        inventory = lock_inventory(environment)
        inventory.acknowledged_by = user
        inventory.acknowledged_at = now
        inventory.acknowledgement_note = note
        inventory.acknowledged_until = until
        actor = user.get_username()
        snooze = f" (snoozed until {until:%Y-%m-%d %H:%M} UTC)" if until is not None else ""
        return apply_transition(
            inventory,
            deployment_state=inventory.deployment_state,
            data_state=inventory.data_state,
            effect=InventoryEffect.RETAINED,
            cause=Cause(CauseType.REVIEW, f"review:{actor}"[:128], actor, now, now),
            reason=f"Acknowledged by {actor}{snooze}: {note}",
            changed_fields=["acknowledged_by", "acknowledged_at", "acknowledgement_note", "acknowledged_until"],
            recompose_reason=False,
        )


@dataclass(frozen=True)
class Responsibility:
    """What ``take`` or ``release`` did: ``transition`` is None when nothing changed (taking what you
    already hold, releasing what nobody holds), and ``message`` says so either way. ``previous`` is who
    held the environment before (a take-over names them)."""

    inventory: EnvironmentInventory
    transition: InventoryTransition | None
    previous: str | None
    message: str

    @property
    def changed(self) -> bool:
        return self.transition is not None


def _review_transition(
    inventory: EnvironmentInventory, *, actor: str, verb: str, now: datetime, reason: str
) -> InventoryTransition:
    """One ``review`` transition that changes no state (rule 11), for a take or a release."""
    return apply_transition(
        inventory,
        deployment_state=inventory.deployment_state,
        data_state=inventory.data_state,
        effect=InventoryEffect.RETAINED,
        cause=Cause(CauseType.REVIEW, f"{verb}:{actor}"[:128], actor, now, now),
        reason=reason,
        changed_fields=["assignee", "assigned_at"],
        recompose_reason=False,
    )


def _held_since(inventory: EnvironmentInventory) -> str:
    return f" since {inventory.assigned_at:%Y-%m-%d %H:%M} UTC" if inventory.assigned_at else ""


def take(environment: Environment, *, user: Any, now: datetime | None = None) -> Responsibility:
    """``user`` takes responsibility for the environment ("I'm on it"), or takes it over from whoever
    holds it (the reason names both). Taking what you already hold changes nothing and says so.

    Refused (``PermissionRefused``) without the acknowledge permission, and (``InvalidInput``) on an
    environment that is current and fresh: there is nothing to be on, and it would be released at once.
    """
    now = now or timezone.now()
    refuse_without_permission(user, "take responsibility for it")
    actor = user.get_username()
    expire_overdue(environment, now)  # rule 9
    with transaction.atomic():
        inventory = lock_inventory(environment)
        previous = inventory.holder
        if inventory.assignee_id == user.pk:
            message = f"You already hold {environment}{_held_since(inventory)}: nothing changed."
            return Responsibility(inventory, None, previous, message)
        if inventory.is_settled(now):
            raise InvalidInput(
                f"{environment} is current and fresh: there is nothing to take responsibility for.",
                fields={"state": inventory.state},
            )
        if previous is None:
            reason = f"Taken by {actor}."
            message = f"You took {environment}."
        else:
            reason = f"Taken over by {actor} from {previous} (held{_held_since(inventory)})."
            message = f"You took {environment} over from {previous}."
        inventory.assignee = user
        inventory.assigned_at = now
        transition = _review_transition(inventory, actor=actor, verb="take", now=now, reason=reason)
        return Responsibility(inventory, transition, previous, message)


def release(environment: Environment, *, user: Any, now: datetime | None = None) -> Responsibility:
    """Hand the environment back: nobody holds it afterwards. Anyone with the permission may release
    it, whoever holds it (the reason names both when they differ). Releasing what nobody holds changes
    nothing and says so."""
    now = now or timezone.now()
    refuse_without_permission(user, "release it")
    actor = user.get_username()
    expire_overdue(environment, now)  # rule 9
    with transaction.atomic():
        inventory = lock_inventory(environment)
        previous = inventory.holder
        if previous is None:
            return Responsibility(inventory, None, None, f"Nobody holds {environment}: nothing changed.")
        if inventory.assignee_id == user.pk:
            reason = f"Released by {actor}."
            message = f"You released {environment}."
        else:
            reason = f"Released by {actor} on behalf of {previous}."
            message = f"You released {environment} on behalf of {previous}."
        inventory.assignee = None
        inventory.assigned_at = None
        transition = _review_transition(inventory, actor=actor, verb="release", now=now, reason=reason)
        return Responsibility(inventory, transition, previous, message)
