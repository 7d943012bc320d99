"""Reads for the /v1/ routes: an environment's inventory and one deployment record, in the existing
service's shapes. Overdue operations expire first (rule 9) through inventory's selectors."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from compat.models import DeploymentEvidence
from inventory import selectors
from inventory.models import DeploymentRecord, EnvironmentInventory


def inventory(context: str, instance: str, now: datetime) -> EnvironmentInventory | None:
    """The read model of the named environment (None when there is none), overdue operations expired."""
    return selectors.named_read_model(context, instance, now)


def evidence_for(record: DeploymentRecord | None) -> DeploymentEvidence | None:
    """The payload a deployment record was recorded from, when an existing client submitted it."""
    if record is None:
        return None
    return DeploymentEvidence.objects.filter(deployment_id=record.pk).first()


def deployments(queryset: QuerySet[DeploymentRecord]) -> QuerySet[DeploymentRecord]:
    """Deployment records with their environment and the evidence they came from, in one query."""
    return queryset.select_related("environment", "compat_evidence", "compat_evidence__bootstrap")
