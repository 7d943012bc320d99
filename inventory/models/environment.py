"""An Odoo environment: a context (product namespace) and an instance (lane)."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from inventory.models.base import slug_validator
from inventory.rules import CHECKS


def default_required_checks() -> list[str]:
    return list(CHECKS)


def validate_required_checks(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one of health, canonical, logo.", code="invalid_required_checks")
    unknown = [item for item in value if item not in CHECKS]
    if unknown or len(set(value)) != len(value):
        raise ValidationError(
            "Required checks must be distinct values from health, canonical, logo.", code="invalid_required_checks"
        )


class Environment(models.Model):
    """An environment, unique by (context, instance). The only way one comes to exist is creating it;
    records naming an unknown environment are refused."""

    context = models.CharField(max_length=63, validators=[slug_validator])
    instance = models.CharField(max_length=63, validators=[slug_validator])
    base_url = models.URLField(blank=True, default="")
    required_checks = models.JSONField(default=default_required_checks, validators=[validate_required_checks])
    requires_runtime_identity = models.BooleanField(default=True)
    verification_ttl_seconds = models.PositiveIntegerField(
        default=86400, validators=[MinValueValidator(1), MaxValueValidator(365 * 86400)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["context", "instance"]
        constraints = [
            models.UniqueConstraint(fields=["context", "instance"], name="environment_unique_context_instance"),
            models.CheckConstraint(
                condition=models.Q(verification_ttl_seconds__gte=1), name="environment_ttl_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.context}/{self.instance}"

    def requires(self, check: str) -> bool:
        return check in self.required_checks
