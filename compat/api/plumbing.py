"""The body-size guard for /v1/, answering in the existing service's envelope."""

from __future__ import annotations

from compat.api.envelope import rejected_response
from launchplane.api.plumbing import ApiBodyLimitMiddleware


class CompatBodyLimitMiddleware(ApiBodyLimitMiddleware):
    """413 ``request_entity_too_large`` (and 411) under /v1/ before anything reads the body."""

    prefix = "/v1/"

    def respond(self, request, code: str, message: str, status: int):
        return rejected_response(code, message, status)
