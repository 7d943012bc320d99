"""Operator pages through the Django test client: login, the banner of every state, the board's query
budget and filters, the review queue, acknowledging, and what a read-only reviewer may do.

Times are relative to the wall clock: the pages read ``timezone.now()``, so evidence recorded at a
fixed date would read as stale (or overdue) depending on the day the suite runs.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bootstraps.models import BootstrapOperation
from inventory.models import Environment, EnvironmentInventory, InventoryTransition
from inventory.rules import IdentityInput
from inventory.services import record_observation
from tests.factories import (
    bootstrap_once,
    deploy,
    finish,
    inventory_of,
    make_environment,
    passing_result,
    start,
    wrong_identity,
)

pytestmark = pytest.mark.django_db

BOARD = reverse("inventory:board")
DASH = "\N{EN DASH}"  # between the numbers of the pagination line ("Showing 1 to 50 of ...")
REVIEW = reverse("inventory:review")


def detail_url(context: str, instance: str) -> str:
    return reverse("inventory:environment", args=[context, instance])


def acknowledge_url(context: str, instance: str) -> str:
    return reverse("inventory:acknowledge", args=[context, instance])


# ---------------------------------------------------------------------------------------------------
# The cast
# ---------------------------------------------------------------------------------------------------


@pytest.fixture
def operator(db):
    """Staff with the permission to acknowledge."""
    user = get_user_model().objects.create_user(username="olga", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="acknowledge_environmentinventory"))
    return user


@pytest.fixture
def read_only(db):
    """Staff without any change permission: sees everything, changes nothing."""
    return get_user_model().objects.create_user(username="rob", is_staff=True)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def operator_client(operator) -> Client:
    return client_for(operator)


@pytest.fixture
def read_only_client(read_only) -> Client:
    return client_for(read_only)


def text_of(response) -> str:
    """The page as a person reads it: tags dropped, entities decoded, whitespace collapsed."""
    page = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(page)).replace("\xa0", " ")


def banner_of(response) -> str:
    match = re.search(r'data-role="banner">(.*?)</p>', response.content.decode(), re.S)
    assert match, "the page has no banner"
    return re.sub(r"\s+", " ", html.unescape(match.group(1))).strip()


def ago(**delta: float) -> datetime:
    return timezone.now() - timedelta(**delta)


# ---------------------------------------------------------------------------------------------------
# Builders: one environment in each state, through the services
# ---------------------------------------------------------------------------------------------------


def deployed(context: str, instance: str, *, at: datetime | None = None, **kwargs):
    environment = make_environment(context, instance)
    at = at or ago(hours=2)
    recorded = deploy(environment, finished_at=at, now=at, **kwargs)
    return environment, recorded.record


def make_current(context="cm", instance="prod", *, at=None):
    return deployed(context, instance, at=at or ago(hours=1))[0]


def make_unrecorded(context="cm", instance="new"):
    return make_environment(context, instance)


def make_bootstrap_in_progress(context="cm", instance="staging"):
    environment, _ = deployed(context, instance)
    start(environment, now=ago(minutes=10), timeout_seconds=86400)
    return environment


def make_unknown(context="cm", instance="nightly"):
    """A bootstrap whose deadline passed: the page's read expires it, so the data side reads unknown."""
    environment, _ = deployed(context, instance, at=ago(hours=5))
    start(environment, now=ago(hours=3), timeout_seconds=3600)
    return environment


def make_partially_bootstrapped(context="cm", instance="testing"):
    environment, _ = deployed(context, instance)
    result = passing_result(
        environment,
        bootstrap_run_status="fail",
        data_mutated=True,
        post_deploy_status="not_run",
        health_status="not_run",
        canonical_status="not_run",
        logo_status="not_run",
        error_message="module cm_sale failed to install",
    )
    bootstrap_once(environment, result, now=ago(minutes=40))
    return environment


def make_stale_inventory(context="acme", instance="prod"):
    environment, record = deployed(context, instance, at=ago(days=2))
    at = ago(hours=1)
    record_observation(
        environment, identity=wrong_identity(record), source="prober", observed_at=at, actor="prober", now=at
    )
    return environment


