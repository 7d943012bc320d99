"""The inventory admin: every page renders, evidence cannot change, actions go through services,
and list pages cost a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bootstraps.models import BootstrapOperation
from inventory.choices import Freshness, InventoryState
from inventory.models import (
    DeploymentRecord,
    Environment,
    EnvironmentInventory,
    InventoryTransition,
    RuntimeObservation,
)
from tests.factories import busy_environment, field_values, make_environment, row_counts, start

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """admin_client's superuser gets a password; the default hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


INVENTORY_MODELS = [Environment, EnvironmentInventory, DeploymentRecord, InventoryTransition, RuntimeObservation]
EVIDENCE_MODELS = [DeploymentRecord, InventoryTransition, RuntimeObservation]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def action_post(admin_client, model, action: str, pks, **extra):
    return admin_client.post(
        url(model, "changelist"), {"action": action, "_selected_action": [str(pk) for pk in pks], **extra}
    )


# ---------------------------------------------------------------------------------------------------
# Every page renders
# ---------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_data")
class TestPagesOverTheDemoData:
    @pytest.mark.parametrize("model", INVENTORY_MODELS, ids=lambda m: m.__name__)
    def test_every_changelist_renders_with_the_demo_data(self, admin_client, model) -> None:
        response = admin_client.get(url(model, "changelist"))

        assert response.status_code == 200
        assert model.objects.exists()

    @pytest.mark.parametrize("model", INVENTORY_MODELS, ids=lambda m: m.__name__)
    def test_every_change_page_renders_with_the_demo_data(self, admin_client, model) -> None:
        for obj in model.objects.all():
            response = admin_client.get(url(model, "change", obj.pk))
            assert response.status_code == 200, f"{model.__name__} {obj.pk}"

    def test_the_inventory_list_shows_every_state_as_a_badge_worst_first(self, admin_client) -> None:
        response = admin_client.get(url(EnvironmentInventory, "changelist"))
        content = response.content.decode()

        for state in InventoryState:
            assert f'data-value="{state.value}"' in content
        assert (
            'class="lp-badge lp-badge--blue" data-value="bootstrap_in_progress" title="State: bootstrap in progress"'
            in (content)
        )
        rows = list(response.context["cl"].result_list)
        severities = [InventoryState.values.index(row.state) for row in rows]
        assert severities == sorted(severities)

    def test_the_inventory_list_shows_freshness_from_the_database_annotation(self, admin_client) -> None:
        response = admin_client.get(url(EnvironmentInventory, "changelist"))

        values = {row.freshness_value for row in response.context["cl"].result_list}
        assert {Freshness.STALE, Freshness.VERIFIED, Freshness.RECORDED, Freshness.MISSING} <= values
        assert 'data-value="stale" title="Freshness: stale"' in response.content.decode()

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"current": "no"}, lambda inv: inv.state != InventoryState.CURRENT),
            ({"current": "yes"}, lambda inv: inv.state == InventoryState.CURRENT),
            ({"state__exact": "unknown"}, lambda inv: inv.state == InventoryState.UNKNOWN),
            ({"acknowledged": "no"}, lambda inv: inv.acknowledged_at is None),
        ],
    )
    def test_the_inventory_filters_select_the_matching_environments(self, admin_client, query, expected) -> None:
        response = admin_client.get(url(EnvironmentInventory, "changelist"), query)

        shown = {row.pk for row in response.context["cl"].result_list}
        assert shown == {inv.pk for inv in EnvironmentInventory.objects.all() if expected(inv)}
        assert shown

    def test_the_freshness_filter_uses_freshness_at_read_time(self, admin_client) -> None:
        now = timezone.now()
        response = admin_client.get(url(EnvironmentInventory, "changelist"), {"freshness": "stale"})

        shown = {row.pk for row in response.context["cl"].result_list}
        assert shown == {inv.pk for inv in EnvironmentInventory.objects.all() if inv.freshness_at(now) == "stale"}
        assert shown

    def test_the_environment_list_filters_on_not_current_and_freshness(self, admin_client) -> None:
        not_current = admin_client.get(url(Environment, "changelist"), {"current": "no"})
        verified = admin_client.get(url(Environment, "changelist"), {"freshness": "verified"})

        assert {env.inventory.state for env in not_current.context["cl"].result_list} == set(InventoryState.values) - {
            "current"
        }
        assert {env.freshness_value for env in verified.context["cl"].result_list} == {"verified"}

    def test_the_deployment_list_filters_on_the_current_pointer(self, admin_client) -> None:
        response = admin_client.get(url(DeploymentRecord, "changelist"), {"pointer": "not_current"})

        shown = {record.pk for record in response.context["cl"].result_list}
        current = set(
            EnvironmentInventory.objects.exclude(current_deployment=None).values_list("current_deployment", flat=True)
        )
        assert shown == set(DeploymentRecord.objects.exclude(pk__in=current).values_list("pk", flat=True))
        assert shown

    def test_the_inventory_page_links_to_the_current_deployment_and_the_last_bootstrap(self, admin_client) -> None:
        inventory = EnvironmentInventory.objects.get(environment__context="cm", environment__instance="prod")

        content = admin_client.get(url(EnvironmentInventory, "change", inventory.pk)).content.decode()

        assert url(DeploymentRecord, "change", inventory.current_deployment_id) in content
        assert url(BootstrapOperation, "change", inventory.last_bootstrap_id) in content
        assert url(Environment, "change", inventory.pk) in content

    def test_a_transition_links_to_its_cause(self, admin_client) -> None:
        transition = InventoryTransition.objects.filter(cause_type="deployment").first()

        content = admin_client.get(url(InventoryTransition, "change", transition.pk)).content.decode()
        filtered = admin_client.get(url(DeploymentRecord, "changelist"), {"record_id": transition.cause_id})

        assert f"record_id={transition.cause_id}" in content
        assert [record.record_id for record in filtered.context["cl"].result_list] == [transition.cause_id]

    # ---------------------------------------------------------------------------------------------------
    # Evidence and inventory cannot be changed in the admin
    # ---------------------------------------------------------------------------------------------------

    @pytest.mark.parametrize("model", [*EVIDENCE_MODELS, EnvironmentInventory], ids=lambda m: m.__name__)
    def test_it_refuses_to_change_or_delete_evidence_and_inventory(self, admin_client, model) -> None:
        obj = model.objects.first()
        before, counts = field_values(obj), row_counts()

        change = admin_client.post(url(model, "change", obj.pk), {"reason": "edited", "artifact_id": "edited"})
        delete_page = admin_client.get(url(model, "delete", obj.pk))
        delete = admin_client.post(url(model, "delete", obj.pk), {"post": "yes"})
        add = admin_client.get(url(model, "add"))

        assert (change.status_code, delete_page.status_code, delete.status_code, add.status_code) == (
            403,
            403,
            403,
            403,
        )
        assert field_values(obj) == before
        assert row_counts() == counts

    @pytest.mark.parametrize("model", [*EVIDENCE_MODELS, EnvironmentInventory], ids=lambda m: m.__name__)
    def test_it_offers_no_bulk_delete_of_evidence(self, admin_client, model) -> None:
        counts = row_counts()

        response = action_post(
            admin_client, model, "delete_selected", model.objects.values_list("pk", flat=True), post="yes"
        )

        assert response.status_code in (200, 302)
        assert row_counts() == counts

    @pytest.mark.parametrize("model", EVIDENCE_MODELS, ids=lambda m: m.__name__)
    def test_evidence_change_pages_are_read_only(self, admin_client, model) -> None:
        obj = model.objects.first()

        response = admin_client.get(url(model, "change", obj.pk))

        assert response.status_code == 200
        assert response.context["has_change_permission"] is False
        assert 'name="_save"' not in response.content.decode()


