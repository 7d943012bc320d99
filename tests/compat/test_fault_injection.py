"""Fault injection at every write of ``POST /v1/evidence/deployments`` (rules 11-13): a deployment and a
bootstrap recorded from one payload, then its evidence row. For every k, write k fails (an injected
``OperationalError`` before it reaches the database); the answer is a 5xx in the existing envelope, no
row of the request remains, the key is released, and the same request retried with the same key is
recorded exactly once and then replays. (The machinery is tests/test_fault_injection.py's.)"""

from __future__ import annotations

from typing import Any

import pytest

from launchplane.models import ApiClient, IdempotencyKey
from tests.api.conftest import make_caller
from tests.compat.support import accepted, payload, rejected, submit
from tests.factories import deploy, make_environment, runtime_identity
from tests.test_fault_injection import counting_writes, delta, fault_at, rolled_back, run_every_k, table_counts

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("deploy_status", ["pass", "skipped"], ids=["deployment and bootstrap", "bootstrap alone"])
def test_a_fault_at_any_write_leaves_nothing_and_the_retry_is_recorded_once(deploy_status) -> None:
    caller = make_caller("ci-cm", ["cm"])
    environment = make_environment()
    deploy(environment, "dep-current")
    body = payload(deploy_status=deploy_status, bootstrap="pass", identity=runtime_identity("dep-current"))
    owner = f"client:{caller.model.pk}"

    def send(key: str) -> Any:
        ApiClient.objects.filter(pk=caller.model.pk).update(last_used_at=None)  # its stamp is a write too
        return submit(caller.http, body, key=key)

    with rolled_back():
        before = table_counts()
        with counting_writes() as counted:
            accepted(send("unfailed"))
        added = delta(before, table_counts())
    assert added["compat_deploymentevidence"] == 1 and added["bootstraps_bootstrapoperation"] == 1

    def attempt(k: int) -> None:
        key = f"fault-{k}"
        before = table_counts()
        with fault_at(k) as fault:
            response = send(key)
        assert fault.failed, f"only {len(fault.writes)} writes happened"
        rejected(response, 500, "server_error")
        assert table_counts() == before, delta(before, table_counts())
        assert not IdempotencyKey.objects.filter(owner=owner, key=key).exists(), "the key remains"
        retry = send(key)
        assert retry.status_code == 202, retry.json()
        assert delta(before, table_counts()) == added
        replay = send(key)
        assert replay.json() == {**retry.json(), "replayed": True}

    assert run_every_k("POST /v1/evidence/deployments", counted.writes, attempt, only=lambda w: w.in_transaction) >= 5