def make_verification_failed(context="acme", instance="staging"):
    environment, _ = deployed(context, instance)
    operation = start(environment, now=ago(minutes=20))
    finish(operation, passing_result(environment, canonical_status="fail", logo_status="fail"), now=ago(minutes=12))
    return environment


def make_unverified(context="acme", instance="testing"):
    return deployed(context, instance, at=ago(minutes=30), health_status="unknown", identity=None)[0]


# state -> (builder, words the banner must contain besides the state's label)
STATES = {
    "bootstrap_in_progress": (make_bootstrap_in_progress, ["a data bootstrap is in progress"]),
    "unknown": (make_unknown, ["the outcome of the last data bootstrap is unknown", "timed out"]),
    "partially_bootstrapped": (make_partially_bootstrapped, ["the data is partially bootstrapped"]),
    "stale_inventory": (
        make_stale_inventory,
        ["the runtime reports an identity other than the recorded deployment", "artifact_id"],
    ),
    "verification_failed": (
        make_verification_failed,
        ["the bootstrapped data failed verification", "canonical and logo checks failed"],
    ),
    "unverified": (make_unverified, ["the deployment is unverified", "health check unknown"]),
    "unrecorded": (make_unrecorded, ["no artifact deployment is recorded", "no last known good yet"]),
    "current": (make_current, ["the deployment is current", "last known good: artifact"]),
}

LABELS = {
    "bootstrap_in_progress": "Bootstrap in progress",
    "unknown": "Unknown",
    "partially_bootstrapped": "Partially bootstrapped",
    "stale_inventory": "Stale inventory",
    "verification_failed": "Verification failed",
    "unverified": "Unverified",
    "unrecorded": "Unrecorded",
    "current": "Current",
}


# ---------------------------------------------------------------------------------------------------
# Login and access
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,url",
    [
        ("get", BOARD),
        ("get", "/environments/cm/testing/"),
        ("get", REVIEW),
        ("post", "/review/cm/testing/acknowledge/"),
    ],
)
def test_every_page_sends_an_anonymous_visitor_to_the_login_page(client, method, url) -> None:
    make_environment("cm", "testing")
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_the_login_page_has_a_username_and_a_password_field_and_logs_staff_in(client, operator) -> None:
    operator.set_password("correct horse battery")
    operator.save()
    page = client.get(reverse("login"))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="username"' in body and 'name="password"' in body
    assert '<label for="id_username">' in body and '<label for="id_password">' in body
    response = client.post(reverse("login"), {"username": "olga", "password": "correct horse battery", "next": REVIEW})
    assert response.status_code == 302 and response["Location"] == REVIEW
    assert client.get(REVIEW).status_code == 200


def test_a_signed_in_user_who_is_not_staff_gets_403_on_every_page(db) -> None:
    make_environment("cm", "testing")
    outsider = client_for(get_user_model().objects.create_user(username="nina"))
    for url in (BOARD, detail_url("cm", "testing"), REVIEW):
        response = outsider.get(url)
        assert response.status_code == 403
        assert "for staff" in text_of(response)
    assert outsider.post(acknowledge_url("cm", "testing"), {"note": "x"}).status_code == 403


def test_the_detail_page_answers_404_for_an_unknown_environment(operator_client) -> None:
    assert operator_client.get(detail_url("cm", "nowhere")).status_code == 404


# ---------------------------------------------------------------------------------------------------
# The banner: one sentence per state
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(STATES))
def test_each_state_renders_its_banner_sentence_with_state_and_reason(operator_client, state) -> None:
    build, words = STATES[state]
    environment = build()
    response = operator_client.get(detail_url(environment.context, environment.instance))
    assert response.status_code == 200
    assert inventory_of(environment).state == state
    banner = banner_of(response)
    assert banner.startswith(f"{LABELS[state]} for "), banner
    for phrase in words:
        assert phrase in banner, f"{phrase!r} not in {banner!r}"
    assert ("last known good: artifact" in banner) or ("no last known good yet" in banner)


def test_the_banner_gives_the_age_of_the_state_and_of_the_last_known_good(operator_client) -> None:
    environment = make_verification_failed()
    banner = banner_of(operator_client.get(detail_url("acme", "staging")))
    assert banner.startswith("Verification failed for 12 minutes — the bootstrapped data failed verification (")
    record = inventory_of(environment).lkg_deployment
    assert f"last known good: artifact {record.artifact_id} (refs/heads/main) verified 2 hours ago." in banner


