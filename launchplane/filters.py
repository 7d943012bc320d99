"""Filter building blocks shared by every app's FilterSets (API lists, operator pages and the admin).

One contract for every list (PRODUCT.md rule 13): an empty value (``?context=``) means no filter; a
value that is not one of a filter's choices, not a boolean or not a timestamp is an error naming the
filter (400), never silently ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime

import django_filters
from django import forms
from django.utils.dateparse import parse_datetime
from django_filters import IsoDateTimeFilter
from django_filters.fields import IsoDateTimeField

from launchplane.api.fields import (
    IDENTIFIER_FORMAT,
    IDENTIFIER_HELP,
    IDENTIFIER_PATTERN,
    identifier_problem,
    is_naive,
)

FIRST_INSTANT = datetime.min.replace(tzinfo=UTC)
LAST_INSTANT = datetime.max.replace(tzinfo=UTC)


def parse_bound(value: object) -> datetime | None:
    """A filter bound: any ISO 8601 timestamp with a timezone, as UTC; None when it is not one. Unlike
    evidence (1970 to 9000), a bound needs no limit: one whose UTC value falls before year 1 or after
    year 9999 is the first or last instant, which selects the same rows, and every database compares
    those."""
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return FIRST_INSTANT if parsed.year == datetime.min.year else LAST_INSTANT


class BoundedIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 with a timezone, converted to UTC (beyond years 1-9999 UTC: the first or last instant)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        parsed = parse_bound(value)
        if parsed is None:
            raise forms.ValidationError(
                "Give a timezone (for example 2026-11-27T12:00:00Z)."
                if is_naive(value)
                else "Use ISO 8601 with a timezone, for example 2026-11-27T12:00:00Z.",
                code="invalid",
            )
        return parsed


class BoundedIsoDateTimeFilter(IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class StrictNullBooleanField(forms.NullBooleanField):
    """``true`` or ``false`` (empty: no filter). Django's field reads anything else as "unknown",
    which would silently drop the filter."""

    TRUE, FALSE = ("true", "True", "1"), ("false", "False", "0")
    widget = forms.TextInput  # NullBooleanSelect reads an unknown value as "unknown" before we see it

    def to_python(self, value):
        if isinstance(value, bool):
            return value
        if value in (None, ""):
            return None
        if value in self.TRUE:
            return True
        if value in self.FALSE:
            return False
        raise forms.ValidationError("Use true or false.", code="invalid")

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictNullBooleanField


class EmptyMeansAllMultipleChoiceField(django_filters.fields.MultipleChoiceField):
    """``?state=`` (an empty value) is no filter, like every other filter; ``?state=a&state=`` is ``a``."""

    def clean(self, value):
        if value:
            value = [item for item in value if item not in ("", None)]
        return super().clean(value)


class MultipleChoiceFilter(django_filters.MultipleChoiceFilter):
    """django-filter's, without its ``DISTINCT``: our choice filters are on a row's own columns, which
    cannot repeat a row. (``DISTINCT`` made every filtered list sort and de-duplicate for nothing, and
    PostgreSQL refuses it beside an ``ORDER BY`` expression bound on the server.)"""

    field_class = EmptyMeansAllMultipleChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)


class IdentifierField(forms.CharField):
    """A context, instance or artifact id to filter by, exactly as given: never trimmed (rule 13)."""

    def __init__(self, *args, **kwargs):
        kwargs["strip"] = False
        super().__init__(*args, **kwargs)

    def validate(self, value):
        super().validate(value)
        problem = identifier_problem(value) if value else None
        if problem:
            raise forms.ValidationError(problem, code="invalid")


class IdentifierFilter(django_filters.CharFilter):
    field_class = IdentifierField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The OpenAPI document (drf-spectacular reads this per filter): the serializers' identifier rule.
        schema: dict[str, object] = {
            "type": "string",
            "pattern": IDENTIFIER_PATTERN,
            "format": IDENTIFIER_FORMAT,
            "description": IDENTIFIER_HELP,
        }
        if self.extra.get("max_length"):
            schema["maxLength"] = self.extra["max_length"]
        self._spectacular_annotation = {"field": schema}


class FilterSet(django_filters.FilterSet):
    """The base of every FilterSet, so that every list reports filters it could not apply: a value
    outside the choices, and a single-valued filter given twice (``?deploy_status=a&deploy_status=b``
    would otherwise silently mean the last one)."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        getlist = getattr(self.data, "getlist", None)
        if getlist is None:
            return valid
        for name, filter_ in self.filters.items():
            if isinstance(filter_, django_filters.MultipleChoiceFilter) or name in self.form.errors:
                continue
            if len(getlist(name)) > 1:
                self.form.add_error(name, "Give this filter once (only the choice filters may repeat).")
                valid = False
        return valid

    def invalid_filters(self) -> dict[str, str]:
        """Each filter whose value was not understood, with why; empty when every value is good."""
        if self.is_valid():
            return {}
        return {name: " ".join(errors) for name, errors in self.errors.items()}
