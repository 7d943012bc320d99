"""Launchplane's own verification runs on the operator pages: the Re-verify button (review queue and
environment page) through ``queue_verification``, its guards and permission, the "Latest verification"
card with each probe's evidence, runs in the timeline, and "last verified" on the board.

Runs are created as rows (as a worker would leave them): these tests are about pages, not probes.
Times are relative to the wall clock, as the pages read ``timezone.now()``.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.models import Environment, InventoryTransition, VerificationRun
from inventory.presentation import timeline
from tests.factories import deploy, inventory_of, make_environment, start

pytestmark = pytest.mark.django_db

BOARD = reverse("inventory:board")
REVIEW = reverse("inventory:review")
BASE_URL = "https://testing.cm.example.com"


def verify_url(context: str = "cm", instance: str = "testing") -> str:
    return reverse("inventory:verify", args=[context, instance])


def detail_url(context: str = "cm", instance: str = "testing") -> str:
    return reverse("inventory:environment", args=[context, instance])


def ago(**delta: float) -> datetime:
    return timezone.now() - timedelta(**delta)


def text_of(response) -> str:
    """The page as a person reads it: tags dropped, entities decoded, whitespace collapsed."""
    page = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(page)).replace("\xa0", " ")


def messages_of(response) -> list[str]:
    return [
        re.sub(r"\s+", " ", html.unescape(m)).strip()
        for m in re.findall(r'class="lp-message[^"]*">(.*?)</li>', response.content.decode(), re.S)
    ]


def staff(username: str, group: str | None = None):
    user = get_user_model().objects.create_user(username=username, is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def client_for(user, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def operator_client() -> Client:
    return client_for(staff("olga", "operators"))


@pytest.fixture
def reviewer_client() -> Client:
    return client_for(staff("rhea", "reviewers"))


def current_environment(
    instance: str = "testing", *, base_url: str = BASE_URL, at: datetime | None = None
) -> Environment:
    """A deployment recorded and passing: current, nothing queued after the record."""
    environment = make_environment("cm", instance, base_url=base_url)
    at = at or ago(hours=2)
    deploy(environment, finished_at=at, now=at)
    return environment


def finished_run(environment: Environment, *, finished: datetime | None = None, **fields: Any) -> VerificationRun:
    """A run as a worker leaves it, made the inventory's latest (as ``apply_verification`` does)."""
    finished = finished or ago(minutes=3)
    defaults: dict[str, Any] = {
        "environment": environment,
        "trigger": "schedule",
        "requested_by": "schedule",
        "queued_at": finished - timedelta(seconds=20),
        "started_at": finished - timedelta(seconds=15),
        "finished_at": finished,
        "timeout_seconds": 30,
        "deadline": finished + timedelta(seconds=60),
        "status": "finished",
        "base_url": environment.base_url,
        "health_status": "pass",
        "canonical_status": "fail",
        "logo_status": "not_run",
        "runtime_identity_status": "match",
        "inventory_effect": "marked",
        "detail": "canonical check failed (canonical_missing)",
        "probes": [
            {
                "probe": "health",
                "url": f"{environment.base_url}/web/health",
                "status": "pass",
                "status_code": 200,
                "content_type": "application/json",
                "failure_class": "",
                "detail": "",
                "elapsed_ms": 41,
            },
            {
                "probe": "canonical",
                "url": f"{environment.base_url}/",
                "status": "fail",
                "status_code": 203,
                "content_type": "text/html",
                "failure_class": "canonical_missing",
                "detail": "no <link rel=canonical> on the page",
                "elapsed_ms": 87,
            },
            {
                "probe": "logo",
                "url": "",
                "status": "not_run",
                "status_code": None,
                "content_type": "",
                "failure_class": "",
                "detail": "an earlier probe failed",
                "elapsed_ms": 0,
            },
        ],
    }
    defaults.update(fields)
    run = VerificationRun.objects.create(**defaults)
    inventory = inventory_of(environment)
    inventory.last_verification = run
    inventory.save(update_fields=["last_verification"])
    return run


