"""The widgets the pages render in Python (``inventory.forms.Inline*``) make the HTML Django's own
templates make, for every form that uses them, bound with and without values and errors."""

from __future__ import annotations

import copy

import pytest
from django import forms
from django.forms.boundfield import BoundField

from bootstraps.forms import ReconcileForm
from inventory.forms import (
    AcknowledgeForm,
    InlineDateTimeLocalInput,
    InlineHiddenInput,
    InlineInput,
    InlineTextarea,
    InlineTextInput,
)


def django_twin(widget: forms.Widget) -> forms.Widget:
    """The same widget as Django's own class renders it, through its template."""
    if isinstance(widget, InlineTextarea):
        return forms.Textarea(attrs=widget.attrs)
    if isinstance(widget, InlineDateTimeLocalInput):
        twin = forms.DateTimeInput(attrs=widget.attrs, format=widget.format)
        twin.input_type = "datetime-local"
        return twin
    if isinstance(widget, InlineHiddenInput):
        return forms.HiddenInput(attrs=widget.attrs)
    assert isinstance(widget, InlineTextInput), type(widget)
    return forms.TextInput(attrs=widget.attrs)


FORMS = [
    AcknowledgeForm(environment_key="env7"),
    AcknowledgeForm({"note": 'a "quoted" <note> & more', "until": "2026-12-02T14:30"}, environment_key="env7"),
    AcknowledgeForm({"note": "", "until": "not a time"}),
    ReconcileForm(initial={"operation_id": "op-1"}, environment_key="3"),
    ReconcileForm(
        {"provider_state": "completed", "inspected_at": "2026-12-02T14:30", "evidence_reference": "<x>", "note": "n"}
    ),
]


@pytest.mark.parametrize("form", FORMS, ids=lambda form: f"{type(form).__name__}-{'bound' if form.is_bound else 'new'}")
def test_inline_widgets_render_what_djangos_templates_render(form: forms.Form) -> None:
    checked = 0
    for bound in form:
        widget = bound.field.widget
        if not isinstance(widget, InlineInput | InlineTextarea):
            continue
        field = copy.deepcopy(bound.field)
        field.widget = django_twin(widget)
        assert str(bound) == str(BoundField(form, field, bound.name)), bound.name
        checked += 1
    assert checked, "a form here uses no inline widget"
