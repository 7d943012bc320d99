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


def validate_health_path(value: str) -> None:
    if not value.startswith("/") or any(ch.isspace() or ord(ch) < 32 for ch in value) or "#" in value:
        raise ValidationError(
            "The health path is an absolute path such as /web/health (no spaces, no fragment).",
            code="invalid_health_path",
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
    # Launchplane's own probes (PRODUCT.md "Verification"): where and how often.
    health_path = models.CharField(max_length=200, default="/web/health", validators=[validate_health_path])
    verification_interval_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(365 * 86400)],
        help_text="Seconds between scheduled runs; empty means half the TTL, 0 means never scheduled.",
    )
    verification_timeout_seconds = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(300)],
        help_text="The whole run's budget, in seconds (1-300).",
    )
    preview_marker = models.CharField(
        max_length=200, blank=True, default="", help_text="Text whose presence on the homepage fails the run."
    )
    verify_tls = models.BooleanField(default=True)
    verify_after_records = models.BooleanField(
        default=True, help_text="Queue a run when a deployment or bootstrap result leaves a side unverified."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["context", "instance"]
        constraints = [
            models.UniqueConstraint(fields=["context", "instance"], name="environment_unique_context_instance"),
            models.CheckConstraint(
                condition=models.Q(verification_ttl_seconds__gte=1), name="environment_ttl_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(verification_timeout_seconds__gte=1, verification_timeout_seconds__lte=300),
                name="environment_verification_timeout_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.context}/{self.instance}"

    def requires(self, check: str) -> bool:
        return check in self.required_checks

    @property
    def effective_interval_seconds(self) -> int:
        """Seconds between scheduled runs: the setting, or half the TTL when it is empty (0: never)."""
        if self.verification_interval_seconds is None:
            return max(self.verification_ttl_seconds // 2, 1)
        return self.verification_interval_seconds

    @property
    def is_verifiable(self) -> bool:
        """A run needs somewhere to probe."""
        return bool(self.base_url)