# ---------------------------------------------------------------------------------------------------
# Environments: created through the service
# ---------------------------------------------------------------------------------------------------

NEW_ENVIRONMENT = {
    "context": "acme",
    "instance": "preprod",
    "base_url": "https://preprod.acme.example.com",
    "required_checks": ["health", "logo"],
    "requires_runtime_identity": "on",
    "verification_ttl_seconds": "43200",
    "health_path": "/web/health",
    "verification_timeout_seconds": "30",
    "verify_tls": "on",
    "verify_after_records": "on",
}


def test_it_creates_an_environment_with_its_inventory_through_the_service(admin_client) -> None:
    response = admin_client.post(url(Environment, "add"), NEW_ENVIRONMENT)

    assert response.status_code == 302
    environment = Environment.objects.get(context="acme", instance="preprod")
    assert environment.required_checks == ["health", "logo"]
    assert environment.verification_ttl_seconds == 43200
    inventory = EnvironmentInventory.objects.get(environment=environment)
    assert (inventory.state, inventory.deployment_state, inventory.data_state) == (
        "unrecorded",
        "unrecorded",
        "untouched",
    )
    assert not InventoryTransition.objects.exists()


def test_it_refuses_a_duplicate_environment_with_a_form_error(admin_client, environment) -> None:
    counts = row_counts()

    response = admin_client.post(url(Environment, "add"), {**NEW_ENVIRONMENT, "context": "cm", "instance": "testing"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert row_counts() == counts


@pytest.mark.parametrize(
    "bad",
    [{"context": "Not A Slug"}, {"required_checks": []}, {"verification_ttl_seconds": "0"}],
    ids=["slug", "no-checks", "ttl"],
)
def test_it_refuses_an_invalid_environment(admin_client, bad) -> None:
    response = admin_client.post(url(Environment, "add"), {**NEW_ENVIRONMENT, **bad})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Environment.objects.exists()
    assert not EnvironmentInventory.objects.exists()


def test_it_edits_settings_but_never_the_context_or_instance(admin_client, environment) -> None:
    response = admin_client.post(
        url(Environment, "change", environment.pk),
        {**NEW_ENVIRONMENT, "context": "other", "instance": "other", "base_url": "https://testing.cm.example.com"},
    )

    assert response.status_code == 302
    environment.refresh_from_db()
    assert (environment.context, environment.instance) == ("cm", "testing")
    assert environment.base_url == "https://testing.cm.example.com"
    assert environment.required_checks == ["health", "logo"]


# ---------------------------------------------------------------------------------------------------
# Acknowledge action
# ---------------------------------------------------------------------------------------------------


def _not_current(demo_count: int = 2) -> list[EnvironmentInventory]:
    return list(EnvironmentInventory.objects.not_current().order_by("pk")[:demo_count])


@pytest.mark.usefixtures("demo_data")
class TestActionsOverTheDemoData:
    def test_acknowledge_asks_for_a_note_before_doing_anything(self, admin_client) -> None:
        inventories = _not_current()

        response = action_post(admin_client, EnvironmentInventory, "acknowledge_selected", [i.pk for i in inventories])

        assert response.status_code == 200
        assert 'name="note"' in response.content.decode()
        assert not EnvironmentInventory.objects.filter(acknowledged_at__isnull=False).exists()

    def test_acknowledge_refuses_a_blank_note(self, admin_client) -> None:
        inventories = _not_current()

        response = action_post(
            admin_client,
            EnvironmentInventory,
            "acknowledge_selected",
            [i.pk for i in inventories],
            apply="yes",
            note="  ",
        )

        assert response.status_code == 200
        assert response.context["form"].errors["note"]
        assert not EnvironmentInventory.objects.filter(acknowledged_at__isnull=False).exists()

    def test_acknowledge_calls_the_service_and_reports_the_count(self, admin_client, admin_user) -> None:
        inventories = _not_current()
        states = {i.pk: i.state for i in inventories}
        transitions = InventoryTransition.objects.count()

        response = action_post(
            admin_client,
            EnvironmentInventory,
            "acknowledge_selected",
            [i.pk for i in inventories],
            apply="yes",
            note="Known: restore scheduled tonight",
        )

        assert response.status_code == 302
        messages = [str(m) for m in admin_client.get(response.url).context["messages"]]
        assert "Acknowledged 2 environments." in messages
        for inventory in EnvironmentInventory.objects.filter(pk__in=states):
            assert inventory.acknowledged_by == admin_user
            assert inventory.acknowledgement_note == "Known: restore scheduled tonight"
            assert inventory.state == states[inventory.pk]  # an acknowledgement never changes state
        assert InventoryTransition.objects.count() == transitions + 2
        assert InventoryTransition.objects.filter(cause_type="review").count() == 2

    def test_a_view_only_reviewer_can_read_everything_but_not_acknowledge(self, client, view_only_staff) -> None:
        client.force_login(view_only_staff)
        inventory = _not_current(1)[0]

        pages = [client.get(url(model, "changelist")).status_code for model in INVENTORY_MODELS]
        detail = client.get(url(EnvironmentInventory, "change", inventory.pk))
        response = action_post(
            client, EnvironmentInventory, "acknowledge_selected", [inventory.pk], apply="yes", note="sneaky"
        )

        assert pages == [200] * len(INVENTORY_MODELS)
        assert detail.status_code == 200
        assert "acknowledge_selected" not in client.get(url(EnvironmentInventory, "changelist")).content.decode()
        assert response.status_code in (200, 302)
        inventory.refresh_from_db()
        assert inventory.acknowledged_at is None


# ---------------------------------------------------------------------------------------------------
# Rule 9 and query budgets
# ---------------------------------------------------------------------------------------------------


def test_an_overdue_bootstrap_reads_timed_out_on_the_inventory_list_without_the_sweeper(admin_client) -> None:
    environment = make_environment()
    operation = start(environment, now=timezone.now() - timedelta(hours=2), timeout_seconds=3600)

    response = admin_client.get(url(EnvironmentInventory, "changelist"))

    operation.refresh_from_db()
    assert operation.status == "timed_out"
    row = response.context["cl"].result_list[0]
    assert row.state == InventoryState.UNKNOWN
    assert InventoryTransition.objects.get(cause_type="deadline").occurred_at == operation.deadline


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
    few = {model: _queries_for(admin_client, url(model, "changelist")) for model in INVENTORY_MODELS}
    for number in range(5, 30):
        busy_environment(f"ctx{number}", now=now)

    many = {model: _queries_for(admin_client, url(model, "changelist")) for model in INVENTORY_MODELS}

    assert all(model.objects.count() >= 30 for model in INVENTORY_MODELS)
    assert many == few
    assert max(many.values()) <= QUERY_BUDGET


def test_a_deployment_change_page_shows_the_identity_table_the_environment_page_uses(admin_client) -> None:
    from tests.factories import deploy, identity_of

    environment = make_environment()
    current = deploy(environment).record
    failed = deploy(environment, deploy_status="fail", identity=identity_of(current, artifact_id="other")).record
    body = admin_client.get(url(DeploymentRecord, "change", failed.pk)).content.decode()
    assert 'data-role="identity"' in body
    assert 'class="lp-differs" data-key="artifact_id"' in body
    assert "Expected (what this record was compared with)" in body
