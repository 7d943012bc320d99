from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Telling operators: signed webhooks (an outbox written with the change that caused it), Slack
    messages, and the Prometheus metrics that Launchplane serves at /metrics."""

    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from notifications import checks, receivers  # noqa: F401  (system checks; the outbox receiver)
