"""The generic admin pieces every model admin shares: expiring overdue work before a read, the
evidence base admin, links, JSON and identity display, and the list filters."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from inventory.choices import Freshness, InventoryState
from inventory.models import Environment
from inventory.presentation import identity_view
from inventory.selectors import expire_overdue

# ---------------------------------------------------------------------------------------------------
# Reading inventory: overdue work first (rule 9)
# ---------------------------------------------------------------------------------------------------


class ExpireOverdueMixin:
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


class ReadOnlyFieldsetsMixin:
    """Every field the fieldsets show is read-only: the page displays what services wrote."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return flatten_fieldsets(self.fieldsets)  # type: ignore[attr-defined]


class EvidenceAdmin(ReadOnlyFieldsetsMixin, admin.ModelAdmin):
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


def yes_no_filter(title: str, parameter_name: str, choices: dict[str, tuple[str, Q]]) -> type[admin.SimpleListFilter]:
    """A list filter of two (or more) named choices, each a label and the ``Q`` it keeps, in display order.

    Any other value (or none) leaves the list as it is, as the admin's own filters do.
    """

    class ChoiceFilter(admin.SimpleListFilter):
        def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
            return [(value, label) for value, (label, _) in choices.items()]

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            chosen = choices.get(self.value() or "")
            return queryset.filter(chosen[1]) if chosen else queryset

    ChoiceFilter.title = title
    ChoiceFilter.parameter_name = parameter_name
    ChoiceFilter.__name__ = ChoiceFilter.__qualname__ = f"{parameter_name.title().replace('_', '')}Filter"
    return ChoiceFilter


def not_current_filter(state_field: str, title: str = "current") -> type[admin.SimpleListFilter]:
    """Current or not current, on whichever field holds the board's state."""
    current = Q(**{state_field: InventoryState.CURRENT})
    return yes_no_filter(title, "current", {"no": ("Not current", ~current), "yes": ("Current", current)})


NotCurrentFilter = not_current_filter("state")
EnvironmentNotCurrentFilter = not_current_filter("inventory__state")
TransitionNotCurrentFilter = not_current_filter("to_state", title="ended current")

# Freshness is derived at read time: filter on the ``freshness_value`` annotation.
FreshnessFilter = yes_no_filter(
    "freshness", "freshness", {value: (label, Q(freshness_value=value)) for value, label in Freshness.choices}
)

AcknowledgedFilter = yes_no_filter(
    "acknowledged",
    "acknowledged",
    {
        "yes": ("Acknowledged", Q(acknowledged_at__isnull=False)),
        "no": ("Not acknowledged", Q(acknowledged_at__isnull=True)),
    },
)

# Whether a deployment record is its environment's current deployment (the ``is_current`` annotation).
CurrentDeploymentFilter = yes_no_filter(
    "current deployment",
    "pointer",
    {"current": ("Current deployment", Q(is_current=True)), "not_current": ("Not current", Q(is_current=False))},
)
