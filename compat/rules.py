"""The mapping from an existing client's ``DeploymentRecord`` to our records: a pure function (no ORM,
no clock of its own) from the validated payload to a ``Plan`` — which deployment to record, which
bootstrap to record, or a 400 naming the upstream field at fault.

docs/compat.md renders this mapping as a table; tests/compat/test_mapping.py proves it row by row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bootstraps.services import BootstrapResult
from inventory.choices import CheckStatus
from inventory.rules import NOT_SENT, IdentityInput
from launchplane.errors import InvalidInput

# The upstream vocabulary: one word set for every step (deploy, bootstrap run, post-deploy update,
# destination health), and the bootstrap's readiness. As (value, label) pairs for the OpenAPI enums.
STEP_STATUSES = ("pending", "pass", "fail", "skipped")
STEP_CHOICES = [(status, status) for status in STEP_STATUSES]
BOOTSTRAP_READINESS = ("pending", "pass", "fail", "verification_failed", "skipped")
READINESS_CHOICES = [(status, status) for status in BOOTSTRAP_READINESS]
RECORDED_DEPLOY_STATUSES = frozenset({"pass", "fail"})  # the only ones that are an artifact deployment
UNVERIFIABLE = "unverifiable"

# post_deploy_update (attempted, status) -> post_deploy_status. A pair that is not here is contradictory.
POST_DEPLOY: Mapping[tuple[bool, str], str] = {
    (False, "skipped"): CheckStatus.SKIPPED,
    (True, "pass"): CheckStatus.PASS,
    (True, "fail"): CheckStatus.FAIL,
    (True, "pending"): CheckStatus.UNKNOWN,  # attempted, outcome not known
}
# A verified destination_health's status -> health_status; an unverified one is skipped.
VERIFIED_HEALTH: Mapping[str, str] = {"pass": CheckStatus.PASS, "fail": CheckStatus.FAIL}
# An attempted bootstrap's run_status -> (bootstrap_run_status, data_mutated).
BOOTSTRAP_RUN: Mapping[str, tuple[str, bool | None]] = {
    "pass": ("pass", True),  # a restore that passed changed the data
    "fail": ("fail", None),  # it may or may not have: not known
    "pending": ("unknown", None),  # reported before it finished: attempted, outcome not known
}
DATA_SOURCE = "upstream_restore"  # the existing service's bootstrap restores from an upstream copy


@dataclass(frozen=True)
class DeploymentPlan:
    """The artifact deployment to record through ``inventory.services.record_deployment``."""

    record_id: str | None  # None: the server assigns one
    artifact_id: str
    source_git_ref: str
    deploy_status: str
    started_at: datetime
    finished_at: datetime
    post_deploy_status: str
    health_status: str
    identity: IdentityInput


@dataclass(frozen=True)
class BootstrapPlan:
    """The one-shot bootstrap to record through ``bootstraps.services.run_bootstrap_once``."""

    result: BootstrapResult
    reason: str
    data_source: str = DATA_SOURCE


@dataclass(frozen=True)
class Plan:
    """What one payload becomes: a deployment, a bootstrap, or both (deployment first)."""

    deployment: DeploymentPlan | None
    bootstrap: BootstrapPlan | None


def refuse(message: str, **fields: str) -> InvalidInput:
    return InvalidInput(message, fields={f"deployment.{name}": why for name, why in fields.items()})


def post_deploy_status(section: Mapping[str, Any] | None) -> str:
    """``post_deploy_update`` -> ``post_deploy_status`` (left out: ``not_run``, as any check left out)."""
    if section is None:
        return CheckStatus.NOT_RUN
    status = POST_DEPLOY.get((section["attempted"], section["status"]))
    if status is None:
        why = "skipped when not attempted" if not section["attempted"] else "pending, pass or fail when attempted"
        raise refuse(f"post_deploy_update.status must be {why}.", **{"post_deploy_update.status": f"must be {why}"})
    return status


def health_status(section: Mapping[str, Any] | None) -> str:
    """``destination_health`` -> ``health_status``: verified pass/fail, otherwise ``skipped``."""
    if section is None:
        return CheckStatus.NOT_RUN
    if not section["verified"]:
        return CheckStatus.SKIPPED
    return VERIFIED_HEALTH[section["status"]]  # the serializer requires pass or fail when verified


def identity(section: Mapping[str, Any] | None) -> IdentityInput:
    """``destination_health.observed_runtime_identity`` / ``runtime_identity_status: unverifiable`` ->
    the identity evidence rule 5 compares (left out: not sent; JSON null: the runtime reported none)."""
    if section is None:
        return NOT_SENT
    found = IdentityInput(
        sent="observed_runtime_identity" in section,
        value=section.get("observed_runtime_identity"),
        unverifiable=section.get("runtime_identity_status") == UNVERIFIABLE,
    )
    if found.is_contradictory:
        raise refuse(
            "destination_health.runtime_identity_status 'unverifiable' contradicts the observed_runtime_identity sent.",
            **{
                "destination_health.runtime_identity_status": "unverifiable with an identity",
                "destination_health.observed_runtime_identity": "sent with unverifiable",
            },
        )
    return found


def plan(payload: Mapping[str, Any]) -> Plan:
    """The records a validated payload (``UpstreamSubmissionSerializer.validated_data``) becomes."""
    record = payload["deployment"]
    deploy = record.get("deploy")
    bootstrap = record.get("bootstrap")
    post_deploy = post_deploy_status(record.get("post_deploy_update"))
    health = health_status(record.get("destination_health"))
    observed = identity(record.get("destination_health"))
    deploys = deploy is not None and deploy["status"] in RECORDED_DEPLOY_STATUSES
    bootstraps = bootstrap is not None and bootstrap["attempted"]
    if not deploys and not bootstraps:
        raise refuse(
            "The record reports neither an artifact deployment (deploy.status pass or fail) nor an attempted "
            "bootstrap: there is nothing to record.",
            **{"deploy.status": "pass or fail for a deployment", "bootstrap.attempted": "true for a bootstrap"},
        )
    started_at = deploy.get("started_at") if deploy else None
    finished_at = deploy.get("finished_at") if deploy else None
    if started_at is not None and finished_at is not None and finished_at < started_at:
        raise refuse("deploy.finished_at is before deploy.started_at.", **{"deploy.finished_at": "before started_at"})

    deployment_plan = None
    if deploys:
        missing = [name for name in ("started_at", "finished_at") if deploy.get(name) is None]
        if started_at is None or finished_at is None:
            raise refuse(
                "A deployment that passed or failed needs deploy.started_at and finished_at.",
                **{f"deploy.{name}": "required for a pass or fail deployment" for name in missing},
            )
        deployment_plan = DeploymentPlan(
            record_id=record.get("record_id"),
            artifact_id=record["artifact_identity"]["artifact_id"],
            source_git_ref=record["source_git_ref"],
            deploy_status=deploy["status"],
            started_at=started_at,
            finished_at=finished_at,
            post_deploy_status=post_deploy,
            health_status=health,
            identity=observed,
        )

    bootstrap_plan = None
    if bootstraps:
        run_status, data_mutated = BOOTSTRAP_RUN[bootstrap["run_status"]]  # attempted: never skipped
        if run_status == "fail" and post_deploy in (CheckStatus.PASS, CheckStatus.FAIL):
            # Rule 7: a bootstrap that failed never reached a post-deploy update; the payload's one
            # post_deploy_update is given to the bootstrap too, so the two cannot both be true.
            raise refuse(
                "bootstrap.run_status fail contradicts a post_deploy_update that passed or failed: a failed "
                "bootstrap never reached its post-deploy update.",
                **{
                    "bootstrap.run_status": "fail",
                    "post_deploy_update.status": "pass or fail after a failed bootstrap",
                },
            )
        detail = bootstrap.get("detail") or ""
        bootstrap_plan = BootstrapPlan(
            result=BootstrapResult(
                bootstrap_run_status=run_status,
                data_mutated=data_mutated,
                post_deploy_status=post_deploy,
                health_status=health,
                canonical_status=CheckStatus.NOT_RUN,  # this payload never carries them
                logo_status=CheckStatus.NOT_RUN,
                identity=observed,
                started_at=started_at,
                finished_at=finished_at,
                error_message=detail if run_status != "pass" else "",
            ),
            reason=f"Reported by {payload['product']} in deployment evidence"
            + (f" {record['record_id']}." if record.get("record_id") else "."),
        )
    return Plan(deployment_plan, bootstrap_plan)


def inventory_record_id(context: str, instance: str) -> str:
    """How the existing service names an inventory record (the URL's pair is authoritative: our slugs
    may contain '-')."""
    return f"{context}-{instance}"
