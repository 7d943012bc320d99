"""Serializer building blocks: strict field sets and timezone-aware timestamps."""

from __future__ import annotations

import copy
import re
import unicodedata
from datetime import UTC, datetime
from enum import Enum
from typing import Any, cast

from django.conf import settings
from django.utils.dateparse import parse_datetime
from rest_framework import ISO_8601, serializers
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings

# Evidence timestamps are written with a year from 1970 to 8999 (any offset): others are never real
# evidence, and databases (or Python's UTC conversion) cannot store the far ends. The year as written,
# not as UTC, so that the OpenAPI document can say the same with a pattern (``EVIDENCE_TIME_PATTERN``).
EARLIEST_YEAR = 1970
LATEST_YEAR = 8999
EVIDENCE_TIME_PATTERN = "^(19[7-9][0-9]|[2-8][0-9]{3})-"
EVIDENCE_TIME_HELP = "ISO 8601 with a timezone, written with a year from 1970 to 8999."


def parse_aware(value: object) -> datetime | None:
    """An ISO 8601 string with a timezone and a year from 1970 to 8999 as written, as UTC; None when it
    is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        return None
    if parsed is None or parsed.tzinfo is None or not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        return None
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def contains_unstorable(value: Any) -> bool:
    """Whether a JSON value holds a NUL or a lone surrogate anywhere: neither is valid text in UTF-8
    or in PostgreSQL, so they are refused rather than half-stored. Walked without recursion: however
    deep a value is, this never exhausts the stack (the parser bounds depth too)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if UNSTORABLE.search(item) is not None:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


# Fields whose state after construction is a function of their arguments and holds no other field:
# no child, no nested serializer (ListField, DictField and serializers are not among them).
LEAF_FIELDS = (
    serializers.CharField,  # RegexField, EmailField, URLField and ours among them
    serializers.ChoiceField,
    serializers.DateTimeField,
    serializers.IntegerField,
    serializers.FloatField,
    serializers.BooleanField,
    serializers.JSONField,
)
# Arguments DRF itself shares between copies (validators, regex) or that the field only reads to build
# its own state (Field its own ``error_messages`` dict, ChoiceField its own dicts of ``choices``).
SHARED_ARGUMENTS = frozenset({"validators", "regex", "choices", "error_messages"})


def immutable(value: object) -> bool:
    """Whether nothing a request does could change ``value`` (so copies may share it)."""
    if value is None or isinstance(value, bool | int | float | str | bytes | Enum | re.Pattern):
        return True
    return isinstance(value, tuple | frozenset) and all(immutable(item) for item in value)


def copies_shallowly(field: serializers.Field) -> bool:
    """Whether a shallow copy of this declared (never bound) field is the copy DRF would make.

    DRF copies a declared field by constructing it again from deep copies of the arguments it was
    constructed with (``Field.__deepcopy__``): for a leaf field constructed from immutable arguments
    only, that is a field in the same state as the prototype, which a shallow copy gives without
    constructing anything — given its own list of validators, the one state DRF appends to."""
    args: tuple[object, ...] = vars(field).get("_args", ())  # DRF's record of them (Field.__new__)
    kwargs: dict[str, object] = vars(field).get("_kwargs", {})
    return (
        isinstance(field, LEAF_FIELDS)
        and type(field).__deepcopy__ is serializers.Field.__deepcopy__
        and all(immutable(item) for item in args)
        and all(name in SHARED_ARGUMENTS or immutable(value) for name, value in kwargs.items())
    )


def shallow_copy(field: serializers.Field) -> serializers.Field:
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    if "_validators" in field.__dict__:
        clone.__dict__["_validators"] = list(field.__dict__["_validators"])
    return clone


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know, at every level where it is used.

    Its fields are copied from the declared ones as DRF does, but a leaf field constructed from
    immutable arguments is copied shallowly (``copies_shallowly``): DRF's ``deepcopy`` of every
    declared field, arguments and all, was a tenth of a write's Python calls (docs/performance.md).
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        cls = type(self)
        plan = cls.__dict__.get("_copy_plan")
        if plan is None:  # a race works the same plan out twice
            plan = [(name, field, copies_shallowly(field)) for name, field in self._declared_fields.items()]
            cls._copy_plan = plan  # type: ignore[attr-defined]
        return {name: shallow_copy(field) if shallow else copy.deepcopy(field) for name, field, shallow in plan}

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
        "invalid": "Use ISO 8601 with a timezone, for example 2026-11-27T12:00:00Z, with a year from 1970 to 8999.",
    }

    def to_internal_value(self, value):
        parsed = parse_aware(value)
        if parsed is None:
            self.fail("naive" if is_naive(value) else "invalid")
        return parsed


