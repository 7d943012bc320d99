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

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

_whole: ContextVar[bool] = ContextVar("launchplane_all_or_nothing", default=False)


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """A transaction that any error inside rolls back whole, with no savepoints of its own inside."""
    with transaction.atomic():
        token = _whole.set(True)
        try:
            yield
        finally:
            _whole.reset(token)


def atomic() -> transaction.Atomic:
    """A service's ``transaction.atomic()``: a savepoint when nested, except inside ``all_or_nothing()``."""
    return transaction.atomic(savepoint=not _whole.get())
