"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application
from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "launchplane.settings")

application = get_asgi_application()

# Servers do not run Django's system checks; refuse to serve with the development SECRET_KEY.
from launchplane.checks import check_secret_key  # noqa: E402

if errors := check_secret_key(None):
    raise ImproperlyConfigured(errors[0].msg + " " + (errors[0].hint or ""))
