"""Taking responsibility and snoozing in real Chromium, on the demo data (PRODUCT.md, "Review"): a
reviewer takes an environment from the queue and finds their name on the queue and the board; a second
reviewer takes it over from the environment page and hands it back; a snooze with a bad ``until`` comes
back with the error next to the field, a good one moves the environment to the "snoozed" view with the
time it comes back; a reader sees the buttons disabled with the reason and a post answers 403.
Screenshots go to test-artifacts/screenshots/ (take-*.png, snooze-*.png)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from inventory.models import EnvironmentInventory
from tests.browser.test_pages import PHONE, assert_accessible_basics, assert_fits_the_screen, log_in, shoot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REVIEWER = ("rhea", "launchplane-reviewer-password")
OPERATOR = ("omar", "launchplane-operator-password")
READER = ("rob", "launchplane-reader-password")
NAME = "cm/testing"  # partially bootstrapped in the demo data: waiting for review


@pytest.fixture
def demo(live_server) -> str:
    """The demo data, a reviewer, an operator and a reader (staff without any permission)."""
    call_command("seed_demo", stdout=io.StringIO())
    users = get_user_model().objects
    for (username, password), group in ((REVIEWER, "reviewers"), (OPERATOR, "operators"), (READER, None)):
        user = users.create_user(username=username, password=password, is_staff=True)
        if group:
            user.groups.add(Group.objects.get(name=group))
    return live_server.url


def inventory() -> EnvironmentInventory:
    return EnvironmentInventory.objects.select_related("assignee").get(
        environment__context="cm", environment__instance="testing"
    )


def utc_field(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def test_a_reviewer_takes_from_the_queue_and_another_takes_over_and_releases(
    page, browser_context, demo, screenshots
) -> None:
    log_in(page, demo, REVIEWER, "/review/")
    item = page.locator(f'li[data-environment="{NAME}"]')
    holder = item.locator('[data-role="holder"]')
    assert holder.inner_text() == "Nobody has taken it yet."
    item.get_by_role("button", name=f"Take {NAME}", exact=True).click()
    page.wait_for_url(re.compile(r"/review/$"))
    assert page.locator(".lp-messages").inner_text().strip() == f"You took {NAME}."
    item = page.locator(f'li[data-environment="{NAME}"]')
    assert item.locator('[data-role="holder"]').inner_text() == "Held by rhea (you) since just now"
    assert item.get_by_role("button", name=f"Release {NAME}").is_enabled()
    assert item.get_by_role("button", name=f"Take {NAME}", exact=True).count() == 0
    assert_accessible_basics(page)
    item.scroll_into_view_if_needed()
    item.screenshot(path=str(screenshots / "take-queue.png"))
    assert inventory().assignee.username == "rhea"

    page.goto(demo + "/")
    row = page.locator(f'tr[data-environment="{NAME}"]')
    assert row.locator('[data-role="holder"]').inner_text() == "held by rhea since just now"
    row.screenshot(path=str(screenshots / "take-board.png"))

    # A second session: the operator takes it over from the environment page, then hands it back.
    other = browser_context.browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        operator = other.new_page()
        log_in(operator, demo, OPERATOR, "/environments/cm/testing/")
        banner = operator.locator('[data-role="responsibility"]')
        assert banner.locator('[data-role="holder"]').inner_text() == "Held by rhea since just now"
        banner.get_by_role("button", name=f"Take over {NAME} from rhea").click()
        operator.wait_for_url(re.compile(r"/environments/cm/testing/$"))
        assert operator.locator(".lp-messages").inner_text().strip() == f"You took {NAME} over from rhea."
        assert operator.locator('[data-role="holder"]').inner_text() == "Held by omar (you) since just now"
        newest = operator.locator('[data-role="history"] tbody tr').first
        assert "Taken over by omar from rhea" in newest.inner_text() and "by omar" in newest.inner_text()
        timeline = operator.locator(".lp-timeline").inner_text()
        assert "Taken over by omar" in timeline and "Taken by rhea" in timeline and "Acknowledged" not in timeline
        shoot(operator, screenshots, "take-over-page")
        operator.get_by_role("button", name=f"Release {NAME}").click()
        operator.wait_for_url(re.compile(r"/environments/cm/testing/$"))
        assert operator.locator(".lp-messages").inner_text().strip() == f"You released {NAME}."
        assert operator.locator('[data-role="holder"]').inner_text() == "Nobody has taken it yet."
        assert "Released by omar." in operator.locator('[data-role="history"] tbody tr').first.inner_text()
    finally:
        other.close()
    assert inventory().assignee is None


def test_a_reviewer_snoozes_from_the_queue_and_finds_it_under_snoozed(page, demo, screenshots) -> None:
    log_in(page, demo, REVIEWER, "/review/")
    item = page.locator(f'li[data-environment="{NAME}"]')
    assert "in UTC (not your local time)" in item.inner_text()
    item.get_by_label(f"Acknowledgement note for {NAME}").fill("Restore re-runs on Friday; nothing to do until then")
    item.get_by_label(f"Snooze {NAME} until (UTC, optional)").fill(utc_field(datetime.now(UTC) + timedelta(days=10)))
    item.get_by_role("button", name=f"Acknowledge {NAME}").click()
    item = page.locator(f'li[data-environment="{NAME}"]')
    error = item.locator(".lp-field--error .lp-field-error")
    assert error.inner_text().startswith("Snooze for at most 7 days: until ")
    assert "Restore re-runs on Friday" in item.get_by_label(f"Acknowledgement note for {NAME}").input_value()
    assert inventory().acknowledged_at is None
    item.scroll_into_view_if_needed()
    item.screenshot(path=str(screenshots / "snooze-error.png"))

    until = datetime.now(UTC) + timedelta(days=2, minutes=30)
    item.get_by_label(f"Snooze {NAME} until (UTC, optional)").fill(utc_field(until))
    item.get_by_role("button", name=f"Acknowledge {NAME}").click()
    page.wait_for_url(re.compile(r"/review/$"))
    assert page.locator(".lp-messages").inner_text().strip() == (
        f"Acknowledged {NAME} and snoozed it until {utc_field(until).replace('T', ' ')} UTC"
    )
    assert page.locator(f'li[data-environment="{NAME}"]').count() == 0
    page.get_by_role("link", name="Snoozed (1)").click()
    page.wait_for_url(re.compile(r"/review/\?show=snoozed$"))
    snoozed = page.locator(f'li[data-environment="{NAME}"]')
    when = snoozed.locator('[data-role="snooze"]').inner_text().replace("\xa0", " ")
    assert when.startswith("Snoozed: comes back in 2 days") and when.endswith("or sooner if its state changes.")
    assert page.locator("li.lp-queue__item").count() == 1
    assert_accessible_basics(page)
    shoot(page, screenshots, "snooze-snoozed-view")
    page.set_viewport_size(PHONE)
    assert_fits_the_screen(page)
    shoot(page, screenshots, "snooze-phone")


def test_a_reader_sees_take_disabled_with_the_reason_and_a_post_answers_403(
    page, browser_context, demo, screenshots
) -> None:
    log_in(page, demo, READER, "/review/")
    item = page.locator(f'li[data-environment="{NAME}"]')
    form = item.locator('[data-role="responsibility"]')
    assert form.get_by_role("button", name=f"Take {NAME}", exact=True).is_disabled()
    assert "Not available: you can read inventory but not take or release it" in form.inner_text()
    form.screenshot(path=str(screenshots / "take-read-only.png"))
    token = page.locator('input[name="csrfmiddlewaretoken"]').first.get_attribute("value")
    response = browser_context.request.post(
        demo + "/environments/cm/testing/take/",
        form={"csrfmiddlewaretoken": token, "next": "/review/"},
        headers={"Referer": demo + "/review/"},
        max_redirects=0,
    )
    assert response.status == 403 and "not take or release it" in response.text()
    assert inventory().assignee is None
