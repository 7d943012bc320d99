"""Soak: every API write, from concurrent clients, against gunicorn on PostgreSQL — then the books.

``make soak`` (or ``python -m tests.soak.soak``) is not part of ``make test``. It recreates a dedicated
PostgreSQL database (``SOAK_DATABASE_URL``, default ``postgres://postgres@127.0.0.1:5432/launchplane_soak``;
its name must contain ``soak``, it is dropped first), migrates it, issues an API client, serves the app
with gunicorn (2 sync workers, DEBUG off, its own SECRET_KEY) on a free loopback port, creates 20
environments, and lets 8 client threads post a seeded random mix of deployments, observations,
bootstrap starts, one-shots, results, progress events and cancels for ``SOAK_SECONDS`` (60), at most
``SOAK_MAX_REQUESTS`` requests. Every write carries an ``Idempotency-Key``; a timeout, a dropped
connection or ``409 idempotency_in_flight`` is retried with the same request and key, and some first
attempts are deliberately impatient so that path is really taken. Some acknowledged writes are sent
again (they must replay byte for byte), some reuse a ``record_id`` (409 ``conflict``) or contradict
themselves (400 ``contradictory_result``: nothing stored). The database and server helpers are shared
with the HTTP benchmark (``tests/liveserver.py``).

What a passing run proves, under concurrency, retries and deadlines expiring mid-run:

- no request answers 5xx, and the server logs no error;
- every acknowledged write is stored exactly once, and nothing that was refused is stored: deployments by
  ``record_id``, operations by ``operation_id`` and ``Idempotency-Key``, observations by id;
- a replayed key answers the first response again, and nothing else;
- each environment's inventory equals the newest transition of its history, its history's sequence
  numbers increase strictly in insertion order, and no two records of one environment share a number
  (rule 12: no lost update);
- each applied record appended exactly one transition, a superseded one none (rule 11); last known good
  is what the newest ``advanced`` transition made it (rule 3); ``last_bootstrap`` is the newest start;
- no bootstrap is left active that the soak did not leave active, and an operation the soak finished or
  cancelled reads so, once.

Settings (environment): ``SOAK_DATABASE_URL``, ``SOAK_SECONDS``, ``SOAK_MAX_REQUESTS``, ``SOAK_SEED`` (the
mix is seeded per client thread; the interleaving is not), ``SOAK_THREADS`` (8), ``SOAK_WORKERS`` (2). Other
variables reach gunicorn unchanged (``CONN_MAX_AGE``, say). Only loopback is ever contacted. The database
and the server log (its path is printed) are kept for inspection until the next run.

Exit status: 0 when no violation was found, 1 otherwise, 2 when the soak could not be set up.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: make the project importable for the checks
    sys.path.insert(0, str(ROOT))

from tests.liveserver import (  # noqa: E402  (after the path is set)
    LOOPBACK,
    SetupError,
    app_environment,
    free_port,
    gunicorn,
    manage,
    percentile,
    recreate_database,
    tail,
)

CONTEXT = "soak"
ENVIRONMENTS = [f"env-{n:02d}" for n in range(1, 21)]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/launchplane_soak"
API = "/api/v1"

REQUEST_TIMEOUT = 20.0  # seconds: a patient client; gunicorn's own worker timeout is 60
MAX_ATTEMPTS = 10  # per request: the first attempt and up to 9 retries with the same request and key
IMPATIENT_SHARE = 0.03  # first attempts given a few milliseconds, so the retry path is really taken
SHORT_DEADLINE_SHARE = 0.2  # starts whose deadline passes during the soak (rule 9 under load)
SHORT_DEADLINE_MAX = 6  # seconds

CHECK_STATUSES = ["pass", "fail", "skipped", "not_run", "unknown"]
CHECK_WEIGHTS = [70, 10, 7, 7, 6]
NOT_RUN_POST_DEPLOY = ["not_run", "skipped", "unknown"]  # what a failed or skipped run can say
IDENTITY_KEYS = ("context", "instance", "deployment_record_id", "artifact_id", "source_git_ref")
MALFORMED_IDENTITIES: list[Any] = ["not-an-object", ["context", "instance"], 42, True]
ACTIVE_STATUSES = {"pending", "running"}
ONE_SHOT_KEY_PREFIX = "soak-one_shot-"  # Workload.new_key("one_shot")
INITIAL_SIDES = ("unrecorded", "unrecorded", "untouched")  # an environment nothing has happened to

# Routes as the per-endpoint counts name them.
DEPLOYMENTS = "POST /deployments/"
OBSERVATIONS = "POST /environments/{c}/{i}/observations/"
START = "POST /bootstraps/ (start)"
ONE_SHOT = "POST /bootstraps/ (one-shot)"


# ---------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    database_url: str
    seconds: float
    max_requests: int
    seed: str
    threads: int
    workers: int

    @classmethod
    def from_env(cls) -> Config:
        return cls(
            database_url=os.environ.get("SOAK_DATABASE_URL") or DEFAULT_DATABASE_URL,
            seconds=float(os.environ.get("SOAK_SECONDS") or 60),
            max_requests=int(os.environ.get("SOAK_MAX_REQUESTS") or 200_000),
            seed=os.environ.get("SOAK_SEED") or "1",
            threads=int(os.environ.get("SOAK_THREADS") or 8),
            workers=int(os.environ.get("SOAK_WORKERS") or 2),
        )


def now_iso(offset_seconds: float = 0.0) -> str:
    """Client time as ISO 8601 with a timezone, ``offset_seconds`` from now (negative: the past)."""
    return (datetime.now(UTC) + timedelta(seconds=offset_seconds)).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------------------------------------
# Database and server
# ---------------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # parsed JSON, or None
    headers: dict[str, str]
    seconds: float

    @property
    def code(self) -> str | None:
        """The error body's ``code``, if the answer is an error."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return self.body["error"].get("code")
        return None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Client:
    """One request per connection (sync gunicorn workers close it anyway), stdlib only."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token

    def send(
        self, method: str, path: str, body: Any = None, key: str | None = None, timeout: float = REQUEST_TIMEOUT
    ) -> Reply:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        if key:
            headers["Idempotency-Key"] = key
        payload = None if body is None else json.dumps(body).encode()
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=timeout)
        started = time.perf_counter()
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            elapsed = time.perf_counter() - started
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return Reply(response.status, parsed, {k.lower(): v for k, v in response.getheaders()}, elapsed)
        finally:
            connection.close()


def wait_until_ready(client: Client, process: subprocess.Popen, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SetupError(f"gunicorn exited with {process.returncode}:\n{tail(log_path)}")
        try:
            if client.send("GET", f"{API}/environments/", timeout=2).status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    raise SetupError(f"gunicorn did not answer within {timeout:.0f}s:\n{tail(log_path)}")


# ---------------------------------------------------------------------------------------------------
# What the soak knows: acknowledged writes and its view of each environment
# ---------------------------------------------------------------------------------------------------


@dataclass
class Operation:
    operation_id: str
    instance: str
    one_shot: bool
    resolutions: list[tuple[str, str]] = field(default_factory=list)  # (kind, key) of each 2xx result/cancel
    uncertain: bool = False  # a result or cancel got no answer: it may or may not have been applied
    known_mutated: bool = False
    # A short-deadline start is left alone until its deadline has passed, so that it really times out
    # (rule 9: expired by whatever touches the environment next) and its result arrives late.
    quiet_until: float = 0.0
    sent_started_at: str | None = None  # a one-shot's own ``result.started_at``

    @property
    def left_active(self) -> bool:
        return not self.resolutions and not self.uncertain and not self.one_shot


@dataclass
class Call:
    """One logical request: sent, and resent with the same key until it has a definite answer."""

    action: str  # what the soak meant to do (counted per action)
    endpoint: str  # the route, for the per-endpoint counts
    method: str
    path: str
    body: Any
    key: str | None
    accept: dict[int, set[str] | None]  # status -> acceptable error codes (None: any body)
    instance: str
    # What a 2xx acknowledges: "deployment", "observation", "start", "one_shot", "resolution" (a result
    # or a cancel), "event"; None when nothing is to be stored (reads, replays, deliberate refusals).
    records: str | None = None
    operation: Operation | None = None  # the operation a result, event or cancel is aimed at
    impatient: bool = False
    replay_of: Reply | None = None  # the first answer, for a replay


class Ledger:
    """Everything acknowledged, and the soak's (possibly stale) view of each environment. Thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.deployments: dict[str, dict[str, Any]] = {}  # record_id -> the body that was acknowledged
        self.unanswered_deployments: set[str] = set()
        self.operations: dict[str, Operation] = {}
        self.start_keys: dict[str, str] = {}  # acknowledged start/one-shot key -> operation_id
        self.unanswered_start_keys: set[str] = set()
        self.refused_start_keys: set[str] = set()
        self.observations: dict[int, tuple[str, dict[str, Any]]] = {}  # id -> (instance, acknowledged body)
        self.unanswered_observations = 0
        self.active: dict[str, list[str]] = defaultdict(list)  # instance -> operation ids believed active
        self.current: dict[str, dict[str, str]] = {}  # instance -> identity of its current deployment
        self.replayable: list[tuple[Call, Reply]] = []

    def note_environment(self, instance: str, reply: Reply) -> None:
        view = reply.body.get("environment") if isinstance(reply.body, dict) else None
        current = view.get("current_deployment") if isinstance(view, dict) else None
        if isinstance(current, dict) and current.get("record_id"):
            with self.lock:
                self.current[instance] = identity(
                    instance, current["record_id"], current.get("artifact_id", ""), current.get("source_git_ref", "")
                )

    def current_identity(self, instance: str) -> dict[str, str] | None:
        with self.lock:
            found = self.current.get(instance)
            return dict(found) if found else None

    def pick_operation(self, rng: random.Random, *, any_share: float = 0.1) -> Operation | None:
        """An operation believed active (mostly), or any known one (a late or refused answer)."""
        with self.lock:
            if self.operations and rng.random() < any_share:
                return self.operations[rng.choice(list(self.operations))]
            now = time.monotonic()
            candidates = [
                op_id for ops in self.active.values() for op_id in ops if self.operations[op_id].quiet_until <= now
            ]
            return self.operations[rng.choice(candidates)] if candidates else None

    def forget_active(self, operation: Operation) -> None:
        with self.lock:
            ops = self.active[operation.instance]
            if operation.operation_id in ops:
                ops.remove(operation.operation_id)

    def keep_replayable(self, rng: random.Random, call: Call, reply: Reply) -> None:
        with self.lock:
            if len(self.replayable) < 2000:
                self.replayable.append((call, reply))
            else:
                self.replayable[rng.randrange(len(self.replayable))] = (call, reply)


