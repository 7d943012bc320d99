"""Forms for the operator pages. They collect input; the services decide what it does."""

from __future__ import annotations

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html


class InlineTextarea(forms.Textarea):
    """Django's ``Textarea``, rendered by a Python function instead of its template: the review queue
    shows one form per environment, and fifty template renders were a third of the page's time. The
    HTML is the same as ``django/forms/widgets/textarea.html`` makes (boolean attributes included)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        return format_html(
            '<textarea name="{}"{}>\n{}</textarea>', widget["name"], flatatt(widget["attrs"]), widget["value"] or ""
        )


class AcknowledgeForm(forms.Form):
    """A reviewer's note for ``inventory.services.acknowledge``: required, never blank."""

    note = forms.CharField(
        label="Note",
        max_length=2000,
        widget=InlineTextarea(attrs={"rows": 2}),
        help_text="What you checked or what happens next. The next change of state clears it.",
        error_messages={"required": "Write a note: an acknowledgement says why the state is acceptable for now."},
    )

    def __init__(self, *args, environment_key: str = "", **kwargs) -> None:
        # Several forms share the review page; a per-environment prefix keeps their ids unique.
        kwargs.setdefault("auto_id", f"id_{environment_key}_%s" if environment_key else "id_%s")
        super().__init__(*args, **kwargs)
