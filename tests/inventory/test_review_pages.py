"""Taking responsibility and snoozing through the pages with real sessions (the Django test client):
the take / release forms on the queue and the environment page, the holder on the queue, the board
and the page, acknowledging with ``until``, the queue's views (``?show=snoozed``, ``?holder=``) and
their validation, what read-only staff see, the admin actions, the read model's ``assignee``, and
query counts that stay flat however many environments are held or snoozed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.models import EnvironmentInventory, InventoryTransition
from inventory.services import acknowledge, take
from tests.api.conftest import make_caller
from tests.factories import deploy, inventory_of, make_environment, row_counts, staff_user
from tests.inventory.test_views import (
    REVIEW,
    ago,
    detail_url,
    make_current,
    make_partially_bootstrapped,
    make_unverified,
    make_verification_failed,
    queue_environments,
    text_of,
)

pytestmark = pytest.mark.django_db

BOARD = reverse("inventory:board")


def take_url(context: str = "cm", instance: str = "testing") -> str:
    return reverse("inventory:take", args=[context, instance])


def release_url(context: str = "cm", instance: str = "testing") -> str:
    return reverse("inventory:release", args=[context, instance])


def acknowledge_url(context: str = "cm", instance: str = "testing") -> str:
    return reverse("inventory:acknowledge", args=[context, instance])


def local(moment: datetime) -> str:
    """A moment as a browser's ``datetime-local`` field sends it, in UTC as the page asks."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def olga():
    return staff_user("olga", "reviewers")


@pytest.fixture
def hana():
    return staff_user("hana", "operators")


@pytest.fixture
def olga_client(olga) -> Client:
    client = Client()
    client.force_login(olga)
    return client


@pytest.fixture
def reader_client() -> Client:
    client = Client()
    client.force_login(staff_user("rob", group=None))
    return client


def responsibility_form(body: str, name: str) -> str:
    """The take / release form of environment ``name`` on a page."""
    forms = re.findall(r'<form[^>]*data-role="responsibility".*?</form>', body, re.S)
    found = [form for form in forms if f'action="/environments/{name}/take/"' in form]
    assert found, f"no take / release form for {name}"
    return found[0]


# ---------------------------------------------------------------------------------------------------
# Take and release
# ---------------------------------------------------------------------------------------------------


def test_the_queue_offers_a_take_button_in_a_real_form_with_csrf(olga_client) -> None:
    make_partially_bootstrapped()
    form = responsibility_form(olga_client.get(REVIEW).content.decode(), "cm/testing")
    assert f'action="{take_url()}"' in form and 'name="csrfmiddlewaretoken"' in form
    assert re.search(
        rf'<button type="submit" class="lp-button" formaction="{take_url()}">Take cm/testing</button>', form
    )
    assert f'name="next" value="{REVIEW}"' in form
    assert "Nobody has taken it yet." in form and "Release" not in form


def test_taking_from_the_queue_goes_through_the_service_and_shows_who_holds_it_everywhere(olga_client, olga) -> None:
    environment = make_partially_bootstrapped()
    response = olga_client.post(take_url(), {"next": REVIEW}, follow=True)
    assert response.redirect_chain == [(REVIEW, 302)]
    assert messages_of(response) == ["You took cm/testing."]
    assert "Held by olga (you) since just now" in text_of(response)
    inventory = inventory_of(environment)
    assert inventory.assignee == olga
    newest = InventoryTransition.objects.filter(environment=environment).order_by("-sequence").first()
    assert (newest.cause_type, newest.effect, newest.actor, newest.reason) == (
        "review",
        "retained",
        "olga",
        "Taken by olga.",
    )
    # The queue now offers to hand it back, not to take it again.
    form = responsibility_form(response.content.decode(), "cm/testing")
    assert "Release cm/testing" in form and ">Take cm/testing<" not in form
    assert "held by olga since just now" in text_of(olga_client.get(BOARD))
    detail = olga_client.get(detail_url("cm", "testing"))
    page = text_of(detail)
    assert "Held by olga (you) since just now" in page and "Taken by olga." in page
    timeline = re.search(r'<ol class="lp-timeline">.*?</ol>', detail.content.decode(), re.S).group(0)
    assert "<strong>Taken by olga</strong>" in timeline and "Acknowledged" not in timeline


