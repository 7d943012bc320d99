"""StrictSerializer copies a leaf field shallowly where DRF would deep-copy it (launchplane/api/fields.py):
the copy must be the field DRF's copy is, and no copy may share state a request could change."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rest_framework import serializers
from rest_framework.utils.formatting import lazy_format

import bootstraps.api.serializers
import compat.api.serializers
import inventory.api.serializers  # noqa: F401  (the serializers under test are their subclasses)
from launchplane.api.fields import StrictSerializer, copies_shallowly


def subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *subclasses(sub)]
    return sorted(set(found), key=lambda c: f"{c.__module__}.{c.__qualname__}")


SERIALIZERS = [cls for cls in subclasses(StrictSerializer) if cls.__module__.split(".")[0] != "tests"]
assert bootstraps.api.serializers and compat.api.serializers


# The serializer a field is bound to (compared by the test itself), and the count DRF stamps on every
# field it constructs (it orders the declared fields of a class, once).
UNCOMPARED = {"parent", "_creation_counter"}


def state(value: Any) -> Any:
    """What a field (or a validator) holds, compared by value: DRF's validators define no equality."""
    if isinstance(value, list | tuple):
        return [state(item) for item in value]
    if isinstance(value, dict):
        return {name: state(item) for name, item in value.items()}
    if isinstance(value, lazy_format):  # a validator's message, formatted when shown
        return str(value)
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return (type(value), {name: state(item) for name, item in vars(value).items() if name not in UNCOMPARED})
    return value


@pytest.mark.parametrize("cls", SERIALIZERS, ids=lambda cls: cls.__name__)
def test_each_field_is_the_field_drf_would_copy_and_shares_nothing_a_request_changes(cls) -> None:
    ours, drfs = cls().fields, cls()
    drfs.get_fields = lambda: copy.deepcopy(drfs._declared_fields)  # DRF's own Serializer.get_fields
    theirs = drfs.fields
    assert list(ours) == list(theirs)
    for name, field in ours.items():
        prototype = cls._declared_fields[name]
        assert field is not prototype and field.parent is not None and theirs[name].parent is not None
        assert state(field) == state(theirs[name]), name
        if copies_shallowly(prototype):
            if "_validators" in vars(prototype):  # DRF appends to a field's own list (read without making one)
                assert vars(field)["_validators"] is not vars(prototype)["_validators"]
            assert prototype.field_name is None and prototype.parent is None  # the prototype is never bound


def test_the_write_serializers_copy_their_leaf_fields_shallowly() -> None:
    from inventory.api.serializers import DeploymentCreateSerializer

    fields = DeploymentCreateSerializer._declared_fields
    assert all(copies_shallowly(field) for field in fields.values())
    assert not copies_shallowly(serializers.ListField(child=serializers.CharField()))  # a child: deep
    assert not copies_shallowly(serializers.JSONField(default=[]))  # a mutable default: deep
