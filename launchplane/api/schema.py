"""OpenAPI pieces shared by every app's views: the error body and the common error responses."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. validation_error, bootstrap_active.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.CharField(), help_text="Problems by dotted field path, e.g. result.health_status."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def close_request_bodies(result: dict, generator, request, public) -> dict:
    """Every request body rejects unknown fields (StrictSerializer): say so in the schema."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result


def error(description: str, code: str, message: str, fields: dict | None = None) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[OpenApiExample(code, value={"error": {"code": code, "message": message, "fields": fields or {}}})],
    )


AUTH_ERRORS = {
    401: error("No or bad token.", "not_authenticated", "Send 'Authorization: Bearer <token>'."),
    403: error(
        "Outside the client's scope, or a read-only client writing.",
        "permission_denied",
        "This client is not scoped to context 'acme'.",
    ),
    429: error("Too many requests from this client.", "throttled", "Request was throttled."),
}
WRITE_ERRORS = {
    **AUTH_ERRORS,
    400: error(
        "Invalid body.",
        "validation_error",
        "The request is not valid.",
        {"deploy_status": '"ok" is not a valid choice.'},
    ),
    404: error("Unknown environment or record.", "not_found", "No environment cm/testing."),
    409: error("Conflict, or a duplicate still in flight.", "conflict", "Deployment record dep-1 already exists."),
    413: error("Body over the size limit.", "payload_too_large", "The body is 2000000 bytes; the limit is 1048576."),
    415: error("Not JSON.", "unsupported_media_type", 'Unsupported media type "text/plain" in request.'),
    422: error(
        "Idempotency-Key reused with another body.",
        "idempotency_key_reused",
        "Idempotency-Key 'k1' was already used for a different request.",
    ),
}
READ_ERRORS = {**AUTH_ERRORS, 404: error("Unknown, or outside the client's scope.", "not_found", "Not found.")}
LIST_ERRORS = {
    **AUTH_ERRORS,
    400: error(
        "A filter value is not valid.",
        "validation_error",
        "The request is not valid.",
        {"state": "Select a valid choice."},
    ),
    403: error(
        "A context filter outside the client's scope.",
        "permission_denied",
        "This client is not scoped to context 'acme'.",
    ),
    404: error("A page past the end.", "not_found", "Invalid page."),
}

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    description="Retry safely: the same key and body replay the first response with Idempotent-Replayed: true.",
)
IDEMPOTENCY_KEY_REQUIRED = OpenApiParameter(
    "Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=True,
    description="Required to start a bootstrap. The same key and body replay the first response.",
)


class JSONErrorsMixin:
    """The schema and docs views render YAML or HTML when all is well, but their errors (401, 403,
    406) speak the API's JSON error body like every other route under /api/v1/."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)  # type: ignore[misc]
        self.request.accepted_renderer = JSONRenderer()  # type: ignore[attr-defined]
        self.request.accepted_media_type = JSONRenderer.media_type  # type: ignore[attr-defined]
        return response


class SchemaView(JSONErrorsMixin, SpectacularAPIView):
    http_method_names = ["get", "head"]  # nothing to OPTIONS: a 405 in the error body


class SchemaDocsView(JSONErrorsMixin, SpectacularSwaggerView):
    http_method_names = ["get", "head"]
