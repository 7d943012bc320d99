"""HTTP load benchmark: what users feel, over real HTTP, against the targets of issue 11.

``make bench`` runs it after the in-process bench (or ``python -m tests.bench.http_load``). It is not part
of ``make test``, and no test checks its figures (speed is never checked by timed tests). In one run it:

1. recreates its own PostgreSQL database (``BENCH_DATABASE_URL``, default
   ``postgres://postgres@127.0.0.1:5432/launchplane_bench_http``; its name must contain ``bench``; it is
   dropped first), migrates it and seeds ``BENCH_ENVIRONMENTS`` (1,000) environments with
   ``BENCH_RECORDS`` (5) records of history each (``manage.py seed_scale``: every state and freshness);
2. issues an API client token (``manage.py create_api_client``) and a staff user for the pages;
3. measures the ceiling: pgbench TPC-B on a database of its own (``<name>_pgbench``, scale 4, 4 clients,
   2 threads, ``BENCH_PGBENCH_SECONDS`` (15) seconds), on the same PostgreSQL;
4. serves the app with gunicorn (``BENCH_WORKERS`` (2) sync workers, DEBUG off) on a free loopback port and
   drives each endpoint in turn from ``BENCH_CLIENTS`` (4) threads, each with its own connection
   (the standard library's ``http.client``: the load client shares the machine's cores with the server and
   the database, so it is kept as cheap as a client can be), for ``BENCH_REQUESTS`` (400) requests or
   ``BENCH_SECONDS`` (20) seconds, whichever comes first, after a short warm-up that is not counted. Writes are spread over the environments (each
   thread has its own share of them, so no two requests wait on one row lock);
5. prints a table per endpoint — requests, errors, req/s, p50, p99, req/s as a share of pgbench's tps,
   the page's size — with the target, and exits non-zero when a target is missed or any answer was not 2xx;
   then, per endpoint, the CPU time each request cost the app server (gunicorn's workers), the database
   (the PostgreSQL backends serving this database) and the load client itself, read from ``/proc``: on a
   machine whose cores all three share, that says where a request's time goes, and it holds up better
   than wall-clock figures when something else runs on the machine.

``BENCH_REUSE=1`` keeps the database of the previous run when it holds the environments asked for (no
drop, no seeding; writes of earlier runs stay in it), and ``BENCH_ONLY`` (a comma-separated list of words
such as ``board,read``) measures only the endpoints whose names contain one: both for working on one
endpoint, never for figures that are reported.

Latencies are wall-clock per request at the client, connection set-up included (gunicorn's sync workers
close the connection after each answer, so the client reconnects for every request). With more clients than workers,
a request may wait for a free worker: that wait is part of what users feel, and part of p50.

Other variables reach gunicorn unchanged (``CONN_MAX_AGE``, say). Only loopback is contacted.
Exit status: 0 every target met, 1 a target missed or an error answer, 2 the run could not be set up.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from tests.liveserver import (  # noqa: E402  (after the path is set)
    LOOPBACK,
    SetupError,
    app_environment,
    database_name,
    free_port,
    gunicorn,
    manage,
    percentile,
    recreate_database,
    tail,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/launchplane_bench_http"
PREFIX = "bench"  # seed_scale --prefix: contexts bench-01 … bench-05
CONTEXTS = 5
API = "/api/v1"
STAFF_USERNAME = "bench-staff"
REQUEST_TIMEOUT = 60.0  # seconds: gunicorn's worker timeout; a slow page is measured, not cut short
WARM_UP = 1  # requests per client thread before measuring (imports, template cache, first connection)


@dataclass(frozen=True)
class Config:
    database_url: str
    environments: int
    records: int
    seconds: float
    max_requests: int
    clients: int
    workers: int
    pgbench_seconds: int
    reuse: bool = False
    only: tuple[str, ...] = ()

    @classmethod
    def from_env(cls) -> Config:
        def number(name: str, default: float) -> float:
            raw = os.environ.get(name) or str(default)
            try:
                value = float(raw)
            except ValueError:
                raise SetupError(f"{name} must be a number, not {raw!r}") from None
            if value <= 0:
                raise SetupError(f"{name} must be positive, not {raw!r}")
            return value

        return cls(
            database_url=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL,
            environments=int(number("BENCH_ENVIRONMENTS", 1000)),
            records=int(number("BENCH_RECORDS", 5)),
            seconds=number("BENCH_SECONDS", 20),
            max_requests=int(number("BENCH_REQUESTS", 400)),
            clients=int(number("BENCH_CLIENTS", 4)),
            workers=int(number("BENCH_WORKERS", 2)),
            pgbench_seconds=max(1, int(number("BENCH_PGBENCH_SECONDS", 15))),
            reuse=os.environ.get("BENCH_REUSE", "") not in ("", "0"),
            only=tuple(word.strip() for word in os.environ.get("BENCH_ONLY", "").split(",") if word.strip()),
        )

    def measures(self, endpoint: Endpoint) -> bool:
        return not self.only or any(word in endpoint.name for word in self.only)


def now_iso(offset_seconds: float = 0.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_seconds)).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------------------------------------
# The ceiling: pgbench TPC-B in the same run
# ---------------------------------------------------------------------------------------------------


def pgbench_url(database_url: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database_name(database_url)}_pgbench", parts.query, ""))


def run_pgbench(database_url: str, seconds: int) -> float:
    """TPC-B tps (4 clients, 2 threads, scale 4) on a database of its own, dropped and recreated."""
    binary = shutil.which("pgbench")
    if binary is None:
        raise SetupError("pgbench is not on PATH (apt-get install postgresql-client)")
    url = pgbench_url(database_url)
    recreate_database(url, marker="bench", setting="BENCH_DATABASE_URL")
    parts = urlsplit(url)
    connection = ["-h", parts.hostname or LOOPBACK, "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
    name = database_name(url)
    for args in (["-i", "-s", "4", "-q"], ["-c", "4", "-j", "2", "-T", str(seconds)]):
        completed = subprocess.run(
            [binary, *connection, *args, name], capture_output=True, text=True, env=env, check=False
        )
        if completed.returncode != 0:
            raise SetupError(f"pgbench {' '.join(args)} failed:\n{completed.stdout}{completed.stderr}")
    return parse_tps(completed.stdout)


def parse_tps(output: str) -> float:
    """pgbench's ``tps = 3454.1 (without initial connection time)`` (older versions print two lines)."""
    found = re.findall(r"^tps = ([0-9.]+) \((?:without|excluding)", output, flags=re.MULTILINE)
    found = found or re.findall(r"^tps = ([0-9.]+)", output, flags=re.MULTILINE)
    if not found:
        raise SetupError(f"no tps in pgbench's output:\n{output}")
    return float(found[-1])