class NullableJSONField(serializers.JSONField):
    """A JSON value where an explicit ``null`` is kept apart from leaving the field out."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    default_error_messages = {"unstorable": "Text may not contain NUL characters or lone surrogates."}

    def validate_empty_values(self, data):
        if data is None:
            return (True, None)
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        if contains_unstorable(data):
            self.fail("unstorable")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string; numbers and booleans are not silently turned into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    """A JSON string matching a pattern, exactly as sent: numbers are not turned into text and
    whitespace is not trimmed (``"abc\n"`` is refused, not read as ``abc``)."""

    def __init__(self, regex, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(regex, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# Cc control, Cf format (U+200B, U+FEFF, U+202E ...), Cs surrogates, Co private use, Cn unassigned,
# Zl/Zp line and paragraph separators: nothing invisible may hide in an identifier.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def identifier_problem(value: str) -> str | None:
    """Why ``value`` cannot be an identifier, or None. Identifiers are compared as exact strings, so no
    leading or trailing whitespace (any Unicode space) and no control, format, separator, private or
    unassigned code point anywhere."""
    if value and (value[0].isspace() or value[-1].isspace()):
        return "Remove the leading or trailing whitespace: identifiers are taken exactly as sent."
    for char in value:
        if unicodedata.category(char) in INVISIBLE_CATEGORIES:
            return f"Identifiers may not contain control or invisible characters (U+{ord(char):04X})."
    return None


# What OpenAPI can say compactly about an identifier (rule 13): no leading or trailing whitespace and no
# control character (C0, DEL, C1, U+2028/U+2029). The full rule (no format, private-use or unassigned
# code point either) is the ``identifier`` format, described where the pattern is used.
_EDGE = "\\s\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029"
_INNER = "\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029"
IDENTIFIER_PATTERN = f"^(?:[^{_EDGE}](?:[^{_INNER}]*[^{_EDGE}])?)?$"
IDENTIFIER_FORMAT = "identifier"
IDENTIFIER_HELP = (
    "Taken exactly as sent: no leading or trailing whitespace, and no control, format (U+200B, U+FEFF, "
    "U+202E ...), line or paragraph separator, private-use or unassigned code point anywhere."
)


class UniqueChoiceListField(serializers.ListField):
    """A list of choices, each at most once (the schema says ``uniqueItems``)."""

    default_error_messages = {"duplicate": "List each value once."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if len(set(value)) != len(value):
            self.fail("duplicate")
        return value


class IdentifierField(StrictCharField):
    """An identifier (artifact id, git ref, image digest) taken exactly as sent or refused (rule 13):
    identities are compared as exact strings, so a silent trim would make a runtime that reports the
    padded value read as a mismatch — or hide one."""

    def __init__(self, **kwargs):
        kwargs["trim_whitespace"] = False
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        problem = identifier_problem(value)
        if problem:
            raise serializers.ValidationError(problem, code="invalid")
        return value


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


def is_naive(value: object) -> bool:
    """A well-formed ISO 8601 timestamp that only lacks its timezone."""
    try:
        parsed = parse_datetime(value.strip()) if isinstance(value, str) else None
    except ValueError:
        return False
    return parsed is not None and parsed.tzinfo is None


RepresentationPlan = list[tuple[str, serializers.Field, str]]


def representation_plan(cls: type[serializers.Serializer]) -> RepresentationPlan:
    """The readable fields of a serializer class, bound once to a prototype instance of it, each with
    how it is represented: ``method`` (a ``SerializerMethodField``: called on the serializer at hand),
    ``nested`` (a nested serializer), ``datetime`` (an ISO 8601 ``DateTimeField`` in a UTC project: the
    value in UTC with ``Z``, as DRF writes it, without asking for the current timezone each time) or
    ``field``."""
    plan = cls.__dict__.get("_representation_plan")
    if plan is None:
        plan = []
        for field in cls(context={})._readable_fields:
            if isinstance(field, serializers.SerializerMethodField):
                kind = "method"
            elif isinstance(field, serializers.BaseSerializer) and not isinstance(field, serializers.ListSerializer):
                kind = "nested"
            elif type(field) is serializers.DateTimeField and iso_utc(field):
                kind = "datetime"
            else:
                kind = "field"
            plan.append((field.field_name, field, kind))
        cls._representation_plan = plan  # type: ignore[attr-defined]  # a race builds the same list twice
    return plan


def iso_utc(field: serializers.DateTimeField) -> bool:
    """Whether DRF would write this field's values as ISO 8601 in UTC (the project never activates
    another timezone)."""
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    return (
        output_format == ISO_8601
        and getattr(field, "timezone", None) is None
        and settings.USE_TZ
        and settings.TIME_ZONE == "UTC"
    )


def represent(cls: type, instance: Any, serializer: Any, context: dict[str, Any]) -> dict[str, Any]:
    """DRF's ``Serializer.to_representation`` over the class's prototype fields. ``serializer`` is the
    instance whose methods answer ``SerializerMethodField``s; a nested serializer without any is
    represented without being instantiated."""
    output: dict[str, Any] = {}
    for name, field, kind in representation_plan(cls):
        if kind == "method":
            if serializer is None:
                serializer = cls(context=context)
            output[name] = getattr(serializer, field.method_name)(instance)  # type: ignore[attr-defined]
            continue
        try:
            attribute = field.get_attribute(instance)
        except serializers.SkipField:
            continue
        if (attribute.pk if isinstance(attribute, PKOnlyObject) else attribute) is None:
            output[name] = None
        elif kind == "datetime" and isinstance(attribute, datetime):
            text = (attribute.astimezone(UTC) if attribute.tzinfo else attribute).isoformat()
            output[name] = text[:-6] + "Z" if text.endswith("+00:00") else text
        elif kind == "nested":
            nested = type(field)
            if issubclass(nested, FastRepresentation):
                output[name] = represent(nested, attribute, None, context)
            else:
                output[name] = cast(type[serializers.BaseSerializer], nested)(context=context).to_representation(
                    attribute
                )
        else:
            output[name] = field.to_representation(attribute)
    return output


class FastRepresentation:
    """Answers represented from fields bound once per class. DRF builds and binds a serializer's fields
    for every instance it serializes (a ``deepcopy`` of each declared field, a ``ModelSerializer``'s
    model introspection), which was a fifth of a read model request; representing a value needs none of
    that, only each field's ``get_attribute`` and ``to_representation``, which do not change the field
    (``represent``). For serializers of answers only (never input): their fields must not depend on the
    instance or the context."""

    context: dict[str, Any]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return represent(type(self), instance, self, self.context)


class AnswerSerializer(FastRepresentation, serializers.Serializer):
    """A plain serializer of answers (nested summaries), represented the fast way."""


class ReadModelSerializer(FastRepresentation, serializers.ModelSerializer):
    """A ``ModelSerializer`` for answers only, whose fields are worked out from the model once per class
    instead of once per instance. DRF rebuilds a ModelSerializer's fields (model introspection, one
    field at a time) every time one is instantiated, and a write's answer instantiates four; here each
    instance gets a fresh copy of the class's fields (DRF's own ``deepcopy``, as it does for declared
    fields), which is a fraction of the cost. For serializers whose fields do not depend on the instance
    or the context — answers and read models, never input."""

    def get_fields(self) -> dict[str, serializers.Field]:
        cls = type(self)
        prototype = cls.__dict__.get("_field_prototypes")
        if prototype is None:
            prototype = super().get_fields()
            cls._field_prototypes = prototype  # type: ignore[attr-defined]
        return copy.deepcopy(prototype)
