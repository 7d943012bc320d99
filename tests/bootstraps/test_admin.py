"""The bootstrap admin: pages render, operations cannot be edited or deleted, the cancel action goes
through the service and reports counts, overdue operations read timed out, queries stay flat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bootstraps.models import BootstrapOperation
from inventory.models import EnvironmentInventory, InventoryTransition
from tests.factories import (
    bootstrap_once,
    busy_environment,
    field_values,
    make_environment,
    passing_result,
    row_counts,
    start,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """admin_client's superuser gets a password; the default hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def url(view: str, *args) -> str:
    return reverse(f"admin:bootstraps_bootstrapoperation_{view}", args=args)


def cancel_post(client, operations, **extra):
    return client.post(
        url("changelist"),
        {"action": "cancel_selected", "_selected_action": [str(op.pk) for op in operations], **extra},
    )


def messages_after(client, response) -> list[str]:
    return [str(message) for message in client.get(response.url).context["messages"]]


@pytest.fixture
def active_and_finished(db):
    """Two active operations on two environments and one finished one, all relative to the wall clock."""
    now = timezone.now()
    first, second, third = (make_environment("cm", name) for name in ("testing", "staging", "prod"))
    finished = bootstrap_once(third, passing_result(third), now=now - timedelta(hours=1))
    return [start(first, now=now - timedelta(minutes=5)), start(second, now=now - timedelta(minutes=5)), finished]


# ---------------------------------------------------------------------------------------------------
# Every page renders
# ---------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_data")
class TestPagesOverTheDemoData:
    @pytest.mark.parametrize(
        "query",
        [{}, {"active": "yes"}, {"active": "no"}, {"status__exact": "cancelled"}, {"readiness_status__exact": "ready"}],
    )
    def test_the_changelist_renders_with_the_demo_data(self, admin_client, query) -> None:
        response = admin_client.get(url("changelist"), query)

        assert response.status_code == 200

    def test_every_operation_page_renders_with_the_demo_data(self, admin_client) -> None:
        for operation in BootstrapOperation.objects.all():
            response = admin_client.get(url("change", operation.pk))
            assert response.status_code == 200, operation.operation_id

    def test_the_changelist_shows_each_status_as_a_badge(self, admin_client) -> None:
        content = admin_client.get(url("changelist")).content.decode()

        for status in ("running", "finished", "cancelled", "timed_out"):
            assert f'data-value="{status}"' in content
        assert 'class="lp-badge lp-badge--orange" data-value="partially_bootstrapped"' in content

    def test_the_active_filter_lists_only_active_operations(self, admin_client) -> None:
        response = admin_client.get(url("changelist"), {"active": "yes"})

        shown = {op.pk for op in response.context["cl"].result_list}
        assert shown == set(BootstrapOperation.objects.active().values_list("pk", flat=True))
        assert shown

    def test_an_operation_page_shows_its_checks_probes_and_transitions(self, admin_client) -> None:
        operation = BootstrapOperation.objects.get(environment__context="acme", environment__instance="staging")

        content = admin_client.get(url("change", operation.pk)).content.decode()

        assert 'data-value="fail" title="Canonical status: fail"' in content
        assert "redirect_mismatch" in content
        assert f"cause_id={operation.operation_id}" in content


# ---------------------------------------------------------------------------------------------------
# Operations cannot be changed or deleted
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["finished", "active"])
def test_it_refuses_to_change_or_delete_an_operation(admin_client, active_and_finished, which) -> None:
    operation = active_and_finished[2] if which == "finished" else active_and_finished[0]
    before, counts = field_values(operation), row_counts()

    change = admin_client.post(url("change", operation.pk), {"reason": "edited", "timeout_seconds": "1"})
    delete = admin_client.post(url("delete", operation.pk), {"post": "yes"})
    add = admin_client.post(url("add"), {"data_source": "empty"})

    assert (change.status_code, delete.status_code, add.status_code) == (403, 403, 403)
    assert field_values(operation) == before
    assert row_counts() == counts


def test_it_offers_no_bulk_delete_of_operations(admin_client, active_and_finished) -> None:
    counts = row_counts()

    response = admin_client.post(
        url("changelist"),
        {"action": "delete_selected", "_selected_action": [op.pk for op in active_and_finished], "post": "yes"},
    )

    assert response.status_code in (200, 302)
    assert row_counts() == counts


def test_an_operation_page_is_read_only(admin_client, active_and_finished) -> None:
    response = admin_client.get(url("change", active_and_finished[2].pk))

    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert 'name="_save"' not in response.content.decode()


