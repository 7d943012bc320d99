"""The HTTP load benchmark's harness works: it sets up, serves, loads every endpoint and prints its table.

Its figures are never asserted (speed is checked by ``make bench``, not by timed tests): a tiny data set,
a second per endpoint, and the table must be there with a ratio to pgbench in every row and no error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings

from tests.bench.http_load import ENDPOINTS, parse_tps, pgbench_url
from tests.liveserver import LOOPBACK_HOSTS, ROOT, database_name


def test_it_reads_the_tps_pgbench_prints() -> None:
    output = (
        "number of transactions actually processed: 51234\n"
        "latency average = 1.158 ms\n"
        "initial connection time = 9.871 ms\n"
        "tps = 3454.123456 (without initial connection time)\n"
    )

    assert parse_tps(output) == pytest.approx(3454.123456)


def bench_database_url() -> str:
    """A disposable database beside the test database, one per xdist worker."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    host = db.get("HOST") or "127.0.0.1"
    if host not in LOOPBACK_HOSTS:
        pytest.skip("the HTTP benchmark only talks to a loopback PostgreSQL")
    user = quote(db.get("USER") or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"postgres://{user}{password}@{host}:{db.get('PORT') or 5432}/launchplane_bench_smoke_{worker}"


@pytest.fixture
def bench_database() -> Iterator[str]:
    """The benchmark recreates it (and its ``_pgbench`` sibling); both are dropped afterwards."""
    url = bench_database_url()
    yield url
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit((parts.scheme, parts.netloc, "/postgres", "", "")), autocommit=True) as conn:
        for name in (database_name(url), database_name(pgbench_url(url))):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.mark.slow
@pytest.mark.postgres
def test_the_http_benchmark_prints_every_endpoint_with_its_ratio_to_pgbench(bench_database: str) -> None:
    env = {
        **os.environ,
        "BENCH_DATABASE_URL": bench_database,
        "BENCH_ENVIRONMENTS": "12",
        "BENCH_RECORDS": "2",
        "BENCH_SECONDS": "1",
        "BENCH_REQUESTS": "20",
        "BENCH_PGBENCH_SECONDS": "1",
    }

    completed = subprocess.run(
        [sys.executable, "-m", "tests.bench.http_load"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    output = completed.stdout
    assert completed.returncode in (0, 1), completed.stderr or output  # 1: a target missed, which is fine here
    assert re.search(r"pgbench TPC-B .*: [1-9][0-9]* tps", output), output
    assert re.search(r"^endpoint +requests +errors +req/s +p50 ms +p99 ms +of tps", output, re.MULTILINE), output
    for endpoint in ENDPOINTS:
        row = next((line for line in output.splitlines() if line.startswith(endpoint.name)), None)
        assert row is not None, f"no row for {endpoint.name}:\n{output}"
        requests, errors = (int(n) for n in row[len(endpoint.name) :].split()[:2])
        assert requests > 0 and errors == 0, row
        assert re.search(r" \d+\.\d%", row), row
    assert "error answers" not in output
