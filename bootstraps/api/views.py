"""API views for bootstrap operations. They call services and hold no rule."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from bootstraps.api.serializers import (
    BootstrapOperationSerializer,
    BootstrapResponseSerializer,
    CancelSerializer,
    EventSerializer,
    OneShotResultSerializer,
    ResultSerializer,
    StartSerializer,
)
from bootstraps.filtersets import BootstrapOperationFilterSet
from bootstraps.models import BootstrapOperation
from bootstraps.services import (
    cancel_bootstrap,
    record_bootstrap_result,
    record_progress,
    run_bootstrap_once,
    start_bootstrap,
)
from inventory import selectors
from inventory.api.views import InventoryViewSet, environment_written
from inventory.models import Environment
from launchplane.api.auth import restrict
from launchplane.api.idempotency import idempotent
from launchplane.api.schema import (
    ACTIVE_ONLY,
    IDEMPOTENCY_KEY,
    IDEMPOTENCY_KEY_REQUIRED,
    LIST_ERRORS,
    READ_ERRORS,
    RESULT_RULES,
    START_RULES,
    WRITE_ERRORS,
)


@extend_schema_view(
    list=extend_schema(
        summary="List bootstrap operations, newest first",
        responses={200: BootstrapOperationSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Read one bootstrap operation", responses={200: BootstrapOperationSerializer, **READ_ERRORS}
    ),
)
class BootstrapViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, InventoryViewSet):
    """Data bootstrap operations: start (optionally with the result in one request), result, cancel."""

    serializer_class = BootstrapOperationSerializer
    filterset_class = BootstrapOperationFilterSet
    lookup_field = "operation_id"
    lookup_value_regex = r"[A-Za-z0-9._:-]{1,128}"
    queryset = BootstrapOperation.objects.none()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if "operation_id" in kwargs and request.method == "POST":
            # Expire an overdue operation before the idempotent transaction opens, so that the expiry
            # stays committed even when the write that follows is refused (rule 9).
            self.get_object()

    def scoped_queryset(self) -> QuerySet:
        return BootstrapOperation.objects.select_related("environment").order_by("-created_at", "-pk")

    def get_object(self) -> BootstrapOperation:
        # Out of scope answers 404, like an unknown operation. Overdue operations expire first (rule 9).
        operation = get_object_or_404(self.get_queryset(), operation_id=self.kwargs["operation_id"])
        if operation.is_active and operation.deadline <= self.now:
            selectors.expire_overdue(operation.environment, self.now)
            operation.refresh_from_db()
        return operation

    def list(self, request: Request, *args, **kwargs) -> Response:
        selectors.expire_overdue(restrict(Environment.objects.all(), self.scope.contexts, "context"), self.now)
        return super().list(request, *args, **kwargs)

    def respond(self, operation: BootstrapOperation, code: int) -> Response:
        return Response(
            BootstrapResponseSerializer(operation, context=self.answer_context(operation.environment)).data,
            status=code,
        )

    @extend_schema(
        summary="Start a bootstrap (or record a finished one with `result`)",
        description=START_RULES,
        request=StartSerializer,
        responses={201: BootstrapResponseSerializer, **WRITE_ERRORS},
        parameters=[IDEMPOTENCY_KEY_REQUIRED],
    )
    @idempotent(required=True)
    def create(self, request: Request) -> Response:
        body = StartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        environment = environment_written(data["context"], data["instance"])
        common = {
            "data_source": data["data_source"],
            "reason": data["reason"],
            "timeout_seconds": data["timeout_seconds"],
            "actor": self.scope.actor,
            "idempotency_key": getattr(request, "idempotency_key", ""),
            "request_fingerprint": getattr(request, "request_fingerprint", ""),
            "now": self.now,
        }
        if "result" in data:  # validated with the body, nested (OneShotResultSerializer)
            operation = run_bootstrap_once(environment, OneShotResultSerializer.result_of(data["result"]), **common)
        else:
            operation = start_bootstrap(environment, **common)
        return self.respond(operation, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Report a bootstrap's result",
        description=RESULT_RULES,
        request=ResultSerializer,
        responses={200: BootstrapResponseSerializer, **WRITE_ERRORS},
        parameters=[IDEMPOTENCY_KEY],
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def result(self, request: Request, operation_id: str) -> Response:
        operation = self.get_object()
        body = ResultSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        operation = record_bootstrap_result(operation, body.to_result(), actor=self.scope.actor, now=self.now)
        return self.respond(operation, status.HTTP_200_OK)

    @extend_schema(
        summary="Cancel an active bootstrap",
        description=ACTIVE_ONLY,
        request=CancelSerializer,
        responses={200: BootstrapResponseSerializer, **WRITE_ERRORS},
        parameters=[IDEMPOTENCY_KEY],
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def cancel(self, request: Request, operation_id: str) -> Response:
        operation = self.get_object()
        body = CancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        operation = cancel_bootstrap(
            operation,
            reason=body.validated_data["reason"],
            data_mutated=body.validated_data["data_mutated"],
            actor=self.scope.actor,
            now=self.now,
        )
        return self.respond(operation, status.HTTP_200_OK)

    @extend_schema(
        summary="Report progress of a running bootstrap (phase, data_mutated, deadline heartbeat)",
        description=ACTIVE_ONLY,
        request=EventSerializer,
        responses={200: BootstrapResponseSerializer, **WRITE_ERRORS},
        parameters=[IDEMPOTENCY_KEY],
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def events(self, request: Request, operation_id: str) -> Response:
        operation = self.get_object()
        body = EventSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        operation = record_progress(operation, actor=self.scope.actor, now=self.now, **body.validated_data)
        return self.respond(operation, status.HTTP_200_OK)
