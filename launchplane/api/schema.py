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


def allow_empty_filters(result: dict, generator, request, public) -> dict:
    """An empty filter value (``?state=``) means no filter (rule 13), for every optional query
    parameter: say so, so that a client or a fuzzer does not read it as a value outside the enum."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return result


# Path parameters as the URLs route them (drf-spectacular reads the lookup regexes, not the slug rule).
PATH_PARAMETERS = {
    "context": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$", "maxLength": 63},
    "instance": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$", "maxLength": 63},
}


def constrain_path_parameters(result: dict, generator, request, public) -> dict:
    """A context or instance in a path is a lowercase slug of at most 63 characters (404 otherwise)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter["name"] in PATH_PARAMETERS:
                    parameter["schema"] = dict(PATH_PARAMETERS[parameter["name"]])
    return result


# The runtime identity rule (PRODUCT.md): `runtime_identity_status` is only ever `unverifiable`; an
# observation carries an identity or says it is unverifiable. Sending `unverifiable` together with a
# non-null identity answers 400 `contradictory_result`; that half is said in words (below), since the
# `oneOf` branch for it (`enum: [null]`) breaks generated clients.
IDENTITY_CONTRADICTION = (
    "runtime_identity_status `unverifiable` says the prober could not read the runtime's identity: sent with a "
    "non-null observed_runtime_identity it answers 400 `contradictory_result`."
)
IDENTITY_RULES: dict[str, dict] = {
    "ObservationCreateRequest": {
        "oneOf": [
            {
                "title": "Identity reported",
                "description": "observed_runtime_identity sent (JSON null: the runtime reported none).",
                "required": ["observed_runtime_identity"],
                "not": {"required": ["runtime_identity_status"]},
            },
            {
                "title": "Unverifiable",
                "description": "runtime_identity_status `unverifiable`; observed_runtime_identity left out (or null).",
                "required": ["runtime_identity_status"],
            },
        ],
    },
}
IDENTITY_DESCRIBED = ("ObservationCreateRequest", "DeploymentCreateRequest", "ResultRequest", "OneShotResultRequest")


# A result reports how the run ended: `pending` and `running` are statuses of an active operation only
# (sent in a result they answer 400 `contradictory_result`).
RESULT_RUN_STATUSES = {"type": "string", "enum": ["pass", "fail", "not_run", "unknown"]}
RESULT_CONTRADICTIONS = (
    "Contradictory results answer 400 `contradictory_result` naming the fields: run `not_run` with "
    "data_mutated other than false; run `pass` with data_mutated false; run `fail` or `not_run` with "
    "post_deploy_status `pass` or `fail`; `unverifiable` with a non-null identity; data_mutated false when "
    "the operation already knows it is true."
)


# An environment's base_url: an http(s) URL, or empty (no URL: nothing to verify). The pattern is
# Django's URLValidator for ASCII hosts (a hostname with a TLD of 2-63 letters, localhost, or an IPv4
# address; optional user info, port and path); the server also accepts IDN and IPv6 hosts.
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = f"({_LABEL}\\.)+[A-Za-z]{{2,63}}\\.?|localhost|{_OCTET}(\\.{_OCTET}){{3}}"
HTTP_URL_PATTERN = f"^[Hh][Tt][Tt][Pp][Ss]?://([^\\s:@/]+(:[^\\s:@/]*)?@)?({_HOST})(:[0-9]{{1,5}})?([/?#][^\\s]*)?$"
BASE_URL = {
    "anyOf": [
        {"type": "string", "pattern": HTTP_URL_PATTERN, "maxLength": 200},
        {"type": "string", "maxLength": 0},
    ],
    "description": "An http:// or https:// URL of at most 200 characters, or empty (no URL: nothing to verify).",
}


