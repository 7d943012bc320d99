"""Shared fixtures: an injected clock, a current environment, and the cast for access tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.db import connection

from tests.factories import T0, make_environment


class Clock:
    """A clock tests move by hand; services take ``now`` from it, never from the wall."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def environment(db):
    return make_environment()


@pytest.fixture
def on_postgres(db) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def reviewer(db):
    """A staff user who acknowledges environments in the review queue."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username="rita", is_staff=True)  # no password: hashing is slow


@pytest.fixture(scope="class")
def demo_data(django_db_setup, django_db_blocker) -> Iterator[None]:
    """The ``seed_demo`` data set (every inventory state, recorded through the services), built once per
    test class: the tests that read it live in a class marked ``usefixtures("demo_data")``.

    The data is written in a transaction that stays open for the class and is rolled back after it;
    each test runs in a savepoint inside it (pytest-django's ``db``), so what one test writes the next
    never sees. Not for ``transaction=True`` tests, which commit and flush.
    """
    from io import StringIO

    from django.core.management import call_command
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", stdout=StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def view_only_staff(db):
    """A staff user who may view every model in the admin and change nothing."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(username="vera", is_staff=True)  # force_login: no password
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return user
