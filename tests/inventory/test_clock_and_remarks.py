"""Client clocks are evidence but cannot hold inventory hostage; remarks about optional checks last."""

from datetime import timedelta

import pytest
from django.urls import reverse

from bootstraps.services import BootstrapResult, record_bootstrap_result
from inventory.models import DeploymentRecord, InventoryTransition
from inventory.rules import IdentityInput
from inventory.services import record_observation
from launchplane.errors import InvalidInput
from launchplane.models import ApiClient
from tests.factories import T0, bootstrap_once, deploy, inventory_of, make_environment, passing_result, start

pytestmark = pytest.mark.django_db


def test_a_deployment_that_finished_in_the_future_is_refused_and_writes_nothing() -> None:
    environment = make_environment()

    with pytest.raises(InvalidInput) as refused:
        deploy(environment, finished_at=T0 + timedelta(hours=1), now=T0)

    assert refused.value.fields == {"finished_at": "in the future"}
    assert not DeploymentRecord.objects.exists()
    assert not InventoryTransition.objects.exists()


def test_a_few_minutes_of_clock_skew_are_accepted() -> None:
    environment = make_environment()

    recorded = deploy(environment, finished_at=T0 + timedelta(minutes=2), now=T0)

    assert recorded.effect == "advanced"


def test_an_observation_from_the_future_is_refused() -> None:
    environment = make_environment()

    with pytest.raises(InvalidInput) as refused:
        record_observation(
            environment,
            identity=IdentityInput(unverifiable=True),
            source="prober",
            observed_at=T0 + timedelta(days=1),
            actor="prober",
            now=T0,
        )

    assert refused.value.fields == {"observed_at": "in the future"}


def test_a_result_that_finished_before_its_operation_started_is_refused() -> None:
    environment = make_environment()
    operation = start(environment, now=T0)
    result = BootstrapResult("pass", True, "pass", "pass", "pass", "pass", finished_at=T0 - timedelta(days=1))

    with pytest.raises(InvalidInput) as refused:
        record_bootstrap_result(operation, result, actor="driver", now=T0 + timedelta(minutes=5))

    assert refused.value.fields == {"finished_at": "before the start"}
    operation.refresh_from_db()
    assert operation.status == "running"


def test_a_failed_check_that_is_not_required_stays_named_until_the_data_side_changes() -> None:
    environment = make_environment(required_checks=["health"])
    deploy(environment, finished_at=T0 - timedelta(minutes=5))
    bootstrap_once(environment, passing_result(environment, canonical_status="fail", logo_status="fail"), now=T0)
    assert "canonical and logo checks failed but are not required" in inventory_of(environment).state_reason

    record_observation(
        environment,
        identity=IdentityInput(unverifiable=True),
        source="prober",
        observed_at=T0 + timedelta(minutes=1),
        actor="prober",
        now=T0 + timedelta(minutes=1),
    )
    inventory = inventory_of(environment)
    assert "canonical and logo checks failed but are not required" in inventory.state_reason

    bootstrap_once(environment, passing_result(environment), now=T0 + timedelta(minutes=2))
    assert "not required" not in inventory_of(environment).state_reason


def test_an_api_client_is_revoked_in_the_admin(admin_client, client) -> None:
    api_client, token = ApiClient.issue("leaky", contexts=["cm"])
    url = reverse("admin:launchplane_apiclient_change", args=[api_client.pk])
    assert admin_client.get(url).status_code == 200

    response = admin_client.post(url, {"name": "leaky", "contexts": '["cm"]', "read_only": "", "is_active": ""})

    assert response.status_code == 302
    assert client.get("/api/v1/environments/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_api_clients_are_not_created_in_the_admin_where_no_one_would_see_the_token(admin_client) -> None:
    assert admin_client.get(reverse("admin:launchplane_apiclient_add")).status_code == 403