def state_identity_rules(result: dict, generator, request, public) -> dict:
    """Say with ``oneOf`` which identity fields a body may carry together, and which run statuses a
    result may report."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in ("EnvironmentCreateRequest", "PatchedEnvironmentSettingsRequest"):
        if "base_url" in schemas.get(name, {}).get("properties", {}):
            schemas[name]["properties"]["base_url"] = dict(BASE_URL)
    schemas["ResultRunStatusEnum"] = dict(RESULT_RUN_STATUSES)
    for name in ("ResultRequest", "OneShotResultRequest"):
        if name in schemas:
            schemas[name]["properties"]["bootstrap_run_status"] = {"$ref": "#/components/schemas/ResultRunStatusEnum"}
            schemas[name]["description"] = RESULT_CONTRADICTIONS
    for name, rule in IDENTITY_RULES.items():
        if name in schemas:
            schemas[name].update(rule)
    for name in IDENTITY_DESCRIBED:
        status = schemas.get(name, {}).get("properties", {}).get("runtime_identity_status")
        if status is not None:
            schemas[name]["properties"]["runtime_identity_status"] = {
                "allOf": [status],
                "description": IDENTITY_CONTRADICTION,
            }
    return result


def _link(target: str, *, parameters: dict | None = None, body: dict | None = None, description: str) -> dict:
    link: dict = {"operationId": target, "description": description}
    if parameters:
        link["parameters"] = parameters
    if body:
        link["requestBody"] = body
    return link


PAIR = {"context": "$response.body#/context", "instance": "$response.body#/instance"}
# (path, method, status) -> links to the operations that follow it; targets named by (path, method).
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, str, str]]] = {
    ("/api/v1/environments/", "post", "201"): {
        "ReadEnvironment": ("/api/v1/environments/{context}/{instance}/", "get", "parameters", "The read model."),
        "ReadHistory": ("/api/v1/environments/{context}/{instance}/history/", "get", "parameters", "Its history."),
        "RecordObservation": (
            "/api/v1/environments/{context}/{instance}/observations/",
            "post",
            "parameters",
            "Observe its runtime.",
        ),
        "RecordDeployment": ("/api/v1/deployments/", "post", "body", "Deploy an artifact to it."),
        "StartBootstrap": ("/api/v1/bootstraps/", "post", "body", "Bootstrap its data."),
    },
    ("/api/v1/deployments/", "post", "201"): {
        "ReadDeployment": ("/api/v1/deployments/{record_id}/", "get", "record_id", "The record."),
        "ReadEnvironment": ("/api/v1/environments/{context}/{instance}/", "get", "parameters", "The read model."),
    },
    ("/api/v1/bootstraps/", "post", "201"): {
        "ReadBootstrap": ("/api/v1/bootstraps/{operation_id}/", "get", "operation_id", "The operation."),
        "ReportResult": ("/api/v1/bootstraps/{operation_id}/result/", "post", "operation_id", "Its result."),
        "ReportProgress": ("/api/v1/bootstraps/{operation_id}/events/", "post", "operation_id", "Its progress."),
        "Cancel": ("/api/v1/bootstraps/{operation_id}/cancel/", "post", "operation_id", "Cancel it."),
        "ReadEnvironment": ("/api/v1/environments/{context}/{instance}/", "get", "parameters", "The read model."),
    },
    ("/api/v1/bootstraps/{operation_id}/result/", "post", "200"): {
        "ReadBootstrap": ("/api/v1/bootstraps/{operation_id}/", "get", "operation_id", "The operation."),
        "ReadEnvironment": ("/api/v1/environments/{context}/{instance}/", "get", "parameters", "The read model."),
    },
}


def add_links(result: dict, generator, request, public) -> dict:
    """OpenAPI links between operations (create an environment, deploy to it, read it back; start a
    bootstrap, report its result): what a client does next, and the chains stateful testing follows."""
    paths = result.get("paths", {})
    for (path, method, status), links in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        built = {}
        for name, (target_path, target_method, binding, description) in links.items():
            target = paths.get(target_path, {}).get(target_method)
            if target is None:
                continue
            if binding == "body":
                link = _link(target["operationId"], body=PAIR, description=description)
            elif binding == "parameters":
                link = _link(target["operationId"], parameters=PAIR, description=description)
            else:
                link = _link(
                    target["operationId"], parameters={binding: f"$response.body#/{binding}"}, description=description
                )
            built[name] = link
        response["links"] = built
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

# What launchplane.api.idempotency accepts: 1-255 visible ASCII characters (no spaces).
IDEMPOTENCY_KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]{1,255}$"}
IDEMPOTENCY_RULES = (
    "1-255 visible ASCII characters (anything else answers 400 `validation_error`). The same key and body "
    "from the same client replay the first response with `Idempotent-Replayed: true`; the same key with "
    "another method, path or body answers 422 `idempotency_key_reused`; a duplicate while the first is in "
    "flight answers 409 `idempotency_in_flight`; a request refused with a 4xx keeps no key."
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    type=IDEMPOTENCY_KEY_SCHEMA,
    location=OpenApiParameter.HEADER,
    required=False,
    description=f"Retry safely. {IDEMPOTENCY_RULES}",
)
IDEMPOTENCY_KEY_REQUIRED = OpenApiParameter(
    "Idempotency-Key",
    type=IDEMPOTENCY_KEY_SCHEMA,
    location=OpenApiParameter.HEADER,
    required=True,
    description=f"Required to start a bootstrap (400 `idempotency_key_required` without one). {IDEMPOTENCY_RULES}",
)


# Rules no OpenAPI 3 document can carry (time relative to now, state), said on the operations they
# govern; docs/api.md lists them all.
FUTURE = (
    "Evidence timestamps later than the server's clock by more than `CLOCK_SKEW_SECONDS` (300 by default) "
    "answer 400 `validation_error` (in the future)."
)
DEPLOYMENT_RULES = (
    f"{FUTURE} `finished_at` is never before `started_at`. A `record_id` already recorded answers 409 `conflict`; an environment that does not exist "
    "answers 404 `not_found` (create it first). `unverifiable` with a non-null identity answers 400 "
    "`contradictory_result`."
)
START_RULES = (
    f"{FUTURE} Another active bootstrap on the environment answers 409 `bootstrap_active`, naming it. With "
    "`result`, the result's `finished_at` is never before `result.started_at` (or the arrival); its "
    "contradictions answer 400 `contradictory_result`, naming the fields."
)
RESULT_RULES = (
    f"{FUTURE} `finished_at` is never before the operation's start. A finished or cancelled operation answers "
    "409 `operation_finished` (a late result for a `timed_out` one is accepted, `late: true`). Contradictions "
    "answer 400 `contradictory_result`, naming the fields, including `data_mutated` false after a progress "
    "event said true."
)
OBSERVATION_RULES = f"{FUTURE} An observation older than the current deployment's finish is stored, `superseded`."
ACTIVE_ONLY = "A finished or cancelled operation answers 409 `operation_finished`."


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
