"""``freshness_changed``: the sweeper notices an environment's freshness cross into or out of
``stale`` and announces it once per crossing.

Freshness is derived at read time, never stored (STYLE.md), so nothing happens at the moment a TTL
passes; the sweeper compares the freshness now (``with_freshness``, the board's own SQL) with the one
last announced (``AnnouncedFreshness``; no row: never announced stale) in one query that returns
only the crossings. Each crossing moves its row with a conditional update (or creates it, once:
the primary key) in the same transaction as its outbox rows, so two sweepers announce it once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce

from inventory.choices import Freshness
from inventory.models import EnvironmentInventory
from notifications import payloads
from notifications.models import AnnouncedFreshness, Event
from notifications.services.outbox import subscriptions_for, write_deliveries

NEVER = "never"  # what the query reads for an environment that has no AnnouncedFreshness row


def crossings(now: datetime, *, limit: int) -> list[EnvironmentInventory]:
    """Inventories whose freshness crossed into or out of ``stale`` since it was last announced, each
    annotated with ``announced`` (the value stored, or ``never``)."""
    announced = AnnouncedFreshness.objects.filter(environment_id=OuterRef("pk")).values("freshness")[:1]
    is_stale = Q(freshness_value=Freshness.STALE)
    was_stale = Q(announced=Freshness.STALE)
    return list(
        EnvironmentInventory.objects.with_freshness(now)
        .select_related("environment")
        .annotate(announced=Coalesce(Subquery(announced, output_field=CharField()), Value(NEVER)))
        .annotate(
            crossed=Case(
                When(is_stale & ~was_stale, then=Value(True)),
                When(~is_stale & was_stale, then=Value(True)),
                default=Value(False),
            )
        )
        .filter(crossed=True)
        .order_by("pk")[:limit]
    )


def crossed_at(inventory: EnvironmentInventory, freshness: str) -> datetime:
    """When the crossing happened (not when the sweeper noticed): the TTL running out after the last
    verification, or that verification itself for a crossing out of ``stale``."""
    verified_at = inventory.lkg_verified_at
    assert verified_at is not None  # only a verified environment can be, or stop being, stale
    if freshness == Freshness.STALE:
        return verified_at + timedelta(seconds=inventory.environment.verification_ttl_seconds)
    return verified_at


def announce(inventory: EnvironmentInventory, now: datetime) -> bool:
    """Announce one crossing: move the announced freshness (a conditional update, or the first row)
    and write the outbox rows in one transaction. False when another sweeper announced it first."""
    freshness = str(inventory.freshness_value)  # type: ignore[attr-defined]
    previous = inventory.announced  # type: ignore[attr-defined]
    occurred_at = crossed_at(inventory, freshness)
    with transaction.atomic():
        if previous == NEVER:
            try:
                with transaction.atomic():
                    AnnouncedFreshness.objects.create(
                        environment_id=inventory.pk, freshness=freshness, changed_at=occurred_at
                    )
            except IntegrityError:
                return False
        elif not AnnouncedFreshness.objects.filter(environment_id=inventory.pk, freshness=previous).update(
            freshness=freshness, changed_at=occurred_at
        ):
            return False
        subscriptions = subscriptions_for(Event.FRESHNESS_CHANGED, inventory.environment.context)
        write_deliveries(
            subscriptions,
            event=Event.FRESHNESS_CHANGED,
            environment=inventory.environment,
            payload=payloads.freshness_changed_payload(inventory, occurred_at=occurred_at, now=now),
            occurred_at=occurred_at,
            now=now,
        )
    return True


def announce_freshness_crossings(now: datetime, *, limit: int = 500) -> int:
    """The sweeper's step: announce every crossing found now (at most ``limit``). Returns how many."""
    return sum(announce(inventory, now) for inventory in crossings(now, limit=limit))
