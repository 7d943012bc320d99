"""System checks for the notification and metrics settings."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


@register(deploy=False)
def check_notification_settings(app_configs, **kwargs) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    parts = urlsplit(settings.SITE_URL)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        problems.append(
            Error(
                f"SITE_URL is {settings.SITE_URL!r}: webhook bodies link to pages under it, so it must be an "
                "absolute http(s) URL.",
                hint="Set SITE_URL to the address operators open, e.g. https://launchplane.example.com.",
                id="notifications.E001",
            )
        )
    if settings.WEBHOOK_RETRY_BASE_SECONDS <= 0:
        problems.append(
            Error(
                "WEBHOOK_RETRY_BASE_SECONDS must be positive: it is the first wait before a failed delivery "
                "is retried.",
                hint="10 by default; each later wait doubles it.",
                id="notifications.E002",
            )
        )
    return problems


@register(deploy=True)
def check_notification_deployment(app_configs, **kwargs) -> list[CheckMessage]:
    """What a production deployment should set: links that leave localhost, and a private /metrics."""
    problems: list[CheckMessage] = []
    if not settings.DEBUG and settings.SITE_URL == settings.DEFAULT_SITE_URL:
        problems.append(
            Warning(
                f"SITE_URL is the development default ({settings.DEFAULT_SITE_URL}): webhook messages would "
                "link there.",
                hint="Set SITE_URL to Launchplane's public address (docs/operations.md).",
                id="notifications.W001",
            )
        )
    if not settings.DEBUG and not settings.METRICS_TOKEN:
        problems.append(
            Warning(
                "METRICS_TOKEN is not set: /metrics (every context and instance name) answers anyone.",
                hint="Set METRICS_TOKEN and give it to Prometheus as a bearer token (docs/operations.md).",
                id="notifications.W002",
            )
        )
    return problems
