"""The reconcile form through the pages with a real session (rule 16, "Review"): it shows only where the
data side waits for settlement, says what each provider state will do, goes through the service,
redirects back with a message, shows errors next to their field, and records nothing for read-only
staff or a current environment. ``completed`` leads, through a real verification run against a runtime
on loopback (pytest-httpserver), to ``current``.

Times are relative to the wall clock: the pages read ``timezone.now()``.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bootstraps.models import Reconciliation
from bootstraps.services import BootstrapResult
from inventory.models import VerificationRun
from inventory.services.verification import execute_run
from tests.factories import (
    bootstrap_once,
    deploy,
    finish,
    history,
    inventory_of,
    make_environment,
    passing_result,
    row_counts,
    runtime_identity,
    start,
)

pytestmark = pytest.mark.django_db

REVIEW = reverse("inventory:review")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def ago(**delta: float) -> datetime:
    return timezone.now() - timedelta(**delta)


def detail_url(instance: str = "testing") -> str:
    return reverse("inventory:environment", args=["cm", instance])


def reconcile_url(instance: str = "testing") -> str:
    return reverse("bootstraps:reconcile", args=["cm", instance])


def text_of(response) -> str:
    page = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(page)).replace("\xa0", " ")


def messages_of(response) -> list[str]:
    return [
        re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", m))).strip()
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
def reviewer_client() -> Client:
    return client_for(staff("rita", "reviewers"))


@pytest.fixture
def read_only_client(view_only_staff) -> Client:
    return client_for(view_only_staff)


def lost_connection(instance: str = "testing", *, base_url: str = "", record_id: str | None = None):
    """Current, then a bootstrap that lost its connection and timed out: the data side is unknown."""
    environment = make_environment("cm", instance, base_url=base_url)
    deploy(environment, record_id=record_id or f"dep-{instance}", finished_at=ago(hours=3))
    bootstrap_once(environment, passing_result(environment), now=ago(hours=2))
    operation = start(environment, now=ago(hours=1), timeout_seconds=600)
    inventory_of(environment)
    return environment, operation


def utc_local(moment: datetime) -> str:
    """What a browser's datetime-local field sends, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def form_data(operation, provider_state: str, **overrides: Any) -> dict[str, str]:
    data = {
        "provider_state": provider_state,
        "inspected_at": utc_local(ago(minutes=5)),
        "evidence_reference": "OPS-1234",
        "note": "Checked the provider's job log.",
        "operation_id": operation.operation_id,
        "next": detail_url(),
    }
    data.update(overrides)
    return data


# ---------------------------------------------------------------------------------------------------
# The form where it belongs
# ---------------------------------------------------------------------------------------------------


def test_the_environment_page_shows_the_form_saying_what_each_provider_state_will_do(reviewer_client) -> None:
    _environment, operation = lost_connection()

    page = text_of(reviewer_client.get(detail_url()))

    assert f"record what the provider shows about bootstrap {operation.operation_id}" in page
    assert "The bootstrap finished and changed the data." in page
    assert "Will do: The data side goes from unknown to unverified; the environment reads unverified." in page
    assert "No verification run can be queued: this environment has no base URL" in page
    assert f"Will do: The data side goes from unknown to current, as it was before {operation.operation_id}" in page
    assert "Will do: The data side goes from unknown to partially bootstrapped" in page
    assert "Inspected at (UTC)" in page and "in UTC (not your local time)" in page


def test_the_review_queue_shows_the_form_only_where_the_data_side_waits(reviewer_client) -> None:
    lost_connection("testing")
    stale = make_environment("cm", "stale")
    deploy(stale, finished_at=ago(hours=3), post_deploy_status="not_run")  # unverified: in the queue

    body = reviewer_client.get(REVIEW).content.decode()

    assert body.count('data-role="reconcile"') == 1
    assert reconcile_url("testing") in body and reconcile_url("stale") not in body


def test_a_current_environment_shows_no_reconcile_form(reviewer_client) -> None:
    environment = make_environment()
    deploy(environment, finished_at=ago(hours=1))

    assert 'data-role="reconcile"' not in reviewer_client.get(detail_url()).content.decode()


