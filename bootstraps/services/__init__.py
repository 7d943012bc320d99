"""Services for data bootstraps: start, result, one-shot, cancel, progress, deadline expiry and a
reviewer's reconciliation (rules 7, 9, 10, 16).

Each runs in one transaction under the environment's inventory row lock and appends exactly one
``InventoryTransition`` when it is applied. A bootstrap never creates, edits or re-stamps a
``DeploymentRecord`` (rule 1): these services only read the current deployment to compare identities.
``deadlines`` (rule 9 and the guards every operation shares), ``lifecycle`` (start, progress, cancel)
``results`` (rule 7) and ``reconciliation`` (rule 16); everything is importable from here.
"""

from bootstraps.services.deadlines import MAX_TIMEOUT_SECONDS, expire_locked, expire_next, expire_overdue
from bootstraps.services.lifecycle import cancel_bootstrap, record_progress, start_bootstrap
from bootstraps.services.reconciliation import RECONCILE_PERMISSION, Reconciled, reconcile
from bootstraps.services.results import (
    BootstrapResult,
    get_operation,
    record_bootstrap_result,
    refuse_finish_before_start,
    run_bootstrap_once,
)

__all__ = [
    "MAX_TIMEOUT_SECONDS",
    "RECONCILE_PERMISSION",
    "BootstrapResult",
    "Reconciled",
    "cancel_bootstrap",
    "expire_locked",
    "expire_next",
    "expire_overdue",
    "get_operation",
    "reconcile",
    "record_bootstrap_result",
    "record_progress",
    "refuse_finish_before_start",
    "run_bootstrap_once",
    "start_bootstrap",
]
