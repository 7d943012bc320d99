from django.apps import AppConfig


class BootstrapsConfig(AppConfig):
    """Data bootstrap provenance: operations, their rules and services, the deadline sweeper."""

    name = "bootstraps"
    verbose_name = "Data bootstraps"

    def ready(self) -> None:
        from bootstraps import receivers  # noqa: F401  (connects inventory_read to deadline expiry)
