"""Services that change inventory: one per state change, each a single transaction.

Every service locks the environment's inventory row, checks its guard, asks a pure rule what to do,
writes the record and appends exactly one ``InventoryTransition`` (rule 11). Nothing else writes a
state field. ``transitions`` holds what every service shares (``bootstraps.services`` builds on it),
``environments`` creation and settings, ``review`` acknowledging, taking and releasing, ``records``
deployments and observations; everything is importable from here.
"""

from inventory.services.environments import (
    SETTINGS,
    create_environment,
    environment_to_write,
    get_environment,
    update_environment_settings,
)
from inventory.services.records import Recorded, record_deployment, record_observation
from inventory.services.review import (
    ACKNOWLEDGE_PERMISSION,
    SNOOZE_LIMIT,
    Responsibility,
    acknowledge,
    release,
    take,
)
from inventory.services.transitions import (
    RECORD_ID_TAKEN,
    Cause,
    apply_transition,
    check_status,
    forget_identity_comparison,
    lock_inventory,
    next_sequence,
    note_identity,
    refuse_future,
    save_new_record,
    verified_at,
)

__all__ = [
    "ACKNOWLEDGE_PERMISSION",
    "RECORD_ID_TAKEN",
    "SETTINGS",
    "SNOOZE_LIMIT",
    "Cause",
    "Recorded",
    "Responsibility",
    "acknowledge",
    "apply_transition",
    "check_status",
    "create_environment",
    "environment_to_write",
    "forget_identity_comparison",
    "get_environment",
    "lock_inventory",
    "next_sequence",
    "note_identity",
    "record_deployment",
    "record_observation",
    "refuse_future",
    "release",
    "save_new_record",
    "take",
    "update_environment_settings",
    "verified_at",
]
