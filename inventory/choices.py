"""Status vocabularies shared by several models.

Spellings are a client-facing contract (see PRODUCT.md): never rename a value. Each choices class has
a colour map beside it; ``templates/includes/status_badge.html`` renders value, label and colour.
"""

from django.db import models


class CheckStatus(models.TextChoices):
    """Outcome of one check (post-deploy update, health, canonical URL, logo)."""

    PASS = "pass", "pass"
    FAIL = "fail", "fail"
    SKIPPED = "skipped", "skipped"  # deliberately not performed
    NOT_RUN = "not_run", "not run"  # expected, never reached
    UNKNOWN = "unknown", "unknown"  # attempted, outcome not known


CHECK_STATUS_COLORS: dict[str, str] = {
    CheckStatus.PASS: "green",
    CheckStatus.FAIL: "red",
    CheckStatus.SKIPPED: "grey",
    CheckStatus.NOT_RUN: "amber",
    CheckStatus.UNKNOWN: "purple",
}


class RuntimeIdentityStatus(models.TextChoices):
    """How an observed runtime identity compares with the identity we expect (rule 5)."""

    UNCHECKED = "unchecked", "unchecked"
    MATCH = "match", "match"
    MISMATCH = "mismatch", "mismatch"
    MISSING = "missing", "missing"
    MALFORMED = "malformed", "malformed"
    UNVERIFIABLE = "unverifiable", "unverifiable"


RUNTIME_IDENTITY_STATUS_COLORS: dict[str, str] = {
    RuntimeIdentityStatus.UNCHECKED: "grey",
    RuntimeIdentityStatus.MATCH: "green",
    RuntimeIdentityStatus.MISMATCH: "red",
    RuntimeIdentityStatus.MISSING: "amber",
    RuntimeIdentityStatus.MALFORMED: "red",
    RuntimeIdentityStatus.UNVERIFIABLE: "amber",
}


class InventoryEffect(models.TextChoices):
    """What a record did to inventory."""

    ADVANCED = "advanced", "advanced"
    RETAINED = "retained", "retained"
    MARKED = "marked", "marked"
    SUPERSEDED = "superseded", "superseded"
    PENDING = "pending", "pending"


INVENTORY_EFFECT_COLORS: dict[str, str] = {
    InventoryEffect.ADVANCED: "green",
    InventoryEffect.RETAINED: "grey",
    InventoryEffect.MARKED: "amber",
    InventoryEffect.SUPERSEDED: "grey",
    InventoryEffect.PENDING: "blue",
}


class DeploymentState(models.TextChoices):
    """The artifact side of an environment's inventory."""

    UNRECORDED = "unrecorded", "unrecorded"
    CURRENT = "current", "current"
    UNVERIFIED = "unverified", "unverified"
    VERIFICATION_FAILED = "verification_failed", "verification failed"
    STALE_INVENTORY = "stale_inventory", "stale inventory"


class DataState(models.TextChoices):
    """The data side of an environment's inventory."""

    UNTOUCHED = "untouched", "untouched"
    CURRENT = "current", "current"
    BOOTSTRAP_IN_PROGRESS = "bootstrap_in_progress", "bootstrap in progress"
    PARTIALLY_BOOTSTRAPPED = "partially_bootstrapped", "partially bootstrapped"
    VERIFICATION_FAILED = "verification_failed", "verification failed"
    UNVERIFIED = "unverified", "unverified"
    UNKNOWN = "unknown", "unknown"


class InventoryState(models.TextChoices):
    """What the board shows: the more severe side. Declared most severe first (the order matters)."""

    BOOTSTRAP_IN_PROGRESS = "bootstrap_in_progress", "bootstrap in progress"
    UNKNOWN = "unknown", "unknown"
    PARTIALLY_BOOTSTRAPPED = "partially_bootstrapped", "partially bootstrapped"
    STALE_INVENTORY = "stale_inventory", "stale inventory"
    VERIFICATION_FAILED = "verification_failed", "verification failed"
    UNVERIFIED = "unverified", "unverified"
    UNRECORDED = "unrecorded", "unrecorded"
    CURRENT = "current", "current"


STATE_COLORS: dict[str, str] = {
    "untouched": "grey",
    "current": "green",
    "bootstrap_in_progress": "blue",
    "unknown": "purple",
    "partially_bootstrapped": "orange",
    "stale_inventory": "red",
    "verification_failed": "red",
    "unverified": "amber",
    "unrecorded": "grey",
}


class Freshness(models.TextChoices):
    """How recent the last verification is. Derived at read time, never stored."""

    MISSING = "missing", "missing"
    RECORDED = "recorded", "recorded"
    VERIFIED = "verified", "verified"
    STALE = "stale", "stale"


FRESHNESS_COLORS: dict[str, str] = {
    Freshness.MISSING: "grey",
    Freshness.RECORDED: "amber",
    Freshness.VERIFIED: "green",
    Freshness.STALE: "red",
}


class VerificationStatus(models.TextChoices):
    """The lifecycle of a verification run (Launchplane's own probes)."""

    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    FINISHED = "finished", "finished"
    ABANDONED = "abandoned", "abandoned"  # its worker died: the budget passed with no outcome


# At most one queued-or-running run per environment (a partial unique constraint).
VERIFICATION_ACTIVE = frozenset({VerificationStatus.QUEUED, VerificationStatus.RUNNING})

VERIFICATION_STATUS_COLORS: dict[str, str] = {
    VerificationStatus.QUEUED: "blue",
    VerificationStatus.RUNNING: "blue",
    VerificationStatus.FINISHED: "grey",
    VerificationStatus.ABANDONED: "purple",
}


class VerificationTrigger(models.TextChoices):
    """Who or what asked for a verification run."""

    OPERATOR = "operator", "operator"
    API = "api", "API"
    SCHEDULE = "schedule", "schedule"
    AFTER_RECORD = "after_record", "after a record"
    COMMAND = "command", "command"


def choices_constraint_q(field: str, choices: type[models.TextChoices]) -> models.Q:
    """The ``Q`` for a CheckConstraint that keeps ``field`` inside ``choices``."""
    return models.Q(**{f"{field}__in": choices.values})
