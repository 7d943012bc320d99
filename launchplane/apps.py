from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LaunchplaneConfig(AppConfig):
    """Shared plumbing: settings checks, and later the API's auth, idempotency and error body."""

    name = "launchplane"
    verbose_name = "Launchplane"

    def ready(self) -> None:
        from launchplane import checks  # noqa: F401  (registers the system checks)
        from launchplane.api import extensions  # noqa: F401  (OpenAPI: the bearer scheme)
        from launchplane.groups import ensure_groups

        # After the last app migrates, so every permission exists.
        post_migrate.connect(ensure_groups, dispatch_uid="launchplane.ensure_groups")
