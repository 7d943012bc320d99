"""Pagination, throttling and the request-size guard shared by every API view."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser as DRFJSONParser
from rest_framework.throttling import SimpleRateThrottle

from launchplane.api.errors import json_error

# The deepest a request body may nest (the body itself is level 1). Real evidence is a few levels
# deep; a runtime identity is one object.
MAX_JSON_DEPTH = 32


def json_depth(value: object) -> int:
    """How deeply a parsed JSON value nests, walked without recursion (a scalar is 0)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[object]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest  # no need to look further
        stack.extend((child, depth + 1) for child in children)
    return deepest


class JSONParser(DRFJSONParser):
    """DRF's JSON parser, bounding how deeply a body may nest — once, for every field of every
    endpoint — so that nothing downstream (validation, the unstorable-text check, fingerprints,
    storage) ever walks a structure deep enough to exhaust the stack (400, never a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(f"JSON nests deeper than {MAX_JSON_DEPTH} levels.") from exc
        if json_depth(data) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON nests deeper than {MAX_JSON_DEPTH} levels.")
        return data


WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


class Pagination(PageNumberPagination):
    """DRF's page numbers, with the filters' contract: a ``page`` or ``page_size`` that is not a whole
    number in range answers 400 naming it (DRF would silently use the default size, or 404)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_schema_operation_parameters(self, view):
        """``page`` and ``page_size`` with the bounds the server enforces."""
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "A page number from 1 (a page past the end answers 404).",
                "schema": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page, 1 to {self.max_page_size} (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        if not WHOLE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({"page_size": f"Use a whole number from 1 to {self.max_page_size}."})
        return int(raw)

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param, "")
        if raw not in ("", *self.last_page_strings) and not (WHOLE_NUMBER.fullmatch(raw) and int(raw) >= 1):
            raise ValidationError({"page": "Use a whole number from 1 (a page past the end answers 404)."})
        return super().paginate_queryset(queryset, request, view)


class ClientRateThrottle(SimpleRateThrottle):
    """Requests per API client (or staff user), whatever address they come from."""

    scope = "client"

    def get_cache_key(self, request, view):
        principal = request.user
        if not getattr(principal, "is_authenticated", False):
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"{type(principal).__name__}:{principal.pk}"}


class ApiBodyLimitMiddleware:
    """Refuse API bodies over ``API_MAX_BODY_BYTES`` with 413 before anything reads them.

    ``prefix`` is the part of the site it guards and ``respond`` how it answers there: the compat app
    guards /v1/ with the same checks, answering in the existing service's envelope."""

    prefix = "/api/"

    def __init__(self, get_response):
        self.get_response = get_response

    def respond(self, request, code: str, message: str, status: int):
        return json_error(request, code, message, status)

    def __call__(self, request):
        if request.path.startswith(self.prefix):
            chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
            if chunked and not request.META.get("CONTENT_LENGTH"):
                # A WSGI server hands Django no body without a length: it would read as empty and
                # answer a misleading "field required". Say what is wrong instead.
                return self.respond(
                    request, "length_required", "Send the body with a Content-Length (not chunked).", 411
                )
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.API_MAX_BODY_BYTES:
                return self.respond(
                    request,
                    "payload_too_large",
                    f"The body is {length} bytes; the limit is {settings.API_MAX_BODY_BYTES}.",
                    413,
                )
        return self.get_response(request)