def identity(instance: str, record_id: str, artifact_id: str, git_ref: str) -> dict[str, str]:
    return {
        "context": CONTEXT,
        "instance": instance,
        "deployment_record_id": record_id,
        "artifact_id": artifact_id,
        "source_git_ref": git_ref,
    }


# ---------------------------------------------------------------------------------------------------
# Statistics and violations
# ---------------------------------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.latencies: list[float] = []
        self.by_endpoint: Counter[tuple[str, str]] = Counter()  # (endpoint, status or error) per attempt
        self.outcomes: Counter[tuple[str, str]] = Counter()  # (action, outcome) per logical request
        self.retries: Counter[str] = Counter()
        self.server_errors = 0
        self.violations: list[str] = []

    def attempt(self, endpoint: str, reply: Reply | None, error: str | None = None) -> None:
        with self.lock:
            self.requests += 1
            if reply is not None:
                self.latencies.append(reply.seconds)
                self.by_endpoint[(endpoint, str(reply.status))] += 1
                if reply.status >= 500:
                    self.server_errors += 1
            else:
                self.by_endpoint[(endpoint, error or "no answer")] += 1

    def outcome(self, action: str, outcome: str) -> None:
        with self.lock:
            self.outcomes[(action, outcome)] += 1

    def retry(self, reason: str) -> None:
        with self.lock:
            self.retries[reason] += 1

    def violation(self, message: str) -> None:
        with self.lock:
            self.violations.append(message)


def describe(call: Call, reply: Reply | None) -> str:
    body = json.dumps(call.body, sort_keys=True)
    if len(body) > 600:
        body = body[:600] + "…"
    answer = "no answer" if reply is None else f"{reply.status} {json.dumps(reply.body)[:600]}"
    return f"{call.method} {call.path} key={call.key} body={body} -> {answer}"


# ---------------------------------------------------------------------------------------------------
# The workload
# ---------------------------------------------------------------------------------------------------


def check_status(rng: random.Random) -> str:
    return rng.choices(CHECK_STATUSES, CHECK_WEIGHTS)[0]


def mismatched(rng: random.Random, expected: dict[str, str] | None, instance: str) -> dict[str, Any]:
    """An identity that differs from ``expected`` in one compared key (changed, or left out)."""
    observed: dict[str, Any] = dict(expected or identity(instance, "soak-nobody", "soak/none:0", "refs/heads/none"))
    key = rng.choice(IDENTITY_KEYS[2:])
    if rng.random() < 0.3:
        del observed[key]
    else:
        observed[key] = f"{observed[key]}-other"
    return observed


