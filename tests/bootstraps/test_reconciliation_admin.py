"""Reconciliations in the admin: listed and shown read-only (evidence), in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bootstraps.admin import ReconciliationAdmin
from bootstraps.models import Reconciliation
from bootstraps.services import expire_overdue, reconcile
from tests.factories import deploy, make_environment, row_counts, start

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def url(view: str, *args) -> str:
    return reverse(f"admin:bootstraps_reconciliation_{view}", args=args)


def reconciled(instance: str = "testing") -> Reconciliation:
    now = timezone.now()
    environment = make_environment("cm", instance)
    deploy(environment, finished_at=now - timedelta(hours=3), now=now - timedelta(hours=3))
    start(environment, now=now - timedelta(hours=1), timeout_seconds=600)
    expire_overdue(now=now, environment=environment)
    reviewer = get_user_model().objects.create_user(username=f"rita-{instance}", is_staff=True)
    reviewer.groups.add(Group.objects.get(name="reviewers"))
    return reconcile(
        environment,
        user=reviewer,
        provider_state="partial",
        inspected_at=now - timedelta(minutes=5),
        evidence_reference=f"https://provider.example.com/jobs/{instance}",
        note="Half the filestore is there.",
    ).reconciliation


def test_the_changelist_lists_reconciliations_with_badges(admin_client) -> None:
    found = reconciled()

    response = admin_client.get(url("changelist"))

    body = response.content.decode()
    assert response.status_code == 200
    assert found.reconciliation_id in body and found.bootstrap.operation_id in body
    assert "rita-testing" in body and 'data-value="partial"' in body


def test_the_changelist_stays_within_a_fixed_number_of_queries(admin_client) -> None:
    reconciled("one")
    admin_client.get(url("changelist"))
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url("changelist"))
    for instance in ("two", "three", "four"):
        reconciled(instance)
    with CaptureQueriesContext(connection) as more:
        admin_client.get(url("changelist"))

    assert len(more) == len(few)


def test_a_reconciliation_page_shows_its_evidence_read_only(admin_client) -> None:
    found = reconciled()

    response = admin_client.get(url("change", found.pk))

    body = response.content.decode()
    assert response.status_code == 200
    assert "https://provider.example.com/jobs/testing" in body and "Half the filestore is there." in body
    assert 'name="_save"' not in body


def test_nobody_can_add_change_or_delete_a_reconciliation_here(admin_client) -> None:
    found = reconciled()
    before = row_counts()

    assert admin_client.get(url("add")).status_code == 403
    admin_client.post(url("change", found.pk), {"note": "rewritten"})
    assert admin_client.post(url("delete", found.pk), {"post": "yes"}).status_code == 403
    assert row_counts() == before
    assert Reconciliation.objects.get().note == "Half the filestore is there."


def test_the_admin_is_set_up_like_every_evidence_admin() -> None:
    assert ReconciliationAdmin.show_full_result_count is False
    assert set(ReconciliationAdmin.list_select_related) == {"environment", "bootstrap"}
