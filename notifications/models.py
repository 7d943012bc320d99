"""Webhook subscriptions, their deliveries (the outbox), and the freshness last announced per environment."""

from __future__ import annotations

import ipaddress
import re
import secrets
import uuid
from typing import ClassVar
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q

from inventory.choices import Freshness, choices_constraint_q
from inventory.models.base import SLUG_PATTERN, StatusColors
from inventory.probes.parsing import blocking_network
from inventory.probes.runner import blocked_networks

CONTEXT_SLUG = re.compile(SLUG_PATTERN)


class Event(models.TextChoices):
    """What a delivery announces (PRODUCT.md, "Notifications and metrics"). ``ping`` is the admin's
    "send a test event": never subscribed to, sent only when asked for."""

    STATE_CHANGED = "state_changed", "state changed"
    FRESHNESS_CHANGED = "freshness_changed", "freshness changed"
    PING = "ping", "ping"


SUBSCRIBABLE_EVENTS = (Event.STATE_CHANGED, Event.FRESHNESS_CHANGED)


class Format(models.TextChoices):
    """How a delivery's body is shaped."""

    JSON = "json", "JSON (the signed event body)"
    SLACK = "slack", 'Slack ({"text": …})'


class DeliveryStatus(models.TextChoices):
    """Where a delivery stands."""

    PENDING = "pending", "pending"  # written, never attempted
    SENDING = "sending", "sending"  # claimed by a worker until lease_until
    RETRYING = "retrying", "retrying"  # an attempt failed; next_attempt_at says when again
    DELIVERED = "delivered", "delivered"  # a 2xx answer
    FAILED = "failed", "failed"  # no 2xx answer for 24 hours: given up


ACTIVE_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.RETRYING)


# The validators' codes are not "invalid": JSONField puts "Value must be valid JSON." in place of the
# message of any error with that code.


def validate_contexts(value: object) -> None:
    """A list of context slugs; empty means every context."""
    if not isinstance(value, list):
        raise ValidationError('Give a list of contexts, e.g. ["cm"], or [] for every context.', code="contexts")
    bad = [item for item in value if not isinstance(item, str) or len(item) > 63 or not CONTEXT_SLUG.match(item)]
    if bad:
        raise ValidationError(f"Not context slugs: {bad!r}", code="contexts")


def validate_events(value: object) -> None:
    """A list of subscribable events; empty means every event."""
    allowed = {str(event) for event in SUBSCRIBABLE_EVENTS}
    if not isinstance(value, list):
        raise ValidationError('Give a list of events, e.g. ["state_changed"], or [] for every event.', code="events")
    bad = [item for item in value if item not in allowed]
    if bad:
        raise ValidationError(f"Not events: {bad!r} (choose from {', '.join(sorted(allowed))}).", code="events")


def validate_not_blocked(value: str) -> None:
    """A URL whose host is an IP literal in ``VERIFY_BLOCKED_NETWORKS`` (cloud metadata) is refused
    when subscribing. Names are still resolved and checked at every attempt (DNS can change), so
    this only says early what sending would refuse anyway."""
    try:
        host = urlsplit(value).hostname or ""
        ipaddress.ip_address(host)
    except ValueError:
        return
    reason = blocking_network(host, blocked_networks())
    if reason:
        raise ValidationError(
            f"{host} {reason} (VERIFY_BLOCKED_NETWORKS): deliveries there are refused.", code="blocked_address"
        )


class WebhookSubscription(models.Model):
    """Where to tell whom about what: a URL, the contexts and events it wants, and the body format.

    The signing secret is generated when the subscription is created (``issue``) and shown once; it is
    stored as it is, because every delivery is signed with it (HMAC needs the key itself, unlike a
    token, which only needs to be recognised).
    """

    Format = Format

    name = models.CharField(max_length=150, unique=True)
    url = models.URLField(
        max_length=2000,
        validators=[
            URLValidator(schemes=["http", "https"], message="Enter an http or https URL."),
            validate_not_blocked,
        ],
        help_text="Where deliveries are POSTed (http or https).",
    )
    secret = models.CharField(max_length=128, editable=False)
    contexts = models.JSONField(
        default=list, blank=True, validators=[validate_contexts], help_text='e.g. ["cm"]; [] for every context.'
    )
    events = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_events],
        help_text='e.g. ["state_changed"]; [] for every event (state_changed, freshness_changed).',
    )
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.JSON)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=choices_constraint_q("format", Format), name="subscription_format_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def wants(self, event: str, context: str) -> bool:
        """Whether this subscription asked for ``event`` on ``context`` (empty lists: everything)."""
        return (not self.events or event in self.events) and (not self.contexts or context in self.contexts)

    @classmethod
    def issue(
        cls,
        name: str,
        *,
        url: str,
        contexts: list[str] | None = None,
        events: list[str] | None = None,
        format: str = Format.JSON,
    ) -> tuple[WebhookSubscription, str]:
        """Create a subscription with a fresh signing secret; returns it and the secret (shown once)."""
        secret = "whsec_" + secrets.token_urlsafe(32)
        subscription = cls(
            name=name,
            url=url,
            secret=secret,
            contexts=sorted(set(contexts or [])),
            events=sorted(set(events or [])),
            format=format,
        )
        subscription.full_clean()
        subscription.save()
        return subscription, secret

    issue.alters_data = True  # type: ignore[attr-defined]


