"""The current pointer for each environment."""

import functools
import operator
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from inventory.choices import (
    FRESHNESS_COLORS,
    RUNTIME_IDENTITY_STATUS_COLORS,
    STATE_COLORS,
    DataState,
    DeploymentState,
    Freshness,
    InventoryState,
    RuntimeIdentityStatus,
    choices_constraint_q,
)
from inventory.models.base import StatusColors
from inventory.models.queries import SEVERITY, EnvironmentInventoryQuerySet
from inventory.rules import expected_identity, freshness
from launchplane.compiled import CompiledSaves


class EnvironmentInventory(StatusColors, CompiledSaves):
    """Where an environment stands: the artifact side and the data side kept apart, their
    combination as ``state``, the pointers to the latest attempts and to last known good.

    Written only by the services in ``inventory.services`` and ``bootstraps.services``, under a row
    lock, together with an ``InventoryTransition``.
    """

    STATUS_COLORS_BY_FIELD = {
        "state": STATE_COLORS,
        "deployment_state": STATE_COLORS,
        "data_state": STATE_COLORS,
        "runtime_identity_status": RUNTIME_IDENTITY_STATUS_COLORS,
    }

    environment = models.OneToOneField(
        "inventory.Environment", on_delete=models.CASCADE, primary_key=True, related_name="inventory"
    )
    deployment_state = models.CharField(
        max_length=32, choices=DeploymentState.choices, default=DeploymentState.UNRECORDED, editable=False
    )
    data_state = models.CharField(max_length=32, choices=DataState.choices, default=DataState.UNTOUCHED, editable=False)
    state = models.CharField(
        max_length=32, choices=InventoryState.choices, default=InventoryState.UNRECORDED, editable=False
    )
    # The state's rank in PRODUCT.md's order (0: bootstrap_in_progress … 7: current), stored beside it by
    # apply_transition so that "worst first" is an index scan, not a sort of every row (a constraint
    # keeps the two together).
    severity = models.PositiveSmallIntegerField(default=SEVERITY[InventoryState.UNRECORDED], editable=False)
    state_reason = models.TextField(default="No artifact deployment is recorded.", editable=False)
    # Why each side is what it is; state_reason is composed from these.
    deployment_detail = models.CharField(max_length=500, blank=True, default="", editable=False)
    data_detail = models.CharField(max_length=500, blank=True, default="", editable=False)

    # The pointers below carry no index of their own (db_index=False): nothing looks an inventory up by
    # the record it points at (records are never deleted: PROTECT), and seven indexes that every write
    # moved kept PostgreSQL from updating the row in place (docs/performance.md, "Indexes a write pays").
    current_deployment = models.ForeignKey(
        "inventory.DeploymentRecord",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
    )
    last_deployment_attempt = models.ForeignKey(
        "inventory.DeploymentRecord",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
    )
    # The bootstrap whose data is in place: the last one that ended ready.
    current_bootstrap = models.ForeignKey(
        "bootstraps.BootstrapOperation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
    )
    last_bootstrap = models.ForeignKey(
        "bootstraps.BootstrapOperation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
    )
    lkg_deployment = models.ForeignKey(
        "inventory.DeploymentRecord",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
        verbose_name="last known good deployment",
    )
    lkg_bootstrap = models.ForeignKey(
        "bootstraps.BootstrapOperation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
        verbose_name="last known good bootstrap",
    )
    lkg_verified_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name="last known good verified at"
    )

    last_verification = models.ForeignKey(
        "inventory.VerificationRun",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
        help_text="The latest verification run that finished (applied or superseded).",
    )

    observed_runtime_identity = models.JSONField(null=True, blank=True, editable=False)
    runtime_identity_status = models.CharField(
        max_length=16, choices=RuntimeIdentityStatus.choices, default=RuntimeIdentityStatus.UNCHECKED, editable=False
    )
    runtime_identity_mismatches = models.JSONField(default=list, blank=True, editable=False)
    observed_at = models.DateTimeField(null=True, blank=True, editable=False)

    last_sequence = models.PositiveBigIntegerField(default=0, editable=False)
    state_changed_at = models.DateTimeField(editable=False)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True, editable=False)
    acknowledgement_note = models.TextField(blank=True, default="", editable=False)
    # A snooze: the environment leaves the default review queue until then. Part of the acknowledgement,
    # so the next change of state clears it with the rest (apply_transition).
    acknowledged_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Who is on it ("taking responsibility"): set and cleared by inventory.services.take / release, and
    # cleared by apply_transition when the environment is current and fresh again.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    assigned_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EnvironmentInventoryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "environment inventories"
        permissions = [
            ("acknowledge_environmentinventory", "Can acknowledge an environment's state"),
            ("verify_environmentinventory", "Can ask Launchplane to verify an environment"),
            ("reconcile_environmentinventory", "Can reconcile a bootstrap automation never settled"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=choices_constraint_q("state", InventoryState), name="inventory_state_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("deployment_state", DeploymentState),
                name="inventory_deployment_state_valid",
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("data_state", DataState), name="inventory_data_state_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("runtime_identity_status", RuntimeIdentityStatus),
                name="inventory_identity_status_valid",
            ),
            models.CheckConstraint(
                condition=functools.reduce(
                    operator.or_, (Q(state=state, severity=rank) for state, rank in SEVERITY.items())
                ),
                name="inventory_severity_matches_state",
            ),
        ]
        indexes = [
            # The board's state filter and per-state counts.
            models.Index(fields=["state", "state_changed_at"], name="inventory_state_since_idx"),
            # The board, the admin and the queue's order: worst first, the longest in that state first.
            models.Index(fields=["severity", "state_changed_at", "environment"], name="inventory_worst_first_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.environment} — {self.get_state_display()}"

    def freshness_at(self, now: datetime) -> Freshness:
        """Freshness at ``now``; uses the database annotation when the queryset made one."""
        annotated = getattr(self, "freshness_value", None)
        if annotated is not None:
            return Freshness(annotated)
        return freshness(
            now,
            has_records=self.has_records,
            verified_at=self.lkg_verified_at,
            ttl_seconds=self.environment.verification_ttl_seconds,
        )

    @property
    def has_records(self) -> bool:
        """Whether anything is recorded about the runtime: a deployment, a bootstrap, an observation or a run
        (``with_freshness`` asks the same in SQL). ``missing`` freshness means none of them."""
        return (
            self.last_deployment_attempt_id is not None
            or self.last_bootstrap_id is not None
            or (self.observed_at is not None)
            or self.last_verification_id is not None
        )

    @property
    def last_known_good(self) -> dict[str, object]:
        return {
            "deployment_record_id": self.lkg_deployment.record_id if self.lkg_deployment else None,
            "bootstrap_operation_id": self.lkg_bootstrap.operation_id if self.lkg_bootstrap else None,
            "verified_at": self.lkg_verified_at,
        }

    @property
    def expected_runtime_identity(self) -> dict[str, str] | None:
        """The current deployment's identity (built from this environment: no extra query per row)."""
        deployment = self.current_deployment if self.current_deployment_id else None
        if deployment is None:
            return None
        return expected_identity(
            context=self.environment.context,
            instance=self.environment.instance,
            deployment_record_id=deployment.record_id,
            artifact_id=deployment.artifact_id,
            source_git_ref=deployment.source_git_ref,
        )

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    def is_snoozed(self, now: datetime) -> bool:
        """Whether an acknowledgement keeps the environment out of the default review queue at ``now``."""
        return self.acknowledged_until is not None and self.acknowledged_until > now

    @property
    def holder(self) -> str | None:
        """The username of whoever has taken the environment, or None (a query unless the user was
        select_related, as every read model and row selects it)."""
        if self.assignee_id is None:
            return None
        return self.assignee.get_username() if self.assignee is not None else "a deleted user"

    def is_settled(self, now: datetime) -> bool:
        """Whether nobody needs to hold the environment at ``now``: ``current`` and verified within its
        TTL. Taking it is refused then, and a record that leaves it so releases whoever holds it."""
        return self.state == InventoryState.CURRENT and self.freshness_at(now) == Freshness.VERIFIED

    @staticmethod
    def get_freshness_color(value: str) -> str:
        return FRESHNESS_COLORS[value]