def test_taking_over_is_offered_by_name_and_recorded_with_both(olga_client, hana) -> None:
    environment = make_partially_bootstrapped()
    take(environment, user=hana)
    form = responsibility_form(olga_client.get(detail_url("cm", "testing")).content.decode(), "cm/testing")
    assert "Held by hana since" in re.sub(r"<[^>]+>", "", form)
    assert "Take over cm/testing from hana" in form and "Release cm/testing" in form

    response = olga_client.post(take_url(), follow=True)

    assert response.redirect_chain == [(detail_url("cm", "testing"), 302)]  # no next: back to the page
    assert messages_of(response) == ["You took cm/testing over from hana."]
    newest = InventoryTransition.objects.filter(environment=environment).order_by("-sequence").first()
    assert newest.reason.startswith("Taken over by olga from hana (held since ")


def test_releasing_hands_it_back_and_a_second_release_says_nobody_holds_it(olga_client, olga) -> None:
    environment = make_partially_bootstrapped()
    take(environment, user=olga)
    response = olga_client.post(release_url(), {"next": detail_url("cm", "testing")}, follow=True)
    assert messages_of(response) == ["You released cm/testing."]
    assert inventory_of(environment).assignee is None
    counts = row_counts()
    response = olga_client.post(release_url(), follow=True)
    assert messages_of(response) == ["Nobody holds cm/testing: nothing changed."]
    assert row_counts() == counts


def test_taking_again_is_a_no_op_said_clearly(olga_client, olga) -> None:
    environment = make_partially_bootstrapped()
    take(environment, user=olga)
    counts = row_counts()
    response = olga_client.post(take_url(), {"next": REVIEW}, follow=True)
    [message] = messages_of(response)
    assert message.startswith("You already hold cm/testing since ") and message.endswith(": nothing changed.")
    assert row_counts() == counts


def test_a_current_and_fresh_environment_offers_no_take_and_a_post_is_refused_with_a_message(olga_client) -> None:
    make_current("cm", "prod")
    form = responsibility_form(olga_client.get(detail_url("cm", "prod")).content.decode(), "cm/prod")
    assert "Nobody needs to hold it: it is current and fresh." in form and "<button" not in form
    counts = row_counts()
    response = olga_client.post(take_url("cm", "prod"), follow=True)
    assert messages_of(response) == ["cm/prod is current and fresh: there is nothing to take responsibility for."]
    assert row_counts() == counts


def test_take_and_release_refuse_get_a_foreign_next_and_an_unknown_environment(olga_client) -> None:
    make_partially_bootstrapped()
    assert olga_client.get(take_url()).status_code == 405
    assert olga_client.get(release_url()).status_code == 405
    response = olga_client.post(take_url(), {"next": "https://evil.example/review/"})
    assert response.status_code == 302 and response["Location"] == detail_url("cm", "testing")
    assert olga_client.post(take_url("cm", "nowhere")).status_code == 404


def test_take_requires_csrf_like_every_form() -> None:
    environment = make_partially_bootstrapped()
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user("olga"))
    assert client.post(take_url()).status_code == 403
    assert inventory_of(environment).assignee is None


