"""Artifact deployment provenance."""

import uuid

from django.db import models

from inventory.choices import (
    CHECK_STATUS_COLORS,
    INVENTORY_EFFECT_COLORS,
    RUNTIME_IDENTITY_STATUS_COLORS,
    CheckStatus,
    InventoryEffect,
    RuntimeIdentityStatus,
    choices_constraint_q,
)
from inventory.models.base import ImmutableEvidence, StatusColors, record_id_validator
from inventory.rules import expected_identity


def new_record_id() -> str:
    return f"dep-{uuid.uuid4().hex[:20]}"


class DeployStatus(models.TextChoices):
    PASS = "pass", "pass"
    FAIL = "fail", "fail"


DEPLOY_STATUS_COLORS: dict[str, str] = {DeployStatus.PASS: "green", DeployStatus.FAIL: "red"}


class DeploymentRecord(StatusColors, ImmutableEvidence):
    """An artifact (artifact id, image digest, source git ref) was deployed to an environment.

    Only an artifact deployment creates one; a data bootstrap never does. Stored whole whatever its
    outcome, and never changed afterwards.
    """

    STATUS_COLORS_BY_FIELD = {
        "deploy_status": DEPLOY_STATUS_COLORS,
        "post_deploy_status": CHECK_STATUS_COLORS,
        "health_status": CHECK_STATUS_COLORS,
        "runtime_identity_status": RUNTIME_IDENTITY_STATUS_COLORS,
        "inventory_effect": INVENTORY_EFFECT_COLORS,
    }

    DeployStatus = DeployStatus

    record_id = models.CharField(max_length=128, unique=True, default=new_record_id, validators=[record_id_validator])
    environment = models.ForeignKey(
        "inventory.Environment", on_delete=models.PROTECT, related_name="deployments", db_index=False
    )
    sequence = models.PositiveBigIntegerField(help_text="Server order within the environment (rule 4).")
    artifact_id = models.CharField(max_length=512)
    source_git_ref = models.CharField(max_length=255)
    image_digest = models.CharField(max_length=255, blank=True, default="")
    deploy_status = models.CharField(max_length=8, choices=DeployStatus.choices)
    post_deploy_status = models.CharField(max_length=16, choices=CheckStatus.choices, default=CheckStatus.NOT_RUN)
    health_status = models.CharField(max_length=16, choices=CheckStatus.choices, default=CheckStatus.NOT_RUN)
    # What the runtime was compared with: this record's own identity when it passed, the current
    # deployment's when it failed (rule 5). Null when there was nothing to compare with.
    expected_runtime_identity = models.JSONField(null=True, blank=True)
    observed_runtime_identity = models.JSONField(null=True, blank=True)
    runtime_identity_status = models.CharField(
        max_length=16, choices=RuntimeIdentityStatus.choices, default=RuntimeIdentityStatus.UNCHECKED
    )
    runtime_identity_mismatches = models.JSONField(default=list, blank=True)
    inventory_effect = models.CharField(max_length=16, choices=InventoryEffect.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=choices_constraint_q("deploy_status", DeployStatus), name="deployment_deploy_status_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("post_deploy_status", CheckStatus), name="deployment_post_deploy_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("health_status", CheckStatus), name="deployment_health_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("runtime_identity_status", RuntimeIdentityStatus),
                name="deployment_identity_status_valid",
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("inventory_effect", InventoryEffect), name="deployment_effect_valid"
            ),
            models.UniqueConstraint(fields=["environment", "sequence"], name="deployment_unique_env_sequence"),
        ]
        indexes = [
            # The environment's deployments, newest first (detail page timeline, API list by environment).
            models.Index(fields=["environment", "-created_at"], name="deployment_env_newest_idx"),
        ]

    def __str__(self) -> str:
        return self.record_id

    @property
    def own_identity(self) -> dict[str, str]:
        """The identity a runtime running this deployment should report."""
        return expected_identity(
            context=self.environment.context,
            instance=self.environment.instance,
            deployment_record_id=self.record_id,
            artifact_id=self.artifact_id,
            source_git_ref=self.source_git_ref,
        )
