"""Error views: JSON in the API's error body under /api/, Django's pages elsewhere."""

from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from launchplane.api.errors import api_not_found, api_server_error


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return defaults.server_error(request)


@csrf_exempt
def api_not_found_view(request):
    """Any path under /api/ that no route matches, whatever the method."""
    return api_not_found(request)