def test_the_banner_says_when_the_last_known_good_is_stale(operator_client) -> None:
    make_current(at=ago(days=3))
    banner = banner_of(operator_client.get(detail_url("cm", "prod")))
    assert banner.endswith("verified 3 days ago (stale: a verification stays fresh for 1 day).")


def test_an_overdue_bootstrap_reads_timed_out_on_the_page_without_the_sweeper(operator_client) -> None:
    environment = make_unknown()
    operation = BootstrapOperation.objects.get(environment=environment)
    assert operation.status == "running"
    response = operator_client.get(detail_url("cm", "nightly"))
    operation.refresh_from_db()
    assert operation.status == "timed_out"
    page = text_of(response)
    assert "timed out at its deadline" in page
    assert "not known whether data changed" in page


# ---------------------------------------------------------------------------------------------------
# The detail page's evidence
# ---------------------------------------------------------------------------------------------------


def test_the_detail_page_shows_each_bootstrap_check_in_its_own_cell_and_says_whether_data_changed(
    operator_client,
) -> None:
    make_verification_failed()
    body = operator_client.get(detail_url("acme", "staging")).content.decode()
    for check, value in (("post-deploy", "pass"), ("health", "pass"), ("canonical", "fail"), ("logo", "fail")):
        cell = re.search(rf'<td data-label="{check}" data-check="{check}">(.*?)</td>', body, re.S)
        assert cell, check
        assert f'data-value="{value}"' in cell.group(1)
    assert re.search(r'data-role="data-mutated">\s*data changed\s*<', body)
    assert "verification failed" in text_of_html(body)


