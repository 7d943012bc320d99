"""python manage.py verify CONTEXT/INSTANCE [...]: run verification now, in this command, and print
each outcome (no worker needed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.choices import VerificationTrigger
from inventory.models import Environment, VerificationRun
from inventory.services.verification import execute_run, queue_verification
from launchplane.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Verify environments now: probe each runtime (health, canonical URL, logo, runtime identity), "
        "apply rule 15 and print the outcome. Exits non-zero when any environment could not be verified."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("environments", nargs="+", metavar="CONTEXT/INSTANCE")

    def handle(self, *args: Any, environments: list[str], **options: Any) -> None:
        targets = [self.environment(name) for name in environments]  # every name checked before probing
        failures = 0
        for environment in targets:
            failures += not self.verify_one(environment)
        if failures:
            raise CommandError(f"{failures} of {len(targets)} environments could not be verified.")

    def verify_one(self, environment: Environment) -> bool:
        """Run one environment's verification; whether it got a finished run."""
        try:
            run, _created = queue_verification(
                environment, trigger=VerificationTrigger.COMMAND, requested_by="command:verify", enqueue=False
            )
        except ServiceError as exc:
            self.stderr.write(f"{environment}: {exc.message}")
            return False
        run = execute_run(run.run_id)
        if run.status != VerificationRun.Status.FINISHED:
            self.stderr.write(f"{environment}: run {run.run_id} is {run.status} (a worker has it); try again later.")
            return False
        environment.inventory.refresh_from_db()
        inventory = environment.inventory
        self.stdout.write(
            f"{environment}: {run.run_id} {run.inventory_effect} — health {run.health_status}, canonical "
            f"{run.canonical_status}, logo {run.logo_status}, runtime identity {run.runtime_identity_status}; "
            f"now {inventory.state}."
        )
        for probe in run.probes:
            failure = f" {probe['failure_class']}" if probe.get("failure_class") else ""
            self.stdout.write(
                f"  {probe['probe']:<9} {probe['status']:<8}{failure} {probe['url']} ({probe['elapsed_ms']} ms)"
            )
        return True

    @staticmethod
    def environment(name: str) -> Environment:
        context, slash, instance = name.partition("/")
        if not slash or not context or not instance:
            raise CommandError(f"{name!r}: name an environment as CONTEXT/INSTANCE, for example cm/testing.")
        try:
            return Environment.objects.select_related("inventory").get(context=context, instance=instance)
        except Environment.DoesNotExist as exc:
            raise CommandError(f"No environment {name}.") from exc
