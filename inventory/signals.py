"""Signals inventory sends so that other apps can act without inventory importing them.

``inventory_read`` is sent before a request reads or writes inventory. The bootstraps app answers it by
expiring the overdue operations of the environments concerned (rule 9), so every read sees an overdue
operation as timed out without waiting for the sweeper. Send it through ``inventory.selectors.expire_overdue``.

``transition_applied`` is sent by ``apply_transition`` inside the transaction that appends the
transition, right after the row is written: the notifications app answers it by writing its outbox
rows in that same transaction (a rolled-back change notifies nobody). Receivers must stay cheap and
commit nothing of their own.
"""

from __future__ import annotations

from django.dispatch import Signal

# kwargs: environments (an Environment queryset), now (datetime)
inventory_read = Signal()

# kwargs: transition (the InventoryTransition just appended), inventory (the EnvironmentInventory as saved,
# its environment loaded)
transition_applied = Signal()
