"""Data bootstrap provenance."""

import uuid
from datetime import datetime
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from bootstraps.choices import (
    ACTIVE_RUN_STATUSES,
    ACTIVE_STATUSES,
    PROVIDER_STATE_COLORS,
    READINESS_COLORS,
    RUN_STATUS_COLORS,
    STATUS_COLORS,
    TERMINAL_STATUSES,
    DataSource,
    Phase,
    ProviderState,
    Readiness,
    RunStatus,
    Status,
)
from inventory.choices import (
    CHECK_STATUS_COLORS,
    INVENTORY_EFFECT_COLORS,
    RUNTIME_IDENTITY_STATUS_COLORS,
    STATE_COLORS,
    CheckStatus,
    DataState,
    InventoryEffect,
    RuntimeIdentityStatus,
    choices_constraint_q,
)
from inventory.models.base import ImmutableEvidence, StatusColors
from launchplane.compiled import CompiledSaves


def new_operation_id() -> str:
    return f"op-{uuid.uuid4().hex[:20]}"


class BootstrapOperationQuerySet(models.QuerySet):
    def active(self) -> "BootstrapOperationQuerySet":
        return self.filter(status__in=BootstrapOperation.ACTIVE)

    def overdue(self, now: datetime) -> "BootstrapOperationQuerySet":
        return self.active().filter(deadline__lte=now)