def text_of_html(body: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_a_late_result_is_flagged_on_the_detail_page(operator_client) -> None:
    environment, _ = deployed("cm", "late")
    operation = start(environment, now=ago(hours=3), timeout_seconds=60)
    finish(operation, passing_result(environment), now=ago(hours=1))
    page = text_of(operator_client.get(detail_url("cm", "late")))
    assert "late: the result arrived after the deadline" in page


def test_the_identity_table_marks_each_differing_key(operator_client) -> None:
    make_stale_inventory()
    body = operator_client.get(detail_url("acme", "prod")).content.decode()
    row = re.search(r'<tr class="lp-differs" data-key="artifact_id">(.*?)</tr>', body, re.S)
    assert row and "differs" in row.group(1)
    same = re.search(r'<tr class="" data-key="context">(.*?)</tr>', body, re.S)
    assert same and "differs" not in same.group(1)


def test_the_detail_page_has_a_timeline_and_the_history_newest_first(operator_client) -> None:
    environment = make_verification_failed()
    response = operator_client.get(detail_url("acme", "staging"))
    body = response.content.decode()
    assert 'class="lp-timeline"' in body
    history = body[body.index('data-role="history"') :]
    reasons = [t.reason for t in InventoryTransition.objects.filter(environment=environment).order_by("-sequence")]
    positions = [history.index(html.escape(reason)) for reason in reasons]
    assert positions == sorted(positions)
    assert len(reasons) == 3  # deployment, bootstrap start, bootstrap result


# ---------------------------------------------------------------------------------------------------
# The board
# ---------------------------------------------------------------------------------------------------


def board_environments(response) -> list[str]:
    return re.findall(r'<tr data-environment="([^"]+)"', response.content.decode())


def test_the_board_says_so_when_there_are_no_environments(operator_client) -> None:
    assert "No environments yet — create one through the API" in text_of(operator_client.get(BOARD))


def test_the_board_shows_every_state_worst_first_with_counts(operator_client) -> None:
    built = {state: build() for state, (build, _words) in STATES.items()}
    response = operator_client.get(BOARD)
    assert board_environments(response) == [str(built[state]) for state in STATES]
    body = response.content.decode()
    for state in STATES:
        assert f'href="?state={state}"' in body
    assert re.search(
        r'href="\?state=unknown"><span class="lp-badge[^>]*>.*?</span> <span class="lp-chip__count">1<', body
    )


def test_the_board_filters_by_context_state_and_freshness(operator_client) -> None:
    for build, _words in STATES.values():
        build()
    assert board_environments(operator_client.get(BOARD, {"state": "verification_failed"})) == ["acme/staging"]
    assert board_environments(operator_client.get(BOARD, {"state": ["unverified", "stale_inventory"]})) == [
        "acme/prod",
        "acme/testing",
    ]
    assert set(board_environments(operator_client.get(BOARD, {"context": "acme"}))) == {
        "acme/prod",
        "acme/staging",
        "acme/testing",
    }
    assert board_environments(operator_client.get(BOARD, {"freshness": "missing"})) == ["cm/new"]
    assert board_environments(operator_client.get(BOARD, {"context": "acme", "state": "current"})) == []
    assert "No environment matches these filters" in text_of(
        operator_client.get(BOARD, {"context": "acme", "state": "current"})
    )


def test_the_board_answers_400_naming_a_filter_it_does_not_understand_and_lists_nothing(operator_client) -> None:
    make_current()
    make_unrecorded()
    response = operator_client.get(BOARD, {"state": "sideways"})
    assert response.status_code == 400
    assert "Some filters were not understood" in text_of(response)
    assert "state:" in text_of(response)
    assert "Nothing is listed: correct the filters above" in text_of(response)
    assert board_environments(response) == []


def test_the_timeline_shows_a_superseded_deployment_and_the_time_between_events(operator_client) -> None:
    environment = make_current(at=ago(hours=1))
    older = ago(days=2)
    record = deploy(environment, finished_at=older, now=ago(minutes=5)).record
    assert record.inventory_effect == "superseded"
    body = operator_client.get(detail_url("cm", "prod")).content.decode()
    timeline = text_of_html(body[body.index('class="lp-timeline"') : body.index('id="history-heading"')])
    assert f"Deployment {record.record_id} of {record.artifact_id}" in timeline
    assert "Stored as superseded" in timeline
    assert "1 day earlier" in timeline


def test_the_board_form_has_a_label_for_every_field(operator_client) -> None:
    make_current()
    body = operator_client.get(BOARD).content.decode()
    form = body[body.index('class="lp-filter-form"') :]
    form = form[: form.index("</form>")]
    ids = re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', form)
    assert ids and all(f'<label for="{field_id}">' in form for field_id in ids)


def test_the_board_and_the_queue_cost_the_same_queries_for_10_and_500_environments(operator_client) -> None:
    """Issue 11's guard: a page of 50 costs a fixed number of queries however many environments there
    are, on the first page and on a later one, filtered or not."""

    def add(first: int, last: int) -> None:
        for number in range(first, last):
            environment = make_environment(f"ctx{number % 7}", f"env{number}")
            at = ago(hours=3, minutes=number)
            # Every third deployment fails its health check: verification_failed, in the review queue.
            deploy(environment, finished_at=at, now=at, health_status="fail" if number % 3 == 0 else "pass")
            if number % 2:
                bootstrap_once(environment, passing_result(environment, logo_status="fail"), now=ago(hours=1))

    pages = {
        "board": BOARD,
        "board, page 2 (or the last)": f"{BOARD}?page=2",
        "board, filtered": f"{BOARD}?context=ctx1&state=verification_failed&state=current",
        "review queue": REVIEW,
        "review queue, page 2 (or the last)": f"{REVIEW}?page=2",
    }

    def queries() -> dict[str, int]:
        counts = {}
        for name, url in pages.items():
            with CaptureQueriesContext(connection) as captured:
                response = operator_client.get(url)
            assert response.status_code == 200, name
            counts[name] = len(captured)
        return counts

    add(0, 10)
    small = queries()
    add(10, 500)
    assert EnvironmentInventory.objects.count() == 500
    large = queries()
    assert large == small, f"10 environments: {small}; 500: {large}"
    board = operator_client.get(BOARD).content.decode()
    assert board.count('<tr data-environment="') == 50
    assert f"Showing 1{DASH}50 of 500 environments, page 1 of 10." in text_of_html(board)


def test_board_pages_keep_the_filters_and_go_worst_first(operator_client) -> None:
    for number in range(60):
        environment = make_environment("cm", f"lane{number:02d}")
        at = ago(hours=3, minutes=number)
        deploy(environment, finished_at=at, now=at, health_status="fail" if number < 55 else "pass")
    first = operator_client.get(BOARD, {"state": "verification_failed"}).content.decode()
    assert f"Showing 1{DASH}50 of 55 environments, page 1 of 2." in text_of_html(first)
    assert 'href="?state=verification_failed&amp;page=2" rel="next"' in first
    second = operator_client.get(BOARD, {"state": "verification_failed", "page": "2"})
    rows = board_environments(second)
    assert len(rows) == 5 and all(row.startswith("cm/lane") for row in rows)
    # The counts per state are over every environment, not the page.
    assert f"Showing 51{DASH}55 of 55 environments, page 2 of 2." in text_of_html(second.content.decode())
    # Worst first across pages: every failing environment before the current ones.
    states = [
        re.findall(
            r'<tr data-environment="[^"]+" data-state="([^"]+)"', operator_client.get(BOARD, query).content.decode()
        )
        for query in ({}, {"page": "2"})
    ]
    assert states[0] == ["verification_failed"] * 50
    assert states[1] == ["verification_failed"] * 5 + ["current"] * 5
    # A page number a person mistyped shows a page, not an error.
    assert operator_client.get(BOARD, {"page": "nine"}).status_code == 200
    assert len(board_environments(operator_client.get(BOARD, {"page": "99"}))) == 10


# ---------------------------------------------------------------------------------------------------
# The review queue
# ---------------------------------------------------------------------------------------------------


def queue_environments(response) -> list[str]:
    return re.findall(r'<li class="lp-queue__item" id="env-\d+" data-environment="([^"]+)"', response.content.decode())


def test_the_queue_lists_the_states_to_review_and_stale_ones_oldest_first(operator_client) -> None:
    make_stale_inventory()  # state changed 1 hour ago
    make_verification_failed()  # 12 minutes ago
    make_unverified()  # 30 minutes ago
    make_partially_bootstrapped()  # 40 minutes ago
    make_unknown()  # times out when the page reads it, stamped with its deadline 2 hours ago
    stale = make_current("globex", "prod", at=ago(days=3))  # current, but verified 3 days ago (TTL 1 day)
    make_current("cm", "prod")  # current and fresh: not in the queue
    make_unrecorded()  # nothing to verify yet: not in the queue
    make_bootstrap_in_progress()  # in progress: not in the queue
    response = operator_client.get(REVIEW)
    assert queue_environments(response) == [
        str(stale),
        "cm/nightly",
        "acme/prod",
        "cm/testing",
        "acme/testing",
        "acme/staging",
    ]


def test_the_queue_says_so_when_nothing_needs_review(operator_client) -> None:
    make_current()
    assert "Nothing to review" in text_of(operator_client.get(REVIEW))


def test_the_queue_offers_a_labelled_note_and_an_honest_reverify_button(operator_client, operator) -> None:
    environment = make_partially_bootstrapped()
    body = operator_client.get(REVIEW).content.decode()
    field_id = f"id_env{environment.pk}_note"
    assert f'<label for="{field_id}">' in body and '<textarea name="note"' in body and f'id="{field_id}"' in body
    assert 'name="csrfmiddlewaretoken"' in body
    # Without the verify permission the queue says so instead of offering a button that would be refused.
    assert "not re-verify" in body
    assert not re.search(r"<button[^>]*>Re-verify cm/testing<", body)
    operator.user_permissions.add(Permission.objects.get(codename="verify_environmentinventory"))
    body = client_for(operator).get(REVIEW).content.decode()
    # No base URL to probe: the button is there, disabled, and says why.
    assert re.search(r"<button[^>]*disabled[^>]*>Re-verify cm/testing<", body)
    assert "no base URL to probe" in body


def test_acknowledging_goes_through_the_service_and_shows_in_the_queue_and_history(operator_client, operator) -> None:
    environment = make_partially_bootstrapped()
    before = inventory_of(environment)
    response = operator_client.post(
        acknowledge_url("cm", "testing"), {"note": "Known: cm_sale fix lands tomorrow", "next": REVIEW}, follow=True
    )
    assert response.redirect_chain == [(REVIEW, 302)]
    page = text_of(response)
    assert "Acknowledged cm/testing" in page
    assert "Acknowledged by olga just now" in page and "Known: cm_sale fix lands tomorrow" in page
    after = inventory_of(environment)
    assert after.acknowledged_by == operator and after.acknowledgement_note == "Known: cm_sale fix lands tomorrow"
    assert (after.state, after.deployment_state, after.data_state) == (
        before.state,
        before.deployment_state,
        before.data_state,
    )
    latest = InventoryTransition.objects.filter(environment=environment).order_by("-sequence").first()
    assert latest.cause_type == "review" and latest.actor == "olga"
    detail = operator_client.get(detail_url("cm", "testing"))
    history = text_of_html(detail.content.decode().split('data-role="history"')[1])
    assert "Acknowledged by olga: Known: cm_sale fix lands tomorrow" in history
    assert f'id="env-{environment.pk}"' in operator_client.get(REVIEW).content.decode()
    assert f'action="{acknowledge_url("cm", "testing")}"' not in operator_client.get(REVIEW).content.decode()


def test_acknowledging_without_a_note_shows_the_error_and_changes_nothing(operator_client) -> None:
    environment = make_partially_bootstrapped()
    transitions = InventoryTransition.objects.count()
    for note in ("", "   "):
        response = operator_client.post(acknowledge_url("cm", "testing"), {"note": note})
        assert response.status_code == 400
        assert "Write a note" in text_of(response)
        assert 'class="lp-field lp-field--error"' in response.content.decode()
    assert InventoryTransition.objects.count() == transitions
    assert inventory_of(environment).acknowledged_at is None


def test_acknowledging_refuses_get_and_a_foreign_next_url(operator_client) -> None:
    make_partially_bootstrapped()
    assert operator_client.get(acknowledge_url("cm", "testing")).status_code == 405
    response = operator_client.post(acknowledge_url("cm", "testing"), {"note": "ok", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == REVIEW
    assert operator_client.post(acknowledge_url("cm", "nowhere"), {"note": "ok"}).status_code == 404


def test_a_reader_without_the_permission_sees_everything_but_no_form_and_gets_403_on_post(read_only_client) -> None:
    environment = make_partially_bootstrapped()
    for url in (BOARD, detail_url("cm", "testing"), REVIEW):
        assert read_only_client.get(url).status_code == 200
    queue = read_only_client.get(REVIEW)
    assert queue_environments(queue) == ["cm/testing"]
    body = queue.content.decode()
    # The reconcile form is shown disabled, with the reason (rule 16's "Review"); no other form is.
    reconcile = re.search(r'<details class="lp-reconcile".*?</details>', body, re.S)
    assert reconcile is not None and '<fieldset class="lp-reconcile__fields" disabled>' in reconcile.group(0)
    body = body.replace(reconcile.group(0), "")
    assert "<textarea" not in body and "/acknowledge/" not in body
    assert "can read this queue but not acknowledge" in text_of(queue)
    transitions = InventoryTransition.objects.count()
    response = read_only_client.post(acknowledge_url("cm", "testing"), {"note": "I should not be able to"})
    assert response.status_code == 403
    assert InventoryTransition.objects.count() == transitions
    assert inventory_of(environment).acknowledged_at is None


def test_an_acknowledgement_is_shown_until_the_next_change_of_state(operator_client, operator) -> None:
    environment = make_unverified()
    operator_client.post(acknowledge_url("acme", "testing"), {"note": "Health probe is flaky"})
    assert "Health probe is flaky" in text_of(operator_client.get(detail_url("acme", "testing")))
    at = ago(minutes=1)
    deploy(environment, finished_at=at, now=at, health_status="fail")
    page = text_of(operator_client.get(REVIEW))
    assert "Health probe is flaky" not in page
    assert Environment.objects.count() == 1


def test_an_observation_that_is_malformed_is_shown_as_sent(operator_client) -> None:
    environment, _ = deployed("cm", "odd")
    record_observation(
        environment,
        identity=IdentityInput(sent=True, value=["not", "an", "object"]),
        source="prober",
        observed_at=ago(minutes=5),
        actor="prober",
    )
    page = text_of(operator_client.get(detail_url("cm", "odd")))
    assert "not a JSON object" in page and '[ "not", "an", "object" ]' in page
