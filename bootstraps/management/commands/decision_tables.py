"""Print the decision tables rendered from the rules, or write / check them in a Markdown document."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bootstraps.tables import END_MARKER, START_MARKER, MarkersMissing, render_tables, replace_block


class Command(BaseCommand):
    help = (
        "Print the decision tables (PRODUCT.md rules 6-8, 15 and 16) rendered from the rule rows. With --write PATH, "
        f"replace the block between {START_MARKER} and {END_MARKER} in PATH; with --check PATH, fail when "
        "that block is out of date."
    )
    # Rendering reads only the pure rules: no database, no secrets, so CI can run --check anywhere.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--write", metavar="PATH", help="Replace the generated block in this Markdown file.")
        target.add_argument("--check", metavar="PATH", help="Fail when the generated block in this file is stale.")

    def handle(self, *args: object, write: str | None = None, check: str | None = None, **options: object) -> None:
        rendered = render_tables()
        path = write or check
        if path is None:
            self.stdout.write(rendered)
            return
        document = self.read(path)
        try:
            updated = replace_block(document, rendered)
        except MarkersMissing as exc:
            raise CommandError(f"{path}: {exc} Add the two markers where the tables belong.") from exc
        if updated == document:
            self.stdout.write(f"{path}: the decision tables are up to date.")
        elif check:
            raise CommandError(
                f"{path} is out of date: its decision tables differ from the rules. "
                f"Run `python manage.py decision_tables --write {path}` and commit the result."
            )
        else:
            Path(path).write_text(updated, encoding="utf-8")
            self.stdout.write(f"{path}: wrote the decision tables.")

    @staticmethod
    def read(path: str) -> str:
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
