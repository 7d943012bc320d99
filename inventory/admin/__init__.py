"""The Django admin for inventory.

Environments are created here through ``inventory.services.create_environment`` (which also creates
their inventory pointer); after that only their settings can change. The inventory pointer is read
only: its state fields are written by services alone. Deployment records, observations and
transitions are evidence: the admin shows them and can neither add, change nor delete them.
Acknowledging goes through ``inventory.services.acknowledge``, from an action that asks for the note.

``base`` holds the pieces every admin shares (the bootstraps admin too); importing the other modules
registers the model admins.
"""

from inventory.admin import environments, evidence, inventories, verification  # noqa: F401  (registers the model admins)
from inventory.admin.base import (
    EMPTY,
    EvidenceAdmin,
    ExpireOverdueMixin,
    admin_link,
    changelist_link,
    environment_column,
    identity_table,
    pretty_json,
    yes_no_filter,
)

__all__ = [
    "EMPTY",
    "EvidenceAdmin",
    "ExpireOverdueMixin",
    "admin_link",
    "changelist_link",
    "environment_column",
    "identity_table",
    "pretty_json",
    "yes_no_filter",
]
