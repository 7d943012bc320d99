"""Serializer building blocks: strict field sets and timezone-aware timestamps."""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from rest_framework import serializers

UNSET = object()


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know, at every level where it is used."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an explicit timezone (``Z`` or ``+hh:mm``); naive timestamps are refused."""

    default_error_messages = {
        "naive": "Give a timezone (for example 2026-11-27T12:00:00Z).",
        "invalid": "Use ISO 8601 with a timezone, for example 2026-11-27T12:00:00Z.",
    }

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid")
        parsed = parse_datetime(value.strip())
        if parsed is None:
            self.fail("invalid")
        if parsed.tzinfo is None:
            self.fail("naive")
        return parsed


class NullableJSONField(serializers.JSONField):
    """A JSON value where an explicit ``null`` is kept apart from leaving the field out."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        if data is None:
            return (True, None)
        return super().validate_empty_values(data)


class StrictCharField(serializers.CharField):
    """A JSON string; numbers and booleans are not silently turned into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer; strings, floats and booleans are refused."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON ``true`` or ``false`` only."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictChoiceField(serializers.ChoiceField):
    """A choice given as a JSON string."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)
