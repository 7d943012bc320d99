"""Forms for the operator pages. They collect input; the services decide what it does."""

from __future__ import annotations

from django import forms


class AcknowledgeForm(forms.Form):
    """A reviewer's note for ``inventory.services.acknowledge``: required, never blank."""

    note = forms.CharField(
        label="Note",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What you checked or what happens next. The next change of state clears it.",
        error_messages={"required": "Write a note: an acknowledgement says why the state is acceptable for now."},
    )

    def __init__(self, *args, environment_key: str = "", **kwargs) -> None:
        # Several forms share the review page; a per-environment prefix keeps their ids unique.
        kwargs.setdefault("auto_id", f"id_{environment_key}_%s" if environment_key else "id_%s")
        super().__init__(*args, **kwargs)
