"""One error body for every API error: ``{"error": {"code", "message", "fields"}}``."""

from __future__ import annotations

import logging
import re
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from launchplane.errors import ServiceError

logger = logging.getLogger(__name__)

_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "validation_error",
    exceptions.ValidationError: "validation_error",
}


# A lone surrogate cannot be encoded as UTF-8: an error message that quotes one (a bad choice, an unknown
# key) would fail to render and turn a 400 into a 500. Quoted input is shown with U+FFFD instead.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    return LONE_SURROGATE.sub("\ufffd", text)


def error_body(code: str, message: str, fields: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    safe_fields = {printable(str(name)): printable(str(why)) for name, why in (fields or {}).items()}
    return {"error": {"code": code, "message": printable(message), "fields": safe_fields, **extra}}


def flatten(detail: Any, prefix: str = "") -> dict[str, str]:
    """DRF's nested error detail as ``{"result.health_status": "..."}`` (list items by index)."""
    if isinstance(detail, dict):
        out: dict[str, str] = {}
        for key, value in detail.items():
            name = prefix if key == "non_field_errors" and prefix else (f"{prefix}.{key}" if prefix else str(key))
            out.update(flatten(value, name))
        return out
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return {prefix or "__all__": " ".join(str(item) for item in detail)}
        out = {}
        for index, item in enumerate(detail):
            if item:
                out.update(flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    return {prefix or "__all__": str(detail)}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's exception handler, speaking the error body. Unexpected errors answer 500 in it too."""
    if isinstance(exc, ServiceError):
        body = error_body(exc.code, exc.message, exc.fields, **exc.extra)
        return Response(body, status=exc.http_status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
        headers: dict[str, str] = {}
        if isinstance(exc, exceptions.ValidationError):
            fields = flatten(exc.detail)
            message = "The request is not valid: " + "; ".join(f"{k}: {v}" for k, v in list(fields.items())[:5])
        else:
            fields = {}
            message = str(exc.detail)
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            headers["Retry-After"] = str(int(wait))
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        return Response(error_body(code, message, fields), status=exc.status_code, headers=headers)
    logger.exception("Unhandled API error", exc_info=exc)
    return Response(
        error_body("server_error", "The server failed to handle the request; it has been logged."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def json_error(request, code: str, message: str, status_code: int) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)


def api_not_found(request, exception=None) -> JsonResponse:
    return json_error(request, "not_found", f"No API endpoint at {request.path}.", 404)


def api_server_error(request) -> JsonResponse:
    return json_error(request, "server_error", "The server failed to handle the request; it has been logged.", 500)