def test_read_only_staff_see_the_buttons_disabled_with_the_reason_and_a_post_answers_403(reader_client, hana) -> None:
    environment = make_partially_bootstrapped()
    take(environment, user=hana)
    for url in (REVIEW, detail_url("cm", "testing")):
        form = responsibility_form(reader_client.get(url).content.decode(), "cm/testing")
        buttons = re.findall(r"<button[^>]*>[^<]*</button>", form)
        assert len(buttons) == 2 and all(" disabled " in button for button in buttons)
        assert "Not available: you can read inventory but not take or release it" in form
    counts = row_counts()
    for url in (take_url(), release_url()):
        response = reader_client.post(url, {"next": REVIEW})
        assert response.status_code == 403
        assert "not take or release it" in text_of(response)
    assert row_counts() == counts
    assert inventory_of(environment).assignee.username == "hana"


def test_a_holder_is_released_when_the_environment_is_current_and_fresh_again(olga_client, olga) -> None:
    environment = make_unverified()
    olga_client.post(take_url("acme", "testing"))
    at = ago(minutes=1)
    deploy(environment, finished_at=at, now=at)
    assert inventory_of(environment).assignee is None
    page = text_of(olga_client.get(detail_url("acme", "testing")))
    assert "Released olga's hold: the environment is current and fresh again." in page
    assert "held by" not in text_of(olga_client.get(BOARD))


# ---------------------------------------------------------------------------------------------------
# Snooze
# ---------------------------------------------------------------------------------------------------


def test_the_acknowledge_form_has_a_labelled_utc_snooze_field(olga_client) -> None:
    environment = make_partially_bootstrapped()
    body = olga_client.get(REVIEW).content.decode()
    field_id = f"id_env{environment.pk}_until"
    assert f'<label for="{field_id}">Snooze cm/testing until (UTC, optional)</label>' in body
    assert re.search(rf'<input type="datetime-local" name="until"[^>]*id="{field_id}"', body)
    assert f'id="{field_id}_helptext"' in body and "in UTC (not your local time)" in body


def test_a_snoozed_environment_leaves_the_queue_and_is_listed_under_snoozed_with_when_it_comes_back(
    olga_client,
) -> None:
    make_partially_bootstrapped()
    make_verification_failed()
    until = timezone.now() + timedelta(days=2, minutes=5)
    response = olga_client.post(
        acknowledge_url(), {"note": "Restore re-runs Friday", "until": local(until), "next": REVIEW}, follow=True
    )
    assert response.redirect_chain == [(REVIEW, 302)]
    assert messages_of(response) == [
        f"Acknowledged cm/testing and snoozed it until {local(until).replace('T', ' ')} UTC"
    ]
    assert queue_environments(response) == ["acme/staging"]
    assert "Snoozed (1)" in text_of(response)
    inventory = EnvironmentInventory.objects.get(environment__instance="testing")
    assert inventory.acknowledged_until == until.replace(second=0, microsecond=0)

    snoozed = olga_client.get(REVIEW, {"show": "snoozed"})
    assert queue_environments(snoozed) == ["cm/testing"]
    assert "Snoozed: comes back in 2 days" in text_of(snoozed)
    assert re.search(
        r'<a href="/review/\?show=snoozed" aria-current="page">Snoozed \(1\)</a>', snoozed.content.decode()
    )
    page = text_of(olga_client.get(detail_url("cm", "testing")))
    shown = re.escape(local(until).replace("T", " "))
    assert re.search(rf"Snoozed out of the review queue until {shown} UTC \( ?in 2 days", page)


def test_a_snoozed_environment_comes_back_when_its_state_changes(olga_client) -> None:
    environment = make_unverified()
    olga_client.post(acknowledge_url("acme", "testing"), {"note": "flaky", "until": local(ago(days=-3))})
    assert queue_environments(olga_client.get(REVIEW)) == []
    at = ago(minutes=1)
    deploy(environment, finished_at=at, now=at, health_status="fail")  # unverified -> verification failed
    response = olga_client.get(REVIEW)
    assert queue_environments(response) == ["acme/testing"]
    assert "flaky" not in text_of(response)  # the acknowledgement went with the state it answered
    assert queue_environments(olga_client.get(REVIEW, {"show": "snoozed"})) == []


