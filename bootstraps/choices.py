"""The bootstrap vocabulary: every status of a ``BootstrapOperation``, with its colour beside it.

Spellings are a client-facing contract (PRODUCT.md): never rename a value. Models, rules, serializers
and filters import these; nothing spells a status as a bare string.
"""

from django.db import models


class DataSource(models.TextChoices):
    """Where a bootstrap takes its data from."""

    EMPTY = "empty", "empty"
    UPSTREAM_RESTORE = "upstream_restore", "upstream restore"


class Status(models.TextChoices):
    """The lifecycle only; what the outcome means is ``readiness_status``."""

    PENDING = "pending", "pending"
    RUNNING = "running", "running"
    FINISHED = "finished", "finished"
    TIMED_OUT = "timed_out", "timed out"
    CANCELLED = "cancelled", "cancelled"


class Phase(models.TextChoices):
    BOOTSTRAP = "bootstrap", "bootstrap"
    POST_DEPLOY = "post_deploy", "post-deploy"
    VERIFICATION = "verification", "verification"


class RunStatus(models.TextChoices):
    PENDING = "pending", "pending"
    RUNNING = "running", "running"
    PASS = "pass", "pass"
    FAIL = "fail", "fail"
    NOT_RUN = "not_run", "not run"
    UNKNOWN = "unknown", "unknown"


class Readiness(models.TextChoices):
    PENDING = "pending", "pending"
    READY = "ready", "ready"
    VERIFICATION_FAILED = "verification_failed", "verification failed"
    UNVERIFIED = "unverified", "unverified"
    PARTIALLY_BOOTSTRAPPED = "partially_bootstrapped", "partially bootstrapped"
    FAILED_BEFORE_MUTATION = "failed_before_mutation", "failed before mutation"
    NOT_RUN = "not_run", "not run"
    UNKNOWN = "unknown", "unknown"


class ProviderState(models.TextChoices):
    """What a reviewer found by inspecting the provider, in a reconciliation (rule 16)."""

    COMPLETED = "completed", "completed"
    NOT_STARTED = "not_started", "not started"
    PARTIAL = "partial", "partial"


# Lifecycle groups: an active operation holds the environment (rule 10); a terminal one never changes.
ACTIVE_STATUSES = frozenset({Status.PENDING, Status.RUNNING})
TERMINAL_STATUSES = frozenset({Status.FINISHED, Status.TIMED_OUT, Status.CANCELLED})
# Run statuses only an active operation may read; a result reports one of the others.
ACTIVE_RUN_STATUSES = frozenset({RunStatus.PENDING, RunStatus.RUNNING})
RESULT_RUN_STATUSES = (RunStatus.PASS, RunStatus.FAIL, RunStatus.NOT_RUN, RunStatus.UNKNOWN)

STATUS_COLORS: dict[str, str] = {
    Status.PENDING: "blue",
    Status.RUNNING: "blue",
    Status.FINISHED: "grey",
    Status.TIMED_OUT: "purple",
    Status.CANCELLED: "grey",
}

RUN_STATUS_COLORS: dict[str, str] = {
    RunStatus.PENDING: "blue",
    RunStatus.RUNNING: "blue",
    RunStatus.PASS: "green",
    RunStatus.FAIL: "red",
    RunStatus.NOT_RUN: "amber",
    RunStatus.UNKNOWN: "purple",
}

READINESS_COLORS: dict[str, str] = {
    Readiness.PENDING: "blue",
    Readiness.READY: "green",
    Readiness.VERIFICATION_FAILED: "red",
    Readiness.UNVERIFIED: "amber",
    Readiness.PARTIALLY_BOOTSTRAPPED: "orange",
    Readiness.FAILED_BEFORE_MUTATION: "red",
    Readiness.NOT_RUN: "amber",
    Readiness.UNKNOWN: "purple",
}

PROVIDER_STATE_COLORS: dict[str, str] = {
    ProviderState.COMPLETED: "amber",  # finished, but not yet proven: the data side reads unverified
    ProviderState.NOT_STARTED: "grey",
    ProviderState.PARTIAL: "orange",
}