def test_read_only_staff_see_the_form_disabled_with_the_reason(read_only_client) -> None:
    lost_connection()

    body = read_only_client.get(detail_url()).content.decode()

    assert 'data-role="reconcile-blocked"' in body
    assert re.search(r'<fieldset class="lp-reconcile__fields" disabled>', body)
    assert "that needs the reconcile permission" in body


# ---------------------------------------------------------------------------------------------------
# Posting
# ---------------------------------------------------------------------------------------------------


def test_reconciling_not_started_restores_the_data_state_and_history_names_the_reviewer(reviewer_client) -> None:
    environment, operation = lost_connection()
    reviewer_client.get(detail_url())  # the page read expires the overdue bootstrap: unknown

    response = reviewer_client.post(reconcile_url(), form_data(operation, "not_started"), follow=True)

    assert response.redirect_chain == [(detail_url(), 302)]
    assert messages_of(response) == [
        f"Reconciled cm/testing: bootstrap {operation.operation_id} not started; data side unknown → current."
    ]
    inventory = inventory_of(environment)
    assert (inventory.data_state, inventory.state) == ("current", "current")
    latest = history(environment)[0]
    assert (latest.cause_type, latest.actor, latest.effect) == ("reconciliation", "rita", "retained")
    page = text_of(response)
    assert "reconciliation" in page and "by rita" in page  # history
    assert f"Reconciled by rita: bootstrap {operation.operation_id} not started" in page  # timeline
    assert "OPS-1234" in page
    assert Reconciliation.objects.get().reviewer == "rita"


def test_reconciling_partial_from_the_review_queue_marks_partially_bootstrapped_and_goes_back(reviewer_client) -> None:
    environment, operation = lost_connection()

    response = reviewer_client.post(reconcile_url(), form_data(operation, "partial", next=REVIEW))

    assert response.status_code == 302 and response.url == REVIEW
    assert inventory_of(environment).data_state == "partially_bootstrapped"


def test_completed_queues_a_verification_run_that_brings_the_environment_to_current(
    reviewer_client, httpserver
) -> None:
    base = httpserver.url_for("/odoo").rstrip("/")
    environment, operation = lost_connection(base_url=base, record_id="dep-live")
    identity = runtime_identity("dep-live", context="cm", instance="testing")
    httpserver.expect_request("/odoo/web/health").respond_with_json({"status": "pass", "runtime_identity": identity})
    httpserver.expect_request("/odoo").respond_with_data(
        f'<html><head><link rel="canonical" href="{base}/"></head></html>', content_type="text/html"
    )
    httpserver.expect_request("/odoo/web/image/website/1/logo").respond_with_data(PNG, content_type="image/png")

    response = reviewer_client.post(reconcile_url(), form_data(operation, "completed"), follow=True)

    run = VerificationRun.objects.get()
    assert (run.trigger, run.requested_by, run.status) == ("after_record", "rita", "queued")
    assert f"Verification run {run.run_id} queued to prove the data." in messages_of(response)[0]
    assert inventory_of(environment).data_state == "unverified"

    finished = execute_run(run.run_id)  # what the worker does with the queued task

    assert (finished.status, finished.health_status, finished.inventory_effect) == ("finished", "pass", "advanced")
    inventory = inventory_of(environment)
    assert (inventory.deployment_state, inventory.data_state, inventory.state) == ("current", "current", "current")
    assert inventory.lkg_bootstrap == operation  # the run proved the data of the bootstrap reconciled


def test_completed_without_a_base_url_applies_and_says_no_run_could_be_queued(reviewer_client) -> None:
    environment, operation = lost_connection()

    response = reviewer_client.post(reconcile_url(), form_data(operation, "completed"), follow=True)

    assert "No verification run could be queued: the environment has no base URL." in messages_of(response)[0]
    assert inventory_of(environment).data_state == "unverified"
    assert not VerificationRun.objects.exists()


