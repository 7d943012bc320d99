"""Sending a delivery: claim it (a conditional update with a lease, so two workers never send one
delivery at the same time), POST it outside any transaction, record the answer (delivered, retrying
with backoff, or failed after 24 hours), then hand over the next delivery waiting behind it.

Order: for one subscription and one environment, a delivery is not claimed while an earlier one (by
``pk``, the order they were written in under the inventory row lock) is still pending, sending or
retrying — so a receiver never hears "current" before the "unverified" that preceded it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from inventory.probes.client import Resolver
from notifications import payloads, rules
from notifications.delivery import Answer, post_webhook
from notifications.models import DeliveryStatus, Event, WebhookDelivery, WebhookSubscription
from notifications.services.outbox import enqueue_delivery

logger = logging.getLogger(__name__)
Status = DeliveryStatus

# A claim holds a delivery this long: the 10-second attempt and a wide margin. A worker that died
# mid-attempt leaves the delivery ``sending``; once the lease has passed another worker may take it.
LEASE = timedelta(seconds=60)
# The sweeper hands a waiting delivery to the task backend again when the task it was given should
# have run this long ago (the backend lost it, or the enqueue failed).
REQUEUE_AFTER = timedelta(seconds=60)

# The failure class of a delivery whose subscription was switched off: failed at once, never retried.
INACTIVE = "inactive"


def _earlier_waiting() -> Exists:
    """An earlier delivery to the same subscription about the same environment is not finished."""
    return Exists(
        WebhookDelivery.objects.filter(
            subscription_id=OuterRef("subscription_id"),
            environment_id=OuterRef("environment_id"),
            pk__lt=OuterRef("pk"),
            status__in=sorted(WebhookDelivery.ACTIVE),
        )
    )


def _claimable(now: datetime) -> Q:
    """Waiting and due, or claimed by a worker whose lease has passed."""
    return Q(status__in=sorted(WebhookDelivery.WAITING), next_attempt_at__lte=now) | Q(
        status=Status.SENDING, lease_until__lte=now
    )


def claim_delivery(delivery: WebhookDelivery, now: datetime) -> bool:
    """Take ``delivery`` for one attempt: one conditional UPDATE (due, not claimed by a live lease, no
    earlier delivery for its subscription and environment waiting). Only one caller wins; on
    PostgreSQL a concurrent claimer waits for the winner's row lock and then finds it ``sending``."""
    claimed = WebhookDelivery.objects.filter(_claimable(now), ~_earlier_waiting(), pk=delivery.pk).update(
        status=Status.SENDING, lease_until=now + LEASE, attempts=F("attempts") + 1, last_attempt_at=now
    )
    if claimed:
        delivery.refresh_from_db()
    return bool(claimed)


def signed_headers(
    delivery: WebhookDelivery, subscription: WebhookSubscription, body: bytes, at: datetime
) -> dict[str, str]:
    return {
        "Launchplane-Event": delivery.event,
        "Launchplane-Delivery": str(delivery.delivery_id),
        "Launchplane-Signature": rules.signature_header(subscription.secret, int(at.timestamp()), body),
    }


def send_delivery(
    delivery_id: str,
    *,
    now: Callable[[], datetime] = timezone.now,
    transport: httpx.BaseTransport | None = None,
    resolver: Resolver | None = None,
) -> WebhookDelivery | None:
    """Claim, send and record one attempt of a delivery. Safe to call twice or from two workers: a
    caller that cannot claim it (delivered, not yet due, claimed, or waiting behind an earlier one)
    changes nothing and gets the delivery as it stands (None when it no longer exists)."""
    delivery = WebhookDelivery.objects.select_related("subscription").filter(delivery_id=delivery_id).first()
    if delivery is None:
        return None
    if not claim_delivery(delivery, now()):
        return delivery
    subscription = WebhookSubscription.objects.get(pk=delivery.subscription_id)
    if not subscription.is_active and delivery.event != Event.PING:
        # Switched off in the admin after this was written: give it up now (redeliver once it is back on).
        return record_attempt(
            delivery, Answer(None, False, "not sent: the subscription is switched off", INACTIVE), now=now()
        )
    body = payloads.render_body(delivery, subscription.format)
    started = time.monotonic()
    try:
        answer = post_webhook(
            subscription.url,
            body,
            signed_headers(delivery, subscription, body, now()),
            transport=transport,
            resolver=resolver,
        )
    except Exception:  # a bug here must not leave the delivery claimed until its lease passes
        logger.exception("Webhook delivery %s: sending raised", delivery_id)
        answer = Answer(None, False, "not sent: an error inside Launchplane; see the worker's log", "internal")
    logger.info(
        "Webhook delivery %s (%s) to %s: %s in %.0f ms",
        delivery_id,
        delivery.event,
        subscription.name,
        answer.status_code or answer.failure_class,
        (time.monotonic() - started) * 1000,
    )
    return record_attempt(delivery, answer, now=now())


