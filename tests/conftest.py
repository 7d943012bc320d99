"""Shared fixtures: an injected clock, a current environment, and the cast for access tests."""

from __future__ import annotations

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
