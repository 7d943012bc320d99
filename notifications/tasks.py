"""Background tasks (Django's task framework, like ``inventory.tasks``): thin and idempotent. The
service's claim decides whether there is anything to send, so a task run twice sends once."""

from __future__ import annotations

from django_tasks import task


@task()
def send_webhook_delivery(delivery_id: str) -> str:
    """Make one attempt of a delivery (``notifications.services.send_delivery``)."""
    from notifications.services import send_delivery

    delivery = send_delivery(delivery_id)
    return delivery.status if delivery is not None else "gone"