class WebhookDelivery(StatusColors, models.Model):
    """One event for one subscription: an outbox row, written in the transaction of the change it
    announces, then sent by the worker (at least once, with the same ``delivery_id`` every attempt).

    ``payload`` is the body as it was when the event happened (the environment then, the transition),
    without ``event`` and ``delivery_id``, which are added when the body is rendered. Deliveries for
    one subscription and one environment are sent in ``pk`` order: one is not sent while an earlier
    one is still waiting.
    """

    Status = DeliveryStatus

    ACTIVE: ClassVar[frozenset[str]] = frozenset(ACTIVE_STATUSES)
    WAITING: ClassVar[frozenset[str]] = frozenset({DeliveryStatus.PENDING, DeliveryStatus.RETRYING})
    TERMINAL: ClassVar[frozenset[str]] = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.FAILED})

    STATUS_COLORS_BY_FIELD = {
        "status": {
            DeliveryStatus.PENDING: "blue",
            DeliveryStatus.SENDING: "blue",
            DeliveryStatus.RETRYING: "amber",
            DeliveryStatus.DELIVERED: "green",
            DeliveryStatus.FAILED: "red",
        },
        "event": {Event.STATE_CHANGED: "blue", Event.FRESHNESS_CHANGED: "purple", Event.PING: "grey"},
    }
    Event = Event

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32, choices=Event.choices, editable=False)
    environment = models.ForeignKey(
        "inventory.Environment", null=True, blank=True, on_delete=models.CASCADE, related_name="+", editable=False
    )
    transition = models.ForeignKey(
        "inventory.InventoryTransition",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    payload = models.JSONField(default=dict, editable=False)
    occurred_at = models.DateTimeField(editable=False, help_text="When the announced change happened.")
    created_at = models.DateTimeField(editable=False, help_text="When the outbox row was written (server time).")

    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, editable=False
    )
    attempts = models.PositiveIntegerField(default=0, editable=False)
    next_attempt_at = models.DateTimeField(editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    # When the task last handed to the task backend becomes runnable; the sweeper hands over another
    # only once this is well past and the delivery is still waiting (the backend lost it, or was down).
    task_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    last_response = models.CharField(
        max_length=500,
        blank=True,
        default="",
        editable=False,
        help_text="The start of the last answer, or why none came.",
    )
    delivered_at = models.DateTimeField(null=True, blank=True, editable=False)
    # "Redeliver" in the admin: the 24-hour retry window counts from here instead of created_at.
    redelivered_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-pk"]
        permissions = [("redeliver_webhookdelivery", "Can redeliver webhook deliveries and send test events")]
        constraints = [
            models.CheckConstraint(
                condition=choices_constraint_q("status", DeliveryStatus), name="delivery_status_valid"
            ),
            models.CheckConstraint(condition=choices_constraint_q("event", Event), name="delivery_event_valid"),
            models.CheckConstraint(
                condition=Q(event=Event.PING) | Q(environment__isnull=False), name="delivery_event_has_environment"
            ),
            models.CheckConstraint(
                condition=~Q(event=Event.STATE_CHANGED) | Q(transition__isnull=False),
                name="delivery_state_changed_has_transition",
            ),
        ]
        indexes = [
            # The sweeper's scan for waiting deliveries that are due.
            models.Index(fields=["next_attempt_at"], condition=Q(status__in=ACTIVE_STATUSES), name="delivery_due_idx"),
            # Per-environment order: "is an earlier delivery for this subscription and environment waiting?"
            models.Index(
                fields=["subscription", "environment", "id"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="delivery_active_order_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id} → {self.subscription_id}"


class AnnouncedFreshness(models.Model):
    """The freshness last announced for an environment (``freshness_changed``): the sweeper compares
    it with the freshness now and announces a crossing into or out of ``stale`` once, moving this row
    with a conditional update so two sweepers announce it once. No row: never announced ``stale``."""

    environment = models.OneToOneField(
        "inventory.Environment", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    freshness = models.CharField(max_length=16, choices=Freshness.choices, editable=False)
    changed_at = models.DateTimeField(editable=False, help_text="When the announced crossing happened.")

    class Meta:
        verbose_name_plural = "announced freshness"
        constraints = [
            models.CheckConstraint(
                condition=choices_constraint_q("freshness", Freshness), name="announced_freshness_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.environment_id}: {self.freshness}"
