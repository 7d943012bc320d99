"""Append-only history of inventory."""

from django.db import models
from django.utils import timezone

from inventory.choices import (
    INVENTORY_EFFECT_COLORS,
    STATE_COLORS,
    DataState,
    DeploymentState,
    InventoryEffect,
    InventoryState,
    choices_constraint_q,
)
from inventory.models.base import ImmutableEvidence, StatusColors


class CauseType(models.TextChoices):
    """What caused an inventory transition."""

    DEPLOYMENT = "deployment", "deployment"
    BOOTSTRAP = "bootstrap", "bootstrap"
    OBSERVATION = "observation", "observation"
    DEADLINE = "deadline", "deadline"
    CANCEL = "cancel", "cancel"
    REVIEW = "review", "review"
    VERIFICATION = "verification", "verification"
    RECONCILIATION = "reconciliation", "reconciliation"


class InventoryTransition(StatusColors, ImmutableEvidence):
    """One applied record's effect on an environment's inventory (rule 11).

    Exactly one row per applied record, written in the same transaction as the inventory change, even
    when the state stays the same. ``sequence`` is the server's order within the environment.
    """

    STATUS_COLORS_BY_FIELD = {
        "from_state": STATE_COLORS,
        "to_state": STATE_COLORS,
        "from_deployment_state": STATE_COLORS,
        "from_data_state": STATE_COLORS,
        "deployment_state": STATE_COLORS,
        "data_state": STATE_COLORS,
        "effect": INVENTORY_EFFECT_COLORS,
    }

    CauseType = CauseType

    environment = models.ForeignKey(
        "inventory.Environment", on_delete=models.PROTECT, related_name="transitions", db_index=False
    )
    sequence = models.PositiveBigIntegerField()
    from_state = models.CharField(max_length=32, choices=InventoryState.choices)
    to_state = models.CharField(max_length=32, choices=InventoryState.choices)
    from_deployment_state = models.CharField(max_length=32, choices=DeploymentState.choices)
    from_data_state = models.CharField(max_length=32, choices=DataState.choices)
    deployment_state = models.CharField(max_length=32, choices=DeploymentState.choices)
    data_state = models.CharField(max_length=32, choices=DataState.choices)
    effect = models.CharField(max_length=16, choices=InventoryEffect.choices)
    cause_type = models.CharField(max_length=16, choices=CauseType.choices)
    cause_id = models.CharField(max_length=128)
    reason = models.TextField()
    actor = models.CharField(max_length=150)
    occurred_at = models.DateTimeField(help_text="When the cause happened (a deadline, a finish), not when we noticed.")
    # Server time, set by the service that appends the row (the same moment as state_changed_at).
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "sequence"], name="transition_unique_env_sequence"),
            models.CheckConstraint(
                condition=choices_constraint_q("from_state", InventoryState), name="transition_from_state_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("to_state", InventoryState), name="transition_to_state_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("from_deployment_state", DeploymentState),
                name="transition_from_deployment_state_valid",
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("from_data_state", DataState), name="transition_from_data_state_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("deployment_state", DeploymentState),
                name="transition_deployment_state_valid",
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("data_state", DataState), name="transition_data_state_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("effect", InventoryEffect), name="transition_effect_valid"
            ),
            models.CheckConstraint(
                condition=choices_constraint_q("cause_type", CauseType), name="transition_cause_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.environment_id}#{self.sequence} {self.from_state} -> {self.to_state} ({self.effect})"
