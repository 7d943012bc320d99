"""The outbox: a delivery row per subscription written with the change that caused it, sent on commit.

Service tests run in the test's transaction (``db``): on-commit callbacks are captured, nothing is
enqueued. The rolled-back and no-worker tests commit for real (``transactional_db``).
"""

from __future__ import annotations

import json
import signal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from inventory.models import InventoryTransition
from notifications.models import WebhookDelivery
from notifications.receivers import write_state_changed_outbox
from tests.factories import deploy, inventory_of, make_environment, subscribe

pytestmark = pytest.mark.django_db


def test_a_change_of_state_writes_one_delivery_per_matching_subscription(django_capture_on_commit_callbacks) -> None:
    everything, _ = subscribe("everything")
    cm_only, _ = subscribe("cm-only", contexts=["cm"], events=["state_changed"])
    subscribe("acme-only", contexts=["acme"])
    subscribe("freshness-only", events=["freshness_changed"])
    inactive, _ = subscribe("inactive")
    inactive.is_active = False
    inactive.save()
    environment = make_environment()

    with django_capture_on_commit_callbacks() as callbacks:
        recorded = deploy(environment, "dep-1")

    deliveries = list(WebhookDelivery.objects.order_by("subscription__name"))
    assert [d.subscription for d in deliveries] == [cm_only, everything]
    assert len(callbacks) == 1  # one on-commit hook enqueues them all
    transition = InventoryTransition.objects.get(environment=environment)
    for delivery in deliveries:
        assert (delivery.event, delivery.status, delivery.attempts) == ("state_changed", "pending", 0)
        assert delivery.transition == transition and delivery.environment == environment
    payload = deliveries[0].payload
    assert payload["environment"] == {
        "context": "cm",
        "instance": "testing",
        "state": "current",
        "state_reason": inventory_of(environment).state_reason,
        "deployment_state": "current",
        "data_state": "untouched",
        "freshness": "verified",
        "url": "http://localhost:8000/environments/cm/testing/",
    }
    assert payload["transition"]["from_state"] == "unrecorded"
    assert payload["transition"]["to_state"] == "current"
    assert payload["transition"]["cause_type"] == "deployment"
    assert payload["transition"]["cause_id"] == recorded.record.record_id
    assert set(payload["transition"]) >= {
        "from_state",
        "to_state",
        "effect",
        "reason",
        "actor",
        "occurred_at",
        "recorded_at",
    }
    json.dumps(payload)  # stored as JSON: serialisable as it stands


def test_a_transition_that_keeps_the_state_writes_nothing_and_asks_nothing(django_assert_num_queries) -> None:
    subscribe()
    environment = make_environment()
    deploy(environment)
    WebhookDelivery.objects.all().delete()

    deploy(environment)  # current -> current
    assert not WebhookDelivery.objects.exists()

    same = InventoryTransition.objects.filter(environment=environment).latest("sequence")
    assert same.from_state == same.to_state
    inventory = inventory_of(environment)
    with django_assert_num_queries(0):
        write_state_changed_outbox(sender=None, transition=same, inventory=inventory)


def test_a_change_of_state_costs_one_query_and_one_insert_for_the_outbox(settings) -> None:
    subscribe("a")
    subscribe("b")
    environment = make_environment()
    deploy(environment)
    deploy(environment, post_deploy_status="fail")  # current -> verification_failed
    transition = InventoryTransition.objects.filter(environment=environment).latest("sequence")
    inventory = inventory_of(environment)

    with CaptureQueriesContext(connection) as queries:
        write_state_changed_outbox(sender=None, transition=transition, inventory=inventory)

    assert len(queries.captured_queries) == 2, [q["sql"] for q in queries.captured_queries]


def test_the_body_links_to_the_page_under_site_url(settings) -> None:
    settings.SITE_URL = "https://launchplane.example.com/"
    subscribe()
    deploy(make_environment(instance="prod"))

    url = WebhookDelivery.objects.get().payload["environment"]["url"]
    assert url == "https://launchplane.example.com/environments/cm/prod/"


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_writes_and_enqueues_nothing() -> None:
    subscribe()
    environment = make_environment()

    with pytest.raises(RuntimeError), transaction.atomic():
        deploy(environment)
        assert WebhookDelivery.objects.count() == 1  # written inside the change's transaction
        raise RuntimeError("the request failed after the change")

    assert not WebhookDelivery.objects.exists()
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_while_no_worker_runs_is_delivered_when_one_starts(httpserver) -> None:
    from django.core.management import call_command

    httpserver.expect_request("/hook", method="POST").respond_with_data("thanks")
    _subscription, secret = subscribe(url=httpserver.url_for("/hook"))
    deploy(make_environment())  # committed; no worker is running

    assert DBTaskResult.objects.filter(status="READY").count() == 1
    assert httpserver.log == []
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", "--no-reload")
    finally:  # the worker installs its own shutdown handlers in this (the test's) process
        for number, handler in handlers.items():
            signal.signal(number, handler)

    ((request, response),) = httpserver.log
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert request.headers["Launchplane-Delivery"] == str(delivery.delivery_id)
    assert request.headers["Launchplane-Event"] == "state_changed"
    from tests.notifications.test_rules import documented_receiver

    assert documented_receiver()(secret, request.headers["Launchplane-Signature"], request.get_data())


def test_a_delivery_is_due_when_written_and_stamped_with_the_change() -> None:
    subscribe()
    recorded = deploy(make_environment())

    delivery = WebhookDelivery.objects.get()
    assert recorded.transition is not None
    assert delivery.created_at == delivery.next_attempt_at == recorded.transition.recorded_at
    assert delivery.occurred_at == recorded.inventory.state_changed_at
