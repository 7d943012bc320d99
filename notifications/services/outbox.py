"""The outbox: a delivery row per subscription and event, written in the transaction of the change it
announces, and the task that sends it enqueued on commit — so a rolled-back change sends nothing and
a committed one is never lost (if the enqueue itself is lost, the sweeper hands the delivery over
again, ``sending.requeue_due``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction

from inventory.models import Environment, EnvironmentInventory, InventoryTransition
from launchplane.compiled import CompiledLookup
from notifications import payloads
from notifications.models import Event, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)


# Asked by every write that changes state: compiled once per connection (launchplane/compiled.py).
ACTIVE_SUBSCRIPTIONS = CompiledLookup(
    lambda: WebhookSubscription.objects.filter(is_active=True).only("pk", "contexts", "events")
)


def subscriptions_for(event: str, context: str) -> list[WebhookSubscription]:
    """The active subscriptions that want ``event`` on ``context``: one query, no rows cached (a
    subscription changed in the admin applies to the next change on every host at once)."""
    return [subscription for subscription in ACTIVE_SUBSCRIPTIONS.all() if subscription.wants(event, context)]


def write_deliveries(
    subscriptions: Iterable[WebhookSubscription],
    *,
    event: str,
    environment: Environment | None,
    payload: dict[str, Any],
    occurred_at: datetime,
    now: datetime,
    transition: InventoryTransition | None = None,
) -> list[WebhookDelivery]:
    """Insert one pending delivery per subscription (one statement) and enqueue each on commit."""
    deliveries = [
        WebhookDelivery(
            subscription=subscription,
            event=event,
            environment=environment,
            transition=transition,
            payload=payload,
            occurred_at=occurred_at,
            created_at=now,
            next_attempt_at=now,
            task_due_at=now,
        )
        for subscription in subscriptions
    ]
    if not deliveries:
        return []
    WebhookDelivery.objects.bulk_create(deliveries)
    ids = [str(delivery.delivery_id) for delivery in deliveries]

    def enqueue_all() -> None:
        for delivery_id in ids:
            enqueue_delivery(delivery_id)

    transaction.on_commit(enqueue_all)
    return deliveries


def write_state_changed(transition: InventoryTransition, inventory: EnvironmentInventory) -> list[WebhookDelivery]:
    """The ``state_changed`` outbox rows for an applied transition whose state changed. Called by the
    ``transition_applied`` receiver inside the transition's transaction."""
    environment = inventory.environment
    subscriptions = subscriptions_for(Event.STATE_CHANGED, environment.context)
    if not subscriptions:
        return []
    return write_deliveries(
        subscriptions,
        event=Event.STATE_CHANGED,
        environment=environment,
        transition=transition,
        payload=payloads.state_changed_payload(transition, inventory),
        occurred_at=inventory.state_changed_at,
        now=transition.recorded_at,
    )


def enqueue_delivery(delivery_id: str, *, run_after: datetime | None = None) -> None:
    """Hand a delivery to the task backend. A backend that is down loses nothing: the delivery stays
    waiting in the outbox and the sweeper hands it over again."""
    from notifications.tasks import send_webhook_delivery

    try:
        task = send_webhook_delivery
        if run_after is not None and task.get_backend().supports_defer:
            task = task.using(run_after=run_after)
        task.enqueue(delivery_id)
    except Exception:  # pragma: no cover - depends on the backend; the sweeper re-enqueues
        logger.exception("Could not enqueue webhook delivery %s", delivery_id)
