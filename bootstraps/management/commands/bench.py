"""python manage.py bench [--environments N] [--rounds R]: measure the hot paths against their targets.

Everything runs inside one transaction that is rolled back at the end, so the benchmark never leaves
data behind. Times are wall-clock medians and 95th percentiles over ``--rounds`` calls; query counts
are exact. The targets are in docs/performance.md; a missed target makes the command fail.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bootstraps.services import BootstrapResult, run_bootstrap_once
from inventory.rules import IdentityInput
from inventory.services import create_environment, record_deployment
from launchplane.models import ApiClient


class Rollback(Exception):
    """Raised to roll the benchmark's transaction back."""


@dataclass(frozen=True)
class Measure:
    name: str
    median_ms: float
    p95_ms: float
    queries: int
    target_p95_ms: float
    target_queries: int | None = None

    @property
    def ok(self) -> bool:
        return self.p95_ms <= self.target_p95_ms and (
            self.target_queries is None or self.queries <= self.target_queries
        )


def measure(
    name: str, call: Callable[[int], object], rounds: int, target_ms: float, target_queries: int | None = None
) -> Measure:
    timings = []
    queries = 0
    for round_ in range(rounds):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call(round_)
            timings.append((time.perf_counter() - started) * 1000)
        queries = max(queries, len(captured.captured_queries))
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return Measure(name, statistics.median(timings), p95, queries, target_ms, target_queries)


class Command(BaseCommand):
    help = "Benchmark recording and reading against the targets in docs/performance.md (leaves no data)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--environments", type=int, default=200)
        parser.add_argument("--rounds", type=int, default=30)

    def handle(self, *args, environments: int, rounds: int, **options) -> None:
        if environments < 1 or rounds < 2:
            raise CommandError("--environments must be at least 1 and --rounds at least 2.")
        results: list[Measure] = []
        try:
            with transaction.atomic():
                results = self.run(environments, rounds)
                raise Rollback
        except Rollback:
            pass
        self.stdout.write(f"Launchplane bench on {connection.vendor}, {environments} environments, {rounds} rounds")
        self.stdout.write(f"{'measure':<44} {'median ms':>10} {'p95 ms':>8} {'target':>8} {'queries':>8}  ok")
        for m in results:
            target_q = f"/{m.target_queries}" if m.target_queries is not None else ""
            self.stdout.write(
                f"{m.name:<44} {m.median_ms:>10.1f} {m.p95_ms:>8.1f} {m.target_p95_ms:>8.0f} "
                f"{str(m.queries) + target_q:>8}  {'yes' if m.ok else 'NO'}"
            )
        missed = [m.name for m in results if not m.ok]
        if missed:
            raise CommandError(f"Missed targets: {', '.join(missed)}")

    def run(self, environments: int, rounds: int) -> list[Measure]:
        now = timezone.now()
        envs = [create_environment(context="bench", instance=f"lane-{i}") for i in range(environments)]
        target = envs[0]
        user = get_user_model().objects.create_superuser("bench-admin", password="bench-password")
        _client, token = ApiClient.issue("bench", contexts=["bench"])
        api = Client(HTTP_AUTHORIZATION=f"Bearer {token}", SERVER_NAME="localhost")
        pages = Client(SERVER_NAME="localhost")
        pages.force_login(user)

        def deploy(round_: int):
            record_id = f"bench-{round_}"
            identity = {
                "context": "bench",
                "instance": target.instance,
                "deployment_record_id": record_id,
                "artifact_id": f"a-{round_}",
                "source_git_ref": "main",
            }
            finished = now + timedelta(seconds=round_)
            record_deployment(
                target,
                record_id=record_id,
                artifact_id=f"a-{round_}",
                source_git_ref="main",
                deploy_status="pass",
                post_deploy_status="pass",
                health_status="pass",
                started_at=finished,
                finished_at=finished,
                identity=IdentityInput(sent=True, value=identity),
                actor="bench",
                now=finished,
            )

        def bootstrap(round_: int):
            result = BootstrapResult("pass", True, "pass", "pass", "pass", "pass")
            run_bootstrap_once(envs[1 % len(envs)], result, data_source="empty", actor="bench")

        def get(client: Client, url: str):
            def call(_round: int):
                response = client.get(url)
                if response.status_code != 200:
                    raise CommandError(f"GET {url} answered {response.status_code}")

            return call

        return [
            measure("record_deployment (service)", deploy, rounds, 50, 30),
            measure("one-shot bootstrap (service)", bootstrap, rounds, 60, 40),
            measure(
                "GET environment read model (API)",
                get(api, f"/api/v1/environments/bench/{target.instance}/"),
                rounds,
                80,
                20,
            ),
            measure(
                f"GET environments list, page of 50 of {environments} (API)",
                get(api, "/api/v1/environments/"),
                rounds,
                250,
                20,
            ),
            measure("GET deployments list (API)", get(api, "/api/v1/deployments/"), rounds, 150, 20),
            measure(f"GET board page, {environments} environments", get(pages, "/"), rounds, 400, 15),
            measure(
                "GET environment detail page", get(pages, f"/environments/bench/{target.instance}/"), rounds, 200, 40
            ),
            measure(
                "GET history (API)", get(api, f"/api/v1/environments/bench/{target.instance}/history/"), rounds, 120, 20
            ),
        ]
