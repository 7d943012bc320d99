"""System checks for settings that would make a deployment unsafe."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


@register(Tags.security, deploy=False)
def check_secret_key(app_configs, **kwargs) -> list[Error]:
    """Refuse the built-in development SECRET_KEY whenever DEBUG is off."""
    if not settings.DEBUG and settings.SECRET_KEY == settings.INSECURE_DEV_SECRET_KEY:
        return [
            Error(
                "SECRET_KEY is the development key while DEBUG is off.",
                hint="Set the SECRET_KEY environment variable to a long random value.",
                id="launchplane.E001",
            )
        ]
    return []


@register(deploy=False)
def check_clocks_and_leases(app_configs, **kwargs) -> list[CheckMessage]:
    """Settings that are each valid alone but wrong together, caught at start-up rather than at 03:00."""
    problems: list[CheckMessage] = []
    if settings.CLOCK_SKEW_SECONDS < 0:
        problems.append(
            Error(
                f"CLOCK_SKEW_SECONDS is {settings.CLOCK_SKEW_SECONDS}: a negative skew would refuse every "
                "client timestamp taken just now.",
                hint="Set CLOCK_SKEW_SECONDS to 0 or more (300 by default).",
                id="launchplane.E002",
            )
        )
    if settings.IDEMPOTENCY_IN_FLIGHT_LEASE_SECONDS > settings.IDEMPOTENCY_KEY_TTL_SECONDS:
        problems.append(
            Error(
                "IDEMPOTENCY_IN_FLIGHT_LEASE_SECONDS is longer than IDEMPOTENCY_KEY_TTL_SECONDS: a key left in "
                "flight by a worker that died would expire before a retry could take it over.",
                hint="Keep the in-flight lease shorter than the key TTL (300 s and 24 h by default).",
                id="launchplane.E003",
            )
        )
    if settings.IDEMPOTENCY_IN_FLIGHT_LEASE_SECONDS <= 0 or settings.IDEMPOTENCY_KEY_TTL_SECONDS <= 0:
        problems.append(
            Error(
                "IDEMPOTENCY_KEY_TTL_SECONDS and IDEMPOTENCY_IN_FLIGHT_LEASE_SECONDS must be positive.",
                id="launchplane.E004",
            )
        )
    return problems


@register(deploy=True)
def check_production_database(app_configs, **kwargs) -> list[CheckMessage]:
    """SQLite is the embedded default for trying Launchplane; production runs on PostgreSQL."""
    if not settings.DEBUG and settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        return [
            Warning(
                "DEBUG is off but the database is SQLite: one writer at a time, on one host.",
                hint="Point DATABASE_URL at PostgreSQL for production (docs/operations.md).",
                id="launchplane.W001",
            )
        ]
    return []
