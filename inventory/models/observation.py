"""Evidence of what a runtime reported about itself, outside any deployment or bootstrap."""

from django.db import models

from inventory.choices import (
    INVENTORY_EFFECT_COLORS,
    RUNTIME_IDENTITY_STATUS_COLORS,
    InventoryEffect,
    RuntimeIdentityStatus,
    choices_constraint_q,
)
from inventory.models.base import ImmutableEvidence, StatusColors


class RuntimeObservation(StatusColors, ImmutableEvidence):
    """A prober read the runtime's identity at ``observed_at`` (rule 8). Kept whole, even when superseded."""

    STATUS_COLORS_BY_FIELD = {
        "runtime_identity_status": RUNTIME_IDENTITY_STATUS_COLORS,
        "inventory_effect": INVENTORY_EFFECT_COLORS,
    }

    environment = models.ForeignKey(
        "inventory.Environment", on_delete=models.PROTECT, related_name="observations", db_index=False
    )
    sequence = models.PositiveBigIntegerField()
    source = models.CharField(max_length=200)
    observed_at = models.DateTimeField()
    expected_runtime_identity = models.JSONField(null=True, blank=True)
    observed_runtime_identity = models.JSONField(null=True, blank=True)
    runtime_identity_status = models.CharField(max_length=16, choices=RuntimeIdentityStatus.choices)
    runtime_identity_mismatches = models.JSONField(default=list, blank=True)
    inventory_effect = models.CharField(max_length=16, choices=InventoryEffect.choices)
    recorded_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=choices_constraint_q("runtime_identity_status", RuntimeIdentityStatus),
                name="observation_identity_status_valid",
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("inventory_effect", InventoryEffect), name="observation_effect_valid"
            ),
            models.UniqueConstraint(fields=["environment", "sequence"], name="observation_unique_env_sequence"),
        ]
        indexes = [models.Index(fields=["environment", "-created_at"], name="observation_env_newest_idx")]

    def __str__(self) -> str:
        return f"observation {self.pk} of {self.environment_id} by {self.source}"
