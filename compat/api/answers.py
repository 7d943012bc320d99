"""The existing service's shapes for what we read: its field names, from our records, and — for a record
an existing client submitted — its own sections exactly as it sent them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from compat.models import DeploymentEvidence
from inventory.choices import CheckStatus
from inventory.models import DeploymentRecord, EnvironmentInventory

NOT_ATTEMPTED = (CheckStatus.SKIPPED, CheckStatus.NOT_RUN)
SECTIONS = ("deploy", "post_deploy_update", "destination_health")


def synthesized_sections(record: DeploymentRecord) -> dict[str, Any]:
    """A deployment recorded through /api/v1/ has no upstream sections: say what we know under their
    names (statuses in our vocabulary, docs/compat.md)."""
    return {
        "deploy": {"status": record.deploy_status, "started_at": record.started_at, "finished_at": record.finished_at},
        "post_deploy_update": {
            "attempted": record.post_deploy_status not in NOT_ATTEMPTED,
            "status": record.post_deploy_status,
        },
        "destination_health": {
            "verified": record.health_status in (CheckStatus.PASS, CheckStatus.FAIL),
            "status": record.health_status,
            "runtime_identity_status": record.runtime_identity_status,
        },
    }


def upstream_sections(record: DeploymentRecord, submitted: Mapping[str, Any]) -> dict[str, Any]:
    """``artifact_identity`` and the three sections: as submitted when they were, else synthesized."""
    ours = synthesized_sections(record)
    sections = {name: submitted[name] if name in submitted else ours[name] for name in SECTIONS}
    artifact = submitted.get("artifact_identity") or {"artifact_id": record.artifact_id, "manifest_version": None}
    return {"artifact_identity": artifact, **sections}


def inventory_record(inventory: EnvironmentInventory, evidence: DeploymentEvidence | None, now: datetime) -> dict:
    """``GET /v1/inventory/{context}/{instance}``'s record: the current deployment under the existing
    field names, plus our state, both sides, freshness and last known good."""
    environment = inventory.environment
    current = inventory.current_deployment
    if current is not None:
        deployment: dict[str, Any] = upstream_sections(current, evidence.record if evidence else {})
    else:
        deployment = {"artifact_identity": None, **dict.fromkeys(SECTIONS)}
    last_bootstrap = inventory.last_bootstrap
    return {
        "context": environment.context,
        "instance": environment.instance,
        "artifact_identity": deployment["artifact_identity"],
        "source_git_ref": current.source_git_ref if current else None,
        "deploy": deployment["deploy"],
        "post_deploy_update": deployment["post_deploy_update"],
        "destination_health": deployment["destination_health"],
        "updated_at": inventory.updated_at,
        "deployment_record_id": current.record_id if current else None,
        "bootstrap_record_id": last_bootstrap.operation_id if last_bootstrap else None,
        "state": inventory.state,
        "state_reason": inventory.state_reason,
        "deployment_state": inventory.deployment_state,
        "data_state": inventory.data_state,
        "freshness": inventory.freshness_at(now).value,
        "last_known_good": inventory.last_known_good,
    }


def deployment_record(record: DeploymentRecord, evidence: DeploymentEvidence | None) -> dict:
    """``GET /v1/deployments/{record_id}``'s record: the submitted ``DeploymentRecord`` when an existing
    client sent it (every field it sent), our record under its names otherwise, and what we made of it."""
    submitted = evidence.record if evidence else {}
    bootstrap = evidence.bootstrap if evidence else None
    return {
        **submitted,
        "record_id": record.record_id,
        "context": record.environment.context,
        "instance": record.environment.instance,
        "source_git_ref": record.source_git_ref,
        **upstream_sections(record, submitted),
        "deploy_status": record.deploy_status,
        "post_deploy_status": record.post_deploy_status,
        "health_status": record.health_status,
        "runtime_identity_status": record.runtime_identity_status,
        "runtime_identity_mismatches": record.runtime_identity_mismatches,
        "inventory_effect": record.inventory_effect,
        "bootstrap_record_id": bootstrap.operation_id if bootstrap else None,
        "recorded_at": record.created_at,
    }
