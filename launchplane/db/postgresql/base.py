"""Django's PostgreSQL backend, with a health check that costs no round trip on a quiet connection.

``CONN_HEALTH_CHECKS`` makes Django check a persistent connection before each request uses it, by
sending ``SELECT 1`` — one round trip in every request, a tenth of a deployment's statements
(docs/performance.md). A connection the server has closed meanwhile (a restart, an idle timeout,
``pg_terminate_backend``) always has something waiting on its socket: the end of the stream, often
after the server's FATAL message. A healthy connection at rest has nothing waiting (an idle session
receives nothing unless it listens for notifications, and Launchplane does not). So the socket is asked
first, without waiting: nothing to read, and psycopg sees the connection as good and idle, means the
connection is as the last request left it; anything else gets Django's own check, ``SELECT 1``.
A network path that died without a word is not seen by either check until a query times out.
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        if self.health_check_enabled and not self.health_check_done and self.at_rest():  # type: ignore[attr-defined,has-type]
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def at_rest(self) -> bool:
        """Whether the connection is open, idle and has nothing waiting to be read (so the server has
        not closed it)."""
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError, psycopg.Error):
            return False
        return not readable
