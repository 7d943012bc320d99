"""Launchplane's own verification runs: it probes the runtime at ``base_url`` and records what it saw."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from django.db import models
from django.db.models import Q

from inventory.choices import (
    CHECK_STATUS_COLORS,
    INVENTORY_EFFECT_COLORS,
    RUNTIME_IDENTITY_STATUS_COLORS,
    VERIFICATION_ACTIVE,
    VERIFICATION_STATUS_COLORS,
    CheckStatus,
    InventoryEffect,
    RuntimeIdentityStatus,
    VerificationStatus,
    VerificationTrigger,
    choices_constraint_q,
)
from inventory.models.base import StatusColors


def new_run_id() -> str:
    return f"ver-{uuid.uuid4().hex[:20]}"


class VerificationRunQuerySet(models.QuerySet):
    def active(self) -> VerificationRunQuerySet:
        return self.filter(status__in=VerificationRun.ACTIVE)

    def past_deadline(self, now: datetime) -> VerificationRunQuerySet:
        """Runs whose worker has not finished them within their budget (it died, or was never started)."""
        return self.active().filter(deadline__lte=now)


class VerificationRun(StatusColors, models.Model):
    """One verification run: queued, run by a worker (or a command), judged by rule 15 and applied.

    Its lifecycle moves forward only (queued → running → finished, or abandoned when its worker died);
    once finished or abandoned it never changes. The probes' evidence is kept whole, superseded or not.
    """

    STATUS_COLORS_BY_FIELD = {
        "status": VERIFICATION_STATUS_COLORS,
        "health_status": CHECK_STATUS_COLORS,
        "canonical_status": CHECK_STATUS_COLORS,
        "logo_status": CHECK_STATUS_COLORS,
        "runtime_identity_status": RUNTIME_IDENTITY_STATUS_COLORS,
        "inventory_effect": INVENTORY_EFFECT_COLORS,
    }

    Status = VerificationStatus
    Trigger = VerificationTrigger
    ACTIVE: ClassVar[frozenset[str]] = VERIFICATION_ACTIVE

    run_id = models.CharField(max_length=64, unique=True, default=new_run_id, editable=False)
    environment = models.ForeignKey(
        "inventory.Environment", on_delete=models.PROTECT, related_name="verifications", db_index=False
    )
    trigger = models.CharField(max_length=16, choices=VerificationTrigger.choices, editable=False)
    requested_by = models.CharField(max_length=150, editable=False)
    status = models.CharField(
        max_length=16, choices=VerificationStatus.choices, default=VerificationStatus.QUEUED, editable=False
    )
    queued_at = models.DateTimeField(editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The budget, and when a run still not finished counts as abandoned (queued: the worker never came;
    # running: it died). Set at queueing, moved when the run starts.
    timeout_seconds = models.PositiveIntegerField(editable=False)
    deadline = models.DateTimeField(editable=False)

    base_url = models.CharField(max_length=200, blank=True, default="", editable=False)
    health_status = models.CharField(
        max_length=16, choices=CheckStatus.choices, default=CheckStatus.NOT_RUN, editable=False
    )
    canonical_status = models.CharField(
        max_length=16, choices=CheckStatus.choices, default=CheckStatus.NOT_RUN, editable=False
    )
    logo_status = models.CharField(
        max_length=16, choices=CheckStatus.choices, default=CheckStatus.NOT_RUN, editable=False
    )
    expected_runtime_identity = models.JSONField(null=True, blank=True, editable=False)
    observed_runtime_identity = models.JSONField(null=True, blank=True, editable=False)
    runtime_identity_status = models.CharField(
        max_length=16, choices=RuntimeIdentityStatus.choices, default=RuntimeIdentityStatus.UNCHECKED, editable=False
    )
    runtime_identity_mismatches = models.JSONField(default=list, blank=True, editable=False)
    probes = models.JSONField(default=list, blank=True, editable=False)
    inventory_effect = models.CharField(
        max_length=16, choices=InventoryEffect.choices, default=InventoryEffect.PENDING, editable=False
    )
    detail = models.CharField(max_length=500, blank=True, default="", editable=False)

    # What the inventory pointed at when the probes began: rule 15's first row compares them when the
    # run is applied (a deployment or a bootstrap since then makes this run's evidence old news).
    deployment_at_start = models.ForeignKey(
        "inventory.DeploymentRecord",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
    )
    bootstrap_at_start = models.ForeignKey(
        "bootstraps.BootstrapOperation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
    )
    sequence = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VerificationRunQuerySet.as_manager()

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            # At most one queued-or-running run per environment, enforced by the database.
            models.UniqueConstraint(
                fields=["environment"],
                condition=Q(status__in=sorted(VERIFICATION_ACTIVE)),
                name="verification_one_active_per_environment",
            ),
            models.UniqueConstraint(fields=["environment", "sequence"], name="verification_unique_env_sequence"),
            models.CheckConstraint(
                condition=choices_constraint_q("status", VerificationStatus), name="verification_status_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("trigger", VerificationTrigger), name="verification_trigger_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("health_status", CheckStatus), name="verification_health_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("canonical_status", CheckStatus), name="verification_canonical_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("logo_status", CheckStatus), name="verification_logo_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("runtime_identity_status", RuntimeIdentityStatus),
                name="verification_identity_status_valid",
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("inventory_effect", InventoryEffect), name="verification_effect_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["environment", "-queued_at"], name="verify_env_newest_idx"),
            # The sweeper's abandonment scan: active runs past their deadline.
            models.Index(
                fields=["deadline"],
                condition=Q(status__in=sorted(VERIFICATION_ACTIVE)),
                name="verify_active_deadline_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.run_id

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def check_statuses(self) -> dict[str, str]:
        return {"health": self.health_status, "canonical": self.canonical_status, "logo": self.logo_status}
