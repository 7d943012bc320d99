"""What a delivery says: the payload written into the outbox (from objects already in memory: no
query) and the body rendered from it when the delivery is sent."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from rest_framework.fields import DateTimeField

from inventory.api.serializers import TransitionSerializer
from inventory.choices import InventoryState
from inventory.models import Environment, EnvironmentInventory, InventoryTransition
from notifications import rules
from notifications.models import Format, WebhookDelivery

_datetime = DateTimeField()


def iso(moment: datetime) -> str:
    """A datetime as the API spells it (``2026-01-02T03:04:05.123456Z``)."""
    return str(_datetime.to_representation(moment))


def environment_url(environment: Environment) -> str:
    """The environment page's absolute URL: deliveries are made outside any request, so from SITE_URL."""
    path = reverse("inventory:environment", args=[environment.context, environment.instance])
    return settings.SITE_URL.rstrip("/") + path


def environment_payload(inventory: EnvironmentInventory, now: datetime) -> dict[str, Any]:
    """The ``environment`` object of a body, from the inventory as it stands (its environment loaded)."""
    environment = inventory.environment
    return {
        "context": environment.context,
        "instance": environment.instance,
        "state": inventory.state,
        "state_reason": inventory.state_reason,
        "deployment_state": inventory.deployment_state,
        "data_state": inventory.data_state,
        "freshness": str(inventory.freshness_at(now)),
        "url": environment_url(environment),
    }


def state_changed_payload(transition: InventoryTransition, inventory: EnvironmentInventory) -> dict[str, Any]:
    """``environment`` and ``transition`` (the fields history shows) for a ``state_changed`` event."""
    return {
        "occurred_at": iso(inventory.state_changed_at),
        "environment": environment_payload(inventory, transition.recorded_at),
        "transition": dict(TransitionSerializer(transition).data),
    }


def freshness_changed_payload(
    inventory: EnvironmentInventory, *, occurred_at: datetime, now: datetime
) -> dict[str, Any]:
    return {"occurred_at": iso(occurred_at), "environment": environment_payload(inventory, now)}


def ping_payload(subscription_name: str, now: datetime) -> dict[str, Any]:
    return {"occurred_at": iso(now), "environment": None, "subscription": subscription_name}


STATE_LABELS = {value: str(label) for value, label in InventoryState.choices}


def render_body(delivery: WebhookDelivery, format: str) -> bytes:
    """The exact bytes POSTed (and signed): the stored payload with ``event`` and ``delivery_id``, or
    for Slack the one-line ``{"text": …}``."""
    if format == Format.SLACK:
        document: dict[str, Any] = rules.slack_body(delivery.event, delivery.payload, state_labels=STATE_LABELS)
    else:
        document = {"event": delivery.event, "delivery_id": str(delivery.delivery_id), **delivery.payload}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