def test_a_snooze_that_ended_brings_the_environment_back_saying_so(olga_client, olga) -> None:
    environment = make_partially_bootstrapped()
    acknowledge(environment, user=olga, note="wait for it", until=ago(minutes=20), now=ago(minutes=30))
    response = olga_client.get(REVIEW)
    assert queue_environments(response) == ["cm/testing"]
    assert re.search(r"The snooze ended (19|20) minutes ago ?\.", text_of(response))


@pytest.mark.parametrize(
    ("until", "error"),
    [
        (lambda: local(ago(hours=1)), "Snooze until a time in the future"),
        (lambda: local(ago(days=-8)), "Snooze for at most 7 days"),
        (lambda: "next tuesday", "Enter a date and time, such as 2026-12-02T14:30 (UTC)."),
    ],
    ids=["past", "beyond-7-days", "not-a-time"],
)
def test_a_bad_snooze_comes_back_with_the_error_next_to_the_field_and_records_nothing(
    olga_client, until, error
) -> None:
    environment = make_partially_bootstrapped()
    counts = row_counts()
    response = olga_client.post(acknowledge_url(), {"note": "seen", "until": until(), "next": REVIEW})
    assert response.status_code == 400
    body = response.content.decode()
    field = re.search(r'<div class="lp-field lp-field--error">\s*<label for="id_env\d+_until">.*?</div>', body, re.S)
    assert field is not None and error in field.group(0)
    assert row_counts() == counts
    assert inventory_of(environment).acknowledged_at is None


# ---------------------------------------------------------------------------------------------------
# The queue's views
# ---------------------------------------------------------------------------------------------------


def test_the_queue_filters_by_holder(olga_client, olga, hana) -> None:
    mine = make_partially_bootstrapped()
    theirs = make_verification_failed()
    make_unverified()  # nobody's
    take(mine, user=olga)
    take(theirs, user=hana)
    assert queue_environments(olga_client.get(REVIEW)) == ["cm/testing", "acme/testing", "acme/staging"]
    assert queue_environments(olga_client.get(REVIEW, {"holder": "mine"})) == ["cm/testing"]
    assert queue_environments(olga_client.get(REVIEW, {"holder": "unassigned"})) == ["acme/testing"]
    # The form on a filtered view comes back to it.
    body = olga_client.get(REVIEW, {"holder": "unassigned"}).content.decode()
    assert 'name="next" value="/review/?holder=unassigned"' in body
    # An empty value is no filter.
    assert len(queue_environments(olga_client.get(REVIEW, {"holder": "", "show": ""}))) == 3
    empty = olga_client.get(REVIEW, {"holder": "mine", "show": "snoozed"})
    assert queue_environments(empty) == [] and "Nothing is snoozed in this view." in text_of(empty)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"holder": "yours"}, "holder: Use holder=mine or holder=unassigned"),
        ({"show": "everything"}, "show: Use show=snoozed"),
        ({"holder": ["mine", "unassigned"]}, "holder: Give this filter once"),
        ({"show": "\x00"}, "show:"),
    ],
    ids=["holder", "show", "twice", "nul"],
)
def test_a_queue_view_it_does_not_understand_answers_400_naming_it_and_lists_nothing(olga_client, query, words) -> None:
    make_partially_bootstrapped()
    response = olga_client.get(REVIEW, query)
    assert response.status_code == 400
    assert words in text_of(response)
    assert queue_environments(response) == []


