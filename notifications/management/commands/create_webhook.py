"""python manage.py create_webhook NAME --url URL [--context cm …] [--event state_changed …] [--format json|slack]"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from notifications.models import SUBSCRIBABLE_EVENTS, Format, WebhookSubscription


class Command(BaseCommand):
    help = (
        "Subscribe a URL to Launchplane's events and print its signing secret (as the last line). Without "
        "--context every context, without --event every event."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--url", required=True, help="Where deliveries are POSTed (http or https).")
        parser.add_argument("--context", action="append", default=[], dest="contexts", help="Repeat for several.")
        parser.add_argument(
            "--event",
            action="append",
            default=[],
            dest="events",
            choices=[str(event) for event in SUBSCRIBABLE_EVENTS],
            help="Repeat for several.",
        )
        parser.add_argument("--format", choices=Format.values, default=Format.JSON)

    def handle(
        self, *args, name: str, url: str, contexts: list[str], events: list[str], format: str, **options
    ) -> None:
        if WebhookSubscription.objects.filter(name=name).exists():
            raise CommandError(f"A webhook subscription named {name!r} already exists.")
        try:
            subscription, secret = WebhookSubscription.issue(
                name, url=url, contexts=contexts, events=events, format=format
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(
                    f"{field}: {' '.join(dict.fromkeys(messages))}" for field, messages in exc.message_dict.items()
                )
            ) from exc
        scope = ", ".join(subscription.contexts) or "every context"
        wanted = ", ".join(subscription.events) or "every event"
        self.stdout.write(f"Created webhook {subscription.name!r} ({subscription.format}) for {wanted} on {scope}.")
        self.stdout.write("Its signing secret is shown once; store it now (docs/operations.md: verifying signatures).")
        self.stdout.write(secret)
