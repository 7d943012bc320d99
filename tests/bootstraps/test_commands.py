"""The sweeper and the benchmark commands."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from bootstraps.models import BootstrapOperation
from inventory.models import EnvironmentInventory
from launchplane.models import IdempotencyKey
from tests.factories import make_environment, start

pytestmark = pytest.mark.django_db


def test_sweep_times_out_overdue_operations_and_reports_how_many() -> None:
    environment = make_environment()
    operation = start(environment, now=timezone.now() - timedelta(hours=2), timeout_seconds=60)
    out = StringIO()

    call_command("sweep", stdout=out)

    operation.refresh_from_db()
    assert operation.status == BootstrapOperation.Status.TIMED_OUT
    assert operation.readiness_status == BootstrapOperation.Readiness.UNKNOWN
    assert EnvironmentInventory.objects.get(pk=environment.pk).data_state == "unknown"
    assert "Expired 1 operations" in out.getvalue()


def test_sweep_leaves_operations_before_their_deadline_alone() -> None:
    environment = make_environment()
    operation = start(environment, now=timezone.now(), timeout_seconds=3600)

    call_command("sweep", stdout=StringIO())

    operation.refresh_from_db()
    assert operation.status == BootstrapOperation.Status.RUNNING


def test_sweep_deletes_expired_idempotency_keys_only() -> None:
    now = timezone.now()
    IdempotencyKey.objects.create(
        owner="client:1",
        key="old",
        fingerprint="f",
        created_at=now - timedelta(days=2),
        expires_at=now - timedelta(days=1),
    )
    IdempotencyKey.objects.create(
        owner="client:1", key="new", fingerprint="f", created_at=now, expires_at=now + timedelta(days=1)
    )

    call_command("sweep", stdout=StringIO())

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_sweep_refuses_a_non_positive_interval() -> None:
    with pytest.raises(CommandError, match="interval"):
        call_command("sweep", "--loop", "--interval", "0", stdout=StringIO())


def test_bench_reports_every_measure_and_leaves_no_data_behind() -> None:
    out = StringIO()
    try:
        call_command("bench", "--environments", "3", "--rounds", "2", stdout=out)
    except CommandError as exc:  # a loaded test machine may miss a target; the report is what we check
        assert "Missed targets" in str(exc)
    report = out.getvalue()
    for measure in ("record_deployment", "one-shot bootstrap", "read model", "environments list", "history"):
        assert measure in report
    assert not EnvironmentInventory.objects.exists()


def test_bench_refuses_nonsense_sizes() -> None:
    with pytest.raises(CommandError):
        call_command("bench", "--environments", "0", stdout=StringIO())