def identity_fields(rng: random.Random, expected: dict[str, str] | None, instance: str) -> dict[str, Any]:
    """Body fields for a runtime identity compared with ``expected``: every status rule 5 knows."""
    kind = rng.choices(
        ["match", "extra", "mismatch", "missing", "malformed", "unverifiable", "omit"], [40, 8, 14, 8, 5, 10, 15]
    )[0]
    if kind in {"match", "extra"}:
        observed = dict(expected or identity(instance, "soak-unknown", "soak/unknown:0", "refs/heads/unknown"))
        if kind == "extra":
            observed["image_reference"] = f"registry.example/soak@sha256:{rng.getrandbits(64):016x}"
        return {"observed_runtime_identity": observed}
    if kind == "mismatch":
        return {"observed_runtime_identity": mismatched(rng, expected, instance)}
    if kind == "missing":
        return {"observed_runtime_identity": None}
    if kind == "malformed":
        return {"observed_runtime_identity": rng.choice(MALFORMED_IDENTITIES)}
    if kind == "unverifiable":
        return {"runtime_identity_status": "unverifiable"}
    return {}


def coherent_result(rng: random.Random, expected: dict[str, str] | None, instance: str) -> dict[str, Any]:
    """A result that does not contradict itself (rule 7), though it may contradict an earlier event."""
    run = rng.choices(["pass", "fail", "not_run", "unknown"], [55, 20, 10, 15])[0]
    if run == "pass":
        data_mutated = rng.choice([True, True, True, None])
        post_deploy = check_status(rng)
    elif run == "fail":
        data_mutated = rng.choice([True, False, None])
        post_deploy = rng.choice(NOT_RUN_POST_DEPLOY)
    elif run == "not_run":
        data_mutated = False
        post_deploy = rng.choice(NOT_RUN_POST_DEPLOY)
    else:
        data_mutated = rng.choice([True, False, None])
        post_deploy = check_status(rng)
    result: dict[str, Any] = {"bootstrap_run_status": run, "data_mutated": data_mutated}
    if rng.random() < 0.85:  # left out means not_run, coherent with any run
        result["post_deploy_status"] = post_deploy
    for name in ("health_status", "canonical_status", "logo_status"):
        if rng.random() < 0.8:
            result[name] = check_status(rng)
    result.update(identity_fields(rng, expected, instance))
    if rng.random() < 0.3:
        result["verification_evidence"] = [
            {
                "probe": probe,
                "url": f"https://{instance}.soak.example/{probe}",
                "status": result.get(f"{probe}_status", "not_run"),
                "status_code": rng.choice([200, 200, 503, None]),
            }
            for probe in ("health", "canonical", "logo")
        ]
    if run in {"fail", "unknown"} and rng.random() < 0.5:
        result["error_message"] = "soak: simulated failure"
    return result


CONTRADICTIONS: list[dict[str, Any]] = [
    {"bootstrap_run_status": "pass", "data_mutated": False},
    {"bootstrap_run_status": "not_run", "data_mutated": True},
    {"bootstrap_run_status": "not_run", "data_mutated": None},
    {"bootstrap_run_status": "fail", "data_mutated": True, "post_deploy_status": "pass"},
    {"bootstrap_run_status": "running", "data_mutated": None},
    {
        "bootstrap_run_status": "pass",
        "data_mutated": True,
        "runtime_identity_status": "unverifiable",
        "observed_runtime_identity": {"context": CONTEXT},
    },
]