def record_attempt(delivery: WebhookDelivery, answer: Answer, *, now: datetime) -> WebhookDelivery:
    """Store what the attempt got and decide what comes next. Guarded by the attempt number, so a
    worker whose lease passed (another one has taken the delivery since) records nothing."""
    fields: dict[str, object] = {
        "last_status_code": answer.status_code,
        "last_response": answer.excerpt,
        "lease_until": None,
    }
    retry_at: datetime | None = None
    if answer.delivered:
        fields |= {"status": Status.DELIVERED, "delivered_at": now}
    elif answer.failure_class == INACTIVE:
        fields |= {"status": Status.FAILED}
    else:
        retry_at = rules.next_attempt_at(
            attempts=delivery.attempts,
            created_at=delivery.redelivered_at or delivery.created_at,
            now=now,
            base_seconds=settings.WEBHOOK_RETRY_BASE_SECONDS,
        )
        if retry_at is None:
            fields |= {"status": Status.FAILED}
        else:
            fields |= {"status": Status.RETRYING, "next_attempt_at": retry_at, "task_due_at": retry_at}
    with transaction.atomic():
        recorded = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=Status.SENDING, attempts=delivery.attempts
        ).update(**fields)
        if recorded:
            if retry_at is not None:
                transaction.on_commit(lambda: enqueue_delivery(str(delivery.delivery_id), run_after=retry_at))
            else:
                hand_over_next(delivery, now)
    delivery.refresh_from_db()
    return delivery


def hand_over_next(delivery: WebhookDelivery, now: datetime) -> None:
    """The delivery is finished: enqueue the next one waiting behind it for the same subscription and
    environment, if it is due (a retrying one has its own task)."""
    if delivery.environment_id is None:
        return
    following = (
        WebhookDelivery.objects.filter(
            subscription_id=delivery.subscription_id,
            environment_id=delivery.environment_id,
            pk__gt=delivery.pk,
            status__in=sorted(WebhookDelivery.ACTIVE),
        )
        .order_by("pk")
        .values_list("pk", "delivery_id", "status", "next_attempt_at")
        .first()
    )
    if following is None:
        return
    pk, following_id, status, due = following
    if status == Status.PENDING or due <= now:
        WebhookDelivery.objects.filter(pk=pk).update(task_due_at=max(due, now))
        transaction.on_commit(lambda: enqueue_delivery(str(following_id), run_after=due if due > now else None))


# ---------------------------------------------------------------------------------------------------
# The sweeper's step: deliveries the task backend lost
# ---------------------------------------------------------------------------------------------------


def requeue_due(now: datetime, *, limit: int = 200) -> int:
    """Hand over again the deliveries that are due, first in their line, and whose task should have run
    ``REQUEUE_AFTER`` ago — a worker that was down, a lost enqueue, a worker that died mid-attempt. A
    conditional update on ``task_due_at`` makes two sweepers hand each one over once. Returns how many."""
    stale_before = now - REQUEUE_AFTER
    candidates = list(
        WebhookDelivery.objects.filter(_claimable(now), ~_earlier_waiting())
        .filter(Q(task_due_at__isnull=True) | Q(task_due_at__lte=stale_before))
        .order_by("pk")
        .values_list("pk", "delivery_id", "task_due_at")[:limit]
    )
    handed = 0
    for pk, delivery_id, due in candidates:
        if WebhookDelivery.objects.filter(pk=pk, task_due_at=due).update(task_due_at=now):
            enqueue_delivery(str(delivery_id))
            handed += 1
    return handed


# ---------------------------------------------------------------------------------------------------
# The admin's actions
# ---------------------------------------------------------------------------------------------------


def redeliver(deliveries: QuerySet[WebhookDelivery] | Iterable[WebhookDelivery], *, now: datetime) -> int:
    """Send finished deliveries again, with the same ``delivery_id`` and body (receivers de-duplicate
    on it): back to ``pending``, due now, a fresh 24-hour window. Deliveries still on their way are
    left alone. Returns how many were queued again."""
    pks = [delivery.pk for delivery in deliveries]
    with transaction.atomic():
        reopened = list(
            WebhookDelivery.objects.filter(pk__in=pks, status__in=sorted(WebhookDelivery.TERMINAL)).values_list(
                "pk", "delivery_id"
            )
        )
        WebhookDelivery.objects.filter(pk__in=[pk for pk, _ in reopened]).update(
            status=Status.PENDING, next_attempt_at=now, redelivered_at=now, task_due_at=now, lease_until=None
        )
        ids = [str(delivery_id) for _pk, delivery_id in reopened]

        def enqueue_all() -> None:
            for delivery_id in ids:
                enqueue_delivery(delivery_id)

        transaction.on_commit(enqueue_all)
    return len(reopened)


def send_test_event(subscriptions: Iterable[WebhookSubscription], *, now: datetime) -> int:
    """Queue a ``ping`` delivery to each subscription (active or not: testing comes before switching on)."""
    from notifications.services.outbox import write_deliveries

    count = 0
    with transaction.atomic():
        for subscription in subscriptions:
            count += len(
                write_deliveries(
                    [subscription],
                    event=Event.PING,
                    environment=None,
                    payload=payloads.ping_payload(subscription.name, now),
                    occurred_at=now,
                    now=now,
                )
            )
    return count
