"""Guard: a list endpoint costs the same number of queries whatever the number of rows it shows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Environment, EnvironmentInventory
from inventory.services import acknowledge
from tests.api.support import (
    BOOTSTRAPS,
    DEPLOYMENTS,
    ENVIRONMENTS,
    history_url,
)
from tests.factories import bootstrap_once, deploy, make_environment, observe, passing_result, runtime_identity, start

pytestmark = pytest.mark.django_db

FEW, MANY = 3, 25


def grow_environments(count: int) -> None:
    """Environments with every pointer the read model follows: current and last deployment, last and
    last-known-good bootstrap, an observation, (every other one) an acknowledgement with a snooze, and
    (every third one) a holder."""
    reviewer = get_user_model().objects.get_or_create(username="rita", is_staff=True)[0]
    start = Environment.objects.count()
    for number in range(start, start + count):
        environment = make_environment(instance=f"env-{number}")
        deploy(environment, f"dep-{number}")
        bootstrap_once(environment, passing_result(environment))
        observe(environment, runtime_identity(f"dep-{number}", instance=f"env-{number}"))
        if number % 2:
            acknowledge(environment, user=reviewer, note="seen", until=timezone.now() + timedelta(days=1))
        if number % 3 == 0:
            # The holder as ``take`` leaves it (take itself refuses an environment this current and fresh):
            # what is measured is the read model's cost with a user to show.
            EnvironmentInventory.objects.filter(pk=environment.pk).update(assignee=reviewer, assigned_at=timezone.now())


def grow_deployments(count: int) -> None:
    """Deployments spread over two environments, some passing, some failing verification."""
    environments = list(Environment.objects.filter(instance__in=["a", "b"]).order_by("instance"))
    environments = environments or [make_environment(instance="a"), make_environment(instance="b")]
    for number in range(count):
        deploy(environments[number % 2], post_deploy_status="pass" if number % 3 else "fail")


def grow_bootstraps(count: int) -> None:
    for _ in range(count):
        environment = make_environment(instance=f"boot-{Environment.objects.count()}")
        deploy(environment)
        bootstrap_once(environment, passing_result(environment, health_status="fail"))
        start(environment)


def grow_history(count: int) -> None:
    environment = Environment.objects.filter(context="cm", instance="testing").first() or make_environment()
    for _ in range(count):
        deploy(environment)


LISTS: dict[str, tuple[str, Callable[[int], None], int]] = {
    # name: (url, grow(count), rows each grow step adds per count)
    "environments": (ENVIRONMENTS, grow_environments, 1),
    "deployments": (DEPLOYMENTS, grow_deployments, 1),
    "bootstraps": (BOOTSTRAPS, grow_bootstraps, 2),
    "history": (history_url(), grow_history, 1),
}


def queries_for(http, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = http.get(url)
    assert response.status_code == 200, response.json()
    return len(captured), response.json()["count"]


@pytest.mark.parametrize(
    "name",
    [
        "environments",
        "deployments",
        "bootstraps",
        "history",
    ],
)
def test_a_list_costs_the_same_queries_for_few_and_many_rows(automation, name) -> None:
    url, grow, per_step = LISTS[name]
    grow(FEW)
    automation.http.get(url)  # the first request of a client also stamps it as used

    few_queries, few_rows = queries_for(automation.http, url)
    grow(MANY - FEW)
    many_queries, many_rows = queries_for(automation.http, url)

    assert (few_rows, many_rows) == (FEW * per_step, MANY * per_step)
    assert many_queries == few_queries, (
        f"{name}: {few_queries} queries for {few_rows} rows, {many_queries} for {many_rows}"
    )
