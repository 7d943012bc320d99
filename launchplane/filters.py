"""Filter building blocks shared by every app's FilterSets."""

from django import forms
from django_filters import IsoDateTimeFilter
from django_filters.fields import IsoDateTimeField

from launchplane.api.fields import parse_aware


class BoundedIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 with a timezone, converted to UTC and kept within the range any database stores."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        parsed = parse_aware(value)
        if parsed is None:
            raise forms.ValidationError(
                "Use ISO 8601 with a timezone, for example 2026-11-27T12:00:00Z, between 1970 and 9000.",
                code="invalid",
            )
        return parsed


class BoundedIsoDateTimeFilter(IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField
