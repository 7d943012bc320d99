"""The one status badge, for the admin and the pages alike.

Every status is rendered by ``templates/includes/status_badge.html``. Python callers (admin columns)
use ``render_badge`` / ``field_badge``; templates use ``{% status_badge obj "state" %}`` and
``{% freshness_badge value %}``. Colours come from the models' ``get_<field>_color()`` methods or the
colour maps in ``inventory.choices``; the label is always shown as text, so colour never carries
meaning alone.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import cast

from django import template
from django.conf import settings
from django.db import models
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from inventory.choices import Freshness
from inventory.models import EnvironmentInventory

register = template.Library()

BADGE_TEMPLATE = "includes/status_badge.html"
# The colours the stylesheet knows (launchplane/static/launchplane/status_badges.css).
BADGE_COLORS = frozenset({"green", "red", "amber", "orange", "purple", "blue", "grey"})


def render_badge(value: str, *, label: str | None = None, color: str = "grey", field: str = "") -> SafeString:
    """HTML for one badge: ``label`` (the value itself when not given) in ``color``.

    ``field`` names what the value is ("state", "health status") for the title and screen readers.
    """
    label = label if label is not None else str(value).replace("_", " ")
    color = color if color in BADGE_COLORS else "grey"
    if settings.DEBUG:  # a template being edited shows at once
        return _render(str(value), str(label), color, field)
    return _cached_render(str(value), str(label), color, field)


def _render(value: str, label: str, color: str, field: str) -> SafeString:
    context = {"value": value, "label": label, "color": color, "field": field}
    return mark_safe(render_to_string(BADGE_TEMPLATE, context).strip())


# A badge is a pure function of its four strings, and there are a few hundred of them: a board page
# shows eight per row, so each is rendered once per process instead of once per row.
_cached_render = functools.lru_cache(maxsize=2048)(_render)


def field_badge(obj: models.Model, name: str, colors: Mapping[str, str] | None = None) -> SafeString:
    """The badge for a status field of ``obj``, coloured by ``obj.get_<name>_color()``.

    Models without such a method for a field (transitions, observations) pass their colour map.
    """
    value = getattr(obj, name)
    field = cast(models.Field, obj._meta.get_field(name))
    label = dict(field.flatchoices).get(value, value)
    color = colors.get(value, "grey") if colors is not None else getattr(obj, f"get_{name}_color")()
    return render_badge(value, label=str(label), color=color, field=str(field.verbose_name))


def freshness_badge(value: str) -> SafeString:
    """The badge for a freshness value (derived at read time, so not a model field)."""
    return render_badge(
        value, label=Freshness(value).label, color=EnvironmentInventory.get_freshness_color(value), field="freshness"
    )


@register.simple_tag(name="status_badge")
def status_badge_tag(obj: models.Model, name: str) -> SafeString:
    """``{% status_badge inventory "state" %}``"""
    return field_badge(obj, name)


@register.simple_tag(name="freshness_badge")
def freshness_badge_tag(value: str | None) -> SafeString:
    """``{% freshness_badge inventory.freshness_value %}``; nothing when there is no value."""
    return freshness_badge(value) if value else mark_safe("")


def badge_column(name: str, description: str, *, sortable: bool = True):
    """An admin ``list_display`` / ``readonly_fields`` column rendering field ``name`` as its badge."""

    def column(admin_instance, obj: models.Model) -> SafeString:
        return field_badge(obj, name)

    column.short_description = description  # type: ignore[attr-defined]
    if sortable:
        column.admin_order_field = name  # type: ignore[attr-defined]
    return column
