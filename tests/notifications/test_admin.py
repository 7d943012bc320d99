"""The admin: subscriptions without their secret, deliveries with "Redeliver" and "Send a test event"."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from notifications.models import WebhookDelivery
from tests.factories import deploy, make_environment, subscribe

pytestmark = pytest.mark.django_db

DELIVERIES = "/admin/notifications/webhookdelivery/"
SUBSCRIPTIONS = "/admin/notifications/webhooksubscription/"


@pytest.fixture
def operator() -> Client:
    user = get_user_model().objects.create_user(username="otto", is_staff=True)
    user.groups.add(Group.objects.get(name="operators"))
    http = Client()
    http.force_login(user)
    return http


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_secret_is_never_shown_after_creation(operator) -> None:
    subscription, secret = subscribe("pager")

    for path in (SUBSCRIPTIONS, f"{SUBSCRIPTIONS}{subscription.pk}/change/"):
        page = operator.get(path)
        assert page.status_code == 200
        assert secret not in page.content.decode()
    assert operator.get(f"{SUBSCRIPTIONS}add/").status_code == 403  # created by create_webhook only


def test_the_delivery_list_shows_status_attempts_code_and_answer(operator) -> None:
    subscribe("pager")
    deploy(make_environment())
    WebhookDelivery.objects.update(status="retrying", attempts=3, last_status_code=502, last_response="Bad gateway")

    page = operator.get(DELIVERIES).content.decode()

    assert "retrying" in page and "502" in page and "Bad gateway" in page and "pager" in page


def test_redeliver_queues_finished_deliveries_and_reports_the_count(operator) -> None:
    subscribe("pager")
    deploy(make_environment())
    deploy(make_environment(instance="prod"))
    finished, waiting = WebhookDelivery.objects.order_by("pk")
    WebhookDelivery.objects.filter(pk=finished.pk).update(status="failed", attempts=20)

    response = operator.post(
        DELIVERIES, {"action": "redeliver_selected", "_selected_action": [finished.pk, waiting.pk]}, follow=True
    )

    assert messages_of(response) == ["Queued 1 delivery again. 1 still on their way were left alone."]
    again = WebhookDelivery.objects.get(pk=finished.pk)
    assert (again.status, again.delivery_id) == ("pending", finished.delivery_id)


def test_send_a_test_event_queues_a_ping_per_subscription(operator) -> None:
    pager, _ = subscribe("pager")
    channel, _ = subscribe("channel", format="slack")

    response = operator.post(
        SUBSCRIPTIONS, {"action": "send_test_events", "_selected_action": [pager.pk, channel.pk]}, follow=True
    )
    assert messages_of(response) == ["Queued 2 test events."]
    deploy(make_environment())
    delivery = WebhookDelivery.objects.filter(event="state_changed", subscription=pager).get()
    response = operator.post(DELIVERIES, {"action": "send_test_events", "_selected_action": [delivery.pk]}, follow=True)

    assert messages_of(response) == ["Queued 1 test event."]
    assert WebhookDelivery.objects.filter(event="ping").count() == 3


def test_reviewers_see_no_webhooks(reviewer) -> None:
    reviewer.groups.add(Group.objects.get(name="reviewers"))
    http = Client()
    http.force_login(reviewer)

    assert http.get(DELIVERIES).status_code == 403
    assert http.get(SUBSCRIPTIONS).status_code == 403
