"""CompiledSaves (launchplane/compiled.py): a model's saves send statements written once per connection.
Both paths — those statements and Django's own compiled queries — must store the same rows and fail the
same way."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, connection, connections, models, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bootstraps.models import BootstrapOperation
from inventory.models import DeploymentRecord, EnvironmentInventory, InventoryTransition, RuntimeObservation
from launchplane import compiled
from launchplane.models import IdempotencyKey
from tests.factories import T0, busy_environment, deploy, inventory_of, make_environment

pytestmark = pytest.mark.django_db

SAVED = [DeploymentRecord, RuntimeObservation, BootstrapOperation, InventoryTransition, EnvironmentInventory]


class Rollback(Exception):
    pass


def generated(field: models.Field) -> bool:
    """Values neither path chooses: keys the database numbers, and defaults drawn at save time."""
    return (
        field.primary_key
        or isinstance(field, models.ForeignKey)
        or (field.has_default() and callable(field.default))
        or getattr(field, "auto_now", False)
        or getattr(field, "auto_now_add", False)
    )


NAMED = re.compile(r"\b(op-[0-9a-f]{20}|rec-\d+)\b")  # the names the scenario draws afresh each time


def normalised(value: Any, names: dict[str, str]) -> Any:
    """``value`` with each drawn name replaced by its order of appearance, and ids and the clock's
    reading by a word: what is left is what the save path could change."""
    if isinstance(value, str) and value.isdigit():  # a row's id as text (an observation's cause_id)
        return "an id"
    if isinstance(value, str):
        return NAMED.sub(lambda match: names.setdefault(match.group(0), f"name-{len(names)}"), value)
    if isinstance(value, dict):
        return {key: normalised(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [normalised(item, names) for item in value]
    if isinstance(value, datetime) and abs(value - timezone.now()) < timedelta(minutes=5):
        return "now"
    return value


def busy_rows() -> dict[str, list[Any]]:
    """The rows busy_environment() stores, every column but the generated ones, then rolled back."""
    rows: dict[str, list[Any]] = {}
    names: dict[str, str] = {}
    try:
        with transaction.atomic():
            busy_environment("cm", "prod", now=T0)
            for model in SAVED:
                columns = [field.attname for field in model._meta.concrete_fields if not generated(field)]
                assert len(columns) >= 5, (model, columns)  # values() of no column would be every column
                stored = model.objects.order_by("pk").values(*columns)
                rows[model.__name__] = [normalised(row, names) for row in stored]
            raise Rollback
    except Rollback:
        pass
    return rows


def test_both_paths_store_the_same_rows(monkeypatch) -> None:
    ours = busy_rows()
    monkeypatch.setattr(compiled, "_statement", lambda connection, key: None)  # Django's own path only
    djangos = busy_rows()
    assert all(ours[name] for name in ours)  # the scenario saved something of each
    assert ours == djangos


def test_each_statement_is_written_once_and_an_insert_is_the_one_django_writes(monkeypatch) -> None:
    environment = make_environment()
    with CaptureQueriesContext(connection) as ours:
        deploy(environment, "dep-1")
    monkeypatch.setattr(compiled, "_statement", lambda connection, key: None)
    with CaptureQueriesContext(connection) as djangos:
        deploy(environment, "dep-2")
    inserts = [[q["sql"].split(" VALUES")[0] for q in run if q["sql"].startswith("INSERT")] for run in (ours, djangos)]
    assert inserts[0] == inserts[1] and inserts[0]
    cache = connections["default"].__dict__[compiled.SAVES_ATTRIBUTE]
    assert ("insert", DeploymentRecord) in {key[:2] for key in cache}


def test_an_update_of_a_row_that_is_gone_is_refused_as_django_refuses_it() -> None:
    environment = make_environment()
    inventory = inventory_of(environment)
    EnvironmentInventory.objects.filter(pk=inventory.pk).delete()
    inventory.state_reason = "gone"
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        inventory.save(update_fields=["state_reason"])


def test_an_expression_goes_through_django_and_is_applied() -> None:
    environment = make_environment()
    inventory = inventory_of(environment)
    before = inventory.last_sequence
    inventory.last_sequence = F("last_sequence") + 5
    inventory.save(update_fields=["last_sequence"])
    assert inventory_of(environment).last_sequence == before + 5


def test_a_unique_violation_is_djangos_integrity_error_and_nothing_is_stored() -> None:
    environment = make_environment()
    first = deploy(environment, "dep-1").record
    twin = DeploymentRecord(**{f.attname: getattr(first, f.attname) for f in DeploymentRecord._meta.concrete_fields})
    twin.pk, twin.sequence = None, first.sequence + 100
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()
    assert DeploymentRecord.objects.filter(record_id="dep-1").count() == 1


def test_an_insert_sets_the_key_the_database_returned() -> None:
    now = T0
    key = IdempotencyKey.objects.create(
        owner="client:1", key="k-1", fingerprint="f", created_at=now, expires_at=now + timedelta(days=1)
    )
    assert key.pk is not None and IdempotencyKey.objects.get(pk=key.pk).key == "k-1"
    assert not key._state.adding
