"""Errors a service raises for a caller to show: a stable code, a message, and the fields at fault.

The API turns them into ``{"error": {"code", "message", "fields"}}`` with the status below; pages
and commands show the message. Nothing domain-specific lives here, only the shape.
"""

from collections.abc import Mapping


class ServiceError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, fields: Mapping[str, str] | None = None, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})
        self.extra = extra

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "fields": self.fields, **self.extra}


class InvalidInput(ServiceError):
    code = "validation_error"


class ContradictoryResult(ServiceError):
    code = "contradictory_result"


class NotFound(ServiceError):
    code = "not_found"
    http_status = 404


class Conflict(ServiceError):
    code = "conflict"
    http_status = 409


class BootstrapActive(ServiceError):
    code = "bootstrap_active"
    http_status = 409


class NotVerifiable(ServiceError):
    code = "not_verifiable"
    http_status = 409


class OperationFinished(ServiceError):
    code = "operation_finished"
    http_status = 409


class NotReconcilable(ServiceError):
    """A reconciliation that has nothing to settle, or would settle a bootstrap that is no longer the latest."""

    code = "not_reconcilable"
    http_status = 409


class PermissionRefused(ServiceError):
    """The user may read but not make this change (a page answers 403 with the message)."""

    code = "permission_denied"
    http_status = 403
