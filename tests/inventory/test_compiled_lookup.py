"""Queries compiled once (``launchplane.compiled.CompiledLookup``) build exactly the objects Django's
``QuerySet`` builds: every loaded field of the inventory and of each record it points at, the same fields
deferred, and the same answer; the environment, the API client and the row lock likewise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.api.serializers import EnvironmentSerializer
from inventory.models import Environment, EnvironmentInventory
from inventory.models.queries import READ_MODEL_BY_ID, READ_MODEL_BY_PAIR, RELATED
from inventory.services import acknowledge, lock_inventory
from inventory.services.environments import ENVIRONMENT_BY_PAIR
from inventory.services.transitions import LOCK_BY_ID
from launchplane.api.auth import CLIENT_BY_TOKEN
from launchplane.compiled import CompiledLookup
from launchplane.models import ApiClient
from notifications.models import WebhookSubscription
from notifications.services.outbox import ACTIVE_SUBSCRIPTIONS
from tests.api.conftest import make_caller
from tests.factories import bootstrap_once, deploy, finish, make_environment, passing_result, start, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def varied(admin_user) -> list:
    """Untouched, deployed, partly bootstrapped and acknowledged, mid-bootstrap after a failed deploy, settled."""
    now = timezone.now()
    empty = make_environment("cm", "empty")
    deployed = make_environment("cm", "deployed")
    deploy(deployed)
    partial = make_environment("cm", "partial")
    deploy(partial)
    bootstrap_once(
        partial, passing_result(partial, bootstrap_run_status="fail", data_mutated=True, post_deploy_status="not_run")
    )
    acknowledge(partial, user=admin_user, note="looking at it")
    busy = make_environment("other", "busy")
    deploy(busy, deploy_status="fail", identity=None)
    start(busy, now=now - timedelta(minutes=5))
    settled = make_environment("cm", "settled")
    deploy(settled)
    finish(start(settled), passing_result(settled))
    return [empty, deployed, partial, busy, settled]


def loaded(obj) -> dict[str, object]:
    """Every field Django loaded on ``obj`` (deferred ones are absent from ``__dict__``), and which are deferred."""
    values = {
        field.attname: obj.__dict__[field.attname]
        for field in obj._meta.concrete_fields
        if field.attname in obj.__dict__
    }
    return {"values": values, "deferred": sorted(obj.get_deferred_fields())}


def the_same(compiled: EnvironmentInventory, orm: EnvironmentInventory) -> None:
    assert type(compiled) is type(orm)
    assert loaded(compiled) == loaded(orm)
    for name in RELATED[1:]:  # the environment: by pair only (below)
        ours, theirs = getattr(compiled, name), getattr(orm, name)
        assert (ours is None) == (theirs is None), name
        if ours is not None:
            assert loaded(ours) == loaded(theirs), name
    assert compiled._state.db == orm._state.db and compiled._state.adding is orm._state.adding is False


def test_a_lookup_by_id_builds_the_objects_the_orm_builds(varied) -> None:
    for environment in varied:
        orm = EnvironmentInventory.objects.for_read_model(environment=False).get(pk=environment.pk)
        with CaptureQueriesContext(connection) as captured:
            compiled = READ_MODEL_BY_ID.first(environment.pk)
            the_same(compiled, orm)  # and no related object needed a query of its own
        assert len(captured.captured_queries) == 1, environment


def test_a_lookup_by_pair_builds_the_objects_and_the_answer_the_orm_builds(varied) -> None:
    now = timezone.now()
    for environment in varied:
        orm = EnvironmentInventory.objects.for_read_model().get(
            environment__context=environment.context, environment__instance=environment.instance
        )
        compiled = READ_MODEL_BY_PAIR.first(environment.context, environment.instance)
        the_same(compiled, orm)
        assert loaded(compiled.environment) == loaded(orm.environment)
        answer = EnvironmentSerializer(compiled, context={"now": now}).data
        assert answer == EnvironmentSerializer(orm, context={"now": now}).data


def test_a_lookup_that_finds_nothing_answers_none(varied) -> None:
    assert READ_MODEL_BY_ID.first(10**9) is None
    assert READ_MODEL_BY_PAIR.first("cm", "nowhere") is None
    assert READ_MODEL_BY_PAIR.first("other", "empty") is None  # each value in its own place


def test_the_environment_and_the_client_are_the_objects_the_orm_builds(varied) -> None:
    make_caller("ci-cm", ["cm"])
    for environment in varied:
        compiled = ENVIRONMENT_BY_PAIR.first(environment.context, environment.instance)
        assert loaded(compiled) == loaded(Environment.objects.get(pk=environment.pk))
    client = ApiClient.objects.get()
    assert loaded(CLIENT_BY_TOKEN.first(client.token_hash)) == loaded(client)
    assert CLIENT_BY_TOKEN.first("0" * 64) is None


def test_the_row_lock_answers_the_row_it_locked_and_nothing_for_no_row(varied) -> None:
    with transaction.atomic():
        assert LOCK_BY_ID.rows(varied[0].pk) == [(varied[0].pk,)]
        assert LOCK_BY_ID.rows(10**9) == []


def test_the_row_lock_refuses_to_be_taken_outside_a_transaction(varied, monkeypatch) -> None:
    monkeypatch.setattr(transaction.get_connection(), "in_atomic_block", False)
    with pytest.raises(TransactionManagementError):
        lock_inventory(varied[0])


def test_a_lookup_whose_query_has_parameters_of_its_own_is_refused() -> None:
    lookup = CompiledLookup(lambda context: Environment.objects.filter(context=context, instance="prod"), "(context)")
    with pytest.raises(ImproperlyConfigured):
        lookup.first("cm")


def test_a_lookup_of_many_builds_every_object_the_orm_builds_in_its_order(varied) -> None:
    for name in ("zulu", "alpha", "mike"):
        subscribe(name, contexts=["cm"])
    retired, _ = subscribe("retired")
    retired.is_active = False
    retired.save()
    orm = list(WebhookSubscription.objects.filter(is_active=True).only("pk", "contexts", "events"))

    compiled = ACTIVE_SUBSCRIPTIONS.all()

    assert [loaded(subscription) for subscription in compiled] == [loaded(subscription) for subscription in orm]
    assert len(compiled) == 3


@pytest.mark.django_db(transaction=True)
def test_a_thread_s_connection_is_not_kept_alive_by_its_compiled_lookups() -> None:
    import gc
    import threading
    import weakref

    from django.db import connections

    environment = make_environment("cm", "threaded")
    wrappers: list[weakref.ref] = []

    def look_up() -> None:
        assert READ_MODEL_BY_ID.first(environment.pk) is not None
        wrappers.append(weakref.ref(connections["default"]))
        connections.close_all()

    threads = [threading.Thread(target=look_up) for _ in range(3)]
    for thread in threads:
        thread.start()
        thread.join()
    gc.collect()
    assert len(wrappers) == 3
    assert [ref() for ref in wrappers] == [None, None, None]