class Workload:
    """Builds one call at a time from a thread's own seeded random source."""

    ACTIONS = [
        ("deployment", 24),
        ("observation", 14),
        ("start", 12),
        ("one_shot", 8),
        ("result", 12),
        ("event", 10),
        ("cancel", 6),
        ("replay", 5),
        ("read", 5),
        ("contradiction", 2),
        ("record_id_reuse", 2),
    ]

    def __init__(self, thread: int, seed: str, ledger: Ledger) -> None:
        self.thread = thread
        self.rng = random.Random(f"{seed}:{thread}")
        self.ledger = ledger
        self.counter = 0
        self.names = [name for name, _ in self.ACTIONS]
        self.weights = [weight for _, weight in self.ACTIONS]

    def next_call(self) -> Call:
        action = self.rng.choices(self.names, self.weights)[0]
        call = getattr(self, f"build_{action}")()
        if call is None:  # nothing to aim at yet (no operation, no acknowledged write): start one
            call = self.build_start()
        call.impatient = call.key is not None and self.rng.random() < IMPATIENT_SHARE
        return call

    def new_key(self, action: str) -> str:
        """A key of its own for every logical request; its prefix tells a one-shot from a start."""
        self.counter += 1
        return f"soak-{action}-t{self.thread}-{self.counter:06d}"

    def post(
        self,
        action: str,
        endpoint: str,
        path: str,
        body: dict[str, Any],
        *,
        instance: str,
        accept: dict[int, set[str] | None],
        records: str | None,
        key: str | None = None,
        operation: Operation | None = None,
    ) -> Call:
        return Call(
            action=action,
            endpoint=endpoint,
            method="POST",
            path=path,
            body=body,
            key=key or self.new_key(action),
            accept=accept,
            instance=instance,
            records=records,
            operation=operation,
        )

    def get(self, endpoint: str, path: str, instance: str) -> Call:
        return Call("read", endpoint, "GET", path, None, None, {200: None}, instance)

    def instance(self) -> str:
        return self.rng.choice(ENVIRONMENTS)

    # -- deployments and observations ---------------------------------------------------------------

    def deployment_body(self, instance: str, record_id: str) -> dict[str, Any]:
        rng = self.rng
        artifact = f"registry.example/soak/{instance}:{self.thread}.{self.counter}"
        git_ref = f"refs/heads/main@{rng.getrandbits(28):07x}"
        passed = rng.random() < 0.7
        # Mostly fresh; a tenth finished long ago, so is likely superseded (rule 4).
        finished_ago = rng.uniform(600, 3600) if rng.random() < 0.1 else rng.uniform(0, 2)
        body: dict[str, Any] = {
            "context": CONTEXT,
            "instance": instance,
            "record_id": record_id,
            "artifact_id": artifact,
            "source_git_ref": git_ref,
            "deploy_status": "pass" if passed else "fail",
            "started_at": now_iso(-finished_ago - rng.uniform(10, 300)),
            "finished_at": now_iso(-finished_ago),
        }
        if rng.random() < 0.6:
            body["image_digest"] = f"sha256:{rng.getrandbits(64):016x}"
        for name in ("post_deploy_status", "health_status"):
            if rng.random() < 0.85:
                body[name] = check_status(rng)
        # A passing deployment is compared with itself, a failed one with the current deployment (rule 5).
        own = identity(instance, record_id, artifact, git_ref)
        expected = own if passed else self.ledger.current_identity(instance)
        if not passed and rng.random() < 0.2:
            body["observed_runtime_identity"] = own  # the new runtime answered after all: a mismatch
        else:
            body.update(identity_fields(rng, expected, instance))
        return body

    def build_deployment(self) -> Call:
        instance = self.instance()
        key = self.new_key("deploy")
        body = self.deployment_body(instance, record_id=f"dep-{key}")
        return self.post(
            "deployment",
            DEPLOYMENTS,
            f"{API}/deployments/",
            body,
            instance=instance,
            accept={201: None},
            records="deployment",
            key=key,
        )

    def build_record_id_reuse(self) -> Call | None:
        with self.ledger.lock:
            taken = self.rng.choice(list(self.ledger.deployments)) if self.ledger.deployments else None
        if taken is None:
            return None
        instance = self.instance()
        return self.post(
            "record_id_reuse",
            DEPLOYMENTS,
            f"{API}/deployments/",
            self.deployment_body(instance, taken),
            instance=instance,
            accept={409: {"conflict"}},
            records=None,
        )

    def build_observation(self) -> Call:
        rng = self.rng
        instance = self.instance()
        observed_ago = rng.uniform(600, 3600) if rng.random() < 0.1 else rng.uniform(0, 2)
        body: dict[str, Any] = {"source": rng.choice(["soak-prober", "uptime"]), "observed_at": now_iso(-observed_ago)}
        fields = identity_fields(rng, self.ledger.current_identity(instance), instance)
        body.update(fields or {"runtime_identity_status": "unverifiable"})  # it must say something
        return self.post(
            "observation",
            OBSERVATIONS,
            f"{API}/environments/{CONTEXT}/{instance}/observations/",
            body,
            instance=instance,
            accept={201: None},
            records="observation",
        )

    # -- bootstraps ----------------------------------------------------------------------------------

    def start_body(self, instance: str) -> dict[str, Any]:
        rng = self.rng
        body: dict[str, Any] = {
            "context": CONTEXT,
            "instance": instance,
            "data_source": rng.choice(["empty", "upstream_restore"]),
        }
        if rng.random() < 0.5:
            body["reason"] = f"soak run {self.thread}.{self.counter}"
        if rng.random() < SHORT_DEADLINE_SHARE:
            body["timeout_seconds"] = rng.randint(1, SHORT_DEADLINE_MAX)
        elif rng.random() < 0.5:
            body["timeout_seconds"] = 3600
        return body

    def build_start(self) -> Call:
        instance = self.instance()
        return self.post(
            "start",
            START,
            f"{API}/bootstraps/",
            self.start_body(instance),
            instance=instance,
            accept={201: None, 409: {"bootstrap_active"}},
            records="start",
        )

    def build_one_shot(self) -> Call:
        instance = self.instance()
        body = self.start_body(instance)
        result = coherent_result(self.rng, self.ledger.current_identity(instance), instance)
        if self.rng.random() < 0.5:  # the run's own start (rule 13); without it the start is the arrival
            result["started_at"] = now_iso(-self.rng.uniform(10, 600))
        if self.rng.random() < 0.6:
            result["finished_at"] = now_iso(-self.rng.uniform(0, 5) if "started_at" in result else 0)
        body["result"] = result
        return self.post(
            "one_shot",
            ONE_SHOT,
            f"{API}/bootstraps/",
            body,
            instance=instance,
            accept={201: None, 409: {"bootstrap_active"}},
            records="one_shot",
        )

    def on_operation(self, action: str, suffix: str, operation: Operation, body: dict[str, Any]) -> Call:
        """A result, event or cancel for ``operation``: finished meanwhile is a fine answer too."""
        accept: dict[int, set[str] | None] = {200: None, 409: {"operation_finished"}}
        unmutating = body.get("data_mutated") is False
        with self.ledger.lock:
            known_mutated = operation.known_mutated
        if unmutating and known_mutated:  # an acknowledged event said true: false must be refused
            accept = {400: {"contradictory_result"}, 409: {"operation_finished"}}
        elif unmutating:  # another client's event may have said true meanwhile
            accept[400] = {"contradictory_result"}
        return self.post(
            action,
            f"POST /bootstraps/{{id}}/{suffix}/",
            f"{API}/bootstraps/{operation.operation_id}/{suffix}/",
            body,
            instance=operation.instance,
            accept=accept,
            records="event" if suffix == "events" else "resolution",
            operation=operation,
        )

    def build_result(self) -> Call | None:
        operation = self.ledger.pick_operation(self.rng)
        if operation is None:
            return None
        body = coherent_result(self.rng, self.ledger.current_identity(operation.instance), operation.instance)
        if self.rng.random() < 0.6:
            body["finished_at"] = now_iso()  # after the start, which the server stamped earlier
        return self.on_operation("result", "result", operation, body)

    def build_event(self) -> Call | None:
        operation = self.ledger.pick_operation(self.rng)
        if operation is None:
            return None
        rng = self.rng
        body: dict[str, Any] = {"phase": rng.choice(["bootstrap", "post_deploy", "verification"])}
        mutated = rng.choices([None, True, False], [50, 40, 10])[0]
        if mutated is not None or rng.random() < 0.3:
            body["data_mutated"] = mutated
        if rng.random() < 0.4:
            body["extend_deadline_seconds"] = rng.randint(1, 600)
        return self.on_operation("event", "events", operation, body)

    def build_cancel(self) -> Call | None:
        operation = self.ledger.pick_operation(self.rng)
        if operation is None:
            return None
        body: dict[str, Any] = {"reason": "soak: the runner gave up"}
        mutated = self.rng.choices([None, False, True], [50, 30, 20])[0]
        if mutated is not None:
            body["data_mutated"] = mutated
        return self.on_operation("cancel", "cancel", operation, body)

    def build_contradiction(self) -> Call | None:
        """A result that contradicts itself, one-shot or in two steps: 400 and nothing stored."""
        result = dict(self.rng.choice(CONTRADICTIONS))
        refused: dict[int, set[str] | None] = {400: {"contradictory_result"}}
        if self.rng.random() < 0.5:
            instance = self.instance()
            body = {**self.start_body(instance), "result": result}
            return self.post(
                "contradiction", ONE_SHOT, f"{API}/bootstraps/", body, instance=instance, accept=refused, records=None
            )
        operation = self.ledger.pick_operation(self.rng)
        if operation is None:
            return None
        return self.post(
            "contradiction",
            "POST /bootstraps/{id}/result/",
            f"{API}/bootstraps/{operation.operation_id}/result/",
            result,
            instance=operation.instance,
            accept=refused,
            records=None,
            operation=operation,
        )

    # -- replays and reads ---------------------------------------------------------------------------

    def build_replay(self) -> Call | None:
        """An acknowledged write sent again, same key and body: the first answer must come back."""
        with self.ledger.lock:
            if not self.ledger.replayable:
                return None
            original, first = self.rng.choice(self.ledger.replayable)
        return Call(
            "replay",
            original.endpoint,
            original.method,
            original.path,
            original.body,
            original.key,
            {first.status: None},
            original.instance,
            replay_of=first,
        )

    def build_read(self) -> Call:
        rng = self.rng
        instance = self.instance()
        choice = rng.choice(["environment", "history", "operation", "deployment"])
        if choice == "operation":
            operation = self.ledger.pick_operation(rng, any_share=0.5)
            if operation is not None:
                return self.get("GET /bootstraps/{id}/", f"{API}/bootstraps/{operation.operation_id}/", instance)
        if choice == "deployment":
            with self.ledger.lock:
                record_id = rng.choice(list(self.ledger.deployments)) if self.ledger.deployments else None
            if record_id is not None:
                return self.get("GET /deployments/{id}/", f"{API}/deployments/{record_id}/", instance)
        if choice == "history":
            path = f"{API}/environments/{CONTEXT}/{instance}/history/?page_size=5"
            return self.get("GET /environments/{c}/{i}/history/", path, instance)
        return self.get("GET /environments/{c}/{i}/", f"{API}/environments/{CONTEXT}/{instance}/", instance)


