from django.urls import path
from rest_framework.routers import SimpleRouter

from inventory.api.verification import VerificationViewSet
from inventory.api.views import DeploymentViewSet, EnvironmentViewSet

SLUG = r"[a-z0-9][a-z0-9_-]*"

router = SimpleRouter()
router.register("deployments", DeploymentViewSet, basename="deployment")
router.register("verifications", VerificationViewSet, basename="verification")

environments = EnvironmentViewSet.as_view({"get": "list", "post": "create"})
environment = EnvironmentViewSet.as_view({"get": "retrieve", "patch": "partial_update"})
verify = EnvironmentViewSet.as_view({"post": "verify"})
history = EnvironmentViewSet.as_view({"get": "history"})
observations = EnvironmentViewSet.as_view({"post": "observations"})

urlpatterns = [
    path("environments/", environments, name="environment-list"),
    path("environments/<str:context>/<str:instance>/", environment, name="environment-detail"),
    path("environments/<str:context>/<str:instance>/history/", history, name="environment-history"),
    path("environments/<str:context>/<str:instance>/observations/", observations, name="environment-observations"),
    path("environments/<str:context>/<str:instance>/verify/", verify, name="environment-verify"),
    *router.urls,
]