def test_the_board_and_the_queue_stay_flat_in_queries_with_holders_and_snoozes(olga_client, olga) -> None:
    def add(first: int, last: int) -> None:
        for number in range(first, last):
            environment = make_environment(f"ctx{number % 3}", f"env{number}")
            at = ago(hours=3, minutes=number)
            deploy(environment, finished_at=at, now=at, health_status="fail")
            if number % 2:
                take(environment, user=olga)
            if number % 3 == 0:
                acknowledge(environment, user=olga, note="later", until=ago(days=-1))

    pages = [BOARD, REVIEW, f"{REVIEW}?show=snoozed", f"{REVIEW}?holder=mine", f"{REVIEW}?holder=unassigned"]

    def queries() -> dict[str, int]:
        counts = {}
        for url in pages:
            with CaptureQueriesContext(connection) as captured:
                assert olga_client.get(url).status_code == 200
            counts[url] = len(captured)
        return counts

    add(0, 6)
    few = queries()
    add(6, 60)
    assert queries() == few


# ---------------------------------------------------------------------------------------------------
# The read model
# ---------------------------------------------------------------------------------------------------


def test_the_read_model_says_who_holds_an_environment_and_until_when_it_is_snoozed(olga) -> None:
    automation = make_caller("ci-cm", ["cm"])
    environment = make_partially_bootstrapped()
    url = f"/api/v1/environments/{environment.context}/{environment.instance}/"
    body = automation.http.get(url).json()
    assert (body["assignee"], body["acknowledgement"]) == (None, None)

    done = take(environment, user=olga)
    until = timezone.now().replace(microsecond=0) + timedelta(days=1)
    acknowledge(environment, user=olga, note="on it", until=until)

    body = automation.http.get(url).json()
    assert body["assignee"] == {
        "username": "olga",
        "since": done.inventory.assigned_at.isoformat().replace("+00:00", "Z"),
    }
    assert body["acknowledgement"]["until"] == until.isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------------
# The admin
# ---------------------------------------------------------------------------------------------------


def admin_action(client: Client, action: str, inventories) -> list[str]:
    response = client.post(
        reverse("admin:inventory_environmentinventory_changelist"),
        {"action": action, "_selected_action": [str(inventory.pk) for inventory in inventories]},
        follow=True,
    )
    assert response.status_code == 200
    return messages_of(response)


def test_the_admin_takes_and_releases_selected_environments_and_reports_the_counts(olga, hana) -> None:
    waiting = [make_partially_bootstrapped(), make_verification_failed(), make_unverified()]
    fresh = make_current("cm", "prod")
    take(waiting[0], user=olga)
    client = Client()
    client.force_login(olga)
    selected = [inventory_of(environment) for environment in [*waiting, fresh]]

    said = admin_action(client, "take_selected", selected)

    assert "Took 2 environments." in said
    assert "1 was already yours: nothing changed." in said
    assert "cm/prod: cm/prod is current and fresh: there is nothing to take responsibility for." in said
    assert all(inventory_of(environment).assignee == olga for environment in waiting)
    changelist = text_of(client.get(reverse("admin:inventory_environmentinventory_changelist")))
    assert "olga since" in changelist

    take(waiting[1], user=hana)
    said = admin_action(client, "release_selected", [inventory_of(environment) for environment in [*waiting, fresh]])
    assert "Released 3 environments." in said and "Nobody held 1: nothing changed." in said
    assert not EnvironmentInventory.objects.filter(assignee__isnull=False).exists()
    reasons = set(InventoryTransition.objects.filter(cause_id__startswith="release:").values_list("reason", flat=True))
    assert reasons == {"Released by olga.", "Released by olga on behalf of hana."}


def test_the_admin_offers_no_take_or_release_to_read_only_staff(view_only_staff) -> None:
    environment = make_partially_bootstrapped()
    client = Client()
    client.force_login(view_only_staff)
    changelist = client.get(reverse("admin:inventory_environmentinventory_changelist")).content.decode()
    assert "take_selected" not in changelist and "release_selected" not in changelist
    client.post(
        reverse("admin:inventory_environmentinventory_changelist"),
        {"action": "take_selected", "_selected_action": [str(environment.pk)]},
    )
    assert inventory_of(environment).assignee is None
