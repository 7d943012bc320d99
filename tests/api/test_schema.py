"""The OpenAPI document at /api/v1/schema/ renders, is valid OpenAPI 3, names every path of the REST
contract in full, and documents the error body; /api/v1/docs/ renders it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from tests.api.support import READ_MODEL_FIELDS

# The REST contract (PRODUCT.md): every path and method automation clients depend on.
CONTRACT = {
    "/api/v1/environments/": {"get", "post"},
    "/api/v1/environments/{context}/{instance}/": {"get"},
    "/api/v1/environments/{context}/{instance}/history/": {"get"},
    "/api/v1/environments/{context}/{instance}/observations/": {"post"},
    "/api/v1/deployments/": {"get", "post"},
    "/api/v1/deployments/{record_id}/": {"get"},
    "/api/v1/bootstraps/": {"get", "post"},
    "/api/v1/bootstraps/{operation_id}/": {"get"},
    "/api/v1/bootstraps/{operation_id}/result/": {"post"},
    "/api/v1/bootstraps/{operation_id}/cancel/": {"post"},
}
LISTS = {
    "/api/v1/environments/": {"context", "instance", "state", "freshness"},
    "/api/v1/deployments/": {"context", "instance", "deploy_status"},
    "/api/v1/bootstraps/": {"context", "instance", "status", "readiness_status"},
    "/api/v1/environments/{context}/{instance}/history/": set(),
}
CREATES = {
    ("/api/v1/environments/", "201"),
    ("/api/v1/deployments/", "201"),
    ("/api/v1/bootstraps/", "201"),
    ("/api/v1/environments/{context}/{instance}/observations/", "201"),
    ("/api/v1/bootstraps/{operation_id}/result/", "200"),
    ("/api/v1/bootstraps/{operation_id}/cancel/", "200"),
}
TRANSITION = {
    "from_state",
    "to_state",
    "deployment_state",
    "data_state",
    "effect",
    "cause_type",
    "cause_id",
    "reason",
    "actor",
    "occurred_at",
    "recorded_at",
}
ERROR_REF = "#/components/schemas/Error"
# The existing clients' routes (compat/, docs/compat.md) are in the same document under their own tag,
# with their own envelope: tests/compat/test_schema.py holds them to it.
COMPAT_TAG = "compat"


def is_compat(operation: dict) -> bool:
    return COMPAT_TAG in operation.get("tags", [])


@pytest.fixture
def document(db) -> dict:
    """The served document, fetched as an API client with a bearer token."""
    from launchplane.models import ApiClient

    _, token = ApiClient.issue("schema-reader", contexts=["cm"], read_only=True)
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = http.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def component(document: dict, ref_or_schema: dict) -> dict:
    """Follow a ``$ref`` (directly, or through the ``allOf`` drf-spectacular uses for nullable refs)."""
    schema = ref_or_schema
    if "allOf" in schema:
        schema = schema["allOf"][0]
    if "$ref" in schema:
        return document["components"]["schemas"][schema["$ref"].rpartition("/")[2]]
    return schema


def response_schema(document: dict, path: str, method: str, status: str) -> dict:
    return document["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def test_the_schema_renders_as_openapi_3_and_validates(document):
    assert document["openapi"].startswith("3.")
    validate_schema(document)


def test_generating_the_schema_reports_no_errors_or_warnings(tmp_path):
    GENERATOR_STATS.reset()  # its caches are per process: count only this generation
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert not GENERATOR_STATS, {**GENERATOR_STATS._error_cache, **GENERATOR_STATS._warn_cache}


def test_every_contract_path_is_documented_with_its_full_prefix(document):
    paths = document["paths"]
    for path, methods in CONTRACT.items():
        assert path in paths, f"{path} is not in the schema (paths: {sorted(paths)})"
        assert methods <= set(paths[path]), (path, methods, set(paths[path]))
    ours = [path for path, operations in paths.items() if not all(is_compat(op) for op in operations.values())]
    assert all(path.startswith("/api/v1/") for path in ours)


def test_requests_authenticate_with_a_bearer_token(document):
    schemes = document["components"]["securitySchemes"]
    assert {k: schemes["bearerAuth"][k] for k in ("type", "scheme")} == {"type": "http", "scheme": "bearer"}
    for path, methods in CONTRACT.items():
        for method in methods:
            assert {"bearerAuth": []} in document["paths"][path][method]["security"], (method, path)


def test_the_error_body_is_a_documented_component(document):
    schemas = document["components"]["schemas"]
    error = schemas["Error"]
    assert error["required"] == ["error"]
    detail = component(document, error["properties"]["error"])
    assert set(detail["required"]) == {"code", "message", "fields"}
    assert detail["properties"]["fields"]["type"] == "object"
    assert detail["properties"]["fields"]["additionalProperties"] == {"type": "string"}


def test_every_documented_error_response_uses_the_error_body(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if is_compat(operation):
                continue
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, (
                        method,
                        path,
                        status,
                    )


def test_writes_document_their_status_and_errors(document):
    for path, status in CREATES:
        responses = document["paths"][path]["post"]["responses"]
        assert status in responses, (path, sorted(responses))
        assert {"400", "401", "403", "404", "409", "422"} <= set(responses), (path, sorted(responses))


def test_every_post_takes_an_idempotency_key_and_a_bootstrap_start_requires_one(document):
    for path, methods in CONTRACT.items():
        if "post" in methods:
            parameters = {p["name"]: p for p in document["paths"][path]["post"]["parameters"] if p["in"] == "header"}
            assert "Idempotency-Key" in parameters, path
    start = document["paths"]["/api/v1/bootstraps/"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" and p.get("required") for p in start)


def test_lists_are_paginated_and_filterable(document):
    for path, filters in LISTS.items():
        operation = document["paths"][path]["get"]
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert {"page", "page_size"} | filters <= query, (path, sorted(query))
        page = component(document, response_schema(document, path, "get", "200"))
        assert {"count", "next", "previous", "results"} <= set(page["properties"]), path


def test_the_read_model_and_history_carry_the_contract_fields(document):
    environment = component(
        document, response_schema(document, "/api/v1/environments/{context}/{instance}/", "get", "200")
    )
    assert set(environment["properties"]) >= READ_MODEL_FIELDS, READ_MODEL_FIELDS - set(environment["properties"])
    last_known_good = component(document, environment["properties"]["last_known_good"])
    assert set(last_known_good["required"]) == {"deployment_record_id", "bootstrap_operation_id", "verified_at"}
    deployment = component(document, environment["properties"]["current_deployment"])
    assert {"record_id", "artifact_id", "source_git_ref", "deploy_status", "finished_at"} <= set(
        deployment["properties"]
    )
    bootstrap = component(document, environment["properties"]["last_bootstrap"])
    assert {"operation_id", "status", "readiness_status", "finished_at"} <= set(bootstrap["properties"])
    history = response_schema(document, "/api/v1/environments/{context}/{instance}/history/", "get", "200")
    transition = component(document, component(document, history)["properties"]["results"]["items"])
    assert set(transition["properties"]) >= TRANSITION, TRANSITION - set(transition["properties"])


def test_paginated_lists_document_their_error_responses(document):
    for path in LISTS:
        responses = document["paths"][path]["get"]["responses"]
        assert {"400", "401", "404"} <= set(responses), (path, sorted(responses))


def test_request_bodies_forbid_unknown_fields(document):
    for name, schema in document["components"]["schemas"].items():
        if name.endswith("Request") and schema.get("type") == "object":
            assert schema.get("additionalProperties") is False, name


def test_the_docs_page_renders_for_a_staff_session(db):
    staff = get_user_model().objects.create_user(username="sam", is_staff=True)
    http = APIClient()
    http.force_login(staff)
    response = http.get("/api/v1/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "swagger-ui" in page.lower()
    assert "/api/v1/schema/" in page


# --- What the server enforces, said in the document (issue 15) -------------------------------------

POSTS = [(path, "post") for path, methods in CONTRACT.items() if "post" in methods] + [
    ("/api/v1/bootstraps/{operation_id}/events/", "post"),
    ("/api/v1/environments/{context}/{instance}/verify/", "post"),
]


def request_schema(document: dict, path: str, method: str = "post") -> dict:
    body = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return component(document, body)


def test_every_post_states_the_idempotency_key_rule(document):
    for path, method in POSTS:
        [header] = [p for p in document["paths"][path][method]["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["schema"] == {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]{1,255}$"}
        assert "idempotency_key_reused" in header["description"], path
        assert header.get("required", False) is (path == "/api/v1/bootstraps/"), path


def test_required_checks_are_unique_and_identifiers_have_patterns_and_lengths(document):
    for name in ("EnvironmentCreateRequest", "PatchedEnvironmentSettingsRequest"):
        checks = document["components"]["schemas"][name]["properties"]["required_checks"]
        assert (checks["uniqueItems"], checks["minItems"], checks["maxItems"]) == (True, 1, 3), name
    deployment = document["components"]["schemas"]["DeploymentCreateRequest"]["properties"]
    assert deployment["artifact_id"]["maxLength"] == 512 and deployment["artifact_id"]["format"] == "identifier"
    assert deployment["source_git_ref"]["pattern"] == deployment["artifact_id"]["pattern"]
    assert deployment["context"]["pattern"] == "^[a-z0-9][a-z0-9_-]*$" and deployment["context"]["maxLength"] == 63
    assert deployment["record_id"]["pattern"] == "^[A-Za-z0-9._:-]{1,128}$"
    assert deployment["finished_at"]["pattern"] == "^(19[7-9][0-9]|[2-8][0-9]{3})-"
    environment = document["paths"]["/api/v1/environments/{context}/{instance}/"]["get"]["parameters"]
    assert {p["name"]: p["schema"]["maxLength"] for p in environment if p["in"] == "path"} == {
        "context": 63,
        "instance": 63,
    }


def test_an_observation_says_with_one_of_when_its_identity_may_be_left_out(document):
    observation = document["components"]["schemas"]["ObservationCreateRequest"]
    branches = {branch["title"]: branch for branch in observation["oneOf"]}
    assert branches["Identity reported"]["required"] == ["observed_runtime_identity"]
    assert branches["Identity reported"]["not"] == {"required": ["runtime_identity_status"]}
    assert branches["Unverifiable"]["required"] == ["runtime_identity_status"]
    assert "contradictory_result" in observation["properties"]["runtime_identity_status"]["description"]


def test_a_result_lists_only_the_statuses_a_run_ends_with(document):
    enum = document["components"]["schemas"]["ResultRunStatusEnum"]["enum"]
    assert sorted(enum) == ["fail", "not_run", "pass", "unknown"]


def test_list_filters_carry_the_server_enums_and_allow_an_empty_value(document):
    from inventory.choices import InventoryState

    parameters = {p["name"]: p for p in document["paths"]["/api/v1/environments/"]["get"]["parameters"]}
    assert sorted(parameters["state"]["schema"]["items"]["enum"]) == sorted(InventoryState.values)
    assert all(p["allowEmptyValue"] for p in parameters.values() if p["in"] == "query")
    assert parameters["page"]["schema"]["minimum"] == 1
    assert (parameters["page_size"]["schema"]["minimum"], parameters["page_size"]["schema"]["maximum"]) == (1, 500)


def test_operations_are_linked_for_clients_and_stateful_testing(document):
    created = document["paths"]["/api/v1/environments/"]["post"]["responses"]["201"]["links"]
    assert created["RecordDeployment"]["requestBody"] == {
        "context": "$response.body#/context",
        "instance": "$response.body#/instance",
    }
    assert created["ReadEnvironment"]["operationId"] == "environments_retrieve"
    started = document["paths"]["/api/v1/bootstraps/"]["post"]["responses"]["201"]["links"]
    assert started["ReportResult"]["parameters"] == {"operation_id": "$response.body#/operation_id"}
    deployed = document["paths"]["/api/v1/deployments/"]["post"]["responses"]["201"]["links"]
    assert set(deployed) == {"ReadDeployment", "ReadEnvironment"}
