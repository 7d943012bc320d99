"""launchplane.db.postgresql: the persistent connection's health check costs no round trip while the
connection is at rest, and still finds a connection the server closed (PostgreSQL only)."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connections

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

connection = connections["default"]  # the wrapper itself (django.db.connection is a proxy to it)


@pytest.fixture
def checked(on_postgres, monkeypatch) -> list[str]:
    """Each full check (``SELECT 1``) the backend falls back to."""
    assert connection.settings_dict["ENGINE"] == "launchplane.db.postgresql"
    connection.ensure_connection()
    assert connection.health_check_enabled
    calls: list[str] = []
    full_check = type(connection).is_usable
    monkeypatch.setattr(type(connection), "is_usable", lambda self: calls.append("SELECT 1") or full_check(self))
    return calls


def test_a_connection_at_rest_is_reused_without_a_round_trip(checked) -> None:
    connection.health_check_done = False  # a new request
    connection.close_if_health_check_failed()
    assert checked == [] and connection.connection is not None and connection.health_check_done


def test_a_connection_inside_a_transaction_gets_the_full_check(checked) -> None:
    connection.connection.execute("BEGIN")
    try:
        connection.health_check_done = False
        connection.close_if_health_check_failed()
        assert checked == ["SELECT 1"]
    finally:
        connection.connection.execute("ROLLBACK")


def test_a_connection_the_server_closed_is_found_and_replaced(checked) -> None:
    pid = connection.connection.info.backend_pid
    settings = connection.get_connection_params()
    settings.pop("cursor_factory", None)
    with psycopg.connect(**{**settings, "autocommit": True}) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
    deadline = time.monotonic() + 5
    while connection.at_rest() and time.monotonic() < deadline:  # the server's goodbye reaches the socket
        time.sleep(0.01)

    connection.health_check_done = False  # the next request
    connection.close_if_health_check_failed()

    assert checked == ["SELECT 1"] and connection.connection is None  # closed: the request reconnects
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
