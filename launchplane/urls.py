"""URLs: the REST API under /api/v1/, its schema and docs, and the admin."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from launchplane import views

api_v1 = [
    path("", include("inventory.api.urls")),
    path("", include("bootstraps.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Anything else under /api/ answers 404 in the error body, even with DEBUG on.
    re_path(r"^.*$", views.api_not_found_view),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
]

handler404 = views.not_found
handler500 = views.server_error
