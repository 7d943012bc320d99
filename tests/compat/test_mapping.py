"""The mapping table in docs/compat.md, proved row by row over HTTP: each row's id names one check here,
and the table and this module must list the same ids."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from bootstraps.models import BootstrapOperation
from compat.models import DeploymentEvidence
from inventory.models import DeploymentRecord, EnvironmentInventory
from tests.api.support import OMIT
from tests.compat.support import accepted, changed, payload, rejected, submit
from tests.factories import deploy, make_environment, row_counts, runtime_identity

DOC = Path(settings.BASE_DIR) / "docs" / "compat.md"
pytestmark = pytest.mark.django_db


def doc_row_ids() -> list[str]:
    mapping = DOC.read_text().split("## The mapping", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| (m\d+) \|", mapping, flags=re.MULTILINE)


def recorded(http: Any, body: dict[str, Any]) -> dict[str, Any]:
    return accepted(submit(http, body))


def deployment_of(records: dict[str, Any]) -> DeploymentRecord:
    return DeploymentRecord.objects.get(record_id=records["deployment_record_id"])


def bootstrap_of(records: dict[str, Any]) -> BootstrapOperation:
    return BootstrapOperation.objects.get(operation_id=records["bootstrap_operation_id"])


def refused_and_nothing_stored(http: Any, body: dict[str, Any], code: str, status: int, names: str) -> None:
    before = row_counts()
    error = rejected(submit(http, body), status, code)
    assert names in error["message"], error
    assert row_counts() == before


def m1(http: Any) -> None:
    make_environment("cm", "testing")
    records = recorded(http, payload("cm", "testing"))
    assert deployment_of(records).environment.instance == "testing"
    assert records["inventory_record_id"] == "cm-testing"
    refused_and_nothing_stored(http, payload("cm", "nowhere"), "not_found", 404, "nowhere")


def m2(http: Any) -> None:
    make_environment()
    body = payload()
    assert deployment_of(recorded(http, body)).artifact_id == body["deployment"]["artifact_identity"]["artifact_id"]
    refused_and_nothing_stored(
        http,
        changed(payload(), "deployment.artifact_identity.artifact_id", OMIT),
        "invalid_request",
        400,
        "deployment.artifact_identity.artifact_id",
    )


def m3(http: Any) -> None:
    make_environment()
    body = payload(source_git_ref="refs/tags/v2026.11.1")
    assert deployment_of(recorded(http, body)).source_git_ref == "refs/tags/v2026.11.1"
    refused_and_nothing_stored(http, payload(source_git_ref=OMIT), "invalid_request", 400, "deployment.source_git_ref")


def m4(http: Any) -> None:
    make_environment()
    records = recorded(http, payload(record_id="gh-4711-1"))
    assert records["deployment_record_id"] == "gh-4711-1"
    assert deployment_of(records).record_id == "gh-4711-1"
    refused_and_nothing_stored(http, payload(record_id="gh-4711-1"), "conflict", 409, "gh-4711-1")
    # Left out, Launchplane assigns the deployment's id (and any number of such payloads are accepted).
    for _ in range(2):
        assigned = recorded(http, changed(payload(identity=OMIT), "deployment.record_id", OMIT))["deployment_record_id"]
        assert deployment_of({"deployment_record_id": assigned}).artifact_id.startswith("artifact-up-")
    assert DeploymentEvidence.objects.filter(upstream_record_id="").count() == 2


def m5(http: Any) -> None:
    make_environment()
    for status in ("pass", "fail"):
        body = payload(deploy_status=status)
        record = deployment_of(recorded(http, body))
        assert record.deploy_status == status
        assert record.started_at.isoformat().replace("+00:00", "Z") == body["deployment"]["deploy"]["started_at"]
        assert record.finished_at.isoformat().replace("+00:00", "Z") == body["deployment"]["deploy"]["finished_at"]
    refused_and_nothing_stored(
        http,
        changed(payload(), "deployment.deploy.finished_at", OMIT),
        "invalid_request",
        400,
        "deployment.deploy.finished_at",
    )


def m6(http: Any) -> None:
    environment = make_environment()
    current = deploy(environment, "dep-current").record
    for status in ("skipped", "pending"):
        deployments = DeploymentRecord.objects.count()
        records = recorded(
            http, payload(deploy_status=status, bootstrap="pass", identity=runtime_identity("dep-current"))
        )
        assert records["deployment_record_id"] is None
        assert DeploymentRecord.objects.count() == deployments
        assert bootstrap_of(records).environment == environment
        inventory = EnvironmentInventory.objects.get(pk=environment.pk)
        assert inventory.current_deployment_id == current.pk
        assert inventory.last_deployment_attempt_id == current.pk


def m7(http: Any) -> None:
    make_environment()
    for status in ("skipped", "pending"):
        refused_and_nothing_stored(
            http, payload(deploy_status=status), "invalid_request", 400, "deployment.bootstrap.attempted"
        )
    refused_and_nothing_stored(http, payload(deploy=OMIT), "invalid_request", 400, "deployment.deploy.status")


def m8(http: Any) -> None:
    make_environment()
    assert deployment_of(recorded(http, payload(post_deploy=OMIT))).post_deploy_status == "not_run"


def m9(http: Any) -> None:
    make_environment()
    assert deployment_of(recorded(http, payload(post_deploy="not attempted"))).post_deploy_status == "skipped"


def m10(http: Any) -> None:
    make_environment()
    for status in ("pass", "fail"):
        assert deployment_of(recorded(http, payload(post_deploy=status))).post_deploy_status == status


def m11(http: Any) -> None:
    make_environment()
    assert deployment_of(recorded(http, payload(post_deploy="pending"))).post_deploy_status == "unknown"


def m12(http: Any) -> None:
    make_environment()
    assert deployment_of(recorded(http, payload(health=OMIT))).health_status == "not_run"


def m13(http: Any) -> None:
    make_environment()
    for status in ("pass", "fail"):
        assert deployment_of(recorded(http, payload(health=status))).health_status == status


def m14(http: Any) -> None:
    make_environment()
    assert deployment_of(recorded(http, payload(health="not verified"))).health_status == "skipped"


def m15(http: Any) -> None:
    make_environment()
    body = payload()
    record = deployment_of(recorded(http, body))
    assert record.observed_runtime_identity == body["deployment"]["destination_health"]["observed_runtime_identity"]
    assert record.runtime_identity_status == "match"
    elsewhere = payload(identity=runtime_identity("another-record"))
    record = deployment_of(recorded(http, elsewhere))
    assert record.runtime_identity_status == "mismatch"
    assert "deployment_record_id" in record.runtime_identity_mismatches
    assert deployment_of(recorded(http, payload(identity=None))).runtime_identity_status == "missing"
    assert deployment_of(recorded(http, payload(identity=OMIT))).runtime_identity_status == "unchecked"


def m16(http: Any) -> None:
    make_environment()
    body = changed(payload(identity=OMIT), "deployment.destination_health.runtime_identity_status", "unverifiable")
    assert deployment_of(recorded(http, body)).runtime_identity_status == "unverifiable"
    contradictory = changed(payload(), "deployment.destination_health.runtime_identity_status", "unverifiable")
    refused_and_nothing_stored(
        http, contradictory, "invalid_request", 400, "deployment.destination_health.runtime_identity_status"
    )


def m17(http: Any) -> None:
    make_environment()
    body = payload(bootstrap="pass")
    operation = bootstrap_of(recorded(http, body))
    assert (operation.data_source, operation.bootstrap_run_status, operation.data_mutated) == (
        "upstream_restore",
        "pass",
        True,
    )
    assert (operation.canonical_status, operation.logo_status) == ("not_run", "not_run")
    assert (operation.post_deploy_status, operation.health_status) == ("pass", "pass")
    deploy_section = body["deployment"]["deploy"]
    assert operation.started_at.isoformat().replace("+00:00", "Z") == deploy_section["started_at"]
    assert operation.finished_at.isoformat().replace("+00:00", "Z") == deploy_section["finished_at"]
    assert operation.status == "finished"
    # Without deploy timestamps, the run started and finished on arrival.
    arrival = payload(bootstrap="pass", deploy={"status": "skipped"}, identity=OMIT)
    operation = bootstrap_of(recorded(http, arrival))
    assert operation.started_at <= operation.finished_at


def m18(http: Any) -> None:
    make_environment()
    body = payload(
        bootstrap={"attempted": True, "run_status": "fail", "readiness_status": "fail", "detail": "pg_restore died"},
        post_deploy=OMIT,
    )
    operation = bootstrap_of(recorded(http, body))
    assert (operation.bootstrap_run_status, operation.data_mutated) == ("fail", None)
    assert operation.error_message == "pg_restore died"
    assert operation.readiness_status == "unknown"


def m19(http: Any) -> None:
    environment = make_environment()
    body = payload(bootstrap="pending", post_deploy=OMIT)
    operation = bootstrap_of(recorded(http, body))
    assert (operation.bootstrap_run_status, operation.data_mutated) == ("unknown", None)
    assert EnvironmentInventory.objects.get(pk=environment.pk).data_state == "unknown"


def m20(http: Any) -> None:
    make_environment()
    not_attempted = {"attempted": False, "run_status": "skipped", "readiness_status": "skipped"}
    for body in (payload(bootstrap=not_attempted), payload()):
        records = recorded(http, body)
        assert "bootstrap_operation_id" not in records
    assert BootstrapOperation.objects.count() == 0


def m21(http: Any) -> None:
    environment = make_environment()
    records = recorded(http, payload(bootstrap="pass"))
    record, operation = deployment_of(records), bootstrap_of(records)
    assert record.sequence < operation.sequence  # the deployment first
    # The bootstrap was compared with the deployment recorded just before it.
    assert operation.expected_runtime_identity == record.own_identity
    assert operation.runtime_identity_status == "match"
    causes = list(environment.transitions.order_by("sequence").values_list("cause_type", "cause_id"))
    assert causes[-2:] == [("deployment", record.record_id), ("bootstrap", operation.operation_id)]
    inventory = EnvironmentInventory.objects.get(pk=environment.pk)
    assert (inventory.current_deployment_id, inventory.last_bootstrap_id) == (record.pk, operation.pk)


def m22(http: Any) -> None:
    make_environment()
    body = payload(bootstrap="pass")
    records = recorded(http, body)
    evidence = DeploymentEvidence.objects.get(upstream_record_id=body["deployment"]["record_id"])
    assert evidence.payload == body
    assert (evidence.deployment, evidence.bootstrap) == (deployment_of(records), bootstrap_of(records))
    assert evidence.product == "cm"
    answer = http.get(f"/v1/deployments/{records['deployment_record_id']}").json()["record"]
    for name in ("delegated_executor", "resolved_target", "deployed_target", "runtime_source", "runtime_identity"):
        assert answer[name] == body["deployment"][name], name


ROWS: dict[str, Callable[[Any], None]] = {
    name: check for name, check in globals().items() if re.fullmatch(r"m\d+", name) and callable(check)
}


def test_the_table_and_the_checks_list_the_same_rows() -> None:
    ids = doc_row_ids()
    assert len(ids) == len(set(ids)), ids
    assert set(ids) == set(ROWS), {"only in docs": set(ids) - set(ROWS), "only here": set(ROWS) - set(ids)}


@pytest.mark.parametrize("row", sorted(ROWS, key=lambda name: int(name[1:])))
def test_each_mapping_row_holds_over_http(row: str, automation) -> None:
    ROWS[row](automation.http)
