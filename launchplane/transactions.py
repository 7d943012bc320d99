"""Transactions: a service's ``atomic()``, and the all-or-nothing transaction of one API write.

A service opens ``transaction.atomic()`` around its work. Called on its own (a command, the admin, the
worker) that is its transaction; called inside another, Django makes it a savepoint, so that a caller
may catch the service's error and go on with its own transaction (a test does, and so does
``queue_after_record``, which must never fail the record it follows).

An idempotent API write (``launchplane/api/idempotency.py``) commits its work and its key's
completion together or not at all: whatever fails inside it rolls all of it back, and nothing inside
catches a database error to go on. There a savepoint buys nothing and costs two round trips (``SAVEPOINT``
and ``RELEASE SAVEPOINT``) for each service block. ``all_or_nothing()`` opens that transaction, and
``atomic()`` — what the hot services use — opens no savepoint inside it (Django's ``savepoint=False``:
an error inside marks the whole transaction for rollback, which is what happens to it anyway).

Code that catches an error from inside its block and goes on must keep ``transaction.atomic()`` itself
(a savepoint always): ``queue_verification`` does, and so do the inserts that turn a unique violation
into an answer while the transaction carries on.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import transaction


@dataclass
class _Whole:
    """One all-or-nothing transaction: the row locks it noted (note_row_lock), and how many atomic blocks
    were open once it began (its own included: in a test's transaction it is itself a savepoint)."""

    depth: int
    locks: set[Hashable] = field(default_factory=set)


_whole: ContextVar[_Whole | None] = ContextVar("launchplane_all_or_nothing", default=None)


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """A transaction that any error inside rolls back whole, with no savepoints of its own inside."""
    with transaction.atomic():
        token = _whole.set(_Whole(depth=len(transaction.get_connection().savepoint_ids)))
        try:
            yield
        finally:
            _whole.reset(token)


def atomic() -> transaction.Atomic:
    """A service's ``transaction.atomic()``: a savepoint when nested, except inside ``all_or_nothing()``."""
    return transaction.atomic(savepoint=_whole.get() is None)


def can_note_row_lock() -> bool:
    """Whether a row lock taken now lasts as long as the all-or-nothing transaction, so that
    ``note_row_lock`` may note it: inside ``all_or_nothing()`` with no savepoint opened inside it
    (rolling a savepoint back releases the locks taken after it)."""
    whole = _whole.get()
    return whole is not None and not any(transaction.get_connection().savepoint_ids[whole.depth :])


def note_row_lock(key: Hashable) -> None:
    """Note that this all-or-nothing transaction holds the row lock ``key``, taken by a statement that
    also read something (``can_note_row_lock()`` must hold), so that the service that would take the
    lock again asks ``holds_row_lock`` first and spares the statement."""
    whole = _whole.get()
    if whole is None or not can_note_row_lock():
        raise transaction.TransactionManagementError("A row lock is noted only at the top of all_or_nothing().")
    whole.locks.add(key)


def holds_row_lock(key: Hashable) -> bool:
    """Whether this all-or-nothing transaction noted the row lock ``key`` (never outside one)."""
    whole = _whole.get()
    return whole is not None and key in whole.locks
