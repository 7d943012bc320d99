"""The notification services: the outbox (write a delivery per subscription with the change), sending
(claim, POST, record, retry), and the sweeper's steps (announce freshness crossings, hand due
deliveries to the worker again)."""

from notifications.services.freshness import announce_freshness_crossings
from notifications.services.outbox import enqueue_delivery, subscriptions_for, write_deliveries
from notifications.services.sending import (
    claim_delivery,
    redeliver,
    requeue_due,
    send_delivery,
    send_test_event,
)

__all__ = [
    "announce_freshness_crossings",
    "claim_delivery",
    "enqueue_delivery",
    "redeliver",
    "requeue_due",
    "send_delivery",
    "send_test_event",
    "subscriptions_for",
    "write_deliveries",
]
