"""Payloads in the existing Launchplane service's shape (written from issue 14's description), and the
assertions on its envelope."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from tests.api.support import OMIT, iso
from tests.factories import GIT_REF, next_moment, next_number, runtime_identity

EVIDENCE = "/v1/evidence/deployments"


def inventory_url(context: str = "cm", instance: str = "testing") -> str:
    return f"/v1/inventory/{context}/{instance}"


def deployment_url(record_id: str) -> str:
    return f"/v1/deployments/{record_id}"


def payload(
    context: str = "cm",
    instance: str = "testing",
    *,
    record_id: str | None = None,
    deploy_status: str = "pass",
    bootstrap: Any = OMIT,
    post_deploy: Any = "pass",
    health: Any = "pass",
    identity: Any = "match",
    **record_fields: Any,
) -> dict[str, Any]:
    """A whole submission. ``post_deploy`` / ``health``: an upstream status (attempted / verified), or
    ``"not attempted"`` / ``"not verified"``, or ``OMIT``. ``identity="match"`` reports the identity the
    deployment itself expects. ``bootstrap``: ``"pass"``/``"fail"``/``"pending"`` (attempted), a dict, or
    ``OMIT``. Extra keyword arguments replace fields of the record (``OMIT`` removes one)."""
    number = next_number()
    record_id = record_id or f"up-{number}"
    finished = next_moment()
    record: dict[str, Any] = {
        "schema_version": 1,
        "record_id": record_id,
        "artifact_identity": {"artifact_id": f"artifact-{record_id}", "manifest_version": "2026.11.1"},
        "context": context,
        "instance": instance,
        "source_git_ref": GIT_REF,
        "wait_for_completion": True,
        "verify_destination_health": True,
        "no_cache": False,
        "delegated_executor": "github-actions",
        "resolved_target": {"target_type": "compose", "target_id": "tgt-7", "target_name": "cm-testing"},
        "deployed_target": {"target_type": "compose", "target_id": "tgt-7", "target_name": "cm-testing"},
        "runtime_source": "ghcr.io/example/cm",
        "runtime_identity": runtime_identity(record_id, context=context, instance=instance),
        "deploy": {
            "target_name": "cm-testing",
            "target_type": "compose",
            "deploy_mode": "rolling",
            "provider_id": "dokploy",
            "target_category": "application",
            "provider_target_type": "compose",
            "provider_deploy_mode": "redeploy",
            "deployment_id": f"prov-{number}",
            "status": deploy_status,
            "started_at": iso(finished - timedelta(seconds=30)),
            "finished_at": iso(finished),
        },
    }
    if bootstrap is not OMIT:
        record["bootstrap"] = (
            bootstrap
            if isinstance(bootstrap, dict)
            else {"attempted": True, "run_status": bootstrap, "readiness_status": "pass", "detail": "restored"}
        )
    if post_deploy is not OMIT:
        record["post_deploy_update"] = (
            {"attempted": False, "status": "skipped", "detail": ""}
            if post_deploy == "not attempted"
            else {"attempted": True, "status": post_deploy, "detail": "odoo -u all", "evidence": {"modules": 42}}
        )
    if health is not OMIT:
        if health == "not verified":
            record["destination_health"] = {"verified": False, "status": "skipped"}
        else:
            record["destination_health"] = {
                "verified": True,
                "urls": [f"https://{instance}.{context}.example.com/web/health"],
                "timeout_seconds": 30,
                "status": health,
                "runtime_identity_status": "pass",
                "runtime_identity_detail": "",
            }
        if identity == "match":
            record["destination_health"]["observed_runtime_identity"] = runtime_identity(
                record_id, context=context, instance=instance, artifact_id=f"artifact-{record_id}"
            )
        elif identity is not OMIT:
            record["destination_health"]["observed_runtime_identity"] = identity
    for name, value in record_fields.items():
        if value is OMIT:
            record.pop(name, None)
        else:
            record[name] = value
    return {"schema_version": 1, "product": "cm", "deployment": record}


def changed(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``body`` with the dotted ``path`` (from the top) set to ``value`` (``OMIT`` removes it)."""
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    target = body
    for name in parents:
        target = target[name]
    if value is OMIT:
        target.pop(last, None)
    else:
        target[last] = value
    return body


def submit(http: Any, body: Any, *, key: str | None = None, **extra: Any) -> Any:
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    return http.post(EVIDENCE, body, format="json", **extra)


def rejected(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert the existing service's error envelope and return its ``error``."""
    assert response.status_code == status, (response.status_code, response.content[:2000])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"status", "trace_id", "error"}, body
    assert body["status"] == "rejected", body
    assert isinstance(body["trace_id"], str) and body["trace_id"], body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return body["error"]


def accepted(response: Any) -> dict[str, Any]:
    """Assert a 202 in the existing service's shape and return its ``records``."""
    assert response.status_code == 202, (response.status_code, response.content[:2000])
    body = response.json()
    assert body["status"] == "accepted", body
    assert isinstance(body["trace_id"], str) and body["trace_id"], body
    return body["records"]