def test_reconciling_a_current_environment_records_nothing_and_says_why(reviewer_client) -> None:
    environment = make_environment()
    deploy(environment, finished_at=ago(hours=3))
    operation = bootstrap_once(environment, passing_result(environment), now=ago(hours=2))
    before = row_counts()

    response = reviewer_client.post(reconcile_url(), form_data(operation, "completed"), follow=True)

    assert response.redirect_chain == [(detail_url(), 302)]
    assert "The data side is current" in messages_of(response)[0]
    assert row_counts() == before


def test_a_post_from_read_only_staff_answers_403_and_records_nothing(read_only_client) -> None:
    _environment, operation = lost_connection()
    read_only_client.get(detail_url())  # let the page read expire the bootstrap first
    before = row_counts()

    response = read_only_client.post(reconcile_url(), form_data(operation, "partial"))

    assert response.status_code == 403
    assert "not reconcile" in text_of(response)
    assert row_counts() == before


def test_a_newer_bootstrap_since_the_page_was_read_is_refused_with_a_message(reviewer_client) -> None:
    environment, old = lost_connection()
    reviewer_client.get(detail_url())
    newer = start(environment, now=ago(minutes=30), timeout_seconds=600)
    finish(newer, BootstrapResult(bootstrap_run_status="fail", data_mutated=None), now=ago(minutes=29))

    response = reviewer_client.post(reconcile_url(), form_data(old, "partial"), follow=True)

    assert f"Bootstrap {newer.operation_id} started" in messages_of(response)[0]
    assert not Reconciliation.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        pytest.param(
            {"evidence_reference": " OPS-1"}, "evidence_reference", "leading or trailing whitespace", id="space"
        ),
        pytest.param({"evidence_reference": ""}, "evidence_reference", "Give a link or a ticket id", id="missing"),
        pytest.param({"provider_state": ""}, "provider_state", "Choose what the provider shows", id="no-state"),
        pytest.param({"inspected_at": "yesterday"}, "inspected_at", "Enter a date and time", id="not-a-time"),
        pytest.param(
            {"inspected_at": "2999-01-01T00:00"}, "inspected_at", "inspected_at is in the future", id="future"
        ),
        pytest.param({"inspected_at": "2000-01-01T00:00"}, "inspected_at", "before bootstrap", id="before-start"),
    ],
)
def test_an_invalid_form_comes_back_with_the_error_next_to_its_field_and_records_nothing(
    reviewer_client, overrides, field, error
) -> None:
    _environment, operation = lost_connection()
    reviewer_client.get(detail_url())
    before = row_counts()

    state = overrides.pop("provider_state", "partial")

    response = reviewer_client.post(reconcile_url(), form_data(operation, state, **overrides))

    assert response.status_code == 400
    body = response.content.decode()
    if field == "provider_state":
        block = re.search(r'<fieldset class="lp-field lp-choices lp-field--error">(.*?)</fieldset>', body, re.S)
    else:
        block = re.search(
            rf'<div class="lp-field[^"]*lp-field--error">\s*<label for="id_rec_\d+_{field}">(.*?)</div>', body, re.S
        )
    assert block is not None, f"no error block for {field}"
    assert error in html.unescape(block.group(1))
    assert row_counts() == before
    assert f'value="{detail_url()}"' in body  # the form still goes back where it came from


def test_next_off_this_site_is_ignored(reviewer_client) -> None:
    _environment, operation = lost_connection()

    response = reviewer_client.post(
        reconcile_url(), form_data(operation, "partial", next="https://elsewhere.example.com/")
    )

    assert response.status_code == 302 and response.url == detail_url()


def test_a_post_without_the_csrf_token_is_refused(view_only_staff) -> None:
    user = staff("ravi", "reviewers")
    _environment, operation = lost_connection()
    client = client_for(user, enforce_csrf_checks=True)

    assert client.post(reconcile_url(), form_data(operation, "partial")).status_code == 403
    assert not Reconciliation.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in() -> None:
    response = Client().post(reconcile_url(), {})

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_reconcile_page_says_when_there_is_nothing_to_reconcile(reviewer_client) -> None:
    environment = make_environment()
    deploy(environment, finished_at=ago(hours=1))

    assert "Nothing to reconcile" in text_of(reviewer_client.get(reconcile_url()))
