"""Forms for the operator pages. They collect input; the services decide what it does."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.forms.widgets import Input
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe


def attributes_html(attrs: dict[str, Any]) -> SafeString:
    """What ``django/forms/widgets/attrs.html`` makes of a widget's attributes, in their order: ``True``
    is a bare name, ``False`` is left out (``flatatt`` sorts them, so it is not the same HTML). Values
    are escaped as ``conditional_escape`` would, without its lazy-string checks on every call."""
    parts = []
    for name, value in attrs.items():
        if value is True:
            parts.append(f" {html.escape(name)}")
        elif value is not False:
            shown = value.__html__() if hasattr(value, "__html__") else html.escape(str(value))
            parts.append(f' {html.escape(name)}="{shown}"')
    return mark_safe("".join(parts))


class InlineTextarea(forms.Textarea):
    """Django's ``Textarea``, rendered by a Python function instead of its template: the review queue
    shows one form per environment, and fifty template renders were a third of the page's time. The
    HTML is the same as ``django/forms/widgets/textarea.html`` makes (boolean attributes included)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        return format_html(
            '<textarea name="{}"{}>\n{}</textarea>',
            widget["name"],
            attributes_html(widget["attrs"]),
            widget["value"] or "",
        )


class InlineInput(Input):
    """Django's ``<input>`` widgets rendered by a Python function, for the same reason as
    ``InlineTextarea`` (the queue has several per environment); the HTML is Django's ``input.html``'s."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        shown = format_html(' value="{}"', widget["value"]) if widget["value"] is not None else ""
        return format_html(
            '<input type="{}" name="{}"{}{}>', widget["type"], widget["name"], shown, attributes_html(widget["attrs"])
        )


class InlineTextInput(InlineInput, forms.TextInput):
    pass


class InlineHiddenInput(InlineInput, forms.HiddenInput):
    pass


class InlineDateTimeLocalInput(InlineInput, forms.DateTimeInput):
    input_type = "datetime-local"


DATETIME_LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


class UTCDateTimeLocalField(forms.DateTimeField):
    """A browser's ``datetime-local`` value (no zone) read as UTC, whatever the server's time zone: the
    page says so beside the field, so the same value means the same moment for every reviewer."""

    widget = InlineDateTimeLocalInput(attrs={"step": 60}, format="%Y-%m-%dT%H:%M")

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        text = str(value).strip()
        for pattern in DATETIME_LOCAL_FORMATS:
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=UTC)
            except ValueError:
                continue
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class AcknowledgeForm(forms.Form):
    """A reviewer's note for ``inventory.services.acknowledge`` (required, never blank) and an optional
    snooze: the service decides whether ``until`` is acceptable (in the future, at most 7 days ahead)."""

    note = forms.CharField(
        label="Note",
        max_length=2000,
        widget=InlineTextarea(attrs={"rows": 2}),
        help_text="What you checked or what happens next. The next change of state clears it.",
        error_messages={"required": "Write a note: an acknowledgement says why the state is acceptable for now."},
    )
    until = UTCDateTimeLocalField(
        label="Snooze until (UTC)",
        required=False,
        help_text="Optional, in UTC (not your local time): leave the queue until then, at most 7 days ahead. "
        "The environment comes back sooner if its state changes.",
        error_messages={"invalid": "Enter a date and time, such as 2026-12-02T14:30 (UTC)."},
    )

    def __init__(self, *args, environment_key: str = "", **kwargs) -> None:
        # Several forms share the review page; a per-environment prefix keeps their ids unique.
        kwargs.setdefault("auto_id", f"id_{environment_key}_%s" if environment_key else "id_%s")
        super().__init__(*args, **kwargs)
