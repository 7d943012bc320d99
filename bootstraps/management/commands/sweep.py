"""python manage.py sweep [--loop --interval N]: expire overdue operations and idempotency keys."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from bootstraps.services import expire_next
from launchplane.api.idempotency import expire_keys


class Command(BaseCommand):
    help = (
        "Time out bootstrap operations past their deadline and delete expired idempotency keys. "
        "Safe to run on several hosts at once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep sweeping, as a service.")
        parser.add_argument("--interval", type=float, default=30.0, help="Seconds between sweeps with --loop.")

    def handle(self, *args, loop: bool, interval: float, **options) -> None:
        if interval <= 0:
            raise CommandError("--interval must be a positive number of seconds.")
        while True:
            operations, keys = self.sweep_once()
            if operations or keys or options["verbosity"] > 1:
                self.stdout.write(f"Expired {operations} operations and {keys} idempotency keys.")
            if not loop:
                return
            time.sleep(interval)

    def sweep_once(self) -> tuple[int, int]:
        operations = 0
        while expired := expire_next(timezone.now()):
            operations += expired
        return operations, expire_keys()
