"""Answers are represented from fields bound once per class (``launchplane.api.fields.FastRepresentation``):
every answer must be exactly what DRF's own ``Serializer.to_representation`` writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from bootstraps.api.serializers import BootstrapOperationSerializer
from bootstraps.models import BootstrapOperation
from inventory import selectors
from inventory.api.serializers import DeploymentRecordSerializer, EnvironmentSerializer, TransitionSerializer
from inventory.models import DeploymentRecord, InventoryTransition
from inventory.services import acknowledge
from launchplane.api.fields import FastRepresentation
from tests.factories import bootstrap_once, deploy, finish, make_environment, passing_result, start

pytestmark = pytest.mark.django_db


def drf_representation(monkeypatch, serializer: serializers.BaseSerializer) -> object:
    """The same serializer's data as DRF writes it, at every level of nesting."""
    with monkeypatch.context() as patched:
        patched.setattr(FastRepresentation, "to_representation", serializers.Serializer.to_representation)
        return type(serializer)(serializer.instance, many=False, context=serializer.context).data


@pytest.fixture
def varied(admin_user) -> list:
    """Environments in several states: untouched, deployed, bootstrapped partly, mid-bootstrap, acknowledged."""
    now = timezone.now()
    empty = make_environment("cm", "empty")
    deployed = make_environment("cm", "deployed")
    deploy(deployed)
    partial = make_environment("cm", "partial")
    deploy(partial)
    bootstrap_once(
        partial, passing_result(partial, bootstrap_run_status="fail", data_mutated=True, post_deploy_status="not_run")
    )
    busy = make_environment("cm", "busy")
    deploy(busy, deploy_status="fail", identity=None)
    start(busy, now=now - timedelta(minutes=5))
    settled = make_environment("cm", "settled")
    deploy(settled)
    finish(start(settled), passing_result(settled))
    acknowledge(partial, user=admin_user, note="looking at it")
    return [empty, deployed, partial, busy, settled]


def test_read_models_are_written_exactly_as_drf_writes_them(monkeypatch, varied) -> None:
    now = timezone.now()
    for environment in varied:
        inventory = selectors.read_model(environment, now)
        serializer = EnvironmentSerializer(inventory, context={"now": now})
        assert serializer.data == drf_representation(monkeypatch, serializer), environment


def test_records_and_transitions_are_written_exactly_as_drf_writes_them(monkeypatch, varied) -> None:
    now = timezone.now()
    answers = [
        *(DeploymentRecordSerializer(record, context={"now": now}) for record in DeploymentRecord.objects.all()),
        *(BootstrapOperationSerializer(op, context={"now": now}) for op in BootstrapOperation.objects.all()),
        *(TransitionSerializer(t, context={"now": now}) for t in InventoryTransition.objects.all()),
    ]
    assert len(answers) > 10
    for serializer in answers:
        assert serializer.data == drf_representation(monkeypatch, serializer), serializer.instance


def test_a_list_page_is_the_same_list_drf_writes(monkeypatch, varied) -> None:
    now = timezone.now()
    rows = selectors.read_models_in_order([environment.pk for environment in varied], now)
    fast = EnvironmentSerializer(rows, many=True, context={"now": now}).data
    with monkeypatch.context() as patched:
        patched.setattr(FastRepresentation, "to_representation", serializers.Serializer.to_representation)
        slow = EnvironmentSerializer(rows, many=True, context={"now": now}).data
    assert fast == slow
    assert [row["instance"] for row in fast] == ["empty", "deployed", "partial", "busy", "settled"]
