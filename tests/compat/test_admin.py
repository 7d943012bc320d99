"""The submitted payload in the admin: every field we do not model visible, nothing editable."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from compat.models import DeploymentEvidence
from tests.compat.support import accepted, payload, submit
from tests.factories import make_environment

pytestmark = pytest.mark.django_db


@pytest.fixture
def evidence(automation) -> DeploymentEvidence:
    make_environment()
    accepted(submit(automation.http, payload(record_id="gh-77", bootstrap="pass")))
    return DeploymentEvidence.objects.get()


@pytest.fixture
def operator_session(django_user_model) -> Client:
    user = django_user_model.objects.create_user(username="otto", is_staff=True)
    user.groups.add(Group.objects.get(name="operators"))
    http = Client()
    http.force_login(user)
    return http


def test_the_change_page_shows_the_fields_we_do_not_model(evidence, operator_session):
    page = operator_session.get(f"/admin/compat/deploymentevidence/{evidence.pk}/change/").content.decode()

    for shown in ("github-actions", "tgt-7", "ghcr.io/example/cm", "dokploy", "prov-", "2026.11.1", "restored"):
        assert shown in page, shown
    assert "gh-77" in page and evidence.bootstrap.operation_id in page
    assert 'name="_save"' not in page  # read-only: no save button


def test_the_changelist_links_each_payload_to_its_records(evidence, operator_session):
    page = operator_session.get("/admin/compat/deploymentevidence/").content.decode()

    assert "gh-77" in page
    assert f"/admin/inventory/deploymentrecord/{evidence.deployment.pk}/change/" in page
    assert f"/admin/bootstraps/bootstrapoperation/{evidence.bootstrap.pk}/change/" in page


def test_evidence_cannot_be_changed_or_deleted(evidence):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        evidence.save()
    with pytest.raises(ValidationError):
        evidence.delete()


def test_the_deployment_record_links_to_the_payload_it_was_recorded_from(evidence, operator_session):
    page = operator_session.get(f"/admin/inventory/deploymentrecord/{evidence.deployment.pk}/change/").content.decode()

    assert f"/admin/compat/deploymentevidence/{evidence.pk}/change/" in page
