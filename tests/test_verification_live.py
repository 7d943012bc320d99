"""Verification end to end, as production runs it: gunicorn, ``db_worker`` and ``sweep --loop`` as
separate processes on a database of their own, a fake Odoo runtime on loopback (pytest-httpserver),
and an automation client talking HTTP only.

Each scenario creates an environment whose ``base_url`` points at its own paths on the fake runtime,
records a deployment whose post-deploy step did not run (so it is ``unverified`` and, with
``verify_after_records``, a run is queued at once), and waits for the worker to apply the run. Only
loopback is contacted; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

# One app stack for the module: its tests stay on one xdist worker (make test uses --dist loadgroup).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("verification-live")]

ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 30.0
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class App:
    url: str
    token: str
    logs: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def manage(self, *args: str) -> str:
        """Run a management command against the app's database; returns its output."""
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def stop(self, prefix: str) -> None:
        """Stop the processes whose name starts with ``prefix`` (the web server keeps answering)."""
        for name, process in self.processes.items():
            if name.startswith(prefix):
                process.terminate()
                process.wait(timeout=10)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)


def database_url(tmp: Path) -> tuple[str, Callable[[], None]]:
    """A database of the app's own: a PostgreSQL one when the suite runs on PostgreSQL, else a file."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{tmp / 'live.sqlite3'}", lambda: None
    import psycopg

    name = f"launchplane_live_{uuid.uuid4().hex[:8]}"
    server = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{server}/{name}", drop


@contextmanager
def launch(tmp: Path, *, workers: int = 1, sweepers: int = 1, settings: dict[str, str] | None = None) -> Iterator[App]:
    """gunicorn, ``workers`` db_workers and ``sweepers`` sweepers on a database of their own
    (``settings``: more environment variables for all of them)."""
    url, drop = database_url(tmp)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "1",
        "SECRET_KEY": "launchplane-live-test-only",
        "PYTHONUNBUFFERED": "1",
        **(settings or {}),
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, cwd=ROOT, check=True, capture_output=True)
    created = subprocess.run(
        [*manage, "create_api_client", "live", "--context", "cm"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    token = created.stdout.strip().splitlines()[-1]
    port = free_port()
    web = [sys.executable, "-m", "gunicorn", "launchplane.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    commands = {"web": web}
    for number in range(workers):
        commands[f"worker-{number}"] = [*manage, "db_worker", "--interval", "0.2", "--no-startup-delay", "--no-reload"]
    for number in range(sweepers):
        commands[f"sweeper-{number}"] = [*manage, "sweep", "--loop", "--interval", "0.5"]
    processes = {}
    for name, command in commands.items():
        log = (tmp / f"{name}.log").open("w")
        processes[name] = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    live = App(f"http://127.0.0.1:{port}", token, tmp, processes, env)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                if live.client().get("/api/v1/environments/").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the web server did not start"
            time.sleep(0.2)
        yield live
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        drop()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    with launch(tmp_path_factory.mktemp("live")) as live:
        yield live


def identity(instance: str, record_id: str, **overrides: str) -> dict[str, str]:
    return {
        "context": "cm",
        "instance": instance,
        "deployment_record_id": record_id,
        "artifact_id": f"artifact-{record_id}",
        "source_git_ref": "refs/heads/main",
        **overrides,
    }


def runtime(httpserver, name: str, *, health: Any, homepage: str | None = None, logo: tuple[int, str] = (200, "png")):
    """Serve one fake Odoo runtime under ``/<name>``; returns its base URL."""
    base = httpserver.url_for(f"/{name}").rstrip("/")
    if isinstance(health, dict | list) or health is None:
        httpserver.expect_request(f"/{name}/web/health").respond_with_json(health)
    else:
        httpserver.expect_request(f"/{name}/web/health").respond_with_data(health, content_type="text/plain")
    page = homepage if homepage is not None else f'<html><head><link rel="canonical" href="{base}/"></head></html>'
    httpserver.expect_request(f"/{name}").respond_with_data(page, content_type="text/html")
    status, kind = logo
    if kind == "png":
        httpserver.expect_request(f"/{name}/web/image/website/1/logo").respond_with_data(
            PNG, status=status, content_type="image/png"
        )
    else:
        httpserver.expect_request(f"/{name}/web/image/website/1/logo").respond_with_data(
            "<html>Not found</html>", status=status, content_type="text/html"
        )
    return base


def deploy_unverified(app: App, instance: str, base_url: str, **settings: Any) -> dict[str, Any]:
    """Create the environment and record a deployment whose post-deploy step did not run."""
    with app.client() as http:
        created = http.post(
            "/api/v1/environments/",
            json={
                "context": "cm",
                "instance": instance,
                "base_url": base_url,
                "verification_timeout_seconds": 3,
                "verification_interval_seconds": 0,
                **settings,
            },
        )
        assert created.status_code == 201, created.text
        record_id = f"dep-{instance}"
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        recorded = http.post(
            "/api/v1/deployments/",
            json={
                "context": "cm",
                "instance": instance,
                "record_id": record_id,
                "artifact_id": f"artifact-{record_id}",
                "source_git_ref": "refs/heads/main",
                "deploy_status": "pass",
                "post_deploy_status": "not_run",
                "health_status": "pass",
                "started_at": now,
                "finished_at": now,
                "observed_runtime_identity": identity(instance, record_id),
            },
        )
        assert recorded.status_code == 201, recorded.text
        # The deployment itself left the artifact side unverified (a fast worker may already have applied
        # the run it queued by the time the answer is built).
        assert recorded.json()["inventory_effect"] == "marked"
        return recorded.json()


def wait_for_verification(app: App, instance: str) -> dict[str, Any]:
    """The read model once a run has been applied (``last_verification`` set)."""
    deadline = time.monotonic() + WAIT_SECONDS
    with app.client() as http:
        while True:
            body = http.get(f"/api/v1/environments/cm/{instance}/").json()
            if body["last_verification"] is not None:
                return body
            if time.monotonic() > deadline:
                logs = {path.name: path.read_text()[-3000:] for path in app.logs.glob("*.log")}
                raise AssertionError(f"no verification applied for cm/{instance}: {json.dumps(logs, indent=1)}")
            time.sleep(0.2)


def run_of(app: App, body: dict[str, Any]) -> dict[str, Any]:
    with app.client() as http:
        return http.get(f"/api/v1/verifications/{body['last_verification']['run_id']}/").json()


def history_causes(app: App, instance: str) -> list[str]:
    with app.client() as http:
        return [
            item["cause_type"] for item in http.get(f"/api/v1/environments/cm/{instance}/history/").json()["results"]
        ]


def test_a_healthy_runtime_brings_an_unverified_environment_to_current(app, httpserver) -> None:
    base = runtime(
        httpserver, "healthy", health={"status": "pass", "runtime_identity": identity("healthy", "dep-healthy")}
    )
    deploy_unverified(app, "healthy", base)

    body = wait_for_verification(app, "healthy")

    assert (body["state"], body["freshness"]) == ("current", "verified")
    assert body["last_known_good"]["deployment_record_id"] == "dep-healthy"
    assert body["last_verification"]["trigger"] == "after_record"
    assert body["last_verification"]["inventory_effect"] == "advanced"
    assert history_causes(app, "healthy")[0] == "verification"
    run = run_of(app, body)
    assert [(probe["probe"], probe["status"]) for probe in run["probes"]] == [
        ("health", "pass"),
        ("canonical", "pass"),
        ("logo", "pass"),
    ]


def test_a_wrong_identity_marks_stale_inventory_with_the_differing_keys(app, httpserver) -> None:
    hotfix = identity("wrong", "dep-wrong", artifact_id="artifact-hotfix")
    base = runtime(httpserver, "wrong", health={"status": "ok", "runtime_identity": hotfix})
    deploy_unverified(app, "wrong", base)

    body = wait_for_verification(app, "wrong")

    assert body["state"] == "stale_inventory"
    assert body["runtime_identity_mismatches"] == ["artifact_id"]
    assert body["observed_runtime_identity"] == hotfix


def test_a_missing_identity_where_required_leaves_it_unverified(app, httpserver) -> None:
    base = runtime(httpserver, "anonymous", health={"status": "pass"})
    deploy_unverified(app, "anonymous", base)

    body = wait_for_verification(app, "anonymous")

    assert body["state"] == "unverified"
    assert body["last_verification"]["runtime_identity_status"] == "missing"


def test_a_missing_canonical_link_fails_verification_naming_it(app, httpserver) -> None:
    base = runtime(
        httpserver,
        "nocanonical",
        health={"status": "pass", "runtime_identity": identity("nocanonical", "dep-nocanonical")},
        homepage="<html><head><title>Odoo</title></head></html>",
    )
    deploy_unverified(app, "nocanonical", base)

    body = wait_for_verification(app, "nocanonical")

    assert body["state"] == "verification_failed"
    assert "canonical_missing" in body["state_reason"]
    canonical = next(probe for probe in run_of(app, body)["probes"] if probe["probe"] == "canonical")
    assert (canonical["status"], canonical["failure_class"]) == ("fail", "canonical_missing")


def test_a_preview_marker_fails_verification(app, httpserver) -> None:
    name = "preview"
    base = httpserver.url_for(f"/{name}").rstrip("/")
    runtime(
        httpserver,
        name,
        health={"status": "pass", "runtime_identity": identity(name, f"dep-{name}")},
        homepage=f'<html><head><link rel="canonical" href="{base}/"></head><body>PREVIEW BUILD</body></html>',
    )
    deploy_unverified(app, name, base, preview_marker="PREVIEW BUILD")

    body = wait_for_verification(app, name)

    assert body["state"] == "verification_failed"
    assert "stale_preview_marker" in body["state_reason"]


def test_an_optional_logo_failure_does_not_block_and_is_named(app, httpserver) -> None:
    base = runtime(
        httpserver,
        "nologo",
        health={"status": "pass", "runtime_identity": identity("nologo", "dep-nologo")},
        logo=(404, "html"),
    )
    deploy_unverified(app, "nologo", base, required_checks=["health", "canonical"])

    body = wait_for_verification(app, "nologo")

    assert body["state"] == "current"
    assert "logo check failed (html_404)" in body["state_reason"]


def test_a_dead_runtime_fails_within_the_budget(app) -> None:
    base = f"http://127.0.0.1:{free_port()}/dead"  # nothing listens there
    started = time.monotonic()
    deploy_unverified(app, "dead", base)

    body = wait_for_verification(app, "dead")

    assert time.monotonic() - started < 3 + 10  # the budget, plus the worker's and sweeper's polling
    assert body["state"] == "verification_failed"  # no answer to the health probe is a failed check
    health = run_of(app, body)["probes"][0]
    assert (health["status"], health["failure_class"]) == ("fail", "connect")


def test_verify_on_demand_answers_202_and_the_worker_applies_it(app, httpserver) -> None:
    name = "ondemand"
    base = runtime(httpserver, name, health={"status": "pass"})  # no identity yet: stays unverified
    deploy_unverified(app, name, base)
    first = wait_for_verification(app, name)
    assert first["state"] == "unverified"
    httpserver.clear()
    runtime(httpserver, name, health={"status": "pass", "runtime_identity": identity(name, f"dep-{name}")})

    with app.client() as http:
        queued = http.post(f"/api/v1/environments/cm/{name}/verify/")
    assert queued.status_code in (200, 202), queued.text
    deadline = time.monotonic() + WAIT_SECONDS
    with app.client() as http:
        while (body := http.get(f"/api/v1/environments/cm/{name}/").json())["state"] != "current":
            assert time.monotonic() < deadline, body
            time.sleep(0.2)
    assert body["last_verification"]["trigger"] == "api"


def test_the_schedule_keeps_a_short_ttl_environment_verified(app, httpserver) -> None:
    name = "scheduled"
    base = runtime(httpserver, name, health={"status": "pass", "runtime_identity": identity(name, f"dep-{name}")})
    deploy_unverified(app, name, base, verification_interval_seconds=2, verification_ttl_seconds=6)
    wait_for_verification(app, name)

    seen = []
    with app.client() as http:
        for _ in range(10):  # ten seconds, longer than the TTL
            body = http.get(f"/api/v1/environments/cm/{name}/").json()
            seen.append(body["freshness"])
            time.sleep(1)
        runs = http.get("/api/v1/verifications/", params={"instance": name, "status": "finished"}).json()

    assert set(seen) == {"verified"}, seen
    assert runs["count"] >= 3
    assert {run["trigger"] for run in runs["results"]} >= {"schedule"}


def test_two_workers_and_two_sweepers_run_each_run_exactly_once(tmp_path, httpserver) -> None:
    """On PostgreSQL (where several hosts share one database): every run is probed once and applied once."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    names = [f"busy-{number}" for number in range(12)]
    with launch(tmp_path, workers=2, sweepers=2) as live:
        for name in names:
            runtime(httpserver, name, health={"status": "pass", "runtime_identity": identity(name, f"dep-{name}")})
            deploy_unverified(live, name, httpserver.url_for(f"/{name}").rstrip("/"), verification_interval_seconds=1)
        time.sleep(6)  # the schedule queues a run per environment every second or so
        live.stop("sweeper")
        live.stop("worker")  # a run cut off mid-probe stays running: it was probed, never applied
        with live.client() as http:
            runs = []
            page = "/api/v1/verifications/?status=finished&page_size=100"
            while page:
                body = http.get(page).json()
                runs += body["results"]
                page = body["next"]
            histories = {
                name: http.get(f"/api/v1/environments/cm/{name}/history/", params={"page_size": 100}).json()["results"]
                for name in names
            }
    health_requests: dict[str, int] = {}
    for request, _response in httpserver.log:
        if request.path.endswith("/web/health"):
            name = request.path.split("/")[1]
            health_requests[name] = health_requests.get(name, 0) + 1
    finished = {name: [run for run in runs if run["instance"] == name] for name in names}
    for name in names:
        assert len(finished[name]) >= 2, (name, finished[name])
        # Probed once per run: one health request each (a run cut off at shutdown may add one).
        assert len(finished[name]) <= health_requests[name] <= len(finished[name]) + 1, name
        applied = [item["cause_id"] for item in histories[name] if item["cause_type"] == "verification"]
        assert len(applied) == len(set(applied)), name
        assert {run["run_id"] for run in finished[name] if run["inventory_effect"] != "superseded"} == set(applied)
