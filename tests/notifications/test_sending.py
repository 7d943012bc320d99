"""Sending a delivery: headers and signature, retries with backoff, order per environment, redirects
and blocked networks refused, redelivery with the same id, and the claim two workers race for.

The HTTP side is ``httpx.MockTransport`` (what would have gone on the wire); addresses are checked
above it, so a refused address reaches no transport at all.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import httpx
import pytest
from django.db import connection

from notifications.models import WebhookDelivery
from notifications.services import claim_delivery, redeliver, requeue_due, send_delivery, send_test_event
from notifications.services.sending import LEASE, REQUEUE_AFTER
from tests.factories import deploy, make_environment, subscribe
from tests.notifications.test_rules import documented_receiver

pytestmark = pytest.mark.django_db


class Receiver:
    """A MockTransport that answers ``statuses`` in turn (the last one from then on) and keeps requests."""

    def __init__(self, *statuses: int, headers: dict[str, str] | None = None) -> None:
        self.statuses = list(statuses) or [200]
        self.headers = headers or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return httpx.Response(status, headers=self.headers, text=f"answer {status}")

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


class Clock:
    def __init__(self, start) -> None:
        self.now = start

    def __call__(self):
        return self.now


def one_delivery(instance: str = "testing", **subscription):
    _sub, secret = subscribe(**subscription)
    deploy(make_environment(instance=instance))
    return WebhookDelivery.objects.get(), secret


def test_a_delivery_is_posted_signed_with_its_event_and_id() -> None:
    delivery, secret = one_delivery()
    receiver = Receiver(204)

    sent = send_delivery(str(delivery.delivery_id), transport=receiver.transport)

    assert sent is not None and (sent.status, sent.attempts, sent.last_status_code) == ("delivered", 1, 204)
    assert sent.delivered_at is not None and sent.lease_until is None
    (request,) = receiver.requests
    assert request.method == "POST"
    assert str(request.url) == "http://127.0.0.1:9/hooks/launchplane"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "Launchplane-Webhook/1"
    assert request.headers["Launchplane-Event"] == "state_changed"
    assert request.headers["Launchplane-Delivery"] == str(delivery.delivery_id)
    assert documented_receiver()(secret, request.headers["Launchplane-Signature"], request.content)
    body = json.loads(request.content)
    assert body["event"] == "state_changed"
    assert body["delivery_id"] == str(delivery.delivery_id)
    assert set(body) == {"event", "delivery_id", "occurred_at", "environment", "transition"}
    assert body["environment"]["state"] == "current"


def test_a_slack_subscription_gets_one_line_of_text() -> None:
    delivery, _secret = one_delivery(format="slack")
    receiver = Receiver(200)

    send_delivery(str(delivery.delivery_id), transport=receiver.transport)

    body = json.loads(receiver.requests[0].content)
    assert list(body) == ["text"]
    assert body["text"].startswith("Current cm/testing — ")
    assert body["text"].endswith(" http://localhost:8000/environments/cm/testing/")


def test_a_failed_answer_is_retried_with_backoff_and_the_same_id(settings) -> None:
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    delivery, _ = one_delivery()
    clock = Clock(delivery.created_at)
    receiver = Receiver(500, 503, 200)
    delivery_id = str(delivery.delivery_id)

    first = send_delivery(delivery_id, transport=receiver.transport, now=clock)
    assert first is not None
    assert (first.status, first.attempts, first.last_status_code) == ("retrying", 1, 500)
    assert first.last_response == "answer 500"
    assert first.next_attempt_at == clock.now + timedelta(seconds=10)

    clock.now += timedelta(seconds=5)  # not due yet: nothing is sent
    assert send_delivery(delivery_id, transport=receiver.transport, now=clock).attempts == 1
    clock.now += timedelta(seconds=5)
    second = send_delivery(delivery_id, transport=receiver.transport, now=clock)
    assert (second.status, second.attempts, second.next_attempt_at) == (
        "retrying",
        2,
        clock.now + timedelta(seconds=20),
    )
    clock.now += timedelta(seconds=20)
    third = send_delivery(delivery_id, transport=receiver.transport, now=clock)

    assert (third.status, third.attempts, third.last_status_code) == ("delivered", 3, 200)
    assert {request.headers["Launchplane-Delivery"] for request in receiver.requests} == {delivery_id}
    assert len({request.content for request in receiver.requests}) == 1  # the same body every time


def test_after_24_hours_of_failures_a_delivery_is_failed() -> None:
    delivery, _ = one_delivery()
    clock = Clock(delivery.created_at + timedelta(hours=24, seconds=1))

    failed = send_delivery(str(delivery.delivery_id), transport=Receiver(500).transport, now=clock)

    assert failed.status == "failed"
    assert send_delivery(str(delivery.delivery_id), transport=Receiver(200).transport, now=clock).attempts == 1


def test_a_redirect_is_never_followed() -> None:
    delivery, _ = one_delivery()
    receiver = Receiver(302, headers={"Location": "http://127.0.0.1:9/elsewhere"})

    sent = send_delivery(str(delivery.delivery_id), transport=receiver.transport)

    assert [str(request.url) for request in receiver.requests] == ["http://127.0.0.1:9/hooks/launchplane"]
    assert (sent.status, sent.last_status_code) == ("retrying", 302)
    assert "redirect" in sent.last_response and "not followed" in sent.last_response


@pytest.mark.parametrize("address", ["169.254.169.254", "::ffff:169.254.169.254", "0.0.0.0"])
def test_a_blocked_address_is_refused_before_anything_is_sent(address) -> None:
    delivery, _ = one_delivery(url="http://hooks.example.com/launchplane")
    receiver = Receiver(200)
    resolved = []

    def resolver(host: str, port: int) -> list[str]:
        resolved.append((host, port))
        return ["93.184.216.34", address]  # one public address is not enough: every address is checked

    sent = send_delivery(str(delivery.delivery_id), transport=receiver.transport, resolver=resolver)

    assert resolved == [("hooks.example.com", 80)]
    assert receiver.requests == []
    assert (sent.status, sent.last_status_code) == ("retrying", None)
    assert "refused before connecting" in sent.last_response


def test_a_connection_refused_is_retried() -> None:
    delivery, _ = one_delivery()

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    sent = send_delivery(str(delivery.delivery_id), transport=httpx.MockTransport(refuse))

    assert (sent.status, sent.attempts) == ("retrying", 1)
    assert "could not connect" in sent.last_response


def test_deliveries_for_one_environment_go_in_order_behind_a_retrying_one(django_capture_on_commit_callbacks) -> None:
    _subscription, _ = subscribe()
    environment, other = make_environment(), make_environment(instance="other")
    deploy(environment)
    deploy(environment, post_deploy_status="fail")
    deploy(other)
    first, second = WebhookDelivery.objects.filter(environment=environment).order_by("pk")
    elsewhere = WebhookDelivery.objects.get(environment=other)
    receiver = Receiver(500, 200)

    assert send_delivery(str(first.delivery_id), transport=receiver.transport).status == "retrying"
    # The second waits behind the first; another environment does not.
    assert send_delivery(str(second.delivery_id), transport=receiver.transport).attempts == 0
    assert send_delivery(str(elsewhere.delivery_id), transport=receiver.transport).status == "delivered"

    first_due = WebhookDelivery.objects.get(pk=first.pk).next_attempt_at
    later = Clock(first_due)
    with django_capture_on_commit_callbacks() as handed_over:
        assert send_delivery(str(first.delivery_id), transport=receiver.transport, now=later).status == "delivered"
    assert len(handed_over) == 1  # the next in line is enqueued as soon as the first is done
    assert send_delivery(str(second.delivery_id), transport=receiver.transport, now=later).status == "delivered"
    to_states = [json.loads(r.content)["environment"]["state"] for r in receiver.requests if b"cm" in r.content]
    assert to_states[-1] == "verification_failed"


def test_a_claim_is_taken_once_and_a_dead_workers_lease_passes() -> None:
    delivery, _ = one_delivery()
    now = delivery.created_at

    assert claim_delivery(delivery, now) is True
    assert claim_delivery(WebhookDelivery.objects.get(pk=delivery.pk), now) is False
    assert claim_delivery(delivery, now + LEASE - timedelta(seconds=1)) is False
    assert claim_delivery(delivery, now + LEASE) is True  # the first worker died mid-attempt
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 2


def test_a_worker_whose_lease_passed_records_nothing_over_the_one_that_took_over() -> None:
    from notifications.delivery import Answer
    from notifications.services.sending import record_attempt

    delivery, _ = one_delivery()
    claim_delivery(delivery, delivery.created_at)
    stale = WebhookDelivery.objects.get(pk=delivery.pk)
    claim_delivery(WebhookDelivery.objects.get(pk=delivery.pk), delivery.created_at + LEASE)  # taken over

    record_attempt(stale, Answer(500, False, "late"), now=delivery.created_at + LEASE)

    fresh = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (fresh.status, fresh.attempts, fresh.last_response) == ("sending", 2, "")


def test_the_sweeper_hands_over_only_deliveries_whose_task_is_overdue(django_capture_on_commit_callbacks) -> None:
    delivery, _ = one_delivery()
    now = delivery.created_at

    assert requeue_due(now) == 0  # its task was handed over just now
    assert requeue_due(now + REQUEUE_AFTER) == 1
    assert requeue_due(now + REQUEUE_AFTER) == 0  # once, even for a second sweeper


def test_redelivery_sends_a_finished_delivery_again_with_the_same_id() -> None:
    delivery, _ = one_delivery()
    receiver = Receiver(200)
    send_delivery(str(delivery.delivery_id), transport=receiver.transport)
    deploy(make_environment(instance="other"))
    pending = WebhookDelivery.objects.latest("pk")

    assert redeliver(WebhookDelivery.objects.all(), now=delivery.created_at + timedelta(hours=30)) == 1

    again = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (again.status, again.attempts) == ("pending", 1)
    send_delivery(str(delivery.delivery_id), transport=receiver.transport, now=lambda: again.next_attempt_at)
    assert [r.headers["Launchplane-Delivery"] for r in receiver.requests] == [str(delivery.delivery_id)] * 2
    assert WebhookDelivery.objects.get(pk=pending.pk).status == "pending"  # not finished: left alone


def test_a_test_event_is_a_ping_to_the_subscription() -> None:
    subscription, _secret = subscribe(format="json")
    receiver = Receiver(200)

    assert send_test_event([subscription], now=subscription.created_at) == 1
    ping = WebhookDelivery.objects.get()
    send_delivery(str(ping.delivery_id), transport=receiver.transport)

    body = json.loads(receiver.requests[0].content)
    assert (body["event"], body["environment"], body["subscription"]) == ("ping", None, subscription.name)
    assert receiver.requests[0].headers["Launchplane-Event"] == "ping"


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_one_delivery_twice(on_postgres) -> None:
    """On PostgreSQL (several workers on several hosts): many threads race for one delivery."""
    delivery, _ = one_delivery()
    receiver = Receiver(200)
    gate = threading.Barrier(6)
    results = []

    def worker() -> None:
        try:
            gate.wait()
            results.append(send_delivery(str(delivery.delivery_id), transport=receiver.transport))
        finally:
            connection.close()  # a thread's own connection: closed, or the test database cannot be dropped

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 1
    assert len(results) == 6


def test_a_subscription_switched_off_after_the_change_gets_nothing() -> None:
    delivery, _ = one_delivery()
    delivery.subscription.is_active = False
    delivery.subscription.save()
    receiver = Receiver(200)

    given_up = send_delivery(str(delivery.delivery_id), transport=receiver.transport)

    assert receiver.requests == []
    assert (given_up.status, given_up.last_response) == ("failed", "not sent: the subscription is switched off")


def test_an_answer_with_nul_and_control_bytes_is_recorded_as_readable_text() -> None:
    """PostgreSQL refuses NUL in text: a receiver answering ``\\x00`` must not wedge the delivery in
    ``sending`` (the attempt could never be recorded, so it would neither retry nor fail)."""
    delivery, _ = one_delivery()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, content=b"bad\x00nul\x01\x1b[31m red\x7f end")

    sent = send_delivery(str(delivery.delivery_id), transport=httpx.MockTransport(answer))

    assert (sent.status, sent.last_status_code) == ("retrying", 500)
    assert "\x00" not in sent.last_response and "\x1b" not in sent.last_response
    assert sent.last_response.startswith("bad") and sent.last_response.endswith("end")


def test_a_url_httpx_cannot_parse_is_an_answer_not_a_traceback() -> None:
    from notifications.delivery import post_webhook

    receiver = Receiver(200)
    answer = post_webhook("http://0251.0376.0251.0376/x", b"{}", {}, transport=receiver.transport)

    assert (answer.status_code, answer.delivered, answer.failure_class) == (None, False, "invalid")
    assert answer.excerpt.startswith("not sent:") and receiver.requests == []


def test_the_worker_log_names_only_the_webhooks_origin(caplog) -> None:
    """A Slack (or any) webhook URL is a credential, and httpx's INFO line names the request URL."""
    import logging

    delivery, _ = one_delivery(url="http://127.0.0.1:9/services/T000/B000/SeCrEtPaTh")
    caplog.set_level(logging.INFO)

    send_delivery(str(delivery.delivery_id), transport=Receiver(200).transport)

    assert "HTTP Request: POST http://127.0.0.1:9/…" in caplog.text
    assert "SeCrEtPaTh" not in caplog.text
    other = logging.getLogger("httpx")
    other.info("HTTP Request: %s %s", "GET", "http://probe.example/health")  # probes' lines are kept whole
    assert "http://probe.example/health" in caplog.text
