"""The existing service's envelope: ``{"status": "accepted" | "ok" | "rejected", "trace_id", …}``.

Every error of the /v1/ routes — from DRF, our exception handler, ``@idempotent``, the body-size guard
or a route that does not exist — is our one error body first, and is translated here, in one place:
the codes the existing service has keep its spelling and status; the others keep ours inside its
envelope (PRODUCT.md, "Compatibility with existing Launchplane clients").
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import JsonResponse

from launchplane.api.errors import printable

# Our code -> (the existing service's code, its HTTP status); None keeps the status we answered.
UPSTREAM_CODES: dict[str, tuple[str, int | None]] = {
    "not_authenticated": ("authentication_required", 401),
    "permission_denied": ("authorization_denied", 403),
    "validation_error": ("invalid_request", 400),
    "contradictory_result": ("invalid_request", 400),
    # The existing service reads any body it cannot take as JSON as an invalid request.
    "unsupported_media_type": ("invalid_request", 400),
    "idempotency_key_reused": ("idempotency_key_reused", 409),
    "payload_too_large": ("request_entity_too_large", 413),
}


def new_trace_id() -> str:
    return uuid.uuid4().hex


def rejected(trace_id: str, code: str, message: str) -> dict[str, Any]:
    return {"status": "rejected", "trace_id": trace_id, "error": {"code": code, "message": printable(message)}}


def translate(body: Any, status: int, trace_id: str) -> tuple[dict[str, Any], int]:
    """Our error body (``{"error": {"code", "message", "fields"}}``) as the existing service's, with its
    status. Anything else that is an error is still answered in the envelope."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return rejected(trace_id, "error", "The request failed."), status
    code = str(error.get("code", "error"))
    upstream_code, upstream_status = UPSTREAM_CODES.get(code, (code, None))
    message = str(error.get("message", ""))
    # The envelope has no ``fields``: the message names each field at fault that it does not already.
    unnamed = [str(name) for name in error.get("fields") or {} if str(name) not in message]
    if unnamed:
        message = f"{message} Fields: {', '.join(unnamed[:10])}."
    return rejected(trace_id, upstream_code, message), upstream_status or status


def rejected_response(code: str, message: str, status: int) -> JsonResponse:
    """An error answered outside a view (the body-size guard, an unknown /v1/ route)."""
    body, upstream_status = translate({"error": {"code": code, "message": message}}, status, new_trace_id())
    return JsonResponse(body, status=upstream_status)