# ---------------------------------------------------------------------------------------------------
# Re-verify: the action
# ---------------------------------------------------------------------------------------------------


def test_re_verify_queues_one_operator_run_and_goes_back_to_the_queue_with_a_message(operator_client) -> None:
    environment = current_environment()
    response = operator_client.post(verify_url(), {"next": REVIEW}, follow=True)
    assert response.redirect_chain == [(REVIEW, 302)]
    run = VerificationRun.objects.get(environment=environment)
    assert (run.status, run.trigger, run.requested_by, run.base_url) == ("queued", "operator", "olga", BASE_URL)
    assert messages_of(response) == [f"Verification run {run.run_id} queued for cm/testing."]


def test_re_verify_twice_says_a_run_is_already_queued_and_queues_nothing_more(reviewer_client) -> None:
    environment = current_environment()
    reviewer_client.post(verify_url(), follow=True)
    response = reviewer_client.post(verify_url(), follow=True)
    assert response.redirect_chain == [(detail_url(), 302)]
    run = VerificationRun.objects.get(environment=environment)
    assert messages_of(response) == [f"A verification run is already queued for cm/testing: {run.run_id}."]
    assert run.requested_by == "rhea"


def test_re_verify_without_a_base_url_says_why_and_queues_nothing(operator_client) -> None:
    current_environment(base_url="")
    response = operator_client.post(verify_url(), follow=True)
    assert response.redirect_chain == [(detail_url(), 302)]
    assert messages_of(response) == ["cm/testing has no base_url to probe. Set one (PATCH the environment) first."]
    assert 'class="lp-message lp-message--error"' in response.content.decode()
    assert not VerificationRun.objects.exists()


def test_re_verify_while_a_bootstrap_is_active_says_why_and_queues_nothing(operator_client) -> None:
    environment = current_environment()
    operation = start(environment, data_source="empty", actor="x", timeout_seconds=3600)
    transitions = InventoryTransition.objects.count()
    response = operator_client.post(verify_url(), follow=True)
    assert messages_of(response) == [
        f"A bootstrap is active on cm/testing ({operation.operation_id}); verify once it has finished."
    ]
    assert not VerificationRun.objects.exists()
    assert InventoryTransition.objects.count() == transitions
    button = re.search(
        r'<button type="submit" class="lp-button" disabled[^>]*>Re-verify cm/testing</button>',
        response.content.decode(),
    )
    assert button, "the page offers the button disabled"
    assert f"Not available: a bootstrap is active ({operation.operation_id})" in text_of(response)


def test_re_verify_needs_the_verify_permission(view_only_staff) -> None:
    current_environment()
    client = client_for(view_only_staff)
    transitions = InventoryTransition.objects.count()
    response = client.post(verify_url())
    assert response.status_code == 403
    assert "not ask for a verification run" in text_of(response)
    assert not VerificationRun.objects.exists()
    assert InventoryTransition.objects.count() == transitions
    for page in (client.get(detail_url()), client.get(REVIEW)):
        assert page.status_code == 200
        assert "/verify/" not in page.content.decode() and "Re-verify cm/testing" not in text_of(page)


def test_re_verify_refuses_get_an_unknown_environment_a_foreign_next_and_anonymous_visitors(operator_client) -> None:
    current_environment()
    assert operator_client.get(verify_url()).status_code == 405
    assert operator_client.post(verify_url("cm", "nowhere")).status_code == 404
    response = operator_client.post(verify_url(), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == detail_url()
    anonymous = Client().post(verify_url())
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert VerificationRun.objects.count() == 1


def test_re_verify_enforces_csrf() -> None:
    current_environment()
    client = client_for(staff("olga", "operators"), enforce_csrf_checks=True)
    assert client.post(verify_url()).status_code == 403
    assert not VerificationRun.objects.exists()
    page = client.get(detail_url()).content.decode()
    form = re.search(r'<form method="post" action="/environments/cm/testing/verify/".*?</form>', page, re.S)
    assert form, "the environment page has the Re-verify form"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(0)).group(1)
    assert client.post(verify_url(), {"csrfmiddlewaretoken": token}).status_code == 302
    assert VerificationRun.objects.count() == 1


