"""URLs: the REST API under /api/v1/, its schema and docs, the existing clients' routes under /v1/ (compat/),
the admin, login, /healthz, /readyz and /metrics, and the operator pages (and, with ``DEMO_RUNTIME`` on, the demo runtime under /demo-runtime/)."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path, re_path

from launchplane import health, views
from launchplane.api.schema import SchemaDocsView, SchemaView

api_v1: list[URLPattern | URLResolver] = [
    path("", include("inventory.api.urls")),
    path("", include("bootstraps.api.urls")),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", SchemaDocsView.as_view(url_name="schema"), name="api-docs"),
    # Anything else under /api/ answers 404 in the error body, even with DEBUG on.
    re_path(r"^.*$", views.api_not_found_view),
]


def demo_runtime() -> list[URLPattern | URLResolver]:
    """The demo runtime the demo environments point at (bootstraps/demo/runtime.py): mounted only when
    ``settings.DEMO_RUNTIME`` is on (``make run``), read once as this module loads; never in production."""
    if not settings.DEMO_RUNTIME:
        return []
    return [path("demo-runtime/", include("bootstraps.demo.runtime"))]


urlpatterns = [
    path("api/v1/", include(api_v1)),
    # Existing Launchplane clients' routes (compat/, docs/compat.md), answered in their envelope.
    path("v1/", include("compat.api.urls")),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Probes and metrics for machines: no login (/metrics asks for METRICS_TOKEN when it is set).
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("notifications.urls")),
    *demo_runtime(),
    path("", include("bootstraps.urls")),
    path("", include("inventory.urls")),
]

handler404 = views.not_found
handler500 = views.server_error