# ---------------------------------------------------------------------------------------------------
# Sending, retrying and bookkeeping
# ---------------------------------------------------------------------------------------------------


def execute(client: Client, call: Call, rng: random.Random, stats: Stats) -> Reply | None:
    """Send ``call``; resend the same request with the same key after a timeout, a dropped connection
    or 409 ``idempotency_in_flight``. None when it never got a definite answer."""
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            time.sleep(min(1.0, 0.05 * 2 ** (attempt - 1)) * rng.uniform(0.5, 1.0))
        impatient = call.impatient and attempt == 0
        timeout = rng.uniform(0.003, 0.05) if impatient else REQUEST_TIMEOUT
        try:
            reply = client.send(call.method, call.path, call.body, call.key, timeout=timeout)
        except TimeoutError:
            stats.attempt(call.endpoint, None, "impatient timeout" if impatient else "timeout")
            stats.retry("impatient timeout" if impatient else "timeout")
            continue
        except (OSError, http.client.HTTPException) as exc:
            stats.attempt(call.endpoint, None, f"connection error ({type(exc).__name__})")
            stats.retry("connection error")
            continue
        stats.attempt(call.endpoint, reply)
        if reply.status == 409 and reply.code == "idempotency_in_flight" and call.key:
            stats.retry("idempotency_in_flight")
            continue
        return reply
    return None


def settle(call: Call, reply: Reply | None, ledger: Ledger, stats: Stats, rng: random.Random) -> None:
    """Classify the final answer and record what it acknowledged."""
    if reply is None:
        stats.outcome(call.action, "unanswered")
        stats.violation(f"no definite answer after {MAX_ATTEMPTS} attempts: {describe(call, None)}")
        note_unanswered(call, ledger)
        return
    if reply.status >= 500:
        stats.outcome(call.action, f"{reply.status}")
        stats.violation(f"server error: {describe(call, reply)}")
        return
    allowed = call.accept.get(reply.status, set())
    expected = allowed is None or reply.code in allowed
    if expected:
        stats.outcome(call.action, "acknowledged" if reply.ok else f"{reply.status} {reply.code}")
    else:
        stats.outcome(call.action, f"unexpected {reply.status} {reply.code or ''}".strip())
        stats.violation(f"unexpected answer to {call.action}: {describe(call, reply)}")
    if call.replay_of is not None:
        check_replay(call, reply, stats)
    elif reply.ok:
        note_acknowledged(call, reply, ledger, rng)
    elif expected:
        note_refused(call, reply, ledger)


def check_replay(call: Call, reply: Reply, stats: Stats) -> None:
    first = call.replay_of
    assert first is not None
    if reply.headers.get("idempotent-replayed") != "true":
        stats.violation(f"a repeated key was not replayed (no Idempotent-Replayed): {describe(call, reply)}")
    if reply.status != first.status or reply.body != first.body:
        stats.violation(
            f"a replay differs from the first answer ({first.status} {json.dumps(first.body)[:300]}): "
            f"{describe(call, reply)}"
        )


def note_acknowledged(call: Call, reply: Reply, ledger: Ledger, rng: random.Random) -> None:
    if call.method != "POST":
        return
    answer = reply.body if isinstance(reply.body, dict) else {}
    ledger.keep_replayable(rng, call, reply)
    ledger.note_environment(call.instance, reply)
    operation = call.operation
    with ledger.lock:
        if call.records == "deployment":
            ledger.deployments[call.body["record_id"]] = call.body
        elif call.records == "observation":
            ledger.observations[answer.get("observation_id")] = (call.instance, call.body)
        elif call.records in {"start", "one_shot"}:
            one_shot = call.records == "one_shot"
            operation_id = answer.get("operation_id", "")
            started_at = call.body.get("result", {}).get("started_at")
            known = ledger.operations.setdefault(
                operation_id, Operation(operation_id, call.instance, one_shot, sent_started_at=started_at)
            )
            ledger.start_keys[call.key or ""] = operation_id
            timeout = call.body.get("timeout_seconds", 3600)
            if timeout <= SHORT_DEADLINE_MAX and not known.quiet_until:
                known.quiet_until = time.monotonic() + timeout + 0.5
            if not one_shot and operation_id not in ledger.active[call.instance]:
                ledger.active[call.instance].append(known.operation_id)
        elif call.records == "resolution" and operation is not None:
            operation.resolutions.append((call.action, call.key or ""))
            if operation.operation_id in ledger.active[operation.instance]:
                ledger.active[operation.instance].remove(operation.operation_id)
        elif call.records == "event" and operation is not None and call.body.get("data_mutated") is True:
            operation.known_mutated = True  # data changed for good: false is refused from now on


def note_refused(call: Call, reply: Reply, ledger: Ledger) -> None:
    if call.records in {"start", "one_shot"}:
        with ledger.lock:
            ledger.refused_start_keys.add(call.key or "")
            # The active one may be a start whose answer the soak never heard: aim at it too.
            error = reply.body.get("error", {}) if isinstance(reply.body, dict) else {}
            operation = ledger.operations.get(error.get("active_operation_id") or "")
            if operation is not None and operation.left_active:
                ops = ledger.active[operation.instance]
                if operation.operation_id not in ops:
                    ops.append(operation.operation_id)
    elif reply.code == "operation_finished" and call.operation is not None:
        ledger.forget_active(call.operation)


