"""``freshness_changed``: the sweeper announces each crossing into or out of ``stale`` once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command

from notifications.models import AnnouncedFreshness, WebhookDelivery
from notifications.services import announce_freshness_crossings
from notifications.services.freshness import crossings
from tests.factories import deploy, make_environment, subscribe

pytestmark = pytest.mark.django_db


def freshness_deliveries() -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(event="freshness_changed").order_by("pk"))


def verified_environment(ttl: int = 60):
    environment = make_environment(instance="prod", verification_ttl_seconds=ttl)
    recorded = deploy(environment)  # advanced: last known good verified at its finish
    return environment, recorded.inventory.lkg_verified_at


def test_a_ttl_passing_is_announced_once_and_so_is_the_way_back() -> None:
    subscribe("fresh", events=["freshness_changed"])
    environment, verified_at = verified_environment(ttl=60)

    assert announce_freshness_crossings(verified_at + timedelta(seconds=59)) == 0  # still verified
    assert announce_freshness_crossings(verified_at + timedelta(seconds=61)) == 1
    assert announce_freshness_crossings(verified_at + timedelta(seconds=90)) == 0  # the same crossing
    assert announce_freshness_crossings(verified_at + timedelta(hours=5)) == 0

    (stale,) = freshness_deliveries()
    assert stale.payload["environment"]["freshness"] == "stale"
    assert stale.occurred_at == verified_at + timedelta(seconds=60)  # when the TTL ran out, not when noticed
    assert stale.environment == environment and stale.transition is None

    refreshed = deploy(environment).inventory.lkg_verified_at  # verified again
    assert announce_freshness_crossings(refreshed + timedelta(seconds=1)) == 1
    back = freshness_deliveries()[-1]
    assert back.payload["environment"]["freshness"] == "verified"
    assert back.occurred_at == refreshed
    assert AnnouncedFreshness.objects.get(pk=environment.pk).freshness == "verified"


def test_an_environment_never_verified_is_never_announced() -> None:
    subscribe()
    environment = make_environment()
    deploy(environment, post_deploy_status="not_run")  # unverified: freshness recorded

    assert announce_freshness_crossings(environment.created_at + timedelta(days=30)) == 0


def test_the_crossing_is_remembered_even_without_subscribers() -> None:
    environment, verified_at = verified_environment()

    assert announce_freshness_crossings(verified_at + timedelta(hours=1)) == 1
    assert not WebhookDelivery.objects.exists()
    assert AnnouncedFreshness.objects.get(pk=environment.pk).freshness == "stale"


def test_a_second_sweeper_that_read_the_same_crossing_announces_nothing() -> None:
    subscribe()
    _environment, verified_at = verified_environment()
    later = verified_at + timedelta(hours=1)
    from notifications.services.freshness import announce

    seen_by_first, seen_by_second = crossings(later, limit=10), crossings(later, limit=10)
    assert [announce(inventory, later) for inventory in seen_by_first] == [True]
    assert [announce(inventory, later) for inventory in seen_by_second] == [False]
    assert len(freshness_deliveries()) == 1


def test_the_sweep_command_announces_crossings(settings) -> None:
    subscribe()
    environment = make_environment(verification_ttl_seconds=1)
    deploy(environment)  # verified at T0 (hours ago): stale now

    from io import StringIO

    out = StringIO()
    call_command("sweep", stdout=out)

    assert "Announced 1 freshness changes" in out.getvalue()
    assert len(freshness_deliveries()) == 1
