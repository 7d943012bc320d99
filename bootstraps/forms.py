"""The reconcile form (rule 16). It collects input; ``bootstraps.services.reconcile`` decides."""

from __future__ import annotations

from typing import Any

from django import forms

from bootstraps.choices import ProviderState
from bootstraps.models import validate_evidence_reference
from bootstraps.services.reconciliation import NOTE_MAX_LENGTH
from inventory.forms import InlineHiddenInput, InlineTextarea, InlineTextInput, UTCDateTimeLocalField


class ReconcileForm(forms.Form):
    """What a reviewer found by inspecting the provider about the bootstrap the page showed."""

    provider_state = forms.ChoiceField(
        choices=ProviderState.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what the provider shows: completed, not started or partial."},
    )
    inspected_at = UTCDateTimeLocalField(
        label="Inspected at (UTC)",
        help_text="When you looked at the provider, in UTC (not your local time). Not in the future, and not "
        "before the bootstrap started.",
        error_messages={
            "required": "Say when you inspected the provider.",
            "invalid": "Enter a date and time, such as 2026-12-02T14:30 (UTC).",
        },
    )
    evidence_reference = forms.CharField(
        label="Evidence",
        max_length=500,
        widget=InlineTextInput,
        strip=False,  # rule 13: kept exactly as typed, or refused
        validators=[validate_evidence_reference],
        help_text="A link to the provider's job or log, or a ticket id. Kept exactly as typed.",
        error_messages={"required": "Give a link or a ticket id for what you inspected."},
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=InlineTextarea(attrs={"rows": 2}),
        help_text="Optional: what you saw.",
    )
    operation_id = forms.CharField(required=False, widget=InlineHiddenInput, max_length=128)

    def __init__(self, *args: Any, environment_key: str = "", **kwargs: Any) -> None:
        # Several forms may share the review page; a per-environment id keeps their labels unique.
        kwargs.setdefault("auto_id", f"id_rec_{environment_key}_%s" if environment_key else "id_rec_%s")
        super().__init__(*args, **kwargs)
