"""``seed_demo``: every state through the services, idempotent, and a superuser to log in with."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from bootstraps.demo.scenarios import DEMOS, seed_environment
from bootstraps.demo.steps import Deploy, Start
from bootstraps.models import BootstrapOperation
from inventory.choices import Freshness, InventoryState
from inventory.models import DeploymentRecord, EnvironmentInventory, InventoryTransition

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def every_row_count() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


@pytest.mark.usefixtures("demo_data")
class TestTheSeededDemo:
    def test_every_inventory_state_appears(self) -> None:
        states = set(EnvironmentInventory.objects.values_list("state", flat=True))

        assert states == set(InventoryState.values)

    def test_stale_and_verified_freshness_both_appear(self) -> None:
        now = timezone.now()

        freshness = set(EnvironmentInventory.objects.with_freshness(now).values_list("freshness_value", flat=True))

        assert {Freshness.STALE, Freshness.VERIFIED} <= freshness

    def test_running_it_twice_creates_nothing_new(self) -> None:
        before = every_row_count()

        output = seed()

        assert every_row_count() == before
        assert "created" not in output
        assert output.count("exists") == len(DEMOS)

    def test_bootstraps_create_no_deployment_records(self) -> None:
        deploy_steps = sum(isinstance(step, Deploy) for demo in DEMOS for step in demo.steps)

        assert DeploymentRecord.objects.count() == deploy_steps
        assert set(DeploymentRecord.objects.values_list("recorded_by", flat=True)) == {"github-actions"}
        # Every deployment record was applied through record_deployment: one deployment transition each.
        assert InventoryTransition.objects.filter(cause_type="deployment").count() == deploy_steps
        assert BootstrapOperation.objects.count() > 0

    def test_every_step_appended_exactly_one_transition(self) -> None:
        for demo in DEMOS:
            inventory = EnvironmentInventory.objects.get(
                environment__context=demo.context, environment__instance=demo.instance
            )
            transitions = InventoryTransition.objects.filter(environment_id=inventory.pk).order_by("-sequence")
            assert transitions.count() == len(demo.steps), demo.label
            assert not demo.steps or transitions.first().to_state == inventory.state

    def test_demo_operations_in_progress_get_a_thirty_day_deadline(self) -> None:
        active = list(BootstrapOperation.objects.active())

        assert active
        assert {op.deadline - op.started_at for op in active} == {timedelta(days=30)}
        assert {step.timeout_seconds for demo in DEMOS for step in demo.steps if isinstance(step, Start)} >= {
            30 * 86400
        }


def test_each_demo_environment_ends_where_its_story_says() -> None:
    now = timezone.now()
    for demo in DEMOS:
        assert seed_environment(demo, now=now) is True
        inventory = EnvironmentInventory.objects.with_freshness(now).get(
            environment__context=demo.context, environment__instance=demo.instance
        )
        assert inventory.state == demo.expect, demo.label
        if demo.expect_freshness:
            assert inventory.freshness_value == demo.expect_freshness, demo.label


def test_a_step_reports_whether_it_found_work() -> None:
    now = timezone.now()

    assert seed_environment(DEMOS[0], now=now) is True
    assert seed_environment(DEMOS[0], now=now) is False


def test_it_creates_a_superuser_and_says_how_to_log_in() -> None:
    output = seed("--admin-username", "admin", "--admin-password", "launchplane-demo")

    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.is_staff and user.is_active
    assert user.check_password("launchplane-demo")
    assert "/admin/" in output and "'admin'" in output
    assert "launchplane-demo" not in output


def test_it_resets_the_password_of_an_existing_user() -> None:
    get_user_model().objects.create_user(username="admin", password="old-password-1")

    seed("--admin-username", "admin", "--admin-password", "launchplane-demo")

    user = get_user_model().objects.get(username="admin")
    assert user.check_password("launchplane-demo")
    assert user.is_superuser
    assert get_user_model().objects.count() == 1


@pytest.mark.parametrize(
    "args",
    [
        ("--admin-username", "admin"),
        ("--admin-password", "launchplane-demo"),
        ("--admin-username", "admin", "--admin-password", "short"),
        ("--admin-username", "not a name!", "--admin-password", "launchplane-demo"),
    ],
    ids=["no-password", "no-username", "weak-password", "bad-username"],
)
def test_bad_arguments_raise_command_error_and_write_nothing(args) -> None:
    before = every_row_count()

    with pytest.raises(CommandError):
        seed(*args)

    assert every_row_count() == before
