"""Typed readers for settings that come from the environment.

Each raises ``ImproperlyConfigured`` naming the variable when its value cannot be understood, so a
typo in a deployment fails at start-up rather than behaving like a default.
"""

import os
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, *, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false, 1/0, yes/no, on/off), got {raw!r}")


def env_int(name: str, *, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, *, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_env(*, default: str) -> dict[str, Any]:
    """The database from ``DATABASE_URL`` (or ``default``), tuned for each engine.

    PostgreSQL keeps each connection open between requests (``CONN_MAX_AGE``, default 600 s, checked
    before reuse by ``CONN_HEALTH_CHECKS``, with no round trip while the connection is at rest:
    ``launchplane.db.postgresql``): a new PostgreSQL backend per request cost more than the request
    itself. Queries are bound on the server and prepared once a connection has run them
    ``DATABASE_PREPARE_THRESHOLD`` times (default 2; ``0`` turns preparation off, as a transaction-mode
    connection pooler such as PgBouncer < 1.21 needs): the read model joins nine tables, and planning
    that join took ten times longer than running it. docs/operations.md has the settings.
    """
    url = os.environ.get("DATABASE_URL") or default
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL Django understands: {exc}") from exc
    options = config.setdefault("OPTIONS", {})
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Writers take the database lock when their transaction begins (SQLite has no row locks, so
        # select_for_update does nothing there) and wait for a competing writer instead of failing.
        options["timeout"] = 20
        options["transaction_mode"] = "IMMEDIATE"
        config["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", default=0)
    else:
        if config["ENGINE"] == "django.db.backends.postgresql":
            config["ENGINE"] = "launchplane.db.postgresql"  # its health check (launchplane/db/postgresql)
        config["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", default=600)
        config["CONN_HEALTH_CHECKS"] = env_bool("CONN_HEALTH_CHECKS", default=True)
        threshold = env_int("DATABASE_PREPARE_THRESHOLD", default=2)
        if threshold < 0:
            raise ImproperlyConfigured(f"DATABASE_PREPARE_THRESHOLD must be 0 or more, got {threshold}")
        if threshold:
            options["server_side_binding"] = True
            options["prepare_threshold"] = threshold
    return config