# ---------------------------------------------------------------------------------------------------
# Endpoints and their targets
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A target from issue 11: a share of pgbench's tps, a p99 and a p50 (None: not a target)."""

    min_share: float | None = None  # req/s ÷ pgbench tps
    max_p99_ms: float | None = None
    max_p50_ms: float | None = None

    def describe(self) -> str:
        parts = []
        if self.min_share is not None:
            parts.append(f">= {self.min_share:.0%} tps")
        if self.max_p99_ms is not None:
            parts.append(f"p99 <= {self.max_p99_ms:.0f}")
        if self.max_p50_ms is not None:
            parts.append(f"p50 <= {self.max_p50_ms:.0f}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Environment:
    context: str
    instance: str
    data_state: str


@dataclass
class Share:
    """One client thread's share of the environments, and what it deployed there (for one-shots' identity)."""

    environments: list[Environment]
    deployed: dict[str, dict[str, str]] = field(default_factory=dict)
    cursor: int = 0

    def next(self, usable: Callable[[Environment], bool] = lambda env: True) -> Environment:
        for _ in range(len(self.environments)):
            env = self.environments[self.cursor % len(self.environments)]
            self.cursor += 1
            if usable(env):
                return env
        raise SetupError("no environment in this client's share can take this request")


RequestMaker = Callable[[Share, str], Request]  # (the thread's share, a unique key) -> the request


def deployment(share: Share, key: str) -> Request:
    env = share.next()
    record_id = f"dep-{key}"
    artifact_id = f"ghcr.io/{env.context}/odoo:17.0-{key}"
    git_ref = f"refs/heads/main@{key}"
    identity = {
        "context": env.context,
        "instance": env.instance,
        "deployment_record_id": record_id,
        "artifact_id": artifact_id,
        "source_git_ref": git_ref,
    }
    share.deployed[env.instance] = identity
    body = {
        "context": env.context,
        "instance": env.instance,
        "record_id": record_id,
        "artifact_id": artifact_id,
        "image_digest": f"sha256:{key}",
        "source_git_ref": git_ref,
        "deploy_status": "pass",
        "post_deploy_status": "pass",
        "health_status": "pass",
        "started_at": now_iso(-60),
        "finished_at": now_iso(),
        "observed_runtime_identity": identity,
    }
    return Request("POST", f"{API}/deployments/", body, {"Idempotency-Key": key})


def one_shot(share: Share, key: str) -> Request:
    # An environment with a bootstrap in progress would answer 409 bootstrap_active (rule 10).
    env = share.next(lambda env: env.data_state != "bootstrap_in_progress")
    result: dict[str, Any] = {
        "bootstrap_run_status": "pass",
        "data_mutated": True,
        "post_deploy_status": "pass",
        "health_status": "pass",
        "canonical_status": "pass",
        "logo_status": "pass",
        "started_at": now_iso(-120),
        "finished_at": now_iso(),
    }
    if env.instance in share.deployed:  # the runtime reports what this client deployed there
        result["observed_runtime_identity"] = share.deployed[env.instance]
    body = {
        "context": env.context,
        "instance": env.instance,
        "data_source": "upstream_restore",
        "reason": "Nightly restore (bench)",
        "result": result,
    }
    return Request("POST", f"{API}/bootstraps/", body, {"Idempotency-Key": key})


def read_model(share: Share, key: str) -> Request:
    env = share.next()
    return Request("GET", f"{API}/environments/{env.context}/{env.instance}/")


def fixed(path: str) -> RequestMaker:
    return lambda share, key: Request("GET", path)


@dataclass(frozen=True)
class Endpoint:
    name: str
    make: RequestMaker
    target: Target
    page: bool = False  # an operator page: sent with the staff session, its size reported


ENDPOINTS = (
    Endpoint("one-shot POST /api/v1/bootstraps/", one_shot, Target(min_share=0.08, max_p99_ms=100)),
    Endpoint("deployment POST /api/v1/deployments/", deployment, Target(min_share=0.08, max_p99_ms=100)),
    Endpoint("read model GET /api/v1/environments/{c}/{i}/", read_model, Target(min_share=0.15)),
    Endpoint("list GET /api/v1/environments/", fixed(f"{API}/environments/"), Target(max_p50_ms=60)),
    Endpoint("board GET /", fixed("/"), Target(max_p50_ms=150), page=True),
    Endpoint("review queue GET /review/", fixed("/review/"), Target(max_p50_ms=150), page=True),
)
# Run order: the reads first, while the seeded distribution of states is intact; then the writes, the
# deployments before the one-shots (which report the identity a client deployed, where there is one).
RUN_ORDER = (
    "board GET /",
    "review queue GET /review/",
    "list GET /api/v1/environments/",
    "read model GET /api/v1/environments/{c}/{i}/",
    "deployment POST /api/v1/deployments/",
    "one-shot POST /api/v1/bootstraps/",
)


# ---------------------------------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------------------------------


@dataclass
class Measured:
    endpoint: Endpoint
    latencies: list[float] = field(default_factory=list)  # seconds, of every counted request
    sizes: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds over the measured requests, by part

    def cpu_ms(self, part: str) -> float:
        """CPU milliseconds one request cost ``part`` (server, database or client), on average."""
        return self.cpu.get(part, 0.0) * 1000 / self.requests if self.requests else 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def p(self, fraction: float) -> float:
        return percentile(sorted(self.latencies), fraction) * 1000

    def share(self, tps: float) -> float:
        return self.rate / tps if tps else 0.0

    def missed(self, tps: float) -> list[str]:
        """What this endpoint missed: its target, or any error answer."""
        target, missed = self.endpoint.target, []
        if self.errors:
            missed.append(f"{len(self.errors)} error answers (first: {self.errors[0]})")
        if not self.requests:
            missed.append("no request was measured")
        if target.min_share is not None and self.share(tps) < target.min_share:
            missed.append(f"{self.share(tps):.1%} of pgbench tps, target {target.min_share:.0%}")
        if target.max_p99_ms is not None and self.p(0.99) > target.max_p99_ms:
            missed.append(f"p99 {self.p(0.99):.0f} ms, target {target.max_p99_ms:.0f} ms")
        if target.max_p50_ms is not None and self.p(0.50) > target.max_p50_ms:
            missed.append(f"p50 {self.p(0.50):.0f} ms, target {target.max_p50_ms:.0f} ms")
        return missed


class Client:
    """One client thread's connection: the standard library's ``http.client``, which costs the shared cores
    a fraction of what a full-featured client does. It reconnects by itself when the server closed the
    connection after an answer (gunicorn's sync workers always do)."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(parts.hostname or LOOPBACK, parts.port, timeout=REQUEST_TIMEOUT)
        self.headers = headers

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lowercase names; repeated ones joined by newlines) and body of the answer."""
        try:
            self.connection.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            answer = self.connection.getresponse()
            content = answer.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # a broken connection is not reused: the next request opens a new one
            raise
        found: dict[str, str] = {}
        for name, value in answer.getheaders():
            found[name.lower()] = f"{found[name.lower()]}\n{value}" if name.lower() in found else value
        if answer.will_close:
            self.connection.close()
        return answer.status, found, content

    def send_json(self, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, bytes]:
        payload = None if body is None else json.dumps(body).encode()
        extra = {**headers, "Content-Type": "application/json"} if payload is not None else headers
        status, _, content = self.request(method, path, payload, extra)
        return status, content

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Session:
    """Who the clients are: the API token, and the staff session cookies for the pages."""

    def __init__(self, base_url: str, token: str, cookies: str, server_pid: int = 0, database: str = "") -> None:
        self.base_url = base_url
        self.token = token
        self.cookies = cookies  # a Cookie header's value
        self.server_pid = server_pid  # gunicorn's master: its CPU and its workers' are the server's
        self.database = database  # the backends whose command line names it are the database's

    def client(self, page: bool) -> Client:
        # Redirects are never followed: a redirect to the login page is an error, not a page.
        headers = {"Accept": "text/html", "Cookie": self.cookies} if page else {"Authorization": f"Bearer {self.token}"}
        return Client(self.base_url, headers)


def cookies_of(headers: dict[str, str], jar: SimpleCookie) -> SimpleCookie:
    for line in headers.get("set-cookie", "").split("\n"):
        if line:
            jar.load(line)
    return jar


def log_in(base_url: str, username: str, password: str) -> str:
    """Log in through the login form, as a person would; returns the session's Cookie header."""
    jar: SimpleCookie = SimpleCookie()
    with Client(base_url, {}) as client:
        status, headers, content = client.request("GET", "/login/")
        cookies_of(headers, jar)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', content.decode())
        if status != 200 or match is None:
            raise SetupError(f"GET /login/ answered {status} without a CSRF token")
        form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": match.group(1)})
        status, headers, _ = client.request(
            "POST",
            "/login/",
            form.encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": "; ".join(f"{k}={m.value}" for k, m in jar.items()),
                "Referer": f"{base_url}/login/",
            },
        )
        cookies_of(headers, jar)
        if status != 302 or "sessionid" not in jar:
            raise SetupError(f"logging in as {username!r} answered {status}, not a redirect")
        return "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CPU_PARTS = ("server", "database", "client")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15 of stat)


