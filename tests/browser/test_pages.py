"""The operator pages in real Chromium, on the demo data: log in, read the board, filter it, open a
partially bootstrapped environment, acknowledge it from the queue, and check that a read-only
reviewer can see everything and change nothing. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import io
import re
from itertools import pairwise
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from inventory.choices import InventoryState
from inventory.models import EnvironmentInventory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ADMIN = ("admin", "launchplane-demo-password")
REVIEWER = ("rowan", "launchplane-reviewer-password")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo(live_server) -> str:
    """The demo data (every state) and a superuser; returns the server's URL."""
    call_command("seed_demo", admin_username=ADMIN[0], admin_password=ADMIN[1], stdout=io.StringIO())
    return live_server.url


@pytest.fixture
def reviewer_account(demo) -> tuple[str, str]:
    """Staff without any permission: a read-only reviewer."""
    get_user_model().objects.create_user(username=REVIEWER[0], password=REVIEWER[1], is_staff=True)
    return REVIEWER


def log_in(page: Any, base: str, account: tuple[str, str], path: str = "/") -> None:
    page.goto(base + path)
    assert "/login/" in page.url, "an anonymous visitor is sent to the login page"
    page.get_by_label("Username").fill(account[0])
    page.get_by_label("Password").fill(account[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(re.escape(base + path) + r"$"))


def shoot(page: Any, folder, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def assert_fits_the_screen(page: Any) -> None:
    """Nothing sticks out sideways: a phone reads the page without scrolling left and right."""
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def assert_accessible_basics(page: Any) -> None:
    """Every badge has text; headings go down one level at a time; every form field is labelled."""
    empty_badges = page.evaluate(
        "() => [...document.querySelectorAll('.lp-badge')].filter(b => !b.textContent.trim()).length"
    )
    assert empty_badges == 0
    levels = page.evaluate("() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => Number(h.tagName[1]))")
    assert levels and levels[0] == 1, f"the page starts with h{levels[:1]}"
    assert levels.count(1) == 1, "one h1 per page"
    for before, after in pairwise(levels):
        assert after <= before + 1, f"heading levels skip from h{before} to h{after}: {levels}"
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(el => !['hidden', 'submit', 'button', 'reset'].includes(el.type))
            .filter(el => !(el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`))
                          && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
            .map(el => el.name || el.id || el.outerHTML)"""
    )
    assert unlabelled == [], f"fields without a label: {unlabelled}"


def badge_label(badge: Any) -> str:
    """A badge's visible label, without the field name it carries for screen readers."""
    return badge.evaluate(
        "b => [...b.childNodes].filter(n => !(n.classList && n.classList.contains('lp-visually-hidden')))"
        ".map(n => n.textContent).join('').trim()"
    )


def board_states(page: Any) -> list[str]:
    return page.eval_on_selector_all("table.lp-board tbody tr", "rows => rows.map(r => r.dataset.state)")


def test_an_operator_logs_in_and_the_board_shows_every_state(page, demo, screenshots) -> None:
    log_in(page, demo, ADMIN)
    assert page.get_by_role("heading", level=1).inner_text() == "Board"
    states = board_states(page)
    assert set(states) == set(InventoryState.values), "seed_demo puts every state on the board"
    rank = list(InventoryState.values)
    assert states == sorted(states, key=rank.index), "worst first"
    for value, label in InventoryState.choices:
        badge = page.locator(f'tr[data-state="{value}"] .lp-badge[data-value="{value}"]').first
        assert badge_label(badge) == label
    assert_accessible_basics(page)
    shoot(page, screenshots, "board")
    page.set_viewport_size(PHONE)
    assert_fits_the_screen(page)
    shoot(page, screenshots, "board-phone")


def test_the_board_filters_by_state_and_by_count(page, demo) -> None:
    log_in(page, demo, ADMIN)
    page.get_by_label("partially bootstrapped").check()
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"state=partially_bootstrapped"))
    assert board_states(page) == ["partially_bootstrapped"]
    assert page.get_by_label("partially bootstrapped").is_checked()
    page.get_by_role("link", name="Clear filters").first.click()
    assert len(board_states(page)) == EnvironmentInventory.objects.count()
    page.locator('.lp-counts a[href="?state=unknown"]').click()
    page.wait_for_url(re.compile(r"state=unknown"))
    unknown = EnvironmentInventory.objects.filter(state="unknown").count()
    assert unknown and board_states(page) == ["unknown"] * unknown
    page.get_by_label("Context").select_option("initech")
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_text("No environment matches these filters").is_visible()


def test_a_partially_bootstrapped_environment_reads_as_one_sentence_with_each_check_in_its_cell(
    page, demo, screenshots
) -> None:
    log_in(page, demo, ADMIN)
    page.locator('tr[data-environment="cm/testing"] a.lp-env').click()
    page.wait_for_url(re.compile(r"/environments/cm/testing/$"))
    banner = page.locator('[data-role="banner"]').inner_text()
    assert banner.startswith("Partially bootstrapped for ")
    assert "the data is partially bootstrapped" in banner
    assert "the bootstrap run failed after changing data" in banner
    assert "last known good: artifact cm-odoo-17.0.414" in banner
    checks = page.locator('[data-role="bootstrap-checks"]')
    for check in ("post-deploy", "health", "canonical", "logo"):
        assert badge_label(checks.locator(f'td[data-check="{check}"] .lp-badge')) == "not run"
    assert page.locator('[data-role="data-mutated"]').inner_text().strip() == "data changed"
    assert page.locator('[data-role="history"] tbody tr').count() == 2
    assert_accessible_basics(page)
    shoot(page, screenshots, "detail-cm-testing")
    page.goto(demo + "/environments/acme/prod/")
    differing = page.locator('[data-role="identity"] tr.lp-differs')
    assert sorted(differing.evaluate_all("rows => rows.map(r => r.dataset.key)")) == ["artifact_id", "source_git_ref"]
    assert "differs" in differing.first.inner_text()
    shoot(page, screenshots, "detail-acme-prod-stale")
    page.set_viewport_size(PHONE)
    page.goto(demo + "/environments/acme/staging/")
    assert_fits_the_screen(page)
    shoot(page, screenshots, "detail-acme-staging-phone")


def test_an_operator_acknowledges_from_the_queue_and_finds_it_in_the_history(page, demo, screenshots) -> None:
    log_in(page, demo, ADMIN, "/review/")
    assert_accessible_basics(page)
    shoot(page, screenshots, "review")
    item = page.locator('li[data-environment="cm/testing"]')
    item.get_by_role("button", name="Acknowledge cm/testing").click()
    item = page.locator('li[data-environment="cm/testing"]')
    assert "Write a note" in item.locator(".lp-field-error").inner_text()
    reverify = item.get_by_role("button", name=re.compile("Re-verify"))
    assert reverify.is_enabled() and "Re-verify cm/testing" in reverify.inner_text()
    item.get_by_label("Acknowledgement note for cm/testing").fill("cm_sale fails to install; fix lands tomorrow")
    item.get_by_role("button", name="Acknowledge cm/testing").click()
    page.wait_for_url(re.compile(r"/review/$"))
    assert page.locator(".lp-messages").inner_text().strip() == "Acknowledged cm/testing"
    acknowledged = page.locator('li[data-environment="cm/testing"] [data-role="acknowledgement"]')
    assert "Acknowledged by admin" in acknowledged.inner_text()
    assert "fix lands tomorrow" in acknowledged.inner_text()
    shoot(page, screenshots, "review-acknowledged")
    page.locator('li[data-environment="cm/testing"] h2 a').click()
    newest = page.locator('[data-role="history"] tbody tr').first
    assert "Acknowledged by admin: cm_sale fails to install; fix lands tomorrow" in newest.inner_text()
    assert page.locator('[data-role="banner"]').inner_text().startswith("Partially bootstrapped for ")
    page.set_viewport_size(PHONE)
    page.goto(demo + "/review/")
    assert_fits_the_screen(page)
    shoot(page, screenshots, "review-phone")


def test_a_reviewer_without_the_permission_sees_everything_and_changes_nothing(
    page, browser_context, demo, reviewer_account, screenshots
) -> None:
    log_in(page, demo, reviewer_account)
    assert len(board_states(page)) == EnvironmentInventory.objects.count()
    page.goto(demo + "/environments/cm/testing/")
    assert page.locator('[data-role="banner"]').is_visible()
    page.goto(demo + "/review/")
    assert page.locator("li.lp-queue__item").count() > 0
    # The only forms a reader sees are the reconcile forms, disabled with the reason (rule 16's "Review").
    assert page.locator("details.lp-reconcile fieldset.lp-reconcile__fields:not([disabled])").count() == 0
    assert page.locator("textarea:not(details.lp-reconcile textarea)").count() == 0
    assert page.locator('form[action*="/acknowledge/"]').count() == 0
    assert "can read this queue but not acknowledge" in page.locator(".lp-page-head .lp-notice").inner_text()
    assert_accessible_basics(page)
    shoot(page, screenshots, "review-read-only")
    token = page.locator('input[name="csrfmiddlewaretoken"]').first.get_attribute("value")
    response = browser_context.request.post(
        demo + "/review/cm/testing/acknowledge/",
        form={"csrfmiddlewaretoken": token, "note": "a reviewer cannot do this"},
        headers={"Referer": demo + "/review/"},
        max_redirects=0,
    )
    assert response.status == 403
    assert "not acknowledge" in response.text()
    page.reload()
    assert page.locator('li[data-environment="cm/testing"] [data-role="acknowledgement"]').count() == 0
