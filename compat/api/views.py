"""The /v1/ routes existing Launchplane clients call. They reuse our API clients, scopes and idempotency
keys, call the services, and answer in the existing service's envelope — every error included
(``CompatViewSet.finalize_response``, the one place errors are translated)."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from compat import rules, selectors
from compat.api.answers import deployment_record, inventory_record
from compat.api.envelope import new_trace_id, rejected_response, translate
from compat.api.serializers import (
    UpstreamAcceptedSerializer,
    UpstreamDeploymentSerializer,
    UpstreamErrorSerializer,
    UpstreamInventorySerializer,
    UpstreamSubmissionSerializer,
)
from compat.services import record_evidence
from inventory.api.views import check_pair, named_environment
from inventory.models import DeploymentRecord
from inventory.models.base import RECORD_ID_PATTERN
from launchplane.api.auth import require_context
from launchplane.api.fields import contains_unstorable
from launchplane.api.idempotency import REPLAYED_HEADER, idempotent
from launchplane.api.schema import IDEMPOTENCY_KEY
from launchplane.api.viewsets import ScopedViewSet, is_context
from launchplane.errors import InvalidInput, NotFound

RECORD_ID = re.compile(RECORD_ID_PATTERN)
TAG = "compat"


def error(description: str, code: str, message: str) -> OpenApiResponse:
    return OpenApiResponse(
        UpstreamErrorSerializer,
        description=description,
        examples=[
            OpenApiExample(
                code,
                value={"status": "rejected", "trace_id": "4f1c…", "error": {"code": code, "message": message}},
            )
        ],
    )


COMMON_ERRORS = {
    401: error("No or bad token (WWW-Authenticate: Bearer).", "authentication_required", "Unknown or revoked token."),
    403: error("Outside the client's scope, or a read-only client writing.", "authorization_denied", "…"),
    404: error("Unknown environment or record, or outside the scope.", "not_found", "No environment cm/testing."),
    405: error("Method not allowed.", "method_not_allowed", 'Method "PUT" not allowed.'),
    406: error("Accept names nothing JSON.", "not_acceptable", "Could not satisfy the request Accept header."),
    429: error("Too many requests from this client.", "throttled", "Request was throttled."),
}
WRITE_ERRORS = {
    **COMMON_ERRORS,
    400: error("Invalid body (any field, any rule).", "invalid_request", "deployment.deploy.status: …"),
    409: error(
        "A record_id already used, a bootstrap still active, or the Idempotency-Key reused for another body.",
        "idempotency_key_reused",
        "Idempotency-Key 'k1' was already used for a different request.",
    ),
    411: error("A body sent chunked, without a Content-Length.", "length_required", "Send a Content-Length."),
    413: error("Body over the size limit.", "request_entity_too_large", "The body is 2000000 bytes; …"),
}


def path_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, str, location=OpenApiParameter.PATH, description=description)


class CompatViewSet(ScopedViewSet):
    """Our scope gate (``ScopedViewSet``), and the existing service's envelope on every answer."""

    queryset = DeploymentRecord.objects.none()
    # No OPTIONS metadata (there is no one serializer to describe): 405 in the envelope, not a 500.
    metadata_class = None
    # So that a 405's Allow header lists only what is answered (OPTIONS is not).
    http_method_names = ["get", "post", "head"]
    trace_id: str

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.trace_id = new_trace_id()
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # The context of an existing client's body is inside its record: out of scope is 403 before
        # any other fault of the body is reported, as on our API.
        if request.method == "POST" and isinstance(request.data, dict):
            record = request.data.get("deployment")
            if isinstance(record, dict) and is_context(record.get("context")):
                require_context(request, record["context"])

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.status_code >= 400:
            response.data, response.status_code = translate(response.data, response.status_code, self.trace_id)
        elif isinstance(response, Response) and response.get(REPLAYED_HEADER) == "true":
            response.data = {**response.data, "replayed": True}
        return response

    def scoped_queryset(self) -> QuerySet:
        return selectors.deployments(DeploymentRecord.objects.all())

    @extend_schema(
        tags=[TAG],
        operation_id="compat_record_deployment_evidence",
        summary="Record an existing client's deployment evidence (split into a deployment and/or a bootstrap)",
        description=(
            "The existing Launchplane service's `POST /v1/evidence/deployments`: the same body, bearer token "
            "and optional `Idempotency-Key` (one key table with /api/v1/). A `deploy.status` pass or fail "
            "records a deployment; an attempted `bootstrap` records a one-shot bootstrap (after the "
            "deployment, in one transaction); `deploy.status` skipped or pending with an attempted "
            "bootstrap records the bootstrap alone. See docs/compat.md.\n\n"
            "Rules across fields, which the document does not carry (400 `invalid_request`): a record "
            "reports a `deploy.status` pass or fail or an attempted `bootstrap`, or there is nothing to "
            "record; a `bootstrap` not attempted has both statuses `skipped`, an attempted one neither; a "
            "`post_deploy_update` not attempted is `skipped`; a verified `destination_health` names its "
            "URLs, its timeout and pass or fail; `deploy.finished_at` is not before `deploy.started_at` "
            "and neither is in the future."
        ),
        request=UpstreamSubmissionSerializer,
        responses={202: UpstreamAcceptedSerializer, **WRITE_ERRORS},
        parameters=[IDEMPOTENCY_KEY],
    )
    @idempotent()
    def record_evidence(self, request: Request) -> Response:
        if contains_unstorable(request.data):
            raise InvalidInput("Text may not contain NUL characters or lone surrogates.")
        body = UpstreamSubmissionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        record = data["deployment"]
        plan = rules.plan(data)
        environment = named_environment(record["context"], record["instance"])
        recorded = record_evidence(
            environment,
            plan,
            payload=request.data,
            product=data["product"],
            upstream_record_id=record.get("record_id", ""),
            actor=self.scope.actor,
            trace_id=self.trace_id,
            idempotency_key=getattr(request, "idempotency_key", ""),
            request_fingerprint=getattr(request, "request_fingerprint", ""),
            now=self.now,
        )
        records: dict[str, Any] = {
            "deployment_record_id": recorded.deployment.record_id if recorded.deployment else None,
            "inventory_record_id": rules.inventory_record_id(environment.context, environment.instance),
        }
        if recorded.bootstrap is not None:
            records["bootstrap_operation_id"] = recorded.bootstrap.operation_id
        return Response(
            {"status": "accepted", "trace_id": self.trace_id, "records": records}, status=status.HTTP_202_ACCEPTED
        )

    @extend_schema(
        tags=[TAG],
        operation_id="compat_read_inventory",
        summary="Read an environment's inventory in the existing service's shape",
        description=(
            "The existing field names (of the current deployment and the latest bootstrap) plus ours: "
            "`state`, `state_reason`, `deployment_state`, `data_state`, `freshness`, `last_known_good`."
        ),
        parameters=[
            path_parameter("context", "A lowercase slug."),
            path_parameter("instance", "A lowercase slug."),
        ],
        responses={200: UpstreamInventorySerializer, **COMMON_ERRORS},
    )
    def read_inventory(self, request: Request, context: str, instance: str) -> Response:
        check_pair(context, instance)  # 404 before any query (a NUL byte would reach PostgreSQL)
        inventory = selectors.inventory(context, instance, self.now)
        if inventory is None:
            named_environment(context, instance)  # the 404 every environment URL answers
            raise NotFound(f"No environment {context}/{instance}.")
        evidence = selectors.evidence_for(inventory.current_deployment)
        return Response(
            {"status": "ok", "trace_id": self.trace_id, "record": inventory_record(inventory, evidence, self.now)}
        )

    @extend_schema(
        tags=[TAG],
        operation_id="compat_read_deployment",
        summary="Read one deployment record in the existing service's shape",
        description=(
            "The `DeploymentRecord` as an existing client submitted it (or ours under its names), plus "
            "what we made of it. Outside the client's scope: 404, like an unknown record."
        ),
        parameters=[path_parameter("record_id", "The record's id ([A-Za-z0-9._:-]{1,128}).")],
        responses={200: UpstreamDeploymentSerializer, **COMMON_ERRORS},
    )
    def read_deployment(self, request: Request, record_id: str) -> Response:
        if not RECORD_ID.match(record_id):  # 404 before any query, like an unknown record
            raise NotFound(f"No deployment record {record_id[:128]!r}.")
        record = self.get_queryset().filter(record_id=record_id).first()  # out of scope: 404, like unknown
        if record is None:
            raise NotFound(f"No deployment record {record_id}.")
        evidence = getattr(record, "compat_evidence", None)
        return Response({"status": "ok", "trace_id": self.trace_id, "record": deployment_record(record, evidence)})


@csrf_exempt
def not_found(request: Any, *args: Any, **kwargs: Any) -> Any:
    """Any path under /v1/ that no route matches, whatever the method."""
    return rejected_response("not_found", f"No endpoint at {request.path[:200]}.", 404)
