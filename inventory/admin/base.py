"""The generic admin pieces every model admin shares: expiring overdue work before a read, the
evidence base admin, links, JSON and identity display, and the list filters."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from inventory.choices import (
    Freshness,
    InventoryState,
)
from inventory.models import (
    Environment,
)
from inventory.presentation import identity_view
from inventory.selectors import expire_overdue

# ---------------------------------------------------------------------------------------------------
# Reading inventory: overdue work first (rule 9)
# ---------------------------------------------------------------------------------------------------


class ReadsInventoryMixin:
    """For admins whose pages show inventory state or bootstraps: expire overdue work before reading.

    A page may list every environment, so every environment's overdue operations expire; when none is
    overdue that costs one indexed query.
    """

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        expire_overdue(Environment.objects.all(), timezone.now())  # rule 9
        return super().changelist_view(request, extra_context)  # type: ignore[misc]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        expire_overdue(Environment.objects.all(), timezone.now())  # rule 9
        return super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]


class EvidenceAdmin(admin.ModelAdmin):
    """Evidence is created by services only and never changed or deleted (rules 2 and 11).

    Staff can view it; nobody can add, change or delete it here. Evidence tables grow without bound,
    so the changelist does not count the whole table.
    """

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# ---------------------------------------------------------------------------------------------------
# Display helpers, shared with bootstraps/admin.py
# ---------------------------------------------------------------------------------------------------


# What an empty cell or read-only field shows (the admin's own empty value; ``None`` would read "None").
EMPTY = "-"


def admin_url(obj: Any) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def admin_link(obj: Any, text: object = None) -> SafeString | str:
    """A link to ``obj``'s admin page; the empty value when there is no object."""
    if obj is None:
        return EMPTY
    return format_html('<a href="{}">{}</a>', admin_url(obj), text if text is not None else str(obj))


def changelist_link(url_name: str, text: object, **params: Any) -> SafeString:
    """A link to a changelist filtered by ``params`` (``url_name`` like ``inventory_deploymentrecord``)."""
    url = reverse(f"admin:{url_name}_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, urlencode(params), text)


def pretty_json(value: object) -> SafeString | str:
    if value is None:
        return EMPTY
    return format_html('<pre class="lp-json">{}</pre>', json.dumps(value, indent=2, sort_keys=True))


def identity_table(record: Any) -> SafeString:
    """Expected and observed runtime identity side by side, the differing keys highlighted (rule 5): the
    same include as the environment page."""
    return mark_safe(render_to_string("includes/identity_table.html", {"identity": identity_view(record)}))


def environment_column(obj: Any) -> SafeString | str:
    return admin_link(obj.environment)


# ---------------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------------


class NotCurrentFilter(admin.SimpleListFilter):
    """Current or not current, on whichever field holds the board's state."""

    title = "current"
    parameter_name = "current"
    state_field = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("no", "Not current"), ("yes", "Current")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        current = {self.state_field: InventoryState.CURRENT}
        if self.value() == "no":
            return queryset.exclude(**current)
        if self.value() == "yes":
            return queryset.filter(**current)
        return queryset


class EnvironmentNotCurrentFilter(NotCurrentFilter):
    state_field = "inventory__state"


class TransitionNotCurrentFilter(NotCurrentFilter):
    title = "ended current"
    state_field = "to_state"


class FreshnessFilter(admin.SimpleListFilter):
    """Freshness is derived at read time: filter on the ``freshness_value`` annotation."""

    title = "freshness"
    parameter_name = "freshness"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return list(Freshness.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in Freshness.values:
            return queryset.filter(freshness_value=self.value())
        return queryset


class AcknowledgedFilter(admin.SimpleListFilter):
    title = "acknowledged"
    parameter_name = "acknowledged"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Acknowledged"), ("no", "Not acknowledged")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(acknowledged_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(acknowledged_at__isnull=True)
        return queryset


class CurrentDeploymentFilter(admin.SimpleListFilter):
    """Whether a deployment record is its environment's current deployment (the ``is_current`` annotation)."""

    title = "current deployment"
    parameter_name = "pointer"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("current", "Current deployment"), ("not_current", "Not current")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "current":
            return queryset.filter(is_current=True)
        if self.value() == "not_current":
            return queryset.filter(is_current=False)
        return queryset
