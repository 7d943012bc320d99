from rest_framework.routers import SimpleRouter

from bootstraps.api.views import BootstrapViewSet

router = SimpleRouter()
router.register("bootstraps", BootstrapViewSet, basename="bootstrap")

urlpatterns = router.urls
