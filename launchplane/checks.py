"""System checks for settings that would make a deployment unsafe."""

from django.conf import settings
from django.core.checks import Error, Tags, register


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