# ---------------------------------------------------------------------------------------------------
# The review queue
# ---------------------------------------------------------------------------------------------------


def test_the_queue_offers_an_enabled_re_verify_form_for_a_verifiable_environment(operator_client) -> None:
    environment = current_environment(at=ago(days=3))  # verified 3 days ago, TTL 1 day: stale, in review
    body = operator_client.get(REVIEW).content.decode()
    item = re.search(rf'<li class="lp-queue__item" id="env-{environment.pk}".*?</li>', body, re.S)
    assert item, "the environment is in the queue"
    form = re.search(
        r'<form method="post" action="/environments/cm/testing/verify/"[^>]*>(.*?)</form>', item.group(0), re.S
    )
    assert form, "a real form posts to the verify action"
    assert 'name="csrfmiddlewaretoken"' in form.group(1)
    assert f'name="next" value="{REVIEW}"' in form.group(1)
    assert re.search(r'<button type="submit" class="lp-button">Re-verify cm/testing</button>', form.group(1))
    assert "not available yet" not in body


def test_the_queue_shows_re_verify_disabled_without_a_base_url(operator_client) -> None:
    current_environment(base_url="", at=ago(days=3))
    response = operator_client.get(REVIEW)
    assert re.search(r"<button[^>]*disabled[^>]*>Re-verify cm/testing</button>", response.content.decode())
    assert "Not available: no base URL to probe" in text_of(response)


# ---------------------------------------------------------------------------------------------------
# The environment page
# ---------------------------------------------------------------------------------------------------


def probe_row(body: str, probe: str) -> str:
    row = re.search(rf'<tr data-probe="{probe}">(.*?)</tr>', body, re.S)
    assert row, f"no row for the {probe} probe"
    return row.group(1)


def test_the_environment_page_shows_the_latest_runs_probes_with_status_code_and_failure_class(operator_client) -> None:
    environment = current_environment()
    run = finished_run(environment, requested_by="olga", trigger="operator")
    response = operator_client.get(detail_url())
    body = response.content.decode()
    card = body[body.index('data-role="verification"') :]
    card = card[: card.index("</article>")]
    canonical = probe_row(card, "canonical")
    assert re.search(r'data-role="status-code">203<', canonical)
    assert re.search(r'data-role="failure-class">canonical_missing<', canonical)
    assert 'data-value="fail"' in canonical and "87 ms" in canonical
    assert f"{BASE_URL}/" in canonical and "no &lt;link rel=canonical&gt; on the page" in canonical
    health = probe_row(card, "health")
    assert re.search(r'data-role="status-code">200<', health) and "41 ms" in health
    assert re.search(r'data-role="status-code">—<', probe_row(card, "logo"))
    words = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", card)))
    assert run.run_id in words and "by olga (operator)" in words
    assert "Finished 3 minutes ago" in words and "UTC, server time" in words
    assert 'data-value="marked"' in card and "canonical check failed (canonical_missing)" in words
    assert "base URL https://testing.cm.example.com" in words and "health path /web/health" in words
    assert "budget 30 seconds" in words and "TLS verified" in words and "no preview marker" in words
    assert "scheduled every 12 hours" in words


def test_the_environment_page_says_a_run_is_queued_and_when(operator_client) -> None:
    environment = current_environment()
    queued = ago(seconds=5)
    run = VerificationRun.objects.create(
        environment=environment,
        trigger="operator",
        requested_by="olga",
        queued_at=queued,
        timeout_seconds=30,
        deadline=queued + timedelta(seconds=60),
    )
    page = text_of(operator_client.get(detail_url()))
    assert re.search(rf"Verification run {run.run_id} queued [5-9] seconds ago \(operator, by olga\)\.", page)
    assert "Never verified by Launchplane" in page
    assert f"Run {run.run_id} is already queued." in page


