from django.apps import AppConfig


class CompatConfig(AppConfig):
    """The drop-in for existing Launchplane clients: their evidence payloads at /v1/, split into what
    they conflate (docs/compat.md)."""

    name = "compat"
    verbose_name = "Compatibility (existing Launchplane clients)"