def cpu_now(server_pid: int, database: str) -> dict[str, float]:
    """CPU seconds so far of gunicorn's master and workers, of the PostgreSQL backends connected to
    ``database`` (their command line names it), and of this process (the client threads)."""
    server = process_cpu(server_pid)
    backends = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(status.rsplit(")", 1)[1].split()[1])
        if parent == server_pid:
            server += process_cpu(int(entry.name))
        elif cmdline.startswith(b"postgres: ") and f" {database} ".encode() in cmdline:
            backends += process_cpu(int(entry.name))
    return {"server": server, "database": backends, "client": time.process_time()}


def drive(endpoint: Endpoint, session: Session, shares: list[Share], config: Config, run: str) -> Measured:
    """``config.clients`` threads send ``endpoint``'s requests until the request budget or the time is spent."""
    measured = Measured(endpoint)
    lock = threading.Lock()
    budget = {"left": config.max_requests}
    slug = re.sub(r"[^a-z0-9]+", "-", endpoint.name.split(" ")[0].lower())
    start_line = threading.Barrier(config.clients + 1, timeout=REQUEST_TIMEOUT * (WARM_UP + 1))
    deadline = [0.0]

    def send(client: Client, share: Share, key: str) -> tuple[float, int, str | None]:
        request = endpoint.make(share, key)
        started = time.perf_counter()
        try:
            status, content = client.send_json(request.method, request.path, request.body, request.headers)
        except (OSError, http.client.HTTPException) as exc:
            return time.perf_counter() - started, 0, f"{request.method} {request.path}: {type(exc).__name__} {exc}"
        seconds = time.perf_counter() - started
        if not 200 <= status < 300:
            text = content[:300].decode(errors="replace")
            return seconds, len(content), f"{request.method} {request.path} answered {status}: {text}"
        return seconds, len(content), None

    def client_thread(index: int) -> None:
        try:
            measure(index)
        except Exception as exc:  # said in the report, never a silent hang at the start line
            start_line.abort()
            with lock:
                measured.errors.append(f"client {index} failed: {type(exc).__name__} {exc}")

    def measure(index: int) -> None:
        share = shares[index]
        with session.client(endpoint.page) as client:
            for n in range(WARM_UP):
                _, _, error = send(client, share, f"{run}-{slug}-{index}-w{n}")
                if error:
                    with lock:
                        measured.errors.append(f"(warm-up) {error}")
            start_line.wait()
            n = 0
            while time.perf_counter() < deadline[0]:
                with lock:
                    if budget["left"] <= 0:
                        return
                    budget["left"] -= 1
                seconds, size, error = send(client, share, f"{run}-{slug}-{index}-{n}")
                n += 1
                with lock:
                    measured.latencies.append(seconds)
                    measured.sizes.append(size)
                    if error:
                        measured.errors.append(error)

    threads = [threading.Thread(target=client_thread, args=(i,), daemon=True) for i in range(config.clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + 3600  # set for real once every client has warmed up
    with contextlib.suppress(threading.BrokenBarrierError):  # a client failed: recorded, the others stop
        start_line.wait()
    before = cpu_now(session.server_pid, session.database) if session.server_pid else {}
    started = time.perf_counter()
    deadline[0] = started + config.seconds if not start_line.broken else started
    for thread in threads:
        thread.join()
    measured.elapsed = time.perf_counter() - started
    if before:
        after = cpu_now(session.server_pid, session.database)
        measured.cpu = {part: after[part] - before[part] for part in CPU_PARTS}
    return measured


# ---------------------------------------------------------------------------------------------------
# Setup and report
# ---------------------------------------------------------------------------------------------------


def database_exists(env: dict[str, str]) -> bool:
    """Whether the benchmark's database is there and migrated (for ``BENCH_REUSE``)."""
    try:
        manage(env, "migrate", "--check", "--noinput")
    except SetupError:
        return False
    return True


def seeded_environments(env: dict[str, str]) -> list[Environment]:
    script = (
        "import json; from inventory.models import EnvironmentInventory as I; "
        "print(json.dumps(list(I.objects.order_by('pk').values_list("
        "'environment__context', 'environment__instance', 'data_state'))))"
    )
    rows = json.loads(manage(env, "shell", "--no-imports", "-c", script).strip().splitlines()[-1])
    return [Environment(*row) for row in rows]


def deal(environments: list[Environment], clients: int) -> list[Share]:
    """Each client thread its own environments, so no two writes in flight wait on one row lock."""
    shares = [Share(environments[n::clients]) for n in range(clients)]
    if any(not share.environments for share in shares):
        raise SetupError(f"{len(environments)} environments cannot be shared among {clients} clients")
    return shares


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: these figures are only as quiet as the machine was."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def report(results: list[Measured], tps: float, config: Config, seconds: dict[str, float]) -> str:
    lines = [
        "",
        f"HTTP load benchmark: {config.environments} environments x {config.records} records, gunicorn "
        f"{config.workers} sync workers, {config.clients} clients, up to {config.max_requests} requests or "
        f"{config.seconds:.0f} s per endpoint",
        f"pgbench TPC-B (scale 4, 4 clients, 2 threads, {config.pgbench_seconds} s): {tps:.0f} tps",
        f"load average {load_average()}; seed_scale took {seconds['seed']:.0f} s",
        "",
        f"{'endpoint':<46} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'of tps':>7} {'bytes':>9}  {'target':<22} ok",
    ]
    for m in results:
        size = f"{sorted(m.sizes)[len(m.sizes) // 2]:,}" if m.endpoint.page and m.sizes else ""
        lines.append(
            f"{m.endpoint.name:<46} {m.requests:>8} {len(m.errors):>6} {m.rate:>7.1f} {m.p(0.5):>7.1f} "
            f"{m.p(0.99):>7.1f} {m.share(tps):>7.1%} {size:>9}  {m.endpoint.target.describe():<22} "
            f"{'NO' if m.missed(tps) else 'yes'}"
        )
    if any(m.cpu for m in results):
        lines += ["", f"{'CPU ms per request':<46} {'server':>8} {'database':>8} {'client':>8} {'total':>8}"]
        for m in results:
            parts = [m.cpu_ms(part) for part in CPU_PARTS]
            lines.append(f"{m.endpoint.name:<46} " + " ".join(f"{v:>8.2f}" for v in [*parts, sum(parts)]))
    missed = [(m.endpoint.name, why) for m in results for why in m.missed(tps)]
    lines.append("")
    lines += [f"missed: {name}: {why}" for name, why in missed] or ["every target met"]
    return "\n".join(lines)


def main() -> int:
    try:
        config = Config.from_env()
    except SetupError as exc:
        print(f"bench http: {exc}", file=sys.stderr)
        return 2
    log_path = Path(tempfile.mkdtemp(prefix="launchplane-bench-http-")) / "gunicorn.log"
    env = app_environment(config.database_url, secret_key=secrets.token_urlsafe(48))
    password = secrets.token_urlsafe(24)
    run = secrets.token_hex(4)
    seconds: dict[str, float] = {}
    results: list[Measured] = []
    try:
        environments = seeded_environments(env) if config.reuse and database_exists(env) else []
        if len(environments) == config.environments:
            print(f"bench http: reusing {database_name(config.database_url)} (BENCH_REUSE)", flush=True)
            seconds["seed"] = 0.0
        else:
            print(f"bench http: recreating {database_name(config.database_url)}, migrating, seeding", flush=True)
            recreate_database(config.database_url, marker="bench", setting="BENCH_DATABASE_URL")
            manage(env, "migrate", "--noinput")
            started = time.perf_counter()
            seeded = manage(
                env, "seed_scale", "--environments", str(config.environments), "--records", str(config.records),
                "--context-count", str(CONTEXTS), "--prefix", PREFIX,
            )  # fmt: skip
            seconds["seed"] = time.perf_counter() - started
            print(f"bench http: {seeded.strip().splitlines()[-1]}", flush=True)
            environments = seeded_environments(env)
        contexts = [arg for n in range(1, CONTEXTS + 1) for arg in ("--context", f"{PREFIX}-{n:02d}")]
        token = manage(env, "create_api_client", f"bench-http-{run}", *contexts).strip().splitlines()[-1].strip()
        staff = f"{STAFF_USERNAME}-{run}"
        manage(
            {**env, "DJANGO_SUPERUSER_PASSWORD": password},
            "createsuperuser", "--noinput", "--username", staff, "--email", "bench@example.invalid",
        )  # fmt: skip
        shares = deal(environments, config.clients)

        print(f"bench http: pgbench TPC-B for {config.pgbench_seconds} s", flush=True)
        started = time.perf_counter()
        tps = run_pgbench(config.database_url, config.pgbench_seconds)
        seconds["pgbench"] = time.perf_counter() - started

        port = free_port()
        base_url = f"http://{LOOPBACK}:{port}"
        with gunicorn(env, port, config.workers, log_path) as process:
            wait_until_ready(base_url, process, log_path)
            session = Session(
                base_url, token, log_in(base_url, staff, password), process.pid, database_name(config.database_url)
            )
            print(f"bench http: gunicorn on {base_url} (log {log_path}); {tps:.0f} pgbench tps", flush=True)
            by_name = {}
            measured_endpoints = [endpoint for endpoint in ENDPOINTS if config.measures(endpoint)]
            for endpoint in sorted(measured_endpoints, key=lambda e: RUN_ORDER.index(e.name)):
                measured = drive(endpoint, session, shares, config, run)
                by_name[endpoint.name] = measured
                print(
                    f"bench http:   {endpoint.name}: {measured.requests} requests, p50 {measured.p(0.5):.0f} ms",
                    flush=True,
                )
                if process.poll() is not None:
                    raise SetupError(f"gunicorn exited with {process.returncode}:\n{tail(log_path)}")
            results = [by_name[endpoint.name] for endpoint in measured_endpoints]
    except SetupError as exc:
        print(f"bench http: setup failed: {exc}", file=sys.stderr)
        return 2
    print(report(results, tps, config, seconds))
    if any(m.errors for m in results):
        print(f"\nlast lines of {log_path}:\n{tail(log_path)}")
    return 1 if any(m.missed(tps) for m in results) else 0


def wait_until_ready(base_url: str, process: subprocess.Popen, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SetupError(f"gunicorn exited with {process.returncode}:\n{tail(log_path)}")
        try:
            with Client(base_url, {}) as client:
                if client.request("GET", "/login/")[0] == 200:
                    return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    raise SetupError(f"gunicorn did not answer within {timeout:.0f}s:\n{tail(log_path)}")


if __name__ == "__main__":
    sys.exit(main())
