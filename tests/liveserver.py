"""The app served for real, for the soak (``tests/soak``) and the HTTP benchmark (``tests/bench``): a
PostgreSQL database of its own, ``manage.py`` in a subprocess, gunicorn on a free loopback port.

Not a test module and not part of ``make test``: the soak and the benchmark import it. Only loopback is
ever contacted, and only a database whose name says it is disposable is ever dropped.
"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class SetupError(Exception):
    """The run could not be set up: nothing about the app is proved or measured either way."""


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def recreate_database(url: str, *, marker: str, setting: str) -> None:
    """Drop and create the database at ``url``. Refuses anything but a loopback PostgreSQL database whose
    name contains ``marker`` (``setting`` names the variable the URL came from, for the message)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = database_name(url)
    if parts.scheme not in {"postgres", "postgresql"} or not name:
        raise SetupError(f"{setting} must be a postgres:// URL with a database name, got {url!r}")
    if marker not in name:
        raise SetupError(f"Refusing to drop {name!r}: the database's name must contain {marker!r}.")
    if (parts.hostname or "") not in LOOPBACK_HOSTS:
        raise SetupError(f"Refusing to use {parts.hostname!r}: only loopback is contacted.")
    maintenance = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    try:
        with psycopg.connect(maintenance, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise SetupError(f"Cannot recreate the database {name!r}: {exc}") from exc


def app_environment(database_url: str, secret_key: str) -> dict[str, str]:
    """Production-like settings for manage.py and gunicorn, pointed at ``database_url``."""
    env = dict(os.environ)
    env.update(
        DEBUG="0",
        SECRET_KEY=secret_key,
        DATABASE_URL=database_url,
        ALLOWED_HOSTS=LOOPBACK,
        # No load here reaches the limit. DRF's throttle keeps every request of its window and stores
        # the list at each request (pickled into the cache): a window of one second keeps it as short
        # as a client's below its limit (1,200 a minute at most), where a minute's window of a load
        # run held ~9,000 entries per worker, 0.3 ms of pickling a request (docs/performance.md).
        API_THROTTLE_RATE="1000000/second",
        LOG_LEVEL="ERROR",  # the log then holds only what went wrong: it is scanned at the end
        DJANGO_SETTINGS_MODULE="launchplane.settings",
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    completed = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise SetupError(f"manage.py {' '.join(args)} failed:\n{completed.stdout}{completed.stderr}")
    return completed.stdout


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int, log_path: Path) -> Iterator[subprocess.Popen]:
    """Serve the app on loopback for the duration of the block; always stopped afterwards."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "launchplane.wsgi:application",
        "--bind",
        f"{LOOPBACK}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--timeout",
        "60",
        "--graceful-timeout",
        "10",
        "--log-level",
        "warning",
        "--chdir",
        str(ROOT),
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()  # SIGTERM: a graceful stop, in-flight requests finish
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(fraction * len(sorted_values))))
    return sorted_values[rank - 1]
