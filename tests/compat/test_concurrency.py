"""Two existing clients racing with the same ``record_id`` on PostgreSQL (each thread its own connection):
one payload is recorded whole, the other answers 409 ``conflict`` and leaves nothing — never a 5xx."""

from __future__ import annotations

import pytest

from bootstraps.models import BootstrapOperation
from compat.models import DeploymentEvidence
from inventory.models import DeploymentRecord
from tests.api.conftest import make_caller
from tests.compat.support import payload, submit
from tests.factories import deploy, make_environment, runtime_identity
from tests.test_concurrency import run_in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.mark.parametrize("deploy_status", ["pass", "skipped"], ids=["deployment and bootstrap", "bootstrap alone"])
def test_the_same_record_id_twice_at_once_records_one_payload(deploy_status, on_postgres) -> None:
    environment = make_environment()
    deploy(environment, "dep-current")
    callers = [make_caller(f"ci-{n}", ["cm"]) for n in range(2)]
    bodies = [
        payload(
            record_id="gh-race", deploy_status=deploy_status, bootstrap="pass", identity=runtime_identity("dep-current")
        )
        for _ in callers
    ]

    answers = run_in_threads([lambda c=c, b=b: submit(c.http, b) for c, b in zip(callers, bodies, strict=True)])

    assert sorted(answer.status_code for answer in answers) == [202, 409], [a.content for a in answers]
    assert [a.json()["error"]["code"] for a in answers if a.status_code == 409] == ["conflict"]
    assert DeploymentEvidence.objects.count() == 1
    assert BootstrapOperation.objects.count() == 1
    assert DeploymentRecord.objects.count() == (2 if deploy_status == "pass" else 1)