def test_the_environment_page_says_it_was_never_verified_and_whether_it_can_be(operator_client) -> None:
    current_environment()
    page = text_of(operator_client.get(detail_url()))
    assert f"Never verified by Launchplane. It can be: a run probes {BASE_URL}." in page
    current_environment("bare", base_url="")
    response = operator_client.get(detail_url("cm", "bare"))
    page = text_of(response)
    assert "Never verified by Launchplane, and it cannot be yet: the environment has no base URL to probe." in page
    assert "no base URL" in page and "Not available: no base URL to probe" in page
    assert re.search(r"<button[^>]*disabled[^>]*>Re-verify cm/bare</button>", response.content.decode())


def test_the_timeline_shows_runs_that_changed_nothing_newest_first(operator_client) -> None:
    environment = current_environment(at=ago(hours=5))
    superseded = finished_run(environment, finished=ago(hours=3), inventory_effect="superseded", sequence=90)
    abandoned_at = ago(hours=1)
    abandoned = VerificationRun.objects.create(
        environment=environment,
        trigger="schedule",
        requested_by="schedule",
        status="abandoned",
        queued_at=abandoned_at - timedelta(seconds=90),
        finished_at=abandoned_at,
        timeout_seconds=30,
        deadline=abandoned_at,
        inventory_effect="retained",
    )
    body = operator_client.get(detail_url()).content.decode()
    part = body[body.index('class="lp-timeline"') : body.index('id="history-heading"')]
    words = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", part)))
    first = words.index(f"Verification {abandoned.run_id} (schedule, by schedule) abandoned")
    second = words.index(f"Verification {superseded.run_id} (schedule, by schedule)")
    assert first < second < words.index("Deployment")
    assert "No worker finished it within its budget of 30 seconds" in words
    assert "Stored as superseded" in words[second:]
    assert "lp-timeline__event--verification" in part
    page = text_of(operator_client.get(detail_url()))
    assert f"Verification run {abandoned.run_id} was abandoned 1 hour ago" in page


def test_the_timeline_names_an_applied_run_through_its_transition() -> None:
    environment = current_environment()
    run = finished_run(environment, sequence=5)
    transition = InventoryTransition(
        environment=environment,
        sequence=5,
        occurred_at=run.finished_at,
        cause_type="verification",
        cause_id=run.run_id,
        actor="schedule",
        to_state="verification_failed",
        effect="marked",
        reason="Verification …: canonical fail.",
    )
    events = timeline([transition], [], [], [], [run])
    assert [(e.kind, e.title) for e in events] == [
        ("verification", f"Verification {run.run_id} (schedule, by schedule)")
    ]
    assert [label for label, _badge in events[0].badges] == ["health", "canonical", "logo", "state now", "effect"]


# ---------------------------------------------------------------------------------------------------
# The board
# ---------------------------------------------------------------------------------------------------


def test_the_board_says_when_launchplane_last_verified_each_environment(operator_client) -> None:
    finished_run(current_environment(), finished=ago(hours=3))
    current_environment("never")
    body = operator_client.get(BOARD).content.decode()
    rows = dict(re.findall(r'<tr data-environment="([^"]+)".*?data-role="last-verified">(.*?)</li>', body, re.S))
    verified = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", rows["cm/testing"]))
    assert "last verified 3 hours ago" in verified and 'data-value="marked"' in rows["cm/testing"]
    assert "never verified by Launchplane" in rows["cm/never"]


def test_the_boards_query_count_does_not_grow_with_verified_environments(operator_client) -> None:
    def board_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert operator_client.get(BOARD).status_code == 200
        return len(queries)

    for number in range(2):
        finished_run(current_environment(f"a{number}"))
    small = board_queries()
    for number in range(12):
        finished_run(current_environment(f"b{number}"))
    assert board_queries() == small
