"""The reconcile form in real Chromium, on the demo data (rule 16): a reviewer opens it in the review
queue, reads what each provider state will do, sends it without evidence and sees the error next to the
field, then reconciles and finds the reviewer named in the history; a reader sees it disabled with the
reason. Screenshots go to test-artifacts/screenshots/ (reconcile-*.png)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from bootstraps.models import Reconciliation
from inventory.models import EnvironmentInventory
from tests.browser.test_pages import PHONE, assert_accessible_basics, assert_fits_the_screen, log_in, shoot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REVIEWER = ("rhea", "launchplane-reviewer-password")
READER = ("rob", "launchplane-reader-password")


@pytest.fixture
def demo(live_server) -> str:
    """The demo data (every state), a reviewer (the reviewers group) and a reader (staff, no permission)."""
    call_command("seed_demo", stdout=io.StringIO())
    users = get_user_model().objects
    users.create_user(username=REVIEWER[0], password=REVIEWER[1], is_staff=True).groups.add(
        Group.objects.get(name="reviewers")
    )
    users.create_user(username=READER[0], password=READER[1], is_staff=True)
    return live_server.url


def unknown_environment() -> str:
    inventory = EnvironmentInventory.objects.select_related("environment").filter(data_state="unknown").first()
    assert inventory is not None, "seed_demo has an environment whose data side is unknown"
    return str(inventory.environment)


def test_a_reviewer_reconciles_an_unknown_bootstrap_from_the_queue(page, demo, screenshots) -> None:
    name = unknown_environment()
    log_in(page, demo, REVIEWER, "/review/")
    item = page.locator(f'li[data-environment="{name}"]')
    form = item.locator('[data-role="reconcile"]')
    form.locator("summary").click()
    assert "The bootstrap finished and changed the data." in form.inner_text()
    assert "Will do: The data side goes from unknown to unverified" in form.inner_text()
    assert "Will do: The data side goes from unknown to partially bootstrapped" in form.inner_text()
    assert "in UTC (not your local time)" in form.inner_text()
    assert_accessible_basics(page)
    form.scroll_into_view_if_needed()
    form.screenshot(path=str(screenshots / "reconcile-form.png"))

    # Sent without evidence: it comes back with the error next to the field, nothing recorded.
    form.get_by_label("partial").check()
    form.get_by_label("Inspected at (UTC)").fill((datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_role("button", name=f"Reconcile {name}").click()
    page.wait_for_url(re.compile(r"/reconcile/$"))
    error = page.locator(".lp-field--error .lp-field-error")
    assert error.inner_text() == "Give a link or a ticket id for what you inspected."
    assert page.locator('input[name="provider_state"][value="partial"]').is_checked()  # the choice is kept
    assert not Reconciliation.objects.exists()
    assert_accessible_basics(page)
    shoot(page, screenshots, "reconcile-errors")

    page.get_by_label("Evidence").fill("https://provider.example.com/jobs/4711")
    page.get_by_label("Note").fill("The restore job stopped after the filestore; the database is half-loaded.")
    page.get_by_role("button", name=f"Reconcile {name}").click()
    page.wait_for_url(re.compile(r"/review/$"))
    message = page.locator(".lp-messages").inner_text().strip()
    assert message.startswith(f"Reconciled {name}: bootstrap op-") and "unknown → partially bootstrapped" in message
    shoot(page, screenshots, "reconcile-done-queue")

    page.locator(f'li[data-environment="{name}"] h2 a').click()
    newest = page.locator('[data-role="history"] tbody tr').first
    assert "reconciliation" in newest.inner_text() and f"by {REVIEWER[0]}" in newest.inner_text()
    assert "Reconciled by rhea" in page.locator(".lp-timeline").inner_text()
    assert Reconciliation.objects.get().reviewer == REVIEWER[0]
    page.locator(".lp-timeline").scroll_into_view_if_needed()
    shoot(page, screenshots, "reconcile-history")


def test_a_reader_sees_the_reconcile_form_disabled_with_the_reason(page, demo, screenshots) -> None:
    name = unknown_environment()
    context, instance = name.split("/")
    log_in(page, demo, READER, f"/environments/{context}/{instance}/")
    form = page.locator('[data-role="reconcile"]')
    form.locator("summary").click()
    assert "Not available: you can read inventory but not reconcile it" in form.inner_text()
    assert form.get_by_role("button", name=f"Reconcile {name}").is_disabled()
    assert form.get_by_label("Evidence").is_disabled()
    form.screenshot(path=str(screenshots / "reconcile-read-only.png"))
    page.set_viewport_size(PHONE)
    assert_fits_the_screen(page)
    form.screenshot(path=str(screenshots / "reconcile-phone.png"))
