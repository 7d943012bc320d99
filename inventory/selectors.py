"""The road a read travels (HackSoft's selectors): every read of inventory comes through here.

Each selector first lets the overdue operations it touches time out (rule 9: an overdue operation reads
``timed_out`` everywhere at once, without waiting for the sweeper), then returns querysets or read
models that cost a fixed number of queries. Inventory never imports bootstraps: the expiry is asked
for with the ``inventory_read`` signal, which ``bootstraps/receivers.py`` answers with the same service
the sweeper uses. ``expire_overdue`` is the one name for that act; services call it before they write.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from django.db.models import Q, QuerySet

from inventory.choices import Freshness, InventoryState
from inventory.models import Environment, EnvironmentInventory, InventoryTransition
from inventory.models.queries import READ_MODEL_BY_ID, READ_MODEL_BY_PAIR, EnvironmentInventoryQuerySet
from inventory.signals import inventory_read
from launchplane.api.auth import restrict

# The review queue (PRODUCT.md): these states, or stale freshness whatever the state.
REVIEW_STATES = (
    InventoryState.PARTIALLY_BOOTSTRAPPED,
    InventoryState.VERIFICATION_FAILED,
    InventoryState.UNVERIFIED,
    InventoryState.STALE_INVENTORY,
    InventoryState.UNKNOWN,
)


def expire_overdue(environments: QuerySet[Environment] | Environment, now: datetime) -> None:
    """Rule 9: let the overdue operations of these environments (or of one) time out first."""
    if isinstance(environments, Environment):
        environments = Environment.objects.filter(pk=environments.pk)
    inventory_read.send(sender=expire_overdue, environments=environments, now=now)


def inventories(now: datetime) -> EnvironmentInventoryQuerySet:
    """Inventory with everything a row shows and its freshness at ``now`` (no expiry: callers expire)."""
    return EnvironmentInventory.objects.with_related().with_freshness(now)


def read_model(environment: Environment, now: datetime, *, expired: bool = False) -> EnvironmentInventory:
    """One environment's inventory as the API shows it (``for_read_model``: its freshness is computed
    from the row by ``rules.freshness``, the same function the SQL annotation mirrors). ``expired=True``
    when the caller has just expired this environment's overdue operations (a write does, under its lock)."""
    inventory = READ_MODEL_BY_ID.first(environment.pk)
    if not expired and inventory is not None and points_at_overdue(inventory, now):
        expire_overdue(environment, now)
        inventory = READ_MODEL_BY_ID.first(environment.pk)
    if inventory is None:
        raise EnvironmentInventory.DoesNotExist(f"No inventory for {environment}.")
    inventory.environment = environment
    return inventory


def written_read_model(environment: Environment, now: datetime) -> EnvironmentInventory:
    """The read model a write answers with: the inventory its service locked, read and saved, which
    ``lock_inventory`` leaves on the environment (Django keeps a one-to-one's reverse side there), so the
    answer costs no query; read afresh when no service left one. Either way its overdue operations were
    expired under that lock, and its freshness is computed from the row like any read model's."""
    if Environment.inventory.related.is_cached(environment):
        return environment.inventory
    return read_model(environment, now, expired=True)


def named_read_model(context: str, instance: str, now: datetime) -> EnvironmentInventory | None:
    """The read model of the environment named by its pair, or None when there is none: one query
    (the environment's columns come with it) unless an operation of it is overdue."""
    inventory = READ_MODEL_BY_PAIR.first(context, instance)  # compiled once (the pair is unique)
    if inventory is not None and points_at_overdue(inventory, now):
        environment = inventory.environment
        expire_overdue(environment, now)
        inventory = read_model(environment, now, expired=True)
    return inventory


def points_at_overdue(inventory: EnvironmentInventory, now: datetime) -> bool:
    """Whether this environment has an overdue operation, read off its inventory row: at most one
    operation is active per environment (rule 10) and a start moves ``last_bootstrap`` to it, so an
    active operation is always the latest bootstrap. A read of one environment therefore needs no query
    of its own to honour rule 9, only one to expire when this says so."""
    operation = inventory.last_bootstrap
    return operation is not None and operation.is_overdue(now)


def read_models(
    environment_ids: Iterable[int], now: datetime, *, expired: bool = False
) -> dict[int, EnvironmentInventory]:
    """Read models of several environments in one query, by environment id (a list page's).
    ``expired=True`` when the caller has already expired their overdue operations."""
    ids = sorted(set(environment_ids))
    if not ids:
        return {}
    if not expired:
        expire_overdue(Environment.objects.filter(pk__in=ids), now)
    return {inventory.pk: inventory for inventory in EnvironmentInventory.objects.for_read_model().filter(pk__in=ids)}


def environment_page(environment: Environment, now: datetime) -> EnvironmentInventory:
    """One environment's inventory with every column of what it points at, for its page."""
    expire_overdue(environment, now)
    inventory = inventories(now).get(pk=environment.pk)
    inventory.environment = environment
    return inventory


def inventory_list(contexts: Iterable[str] | None, now: datetime) -> EnvironmentInventoryQuerySet:
    """The API's environment list: newest first, only the given contexts, overdue work expired.

    Only the inventory rows, to filter (freshness included), count and slice a page by; the page's read
    models are read afterwards by ``read_models_in_order`` (sorting a thousand rows of nine joined tables
    to keep fifty was most of a list request's time)."""
    expire_overdue(restrict(Environment.objects.all(), contexts, "context"), now)
    listed = EnvironmentInventory.objects.with_freshness(now)  # the freshness filter needs it
    scoped = cast(EnvironmentInventoryQuerySet, restrict(listed, contexts, "environment__context"))
    return scoped.order_by("-environment__created_at", "-pk")


def read_models_in_order(environment_ids: Iterable[int], now: datetime) -> list[EnvironmentInventory]:
    """The read models of these environments (their overdue work already expired), in the order given."""
    ids = list(environment_ids)
    found = read_models(ids, now, expired=True)
    return [found[pk] for pk in ids if pk in found]


def board(now: datetime) -> EnvironmentInventoryQuerySet:
    """Every environment for the board (the FilterSet narrows it; ``worst_first`` orders it)."""
    expire_overdue(Environment.objects.all(), now)
    return inventories(now)


def review_queue(now: datetime) -> EnvironmentInventoryQuerySet:
    """Environments that need a reviewer: a review state, or stale freshness; oldest first."""
    expire_overdue(Environment.objects.all(), now)
    return (
        inventories(now)
        .filter(Q(state__in=REVIEW_STATES) | Q(freshness_value=Freshness.STALE))
        .order_by("state_changed_at", "pk")
    )


def rows_in_order(environment_ids: Iterable[int], now: datetime) -> list[EnvironmentInventory]:
    """Board rows (everything a row shows, freshness included) of these environments, in the order
    given: a page of a long list is chosen first by its ids alone (sorting and slicing one table, not
    nine joined ones), then read in one query. The caller has expired their overdue operations."""
    ids = list(environment_ids)
    rows = EnvironmentInventory.objects.for_rows().with_freshness(now).filter(pk__in=ids)
    found = {inventory.pk: inventory for inventory in rows}
    return [found[pk] for pk in ids if pk in found]


def history(environment: Environment, now: datetime) -> QuerySet[InventoryTransition]:
    """An environment's transitions, newest first, after its overdue operations expired."""
    expire_overdue(environment, now)
    return InventoryTransition.objects.filter(environment=environment).order_by("-sequence")
