"""Recording an existing client's deployment evidence: the deployment and the bootstrap it carries,
through the services that own them, in one transaction (deployment first), and the payload kept whole."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from bootstraps.models import BootstrapOperation
from bootstraps.services import run_bootstrap_once
from compat.models import DeploymentEvidence
from compat.rules import Plan
from inventory.models import DeploymentRecord, Environment
from inventory.selectors import expire_overdue
from inventory.services import record_deployment
from launchplane.errors import Conflict

RECORD_ID_USED = "Deployment evidence {record_id} was already submitted; a record_id is used once."


@dataclass(frozen=True)
class RecordedEvidence:
    """The stored payload and what it became."""

    evidence: DeploymentEvidence
    deployment: DeploymentRecord | None
    bootstrap: BootstrapOperation | None


def record_evidence(
    environment: Environment,
    plan: Plan,
    *,
    payload: Mapping[str, Any],
    product: str,
    upstream_record_id: str,
    actor: str,
    trace_id: str,
    idempotency_key: str = "",
    request_fingerprint: str = "",
    now: datetime,
) -> RecordedEvidence:
    """Record the plan's deployment (``record_deployment``, rule 6) and then its bootstrap
    (``run_bootstrap_once``, rule 7: compared with the deployment just recorded), and store the payload.
    All or nothing: a bootstrap refused (409 ``bootstrap_active``, 400) leaves no deployment behind."""
    if upstream_record_id and DeploymentEvidence.objects.filter(upstream_record_id=upstream_record_id).exists():
        raise Conflict(RECORD_ID_USED.format(record_id=upstream_record_id), fields={"deployment.record_id": "used"})
    # Rule 9 before the transaction, so the expiry stays committed even if this request is refused.
    expire_overdue(environment, now)
    with transaction.atomic():
        deployment: DeploymentRecord | None = None
        if plan.deployment is not None:
            wanted = plan.deployment
            recorded = record_deployment(
                environment,
                record_id=wanted.record_id,
                artifact_id=wanted.artifact_id,
                source_git_ref=wanted.source_git_ref,
                deploy_status=wanted.deploy_status,
                started_at=wanted.started_at,
                finished_at=wanted.finished_at,
                post_deploy_status=wanted.post_deploy_status,
                health_status=wanted.health_status,
                identity=wanted.identity,
                actor=actor,
                now=now,
            )
            assert isinstance(recorded.record, DeploymentRecord)
            deployment = recorded.record
        bootstrap = None
        if plan.bootstrap is not None:
            bootstrap = run_bootstrap_once(
                environment,
                plan.bootstrap.result,
                data_source=plan.bootstrap.data_source,
                reason=plan.bootstrap.reason,
                actor=actor,
                idempotency_key=idempotency_key,
                request_fingerprint=request_fingerprint,
                now=now,
            )
        try:
            with transaction.atomic():  # a savepoint: a concurrent twin is a 409, not a 500
                evidence = DeploymentEvidence.objects.create(
                    upstream_record_id=upstream_record_id,
                    product=product,
                    environment=environment,
                    deployment=deployment,
                    bootstrap=bootstrap,
                    payload=dict(payload),
                    submitted_by=actor,
                    trace_id=trace_id,
                    received_at=now,
                )
        except IntegrityError as exc:
            raise Conflict(
                RECORD_ID_USED.format(record_id=upstream_record_id), fields={"deployment.record_id": "used"}
            ) from exc
    return RecordedEvidence(evidence, deployment, bootstrap)
