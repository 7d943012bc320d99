"""What an existing Launchplane client submitted, kept whole beside the records it became."""

from __future__ import annotations

from typing import Any

from django.db import models

from inventory.models.base import ImmutableEvidence


class DeploymentEvidence(ImmutableEvidence):
    """One ``POST /v1/evidence/deployments`` payload, stored exactly as it was submitted.

    The payload carries fields we do not model (targets, the delegated executor, the runtime source,
    the expected identity, the bootstrap's own readiness word …); they are kept here, read-only in the
    admin, next to the ``DeploymentRecord`` and/or ``BootstrapOperation`` the payload was split into
    (rule 1: a bootstrap reported inside a deployment record never becomes a deployment). Evidence:
    written once by ``compat.services.record_evidence``, never changed or deleted.
    """

    upstream_record_id = models.CharField(
        max_length=128,
        blank=True,
        default="",
        help_text="deployment.record_id as the client sent it (one payload per id); empty when it sent none.",
    )
    product = models.CharField(max_length=200)
    environment = models.ForeignKey("inventory.Environment", on_delete=models.PROTECT, related_name="compat_evidence")
    deployment = models.OneToOneField(
        "inventory.DeploymentRecord",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="compat_evidence",
        help_text="The artifact deployment recorded from this payload (none when deploy.status was skipped or pending).",
    )
    bootstrap = models.OneToOneField(
        "bootstraps.BootstrapOperation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="compat_evidence",
        help_text="The one-shot bootstrap recorded from this payload's attempted bootstrap evidence.",
    )
    payload = models.JSONField(help_text="The whole request body, as submitted.")
    submitted_by = models.CharField(max_length=150)
    trace_id = models.CharField(max_length=64)
    received_at = models.DateTimeField(help_text="When Launchplane received the payload (server time).")

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "deployment evidence (existing clients)"
        verbose_name_plural = "deployment evidence (existing clients)"
        indexes = [models.Index(fields=["environment", "-received_at"], name="compat_evidence_env_idx")]
        constraints = [
            # One payload per record_id the client chose (a reuse is 409 conflict); none chosen: no limit.
            models.UniqueConstraint(
                fields=["upstream_record_id"],
                condition=~models.Q(upstream_record_id=""),
                name="compat_evidence_unique_record_id",
            )
        ]

    def __str__(self) -> str:
        return self.upstream_record_id or f"evidence {self.pk}"

    @property
    def record(self) -> dict[str, Any]:
        """The submitted ``DeploymentRecord`` (the payload's ``deployment`` object)."""
        deployment = self.payload.get("deployment") if isinstance(self.payload, dict) else None
        return deployment if isinstance(deployment, dict) else {}
