"""The /v1/ routes in the OpenAPI document at /api/v1/schema/: under their own tag, with the existing
service's envelope for every documented error, and the strict request body."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

ROUTES = {
    "/v1/evidence/deployments": "post",
    "/v1/inventory/{context}/{instance}": "get",
    "/v1/deployments/{record_id}": "get",
}
UPSTREAM_ERROR = {"$ref": "#/components/schemas/UpstreamError"}


@pytest.fixture
def document(db) -> dict:
    from launchplane.models import ApiClient

    _, token = ApiClient.issue("schema-reader", contexts=["cm"], read_only=True)
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = http.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_compat_routes_are_documented_under_their_own_tag(document):
    compat = {
        path for path, ops in document["paths"].items() if any("compat" in op.get("tags", []) for op in ops.values())
    }
    assert compat == set(ROUTES)
    for path, method in ROUTES.items():
        operation = document["paths"][path][method]
        assert operation["tags"] == ["compat"], path
        assert {"bearerAuth": []} in operation["security"], path


def test_every_documented_compat_error_is_the_upstream_envelope(document):
    envelope = document["components"]["schemas"]["UpstreamError"]
    assert set(envelope["required"]) == {"status", "trace_id", "error"}
    for path, method in ROUTES.items():
        responses = document["paths"][path][method]["responses"]
        assert {"401", "403", "404"} <= set(responses), path
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == UPSTREAM_ERROR, (path, status)


def test_the_evidence_post_documents_its_answers_and_takes_an_idempotency_key(document):
    operation = document["paths"]["/v1/evidence/deployments"]["post"]
    assert {"202", "400", "401", "403", "404", "409", "413"} <= set(operation["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation["parameters"])
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rpartition("/")[2]
    schemas = document["components"]["schemas"]
    assert schemas[body]["additionalProperties"] is False
    assert set(schemas[body]["required"]) == {"schema_version", "product", "deployment"}
    record = schemas[schemas[body]["properties"]["deployment"]["$ref"].rpartition("/")[2]]
    assert {"artifact_identity", "context", "instance", "source_git_ref"} <= set(record["required"])
    assert "record_id" not in record["required"]  # left out, Launchplane assigns one
    assert record["additionalProperties"] is False


def test_a_timeout_is_documented_as_above_zero_as_the_server_refuses_zero(document):
    """A reviewer found `minimum: 0` in the document while the server refuses 0 (``exclusiveMinimum``)."""
    timeout = document["components"]["schemas"]["UpstreamDestinationHealthRequest"]["properties"]["timeout_seconds"]
    assert (timeout["minimum"], timeout.get("exclusiveMinimum"), timeout["maximum"]) == (0, True, 86400)
