"""Signals inventory sends so that other apps can act without inventory importing them.

``inventory_read`` is sent before a request reads or writes inventory. The bootstraps app answers it by
expiring the overdue operations of the environments concerned (rule 9), so every read sees an overdue
operation as timed out without waiting for the sweeper. Send it through ``expire_overdue_before``.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.dispatch import Signal

# kwargs: environments (an Environment queryset), now (datetime)
inventory_read = Signal()


def expire_overdue_before(environments: QuerySet, now: datetime) -> None:
    """Rule 9: let overdue operations of these environments time out before their inventory is read
    or written. API views, pages, the admin and the services all call this one function."""
    inventory_read.send(sender=expire_overdue_before, environments=environments, now=now)
