"""``python manage.py seed_scale --environments N --records M [--context-count K] [--prefix P]``: a data set at
size, for benchmarks and for trying the app with thousands of environments.

N environments dealt round K contexts (``P-01`` … ``P-K``), every state and every freshness among them
(``bootstraps.demo.scale``), each with M records of history recorded through the services — deployments,
one-shot and two-step bootstraps, cancels, observations — so every invariant holds. One transaction per
environment. It refuses to seed into a database that already has environments under the prefix's
contexts: choose another ``--prefix``.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from bootstraps.demo.scale import DISTINCT, environment_name, existing, profile_of, seed_scale_environment

PREFIX = re.compile(r"^[a-z0-9][a-z0-9_-]{0,50}\Z")  # leaves room for "-NN" in a 63-character context slug
MAX_ENVIRONMENTS = 100_000
MAX_RECORDS = 1_000
MAX_CONTEXTS = 99


class Command(BaseCommand):
    help = (
        "Create N environments in every state and freshness, each with M records of history recorded "
        "through the services (a scale data set for benchmarks)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--environments", type=int, required=True, help=f"How many (1 to {MAX_ENVIRONMENTS}).")
        parser.add_argument(
            "--records", type=int, required=True, help=f"Records of history per environment (1 to {MAX_RECORDS})."
        )
        parser.add_argument("--context-count", type=int, default=5, help="Contexts to spread them over (default 5).")
        parser.add_argument(
            "--prefix", default="scale", help="Contexts are named PREFIX-01, PREFIX-02… (default scale)."
        )

    def handle(
        self, *args: Any, environments: int, records: int, context_count: int, prefix: str, **options: Any
    ) -> None:
        if not 1 <= environments <= MAX_ENVIRONMENTS:
            raise CommandError(f"--environments must be between 1 and {MAX_ENVIRONMENTS}, not {environments}.")
        if not 1 <= records <= MAX_RECORDS:
            raise CommandError(f"--records must be between 1 and {MAX_RECORDS}, not {records}.")
        if not 1 <= context_count <= MAX_CONTEXTS:
            raise CommandError(f"--context-count must be between 1 and {MAX_CONTEXTS}, not {context_count}.")
        if not PREFIX.match(prefix):
            raise CommandError(f"--prefix must be a lowercase slug of at most 51 characters, not {prefix!r}.")
        found = existing(prefix)
        if found:
            raise CommandError(
                f"{found} environments already exist under the contexts {prefix}-*; "
                "seed into an empty database or choose another --prefix."
            )
        if environments < len(DISTINCT):
            self.stderr.write(f"Note: every state and freshness appears from {len(DISTINCT)} environments on.")
        now = timezone.now()
        started = time.perf_counter()
        applied = 0
        for index in range(environments):
            context, instance = environment_name(prefix, index, context_count)
            # Spread each state's changes over ten minutes, so the board's "oldest first" has an order.
            offset = timedelta(seconds=index % 600)
            applied += seed_scale_environment(
                context, instance, profile_of(index), records=records, now=now, offset=offset
            )
            if (index + 1) % 250 == 0 and index + 1 < environments:
                self.stdout.write(f"  {index + 1} environments…")
        elapsed = time.perf_counter() - started
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # The planner's statistics, as autovacuum would have them a minute later: without them it
            # takes tables that just grew a thousandfold for empty ones.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.stdout.write(
            f"Seeded {environments} environments over {context_count} contexts ({prefix}-01…) with {applied} "
            f"records in {elapsed:.1f} s ({applied / elapsed if elapsed else 0:.0f} records/s)."
        )
