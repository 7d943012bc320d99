from django.apps import AppConfig


class LaunchplaneConfig(AppConfig):
    """Shared plumbing: settings checks, and later the API's auth, idempotency and error body."""

    name = "launchplane"
    verbose_name = "Launchplane"

    def ready(self) -> None:
        from launchplane import checks  # noqa: F401  (registers the system checks)
        from launchplane.api import extensions  # noqa: F401  (OpenAPI: the bearer scheme)
