"""Admin for webhook subscriptions and deliveries.

A subscription is created by ``manage.py create_webhook`` only (its secret is printed once, then
never shown again, here or anywhere), like an API client's token; here it is changed, switched off
and tested. Deliveries are the outbox's rows: read-only, with "Redeliver" and "Send a test event",
each going through ``notifications.services`` and reporting a count.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Field, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import ngettext

from inventory.admin.base import EMPTY, EvidenceAdmin, environment_column, pretty_json
from inventory.templatetags.status_badges import badge_column
from notifications.models import WebhookDelivery, WebhookSubscription
from notifications.services import redeliver, send_test_event

REDELIVER_PERMISSION = "notifications.redeliver_webhookdelivery"


def _report_tests(request: HttpRequest, count: int) -> None:
    messages.success(
        request,
        ngettext("Queued %(count)d test event.", "Queued %(count)d test events.", count) % {"count": count},
    )


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "format", "contexts_column", "events_column", "is_active", "created_at")
    list_filter = ("is_active", "format")
    search_fields = ("name", "url")
    fields = ("name", "url", "contexts", "events", "format", "is_active", "created_at")
    readonly_fields = ("created_at",)  # the secret is not a field here at all: it is never shown again
    actions = ["send_test_events"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # python manage.py create_webhook: the one place a secret is made and shown

    def formfield_for_dbfield(self, db_field: Field, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "url":
            kwargs["assume_scheme"] = "https"  # a URL typed without a scheme (Django 6's default)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="contexts")
    def contexts_column(self, obj: WebhookSubscription) -> str:
        return ", ".join(obj.contexts) or "every context"

    @admin.display(description="events")
    def events_column(self, obj: WebhookSubscription) -> str:
        return ", ".join(obj.events) or "every event"

    @admin.action(description="Send a test event to selected subscriptions", permissions=["redeliver"])
    def send_test_events(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        _report_tests(request, send_test_event(queryset, now=timezone.now()))

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REDELIVER_PERMISSION)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(EvidenceAdmin):
    list_display = (
        "delivery_id",
        "event_badge",
        "subscription",
        "environment_link",
        "status_badge",
        "attempts",
        "last_status_code",
        "answer",
        "next_attempt",
        "occurred_at",
    )
    list_select_related = ("subscription", "environment")
    list_filter = ("status", "event", "subscription")
    search_fields = ("delivery_id", "subscription__name", "environment__context", "environment__instance")
    date_hierarchy = "created_at"
    actions = ["redeliver_selected", "send_test_events"]
    fieldsets = [
        (
            None,
            {"fields": ("delivery_id", "event_badge", "subscription", "environment_link", "transition", "occurred_at")},
        ),
        (
            "Delivery",
            {
                "fields": (
                    "status_badge",
                    "attempts",
                    "created_at",
                    "last_attempt_at",
                    "last_status_code",
                    "last_response",
                    "next_attempt",
                    "delivered_at",
                    "redelivered_at",
                )
            },
        ),
        ("Body", {"fields": ("payload_json",)}),
    ]

    status_badge = badge_column("status", "status")
    event_badge = badge_column("event", "event")

    @admin.display(description="environment", ordering="environment__context")
    def environment_link(self, obj: WebhookDelivery) -> SafeString | str:
        return environment_column(obj) if obj.environment_id else EMPTY

    @admin.display(description="answer")
    def answer(self, obj: WebhookDelivery) -> str:
        return obj.last_response[:120] or EMPTY

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt(self, obj: WebhookDelivery) -> object:
        return obj.next_attempt_at if obj.status in WebhookDelivery.WAITING else EMPTY

    @admin.display(description="payload")
    def payload_json(self, obj: WebhookDelivery) -> SafeString | str:
        return pretty_json(obj.payload)

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REDELIVER_PERMISSION)

    @admin.action(description="Redeliver selected deliveries (same delivery id)", permissions=["redeliver"])
    def redeliver_selected(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        selected = queryset.count()
        count = redeliver(queryset, now=timezone.now())
        message = ngettext("Queued %(count)d delivery again.", "Queued %(count)d deliveries again.", count) % {
            "count": count
        }
        if selected > count:
            message += f" {selected - count} still on their way were left alone."
        messages.success(request, message)

    @admin.action(
        description="Send a test event to the subscriptions of selected deliveries", permissions=["redeliver"]
    )
    def send_test_events(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        subscriptions = WebhookSubscription.objects.filter(deliveries__in=queryset).distinct()
        _report_tests(request, send_test_event(subscriptions, now=timezone.now()))
