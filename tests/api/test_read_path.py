"""Reads travel one road: each request expires overdue operations exactly once (rule 9), through
``inventory.selectors.expire_overdue``, whatever it reads or writes; a read of one environment, and a
write to one under its row lock, asks only when its row shows an overdue operation
(``selectors.points_at_overdue``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.signals import inventory_read
from tests.api.support import (
    BOOTSTRAPS,
    DEPLOYMENTS,
    ENVIRONMENTS,
    deployed_env,
    deployment_body,
    environment_url,
    new_key,
    post,
    result_body,
    result_url,
    start_body,
)
from tests.factories import start

pytestmark = pytest.mark.django_db


@contextmanager
def expiries() -> Iterator[list[object]]:
    sent: list[object] = []

    def count(sender, **kwargs) -> None:
        sent.append(kwargs["environments"])

    inventory_read.connect(count, dispatch_uid="test-count-expiries")
    try:
        yield sent
    finally:
        inventory_read.disconnect(dispatch_uid="test-count-expiries")


@pytest.mark.parametrize(
    "url",
    [ENVIRONMENTS, f"{environment_url()}history/", BOOTSTRAPS],
    ids=["list", "history", "bootstraps-list"],
)
def test_each_list_expires_overdue_operations_once(automation, url) -> None:
    deployed_env()
    with expiries() as sent:
        response = automation.http.get(url)
    assert response.status_code == 200, response.json()
    assert len(sent) == 1, sent


def post_record(automation, kind: str):
    if kind == "observation":
        body = {"observed_runtime_identity": None, "source": "prober", "observed_at": timezone.now().isoformat()}
        return post(automation.http, f"{environment_url()}observations/", body)
    return post(automation.http, DEPLOYMENTS, deployment_body(record_id="dep-2"))


@pytest.mark.parametrize("kind", ["deployment", "observation"])
def test_a_record_with_nothing_overdue_asks_for_no_expiry(automation, kind) -> None:
    start(deployed_env())  # active, well within its deadline
    with expiries() as sent:
        response = post_record(automation, kind)
    assert response.status_code == 201, response.json()
    assert sent == []


@pytest.mark.parametrize("kind", ["deployment", "observation"])
def test_a_record_whose_latest_bootstrap_is_overdue_expires_it_once_first(automation, kind) -> None:
    operation = start(deployed_env(), now=timezone.now() - timedelta(hours=2), timeout_seconds=60)
    with expiries() as sent:
        response = post_record(automation, kind)
    assert response.status_code == 201, response.json()
    assert len(sent) == 1, sent
    environment = response.json()["environment"]
    assert environment["last_bootstrap"]["operation_id"] == operation.operation_id
    assert environment["last_bootstrap"]["status"] == "timed_out"
    assert environment["data_state"] == "unknown"


def test_a_read_model_with_nothing_overdue_asks_for_no_expiry(automation) -> None:
    start(deployed_env())  # active, well within its deadline
    with expiries() as sent:
        response = automation.http.get(environment_url())
    assert response.status_code == 200, response.json()
    assert response.json()["last_bootstrap"]["status"] == "running"
    assert sent == []


def test_a_read_model_whose_latest_bootstrap_is_overdue_expires_it_once_and_reads_it_timed_out(automation) -> None:
    operation = start(deployed_env(), now=timezone.now() - timedelta(hours=2), timeout_seconds=60)
    with expiries() as sent:
        response = automation.http.get(environment_url())
    assert response.status_code == 200, response.json()
    assert len(sent) == 1, sent
    body = response.json()
    assert body["last_bootstrap"]["operation_id"] == operation.operation_id
    assert body["last_bootstrap"]["status"] == "timed_out"
    assert body["data_state"] == "unknown"


def test_bootstrap_writes_expire_in_their_service_and_read_back_without_expiring_again(automation) -> None:
    operation = start(deployed_env())
    with expiries() as sent:
        response = post(automation.http, result_url(operation.operation_id), result_body())
    assert response.status_code == 200, response.json()
    assert sent == []  # bootstraps expire through their own service, under the lock, before writing
    with expiries() as sent:
        response = post(automation.http, BOOTSTRAPS, start_body(instance="testing"), key=new_key())
    assert response.status_code == 201, response.json()
    assert sent == []
