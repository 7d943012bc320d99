"""python manage.py sweep [--loop --interval N]: expire overdue operations and idempotency keys, abandon
verification runs whose worker died, queue the scheduled verification runs, announce freshness
crossings and hand waiting webhook deliveries to the worker again."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from bootstraps.services import expire_next
from inventory.services.verification import abandon_overdue_runs, queue_scheduled_runs
from launchplane.api.idempotency import expire_keys
from notifications.services import announce_freshness_crossings, requeue_due


class Command(BaseCommand):
    help = (
        "Time out bootstrap operations past their deadline, delete expired idempotency keys, abandon "
        "verification runs past their budget, queue scheduled verification runs, announce freshness "
        "changes and re-send lost webhook deliveries. Safe to run on several hosts at once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep sweeping, as a service.")
        parser.add_argument("--interval", type=float, default=10.0, help="Seconds between sweeps with --loop.")

    def handle(self, *args, loop: bool, interval: float, **options) -> None:
        if interval <= 0:
            raise CommandError("--interval must be a positive number of seconds.")
        while True:
            operations, keys = self.sweep_once()
            abandoned, queued = self.verify_once()
            announced, handed = self.notify_once()
            if operations or keys or options["verbosity"] > 1:
                self.stdout.write(f"Expired {operations} operations and {keys} idempotency keys.")
            if abandoned or queued or options["verbosity"] > 1:
                self.stdout.write(f"Abandoned {abandoned} verification runs and queued {queued} scheduled ones.")
            if announced or handed or options["verbosity"] > 1:
                self.stdout.write(
                    f"Announced {announced} freshness changes and handed over {handed} webhook deliveries."
                )
            if not loop:
                return
            time.sleep(interval)

    def sweep_once(self) -> tuple[int, int]:
        operations = 0
        while expired := expire_next(timezone.now()):
            operations += expired
        return operations, expire_keys()

    def verify_once(self) -> tuple[int, int]:
        """Abandon runs whose worker died (so the environment can be verified again), then queue the
        runs the schedule asks for. Each is one bounded unit of work."""
        now = timezone.now()
        return abandon_overdue_runs(now), queue_scheduled_runs(now)

    def notify_once(self) -> tuple[int, int]:
        """Announce freshness crossings into or out of ``stale``, then hand over the webhook deliveries
        whose task the backend lost (or that a dead worker held)."""
        now = timezone.now()
        return announce_freshness_crossings(now), requeue_due(now)
