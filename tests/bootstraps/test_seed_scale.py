"""``seed_scale``: many environments, every state and freshness, history through the services."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from bootstraps.demo.scale import PROFILES, profile_of
from bootstraps.models import BootstrapOperation
from inventory.choices import Freshness, InventoryState
from inventory.models import (
    DeploymentRecord,
    Environment,
    EnvironmentInventory,
    InventoryTransition,
    RuntimeObservation,
)

ENVIRONMENTS = 24
RECORDS = 3

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="class")
def scale_data(django_db_setup, django_db_blocker) -> Iterator[str]:
    """24 environments with 3 records each, seeded once for the class and rolled back after it."""
    from django.db import transaction

    out = StringIO()
    with django_db_blocker.unblock(), transaction.atomic():
        call_command(
            "seed_scale", "--environments", str(ENVIRONMENTS), "--records", str(RECORDS), "--context-count", "3",
            stdout=out, stderr=StringIO(),
        )  # fmt: skip
        yield out.getvalue()
        transaction.set_rollback(True)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_scale", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.usefixtures("scale_data")
class TestTheScaleDataSet:
    def test_every_state_appears(self) -> None:
        assert set(EnvironmentInventory.objects.values_list("state", flat=True)) == set(InventoryState.values)

    def test_every_freshness_appears(self) -> None:
        found = EnvironmentInventory.objects.with_freshness(timezone.now()).values_list("freshness_value", flat=True)

        assert set(found) == set(Freshness.values)

    def test_each_environment_ends_in_its_profiles_state_and_freshness(self) -> None:
        now = timezone.now()
        inventories = EnvironmentInventory.objects.with_freshness(now).select_related("environment")

        found = {inv.environment.instance: (inv.state, inv.freshness_value) for inv in inventories}

        expected = {
            f"lane-{n:05d}": (profile_of(n).state.value, profile_of(n).freshness.value) for n in range(ENVIRONMENTS)
        }
        assert found == expected

    def test_the_environments_are_spread_over_the_contexts(self) -> None:
        per_context = Counter(Environment.objects.values_list("context", flat=True))

        assert per_context == {"scale-01": 8, "scale-02": 8, "scale-03": 8}

    def test_each_environment_has_its_records_and_one_transition_per_record(self) -> None:
        transitions = Counter(InventoryTransition.objects.values_list("environment__instance", flat=True))

        for n in range(ENVIRONMENTS):
            expected = 0 if profile_of(n).empty else RECORDS
            assert transitions[f"lane-{n:05d}"] == expected, profile_of(n).label

    def test_every_record_appended_exactly_one_transition(self) -> None:
        # Rule 11: nothing is superseded, so each record (a start and its result are two) appends one.
        causes = Counter(InventoryTransition.objects.values_list("cause_type", "cause_id"))
        deployments = set(DeploymentRecord.objects.values_list("record_id", flat=True))
        observations = {str(pk) for pk in RuntimeObservation.objects.values_list("pk", flat=True)}
        starts = set(
            InventoryTransition.objects.filter(cause_type="bootstrap", effect="pending").values_list(
                "cause_id", flat=True
            )
        )
        operations = dict(BootstrapOperation.objects.values_list("operation_id", "status"))
        expected: Counter[tuple[str, str]] = Counter()
        expected.update(("deployment", record_id) for record_id in deployments)
        expected.update(("observation", pk) for pk in observations)
        for operation_id, status in operations.items():
            expected["bootstrap", operation_id] = 2 if operation_id in starts and status == "finished" else 1
            if status == "cancelled":
                expected["cancel", operation_id] = 1

        assert causes == expected
        assert sum(causes.values()) == RECORDS * sum(1 for n in range(ENVIRONMENTS) if not profile_of(n).empty)
        assert not InventoryTransition.objects.filter(effect="superseded").exists()

    def test_it_reports_what_it_seeded(self, scale_data: str) -> None:
        assert f"Seeded {ENVIRONMENTS} environments over 3 contexts" in scale_data
        assert " s (" in scale_data

    def test_it_refuses_to_seed_over_its_own_prefix(self) -> None:
        with pytest.raises(CommandError, match="already exist under the contexts scale-"):
            seed("--environments", "2", "--records", "1")

    def test_another_prefix_seeds_beside_it(self) -> None:
        seed("--environments", "2", "--records", "1", "--prefix", "more")

        assert Environment.objects.filter(context__startswith="more-").count() == 2


def test_the_profiles_cover_every_state_and_freshness() -> None:
    assert {p.state for p in PROFILES} == set(InventoryState)
    assert {p.freshness for p in PROFILES} == set(Freshness)


@pytest.mark.parametrize(
    "args",
    [
        ["--environments", "0", "--records", "1"],
        ["--environments", "1", "--records", "0"],
        ["--environments", "1", "--records", "1", "--context-count", "0"],
        ["--environments", "1", "--records", "1", "--prefix", "Not A Slug"],
    ],
)
def test_it_refuses_bad_arguments(args: list[str]) -> None:
    with pytest.raises(CommandError):
        seed(*args)
