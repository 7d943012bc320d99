"""The existing service's routes, exactly as its clients call them: no trailing slash."""

from django.urls import path, re_path

from compat.api import views

app_name = "compat"

evidence = views.CompatViewSet.as_view({"post": "record_evidence"})
inventory = views.CompatViewSet.as_view({"get": "read_inventory"})
deployment = views.CompatViewSet.as_view({"get": "read_deployment"})

urlpatterns = [
    path("evidence/deployments", evidence, name="evidence-deployments"),
    path("inventory/<str:context>/<str:instance>", inventory, name="inventory"),
    path("deployments/<str:record_id>", deployment, name="deployment"),
    # Anything else under /v1/ answers 404 in the existing service's envelope.
    re_path(r"^.*$", views.not_found),
]
