"""Pagination, throttling and the request-size guard shared by every API view."""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser as DRFJSONParser
from rest_framework.throttling import SimpleRateThrottle

from launchplane.api.errors import json_error


class JSONParser(DRFJSONParser):
    """DRF's JSON parser, also refusing bodies nested too deeply to parse (a RecursionError)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class ClientRateThrottle(SimpleRateThrottle):
    """Requests per API client (or staff user), whatever address they come from."""

    scope = "client"

    def get_cache_key(self, request, view):
        principal = request.user
        if not getattr(principal, "is_authenticated", False):
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"{type(principal).__name__}:{principal.pk}"}


class ApiBodyLimitMiddleware:
    """Refuse API bodies over ``API_MAX_BODY_BYTES`` with 413 before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.API_MAX_BODY_BYTES:
                return json_error(
                    request,
                    "payload_too_large",
                    f"The body is {length} bytes; the limit is {settings.API_MAX_BODY_BYTES}.",
                    413,
                )
        return self.get_response(request)