class BootstrapOperation(StatusColors, CompiledSaves):
    """A database/filestore bootstrap (rebuild from empty, or restore from upstream) against an
    environment. It mutates data and deploys no artifact, so it never touches a DeploymentRecord.

    Its outcome is kept as separate statuses — the run, whether data changed, each check, the runtime
    identity — and ``readiness_status`` says what they mean together. Once finished it never changes.
    """

    STATUS_COLORS_BY_FIELD = {
        "status": STATUS_COLORS,
        "bootstrap_run_status": RUN_STATUS_COLORS,
        "readiness_status": READINESS_COLORS,
        "inventory_effect": INVENTORY_EFFECT_COLORS,
        "runtime_identity_status": RUNTIME_IDENTITY_STATUS_COLORS,
        "data_state_before": STATE_COLORS,
        "post_deploy_status": CHECK_STATUS_COLORS,
        "health_status": CHECK_STATUS_COLORS,
        "canonical_status": CHECK_STATUS_COLORS,
        "logo_status": CHECK_STATUS_COLORS,
    }

    DataSource = DataSource
    Status = Status
    Phase = Phase
    RunStatus = RunStatus
    Readiness = Readiness
    ACTIVE: ClassVar[frozenset[str]] = ACTIVE_STATUSES
    TERMINAL: ClassVar[frozenset[str]] = TERMINAL_STATUSES
    STATUS_COLORS = STATUS_COLORS
    RUN_STATUS_COLORS = RUN_STATUS_COLORS
    READINESS_COLORS = READINESS_COLORS

    operation_id = models.CharField(max_length=128, unique=True, default=new_operation_id, editable=False)
    environment = models.ForeignKey(
        "inventory.Environment", on_delete=models.PROTECT, related_name="bootstraps", db_index=False
    )
    sequence = models.PositiveBigIntegerField(
        editable=False, help_text="Server order within the environment; its start."
    )
    data_source = models.CharField(max_length=32, choices=DataSource.choices)
    reason = models.TextField(blank=True, default="")
    requested_by = models.CharField(max_length=150)
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING, editable=False)
    phase = models.CharField(max_length=16, choices=Phase.choices, blank=True, default="", editable=False)
    bootstrap_run_status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING, editable=False
    )
    data_mutated = models.BooleanField(null=True, blank=True, editable=False)
    post_deploy_status = models.CharField(
        max_length=16, choices=CheckStatus.choices, default=CheckStatus.NOT_RUN, editable=False
    )
    health_status = models.CharField(
        max_length=16, choices=CheckStatus.choices, default=CheckStatus.NOT_RUN, editable=False
    )
    canonical_status = models.CharField(
        max_length=16, choices=CheckStatus.choices, default=CheckStatus.NOT_RUN, editable=False
    )
    logo_status = models.CharField(
        max_length=16, choices=CheckStatus.choices, default=CheckStatus.NOT_RUN, editable=False
    )
    runtime_identity_status = models.CharField(
        max_length=16, choices=RuntimeIdentityStatus.choices, default=RuntimeIdentityStatus.UNCHECKED, editable=False
    )
    expected_runtime_identity = models.JSONField(null=True, blank=True, editable=False)
    observed_runtime_identity = models.JSONField(null=True, blank=True, editable=False)
    runtime_identity_mismatches = models.JSONField(default=list, blank=True, editable=False)
    readiness_status = models.CharField(
        max_length=32, choices=Readiness.choices, default=Readiness.PENDING, editable=False
    )
    inventory_effect = models.CharField(
        max_length=16, choices=InventoryEffect.choices, default=InventoryEffect.PENDING, editable=False
    )
    verification_evidence = models.JSONField(default=list, blank=True, editable=False)
    error_message = models.TextField(blank=True, default="", editable=False)
    cancel_reason = models.TextField(blank=True, default="", editable=False)

    # The data side before the start, restored when the operation ends without touching data.
    data_state_before = models.CharField(max_length=32, choices=DataState.choices, editable=False)
    data_detail_before = models.CharField(max_length=500, blank=True, default="", editable=False)

    timeout_seconds = models.PositiveIntegerField(default=3600)
    deadline = models.DateTimeField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    result_received_at = models.DateTimeField(null=True, blank=True, editable=False)
    late = models.BooleanField(default=False, editable=False)

    objects = BootstrapOperationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("cancel_bootstrapoperation", "Can cancel an active bootstrap operation")]
        constraints = [
            # Rule 10: at most one active bootstrap per environment, enforced by the database.
            models.UniqueConstraint(
                fields=["environment"],
                condition=Q(status__in=sorted(ACTIVE_STATUSES)),
                name="bootstrap_one_active_per_environment",
                violation_error_code="bootstrap_active",
            ),
            models.UniqueConstraint(fields=["environment", "sequence"], name="bootstrap_unique_env_sequence"),
            models.CheckConstraint(
                condition=choices_constraint_q("data_source", DataSource), name="bootstrap_data_source_valid"
            ),
            models.CheckConstraint(condition=choices_constraint_q("status", Status), name="bootstrap_status_valid"),
            models.CheckConstraint(
                condition=Q(phase="") | choices_constraint_q("phase", Phase), name="bootstrap_phase_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("bootstrap_run_status", RunStatus), name="bootstrap_run_status_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("post_deploy_status", CheckStatus), name="bootstrap_post_deploy_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("health_status", CheckStatus), name="bootstrap_health_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("canonical_status", CheckStatus), name="bootstrap_canonical_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("logo_status", CheckStatus), name="bootstrap_logo_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("runtime_identity_status", RuntimeIdentityStatus),
                name="bootstrap_identity_status_valid",
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("readiness_status", Readiness), name="bootstrap_readiness_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("inventory_effect", InventoryEffect), name="bootstrap_effect_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("data_state_before", DataState), name="bootstrap_data_state_before_valid"
            ),
            # "running" only while the operation is active.
            models.CheckConstraint(
                condition=Q(status__in=sorted(ACTIVE_STATUSES))
                | ~Q(bootstrap_run_status__in=sorted(ACTIVE_RUN_STATUSES)),
                name="bootstrap_run_status_active_only_while_active",
            ),
        ]
        indexes = [
            # The deadline sweeper and the read-path expiry: active operations past their deadline.
            models.Index(
                fields=["deadline"],
                condition=Q(status__in=sorted(ACTIVE_STATUSES)),
                name="bootstrap_active_deadline_idx",
            ),
            models.Index(fields=["environment", "-created_at"], name="bootstrap_env_newest_idx"),
        ]

    # The status this instance was read (or last saved) with: what save()'s guard checks.
    _stored_status: str | None = None

    def __str__(self) -> str:
        return self.operation_id

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Services move an operation through its lifecycle; once finished or cancelled it is evidence
        and never changes (a timed-out one still takes its late result).

        The status it had when it was read (or last saved) is what the guard checks: services read and
        save operations under the environment's lock, so the row cannot have moved on meanwhile. An
        instance whose status was not read asks the database."""
        if not self._state.adding:
            stored = getattr(self, "_stored_status", None)
            if stored is None:
                stored = type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored in (Status.FINISHED, Status.CANCELLED):
                raise ValidationError(f"Bootstrap operation {self.operation_id} is {stored} and cannot be changed.")
        super().save(*args, **kwargs)
        self._stored_status = self.status

    save.alters_data = True  # type: ignore[attr-defined]

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> "BootstrapOperation":
        instance = super().from_db(db, field_names, values)
        instance._stored_status = instance.__dict__.get("status")  # None when the field was deferred
        return instance

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError("Bootstrap operations are evidence and cannot be deleted.")

    delete.alters_data = True  # type: ignore[attr-defined]

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    def is_overdue(self, now: datetime) -> bool:
        """Active and past its deadline: what ``BootstrapOperationQuerySet.overdue`` selects, for one row
        already loaded (a read model's latest bootstrap)."""
        return self.status in self.ACTIVE and self.deadline <= now

    def check_statuses(self) -> dict[str, str]:
        return {
            "post_deploy": self.post_deploy_status,
            "health": self.health_status,
            "canonical": self.canonical_status,
            "logo": self.logo_status,
        }


# ---------------------------------------------------------------------------------------------------
# Reconciliation (rule 16)
# ---------------------------------------------------------------------------------------------------


def new_reconciliation_id() -> str:
    return f"rec-{uuid.uuid4().hex[:20]}"


def validate_evidence_reference(value: str) -> None:
    """A link or a ticket id, taken exactly as typed or refused (rule 13): never a silent trim."""
    if not value:
        raise ValidationError("Give a link or a ticket id for what you inspected.", code="required")
    if value != value.strip():
        raise ValidationError(
            "Remove the leading or trailing whitespace: the reference is kept exactly as given.", code="whitespace"
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValidationError("The reference contains a control character.", code="control_character")


class Reconciliation(StatusColors, ImmutableEvidence):
    """What a reviewer found by inspecting the provider about a bootstrap automation never settled
    (rule 16): the provider's state, when they looked, and where the evidence is.

    It lives with the bootstraps because it settles one ``BootstrapOperation`` and changes the data
    side, as a bootstrap result does (docs/architecture.md). Evidence: written once by
    ``bootstraps.services.reconcile``, never changed or deleted; the operation itself is left as it was.
    """

    STATUS_COLORS_BY_FIELD = {
        "provider_state": PROVIDER_STATE_COLORS,
        "from_data_state": STATE_COLORS,
        "data_state": STATE_COLORS,
        "inventory_effect": INVENTORY_EFFECT_COLORS,
    }

    ProviderState = ProviderState

    reconciliation_id = models.CharField(max_length=128, unique=True, default=new_reconciliation_id, editable=False)
    environment = models.ForeignKey(
        "inventory.Environment",
        on_delete=models.PROTECT,
        related_name="reconciliations",
        editable=False,
        db_index=False,
    )
    bootstrap = models.ForeignKey(
        BootstrapOperation,
        on_delete=models.PROTECT,
        related_name="reconciliations",
        editable=False,
        help_text="The bootstrap this reconciliation settles: the environment's latest when it was recorded.",
    )
    provider_state = models.CharField(max_length=16, choices=ProviderState.choices, editable=False)
    inspected_at = models.DateTimeField(
        editable=False, help_text="When the reviewer inspected the provider (evidence, never order)."
    )
    evidence_reference = models.CharField(
        max_length=500, validators=[validate_evidence_reference], editable=False, help_text="A link or a ticket id."
    )
    note = models.TextField(blank=True, default="", editable=False)
    reviewer = models.CharField(max_length=150, editable=False)
    recorded_at = models.DateTimeField(editable=False, help_text="Server time: when Launchplane recorded it.")
    from_data_state = models.CharField(max_length=32, choices=DataState.choices, editable=False)
    data_state = models.CharField(max_length=32, choices=DataState.choices, editable=False)
    inventory_effect = models.CharField(max_length=16, choices=InventoryEffect.choices, editable=False)
    verification_run = models.ForeignKey(
        "inventory.VerificationRun",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reconciliations",
        editable=False,
        help_text="The run queued to prove a completed bootstrap's data; empty without a base URL.",
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=choices_constraint_q("provider_state", ProviderState),
                name="reconciliation_provider_state_valid",
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("from_data_state", DataState),
                name="reconciliation_from_data_state_valid",
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("data_state", DataState), name="reconciliation_data_state_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("inventory_effect", InventoryEffect),
                name="reconciliation_effect_valid",
            ),
            models.CheckConstraint(
                condition=~Q(evidence_reference=""), name="reconciliation_evidence_reference_required"
            ),
        ]
        indexes = [models.Index(fields=["environment", "-recorded_at"], name="reconciliation_env_newest_idx")]

    def __str__(self) -> str:
        return self.reconciliation_id