# ---------------------------------------------------------------------------------------------------
# Cancel action
# ---------------------------------------------------------------------------------------------------


def test_cancel_asks_for_a_reason_before_doing_anything(admin_client, active_and_finished) -> None:
    response = cancel_post(admin_client, active_and_finished)

    assert response.status_code == 200
    content = " ".join(response.content.decode().split())
    assert 'name="reason"' in content
    assert "1 of the selected operations is already over and will be skipped" in content
    assert BootstrapOperation.objects.active().count() == 2


def test_cancel_refuses_a_blank_reason(admin_client, active_and_finished) -> None:
    response = cancel_post(admin_client, active_and_finished, apply="yes", reason="")

    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert BootstrapOperation.objects.active().count() == 2


def test_cancel_calls_the_service_skips_finished_operations_and_reports_both_counts(
    admin_client, admin_user, active_and_finished
) -> None:
    first, second, finished = active_and_finished
    finished_before = field_values(finished)
    transitions = InventoryTransition.objects.count()

    response = cancel_post(admin_client, active_and_finished, apply="yes", reason="Restore hung", data_mutated="")

    assert response.status_code == 302
    messages = messages_after(admin_client, response)
    assert "Cancelled 2 operations." in messages
    assert "Skipped 1 operation that was already over." in messages
    for operation in (first, second):
        operation.refresh_from_db()
        assert operation.status == "cancelled"
        assert operation.cancel_reason == "Restore hung"
        inventory = EnvironmentInventory.objects.get(pk=operation.environment_id)
        assert inventory.data_state == "unknown"  # data may have changed
    assert field_values(finished) == finished_before
    assert InventoryTransition.objects.count() == transitions + 2
    assert set(InventoryTransition.objects.filter(cause_type="cancel").values_list("actor", flat=True)) == {
        admin_user.username
    }


def test_cancel_with_data_known_unchanged_restores_the_data_state(admin_client, active_and_finished) -> None:
    first = active_and_finished[0]

    response = cancel_post(admin_client, [first], apply="yes", reason="Wrong source", data_mutated="false")

    assert response.status_code == 302
    assert EnvironmentInventory.objects.get(pk=first.environment_id).data_state == "untouched"


def test_cancel_of_only_finished_operations_skips_them_without_asking(admin_client, active_and_finished) -> None:
    finished = active_and_finished[2]

    response = cancel_post(admin_client, [finished])

    assert response.status_code == 302
    messages = messages_after(admin_client, response)
    assert "Cancelled 0 operations." in messages
    assert "Skipped 1 operation that was already over." in messages


def test_a_view_only_reviewer_cannot_cancel(client, view_only_staff, active_and_finished) -> None:
    client.force_login(view_only_staff)

    page = client.get(url("changelist"))
    response = cancel_post(client, active_and_finished, apply="yes", reason="sneaky")

    assert page.status_code == 200
    assert "cancel_selected" not in page.content.decode()
    assert response.status_code in (200, 302)
    assert BootstrapOperation.objects.active().count() == 2


# ---------------------------------------------------------------------------------------------------
# Rule 9 and the query budget
# ---------------------------------------------------------------------------------------------------


def test_an_overdue_operation_reads_timed_out_on_the_changelist_without_the_sweeper(admin_client) -> None:
    operation = start(make_environment(), now=timezone.now() - timedelta(hours=2), timeout_seconds=3600)

    response = admin_client.get(url("changelist"), {"active": "yes"})

    assert list(response.context["cl"].result_list) == []
    operation.refresh_from_db()
    assert (operation.status, operation.bootstrap_run_status, operation.readiness_status) == (
        "timed_out",
        "unknown",
        "unknown",
    )


QUERY_BUDGET = 10  # session, user, overdue check, counts, filters, the page itself


def _queries_for(client, path: str) -> int:
    client.get(path)  # warm caches (session, content types) so both counts measure the page itself
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured)


def test_changelist_queries_do_not_grow_with_rows(admin_client) -> None:
    now = timezone.now()
    for number in range(5):
        busy_environment(f"ctx{number}", now=now)
    few = _queries_for(admin_client, url("changelist"))
    for number in range(5, 30):
        busy_environment(f"ctx{number}", now=now)

    many = _queries_for(admin_client, url("changelist"))

    assert BootstrapOperation.objects.count() == 60
    assert many == few
    assert many <= QUERY_BUDGET
