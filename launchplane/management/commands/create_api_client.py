"""python manage.py create_api_client NAME --context cm [--context other] [--read-only]"""

import re

from django.core.management.base import BaseCommand, CommandError

from launchplane.models import ApiClient

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")


class Command(BaseCommand):
    help = "Create an API client scoped to one or more contexts and print its token (as the last line)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--context", action="append", required=True, dest="contexts", help="Repeat for several.")
        parser.add_argument("--read-only", action="store_true", help="The client may only read.")

    def handle(self, *args, name: str, contexts: list[str], read_only: bool, **options) -> None:
        bad = [c for c in contexts if not SLUG.match(c) or len(c) > 63]
        if bad:
            raise CommandError(f"Not a context slug: {', '.join(bad)}")
        if ApiClient.objects.filter(name=name).exists():
            raise CommandError(f"An API client named {name!r} already exists.")
        client, token = ApiClient.issue(name, contexts=contexts, read_only=read_only)
        access = "read-only" if read_only else "read-write"
        self.stdout.write(f"Created {access} API client {client.name!r} for contexts: {', '.join(client.contexts)}.")
        self.stdout.write("Its token is shown once; store it now. Send it as 'Authorization: Bearer <token>'.")
        self.stdout.write(token)