def note_unanswered(call: Call, ledger: Ledger) -> None:
    """A write with no definite answer may or may not be stored; the books allow for either."""
    with ledger.lock:
        if call.records == "deployment":
            ledger.unanswered_deployments.add(call.body["record_id"])
        elif call.records == "observation":
            ledger.unanswered_observations += 1
        elif call.records in {"start", "one_shot"}:
            ledger.unanswered_start_keys.add(call.key or "")
        elif call.records == "resolution" and call.operation is not None:
            call.operation.uncertain = True


def run_load(client: Client, config: Config, ledger: Ledger, stats: Stats) -> float:
    """Run the client threads until time or the request budget is spent; returns the elapsed seconds."""
    started = time.monotonic()
    deadline = started + config.seconds

    def worker(index: int) -> None:
        workload = Workload(index, config.seed, ledger)
        retry_rng = random.Random(f"{config.seed}:retry:{index}")
        while time.monotonic() < deadline:
            with stats.lock:
                if stats.requests >= config.max_requests:
                    return
            call = workload.next_call()
            try:
                reply = execute(client, call, retry_rng, stats)
                settle(call, reply, ledger, stats, workload.rng)
            except Exception as exc:  # a bug in the soak itself must not hide as a quiet thread
                stats.violation(f"soak client error {type(exc).__name__}: {exc} while {describe(call, None)}")

    threads = [threading.Thread(target=worker, args=(i,), name=f"soak-{i}", daemon=True) for i in range(config.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def create_environments(client: Client) -> None:
    """The 20 environments, with a spread of required checks and identity requirements."""
    for number, instance in enumerate(ENVIRONMENTS, start=1):
        body: dict[str, Any] = {"context": CONTEXT, "instance": instance}
        if number % 4 == 1:
            body["required_checks"] = ["health"]
        elif number % 4 == 2:
            body["required_checks"] = ["health", "canonical"]
        if number % 3 == 0:
            body["requires_runtime_identity"] = False
        reply = client.send("POST", f"{API}/environments/", body, key=f"soak-create-{instance}")
        if reply.status != 201:
            raise SetupError(f"Creating {CONTEXT}/{instance} answered {reply.status}: {reply.body}")


# ---------------------------------------------------------------------------------------------------
# The books: what the database says afterwards
# ---------------------------------------------------------------------------------------------------


@dataclass
class Books:
    """What the database holds for the soak's environments, read once after the load."""

    deployments: dict[str, dict[str, Any]]
    observations: dict[int, dict[str, Any]]
    operations: dict[str, dict[str, Any]]
    transitions: dict[int, list[dict[str, Any]]]  # environment id -> its history, in insertion order
    inventories: list[Any]


def read_books(env: dict[str, str]) -> Books:
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE")})
    import django

    django.setup()
    from bootstraps.models import BootstrapOperation
    from inventory.models import DeploymentRecord, EnvironmentInventory, InventoryTransition, RuntimeObservation

    in_soak = {"environment__context": CONTEXT}
    deployments = DeploymentRecord.objects.filter(**in_soak).values(
        "record_id",
        "environment_id",
        "environment__instance",
        "sequence",
        "inventory_effect",
        "artifact_id",
        "source_git_ref",
        "image_digest",
        "deploy_status",
        "post_deploy_status",
        "health_status",
        "started_at",
        "finished_at",
        "observed_runtime_identity",
    )
    observations = RuntimeObservation.objects.filter(**in_soak).values(
        "pk",
        "environment_id",
        "environment__instance",
        "sequence",
        "inventory_effect",
        "source",
        "observed_at",
        "observed_runtime_identity",
    )
    operations = BootstrapOperation.objects.filter(**in_soak).values(
        "operation_id",
        "environment_id",
        "environment__instance",
        "sequence",
        "idempotency_key",
        "status",
        "inventory_effect",
        "late",
        "started_at",
    )
    transitions: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in (
        InventoryTransition.objects.filter(**in_soak)
        .order_by("pk")
        .values(
            "environment_id",
            "sequence",
            "to_state",
            "deployment_state",
            "data_state",
            "effect",
            "cause_type",
            "cause_id",
        )
    ):
        transitions[row["environment_id"]].append(row)
    inventories = EnvironmentInventory.objects.filter(**in_soak).select_related(
        "environment", "lkg_deployment", "lkg_bootstrap", "last_bootstrap", "current_deployment"
    )
    return Books(
        deployments={row["record_id"]: row for row in deployments},
        observations={row["pk"]: row for row in observations},
        operations={row["operation_id"]: row for row in operations},
        transitions=transitions,
        inventories=list(inventories),
    )


def as_stored(body: dict[str, Any], name: str, default: Any = None) -> Any:
    """What the server should have stored for a body field: timestamps as datetimes, defaults filled in."""
    value = body.get(name, default)
    if name in {"started_at", "finished_at", "observed_at"}:
        return datetime.fromisoformat(value)
    return value


def check_deployments(ledger: Ledger, books: Books) -> list[str]:
    """Each acknowledged deployment stored once, whole and exactly as sent; nothing else stored."""
    problems = []
    defaults = {"image_digest": "", "post_deploy_status": "not_run", "health_status": "not_run"}
    fields = ["artifact_id", "source_git_ref", "deploy_status", "started_at", "finished_at", *defaults]
    for record_id, body in ledger.deployments.items():
        row = books.deployments.get(record_id)
        if row is None:
            problems.append(f"acknowledged deployment {record_id} is not stored")
            continue
        differ = [name for name in fields if row[name] != as_stored(body, name, defaults.get(name))]
        if row["observed_runtime_identity"] != body.get("observed_runtime_identity"):
            differ.append("observed_runtime_identity")
        if row["environment__instance"] != body["instance"]:
            differ.append("instance")
        if differ:
            problems.append(f"deployment {record_id} is not stored as sent: {', '.join(differ)} differ")
    for record_id in set(books.deployments) - set(ledger.deployments) - ledger.unanswered_deployments:
        problems.append(f"deployment {record_id} is stored but was never acknowledged")
    return problems


def check_observations(ledger: Ledger, books: Books) -> list[str]:
    """Each acknowledged observation stored as sent; no more stored than were acknowledged."""
    problems = []
    for observation_id, (instance, body) in ledger.observations.items():
        row = books.observations.get(observation_id)
        if row is None:
            problems.append(f"acknowledged observation {observation_id} is not stored")
            continue
        differ = [name for name in ("source", "observed_at") if row[name] != as_stored(body, name)]
        if row["observed_runtime_identity"] != body.get("observed_runtime_identity"):
            differ.append("observed_runtime_identity")
        if row["environment__instance"] != instance:
            differ.append("instance")
        if differ:
            problems.append(f"observation {observation_id} is not stored as sent: {', '.join(differ)} differ")
    extra = len(set(books.observations) - set(ledger.observations))
    if extra > ledger.unanswered_observations:
        problems.append(
            f"{extra} observations are stored that were never acknowledged "
            f"({ledger.unanswered_observations} went unanswered)"
        )
    return problems


def check_operations(ledger: Ledger, books: Books) -> list[str]:
    """One operation per acknowledged start, none for a refused one; none left active that the soak
    did not leave active; what the soak finished or cancelled reads so, and was ended once."""
    problems = []
    for key, count in Counter(row["idempotency_key"] for row in books.operations.values()).items():
        if count > 1:
            problems.append(f"Idempotency-Key {key} started {count} operations")
    for key, operation_id in ledger.start_keys.items():
        row = books.operations.get(operation_id)
        if row is None:
            problems.append(f"acknowledged operation {operation_id} (key {key}) is not stored")
        elif row["idempotency_key"] != key:
            problems.append(f"operation {operation_id} is stored under key {row['idempotency_key']}, not {key}")
    for operation_id, row in books.operations.items():
        key = row["idempotency_key"]
        operation = ledger.operations.get(operation_id)
        if operation is None and key not in ledger.unanswered_start_keys:
            why = "was refused" if key in ledger.refused_start_keys else "was never acknowledged"
            problems.append(f"operation {operation_id} (key {key}) is stored but its start {why}")
        # Left active by the soak: never ended, or ended by a request that got no answer.
        soak_left_it = (
            operation.left_active or operation.uncertain if operation else key in ledger.unanswered_start_keys
        )
        if row["status"] in ACTIVE_STATUSES and not soak_left_it:
            problems.append(f"operation {operation_id} is left {row['status']}, but not by the soak")
    for operation in ledger.operations.values():
        row = books.operations.get(operation.operation_id)
        if row is None:
            continue
        if operation.sent_started_at and row["started_at"] != datetime.fromisoformat(operation.sent_started_at):
            problems.append(f"one-shot {operation.operation_id} does not keep the started_at it was sent")
        if not operation.resolutions:
            continue
        if len(operation.resolutions) > 1:
            problems.append(f"operation {operation.operation_id} was ended twice: {operation.resolutions}")
        action = operation.resolutions[0][0]
        expected = "cancelled" if action == "cancel" else "finished"
        if row["status"] != expected:
            problems.append(f"operation {operation.operation_id} got a 2xx {action} but reads {row['status']}")
    return problems


def check_environments(books: Books) -> list[str]:
    """Per environment: history, server order, inventory pointers, last known good."""
    problems = []
    numbers: dict[int, list[int]] = defaultdict(list)
    for rows in (books.deployments.values(), books.observations.values(), books.operations.values()):
        for row in rows:
            numbers[row["environment_id"]].append(row["sequence"])
    for inventory in books.inventories:
        name = f"{CONTEXT}/{inventory.environment.instance}"
        history = books.transitions.get(inventory.environment_id, [])
        sequences = [row["sequence"] for row in history]
        if any(later <= earlier for earlier, later in pairwise(sequences)):
            problems.append(f"{name}: history sequence is not strictly increasing in insertion order")
        # Records and transitions draw from one counter per environment (rule 12: no lost update).
        used = sequences + numbers[inventory.environment_id]
        repeated = sorted(n for n, count in Counter(used).items() if count > 1)
        if repeated:
            problems.append(f"{name}: sequence numbers used twice: {repeated[:10]}")
        if used and max(used) != inventory.last_sequence:
            problems.append(f"{name}: last_sequence is {inventory.last_sequence}, the highest number {max(used)}")
        sides = (inventory.state, inventory.deployment_state, inventory.data_state)
        last = history[-1] if history else None
        expected = (last["to_state"], last["deployment_state"], last["data_state"]) if last else INITIAL_SIDES
        if sides != expected:
            problems.append(f"{name}: inventory reads {sides}, its newest transition says {expected}")
        advanced = [row for row in history if row["effect"] == "advanced"]
        problems += check_last_known_good(name, inventory, advanced[-1] if advanced else None)
        starts = [row for row in books.operations.values() if row["environment_id"] == inventory.environment_id]
        newest = max(starts, key=lambda row: row["sequence"])["operation_id"] if starts else None
        pointed = inventory.last_bootstrap.operation_id if inventory.last_bootstrap_id else None
        if newest != pointed:
            problems.append(f"{name}: last_bootstrap is {pointed}, the newest start is {newest}")
        if inventory.current_deployment_id and inventory.current_deployment.deploy_status != "pass":
            problems.append(f"{name}: current deployment {inventory.current_deployment.record_id} did not pass")
    return problems


def check_last_known_good(name: str, inventory: Any, newest_advanced: dict[str, Any] | None) -> list[str]:
    """Rule 3: last known good is what the newest ``advanced`` transition made it, and nothing else."""
    deployment = inventory.lkg_deployment.record_id if inventory.lkg_deployment_id else None
    bootstrap = inventory.lkg_bootstrap.operation_id if inventory.lkg_bootstrap_id else None
    if newest_advanced is None:
        if deployment or bootstrap or inventory.lkg_verified_at:
            return [f"{name}: last known good is set ({deployment}, {bootstrap}) but nothing ever advanced"]
        return []
    cause, cause_id = newest_advanced["cause_type"], newest_advanced["cause_id"]
    if inventory.lkg_verified_at is None:
        return [f"{name}: {cause} {cause_id} advanced but last known good has no verification time"]
    if cause == "deployment" and deployment != cause_id:
        return [f"{name}: deployment {cause_id} advanced last, but last known good names deployment {deployment}"]
    if cause == "bootstrap" and bootstrap != cause_id:
        return [f"{name}: bootstrap {cause_id} advanced last, but last known good names bootstrap {bootstrap}"]
    return []


def check_one_transition_per_record(books: Books) -> list[str]:
    """Rule 11: an applied record appends exactly one transition, a superseded one none."""
    found = Counter((row["cause_type"], row["cause_id"]) for rows in books.transitions.values() for row in rows)
    expected: Counter[tuple[str, str]] = Counter()
    for record_id, row in books.deployments.items():
        if row["inventory_effect"] != "superseded":
            expected[("deployment", record_id)] += 1
    for pk, row in books.observations.items():
        if row["inventory_effect"] != "superseded":
            expected[("observation", str(pk))] += 1
    for operation_id, row in books.operations.items():
        if not row["idempotency_key"].startswith(ONE_SHOT_KEY_PREFIX):
            expected[("bootstrap", operation_id)] += 1  # its start; a one-shot appends one in all
        if row["status"] == "finished" and row["inventory_effect"] != "superseded":
            expected[("bootstrap", operation_id)] += 1  # its result
        if row["status"] == "cancelled":
            expected[("cancel", operation_id)] += 1
        if row["status"] == "timed_out" or row["late"]:
            expected[("deadline", operation_id)] += 1
    return [
        f"{cause[0]} {cause[1]}: {found[cause]} transitions, expected {expected[cause]}"
        for cause in sorted(set(found) | set(expected))
        if found[cause] != expected[cause]
    ]


def check_books(ledger: Ledger, books: Books) -> list[str]:
    """Every invariant the soak can verify from the stored records; returns the violations."""
    return [
        *check_deployments(ledger, books),
        *check_observations(ledger, books),
        *check_operations(ledger, books),
        *check_environments(books),
        *check_one_transition_per_record(books),
    ]


def tally(values: Any) -> str:
    return ", ".join(f"{value} {n}" for value, n in sorted(Counter(values).items()))


def books_figures(books: Books) -> list[str]:
    """What is stored, by outcome: shows which paths the mix really took (deadlines, late results…)."""
    deployments, observations = books.deployments.values(), books.observations.values()
    operations = list(books.operations.values())
    transitions = [row for rows in books.transitions.values() for row in rows]
    late = sum(1 for row in operations if row["late"])
    return [
        f"    deployments    {len(deployments)}: {tally(row['inventory_effect'] for row in deployments)}",
        f"    observations   {len(observations)}: {tally(row['inventory_effect'] for row in observations)}",
        f"    operations     {len(operations)}: {tally(row['status'] for row in operations)}; {late} late results",
        f"    transitions    {len(transitions)}: {tally(row['cause_type'] for row in transitions)}",
        f"    states now     {tally(inventory.state for inventory in books.inventories)}",
    ]


def scan_log(log_path: Path) -> list[str]:
    """Errors the server logged (a 5xx the client never saw, because it had stopped waiting, shows here)."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    problems = []
    errors = len(re.findall(r"^Internal Server Error", text, flags=re.MULTILINE))
    if errors:
        problems.append(f"the server logged {errors} 'Internal Server Error' (see {log_path})")
    timeouts = text.count("WORKER TIMEOUT")
    if timeouts:
        problems.append(f"gunicorn killed {timeouts} worker(s) for timing out (see {log_path})")
    tracebacks = text.count("Traceback (most recent call last)")
    if tracebacks and not errors:
        problems.append(f"the server logged {tracebacks} traceback(s) (see {log_path})")
    return problems


# ---------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------


def report(config: Config, stats: Stats, ledger: Ledger, books: Books, elapsed: float, violations: list[str]) -> str:
    latencies = sorted(stats.latencies)
    p50, p95, p99 = (percentile(latencies, f) * 1000 for f in (0.50, 0.95, 0.99))
    slowest = latencies[-1] * 1000 if latencies else 0.0
    rate = stats.requests / elapsed if elapsed else 0.0
    retries = ", ".join(f"{reason} {n}" for reason, n in sorted(stats.retries.items()))
    left_active = sum(1 for op in ledger.operations.values() if op.left_active)
    lines = [
        "",
        f"soak figures (seed {config.seed}, {config.threads} clients, {config.workers} gunicorn sync workers)",
        f"  duration        {elapsed:.1f} s",
        f"  requests        {stats.requests} ({rate:.1f} req/s), every attempt counted",
        f"  latency         p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, max {slowest:.1f} ms",
        f"  retries         {sum(stats.retries.values())}" + (f" ({retries})" if retries else ""),
        f"  acknowledged    {len(ledger.deployments)} deployments, {len(ledger.observations)} observations, "
        f"{len(ledger.operations)} operations ({left_active} left active by the soak)",
        f"  5xx answers     {stats.server_errors}",
        "",
        "  per endpoint and status (every attempt):",
    ]
    for endpoint in sorted({endpoint for endpoint, _ in stats.by_endpoint}):
        statuses = sorted((status, n) for (e, status), n in stats.by_endpoint.items() if e == endpoint)
        lines.append(f"    {endpoint:<42} " + ", ".join(f"{status}: {n}" for status, n in statuses))
    lines += ["", "  per action and outcome (after retries):"]
    for action in sorted({action for action, _ in stats.outcomes}):
        outcomes = sorted((outcome, n) for (a, outcome), n in stats.outcomes.items() if a == action)
        lines.append(f"    {action:<18} " + ", ".join(f"{outcome}: {n}" for outcome, n in outcomes))
    lines += ["", "  stored, by outcome:", *books_figures(books)]
    lines += ["", f"  violations      {len(violations)}"]
    lines += [f"    - {violation}" for violation in violations[:40]]
    if len(violations) > 40:
        lines.append(f"    … and {len(violations) - 40} more")
    lines += ["", f"soak: {stats.requests} requests, {rate:.0f} req/s, p99 {p99:.0f} ms, {len(violations)} violations"]
    return "\n".join(lines)


def main() -> int:
    config = Config.from_env()
    log_path = Path(tempfile.mkdtemp(prefix="launchplane-soak-")) / "gunicorn.log"
    env = app_environment(config.database_url, secret_key=secrets.token_urlsafe(48))
    stats, ledger = Stats(), Ledger()
    try:
        print(f"soak: recreating {urlsplit(config.database_url).path.lstrip('/')} and migrating", flush=True)
        recreate_database(config.database_url, marker="soak", setting="SOAK_DATABASE_URL")
        manage(env, "migrate", "--noinput")
        token = manage(env, "create_api_client", CONTEXT, "--context", CONTEXT).strip().splitlines()[-1].strip()
        port = free_port()
        with gunicorn(env, port, config.workers, log_path) as process:
            client = Client(port, token)
            wait_until_ready(client, process, log_path)
            create_environments(client)
            print(
                f"soak: gunicorn on {LOOPBACK}:{port} (log {log_path}); {config.threads} clients for "
                f"{config.seconds:.0f} s, at most {config.max_requests} requests",
                flush=True,
            )
            elapsed = run_load(client, config, ledger, stats)
            if process.poll() is not None:
                stats.violation(f"gunicorn exited during the soak with status {process.returncode}")
    except SetupError as exc:
        print(f"soak: setup failed: {exc}", file=sys.stderr)
        return 2
    # The server has stopped (in-flight requests finished): the books are final.
    books = read_books(env)
    violations = [*stats.violations, *check_books(ledger, books), *scan_log(log_path)]
    print(report(config, stats, ledger, books, elapsed, violations))
    if violations:
        print(f"\nlast lines of {log_path}:\n{tail(log_path)}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
