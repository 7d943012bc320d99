"""API views for environments, deployments and observations. They call services and hold no rule."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from inventory import selectors
from inventory.api.serializers import (
    DeploymentCreateSerializer,
    DeploymentRecordSerializer,
    DeploymentResponseSerializer,
    EnvironmentCreateSerializer,
    EnvironmentSerializer,
    EnvironmentSettingsSerializer,
    ObservationCreateSerializer,
    ObservationSerializer,
    TransitionSerializer,
    identity_input,
)
from inventory.api.verification import VerificationRunSerializer
from inventory.choices import VerificationTrigger
from inventory.filtersets import (
    DeploymentRecordFilterSet,
    EnvironmentInventoryFilterSet,
    InventoryTransitionFilterSet,
)
from inventory.models import DeploymentRecord, Environment, EnvironmentInventory
from inventory.models.base import SLUG_PATTERN
from inventory.services import (
    create_environment,
    environment_to_write,
    get_environment,
    record_deployment,
    record_observation,
    update_environment_settings,
)
from inventory.services.verification import queue_verification
from launchplane.api.idempotency import idempotent
from launchplane.api.schema import (
    DEPLOYMENT_RULES,
    IDEMPOTENCY_KEY,
    LIST_ERRORS,
    OBSERVATION_RULES,
    READ_ERRORS,
    WRITE_ERRORS,
)
from launchplane.api.viewsets import ScopedViewSet
from launchplane.errors import NotFound

SLUG = re.compile(SLUG_PATTERN)


def check_pair(context: str, instance: str) -> None:
    """404 before any query when a URL's pair cannot name an environment (a NUL byte, for one, would
    otherwise reach PostgreSQL, which refuses it in a text parameter)."""
    if not all(SLUG.match(part) and len(part) <= 63 for part in (context, instance)):
        raise NotFound(
            f"No environment {context[:63]!r}/{instance[:63]!r}: contexts and instances are lowercase slugs."
        )


def named_environment(context: str, instance: str) -> Environment:
    """The environment a URL or body names (its scope was checked by the gate): 404 when unknown."""
    check_pair(context, instance)
    return get_environment(context, instance)


def environment_written(context: str, instance: str) -> Environment:
    """``named_environment`` for a write whose service locks the inventory row: inside the write's
    all-or-nothing transaction the lookup takes the lock (``environment_to_write``)."""
    check_pair(context, instance)
    return environment_to_write(context, instance)


class InventoryViewSet(ScopedViewSet):
    """A scoped viewset whose writes answer with the environment's read model afterwards."""

    def answer_context(self, environment: Environment) -> dict[str, Any]:
        """The serializer context for a write's answer: ``now`` and the read model after the write, as
        its service left it (``selectors.written_read_model``)."""
        return {"now": self.now, "environment": selectors.written_read_model(environment, self.now)}


@extend_schema_view(
    list=extend_schema(
        summary="List environments (read models), newest first",
        responses={200: EnvironmentSerializer(many=True), **LIST_ERRORS},
    ),
)
class EnvironmentViewSet(mixins.ListModelMixin, InventoryViewSet):
    """Environments and their read model; the only way an environment comes to exist is creating it."""

    serializer_class = EnvironmentSerializer
    filterset_class = EnvironmentInventoryFilterSet
    queryset = EnvironmentInventory.objects.none()

    context_field = "environment__context"

    def get_queryset(self) -> QuerySet:
        if self.action != "list" or not hasattr(self, "scope"):
            return EnvironmentInventory.objects.none()
        return selectors.inventory_list(self.scope.contexts, self.now)  # scoped by the selector

    def list(self, request: Request) -> Response:
        """Filter, count and slice by ids, then read the page's read models (``inventory_list``)."""
        listed = self.filter_queryset(self.get_queryset())
        page_ids = self.paginate_queryset(listed.values_list("pk", flat=True))
        rows = selectors.read_models_in_order(page_ids or [], self.now)
        data = EnvironmentSerializer(rows, many=True, context={"now": self.now}).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Create an environment",
        description="A `context`/`instance` pair that already exists answers 409 `conflict`.",
        request=EnvironmentCreateSerializer,
        responses={201: EnvironmentSerializer, **WRITE_ERRORS},
        parameters=[IDEMPOTENCY_KEY],
    )
    @idempotent()
    def create(self, request: Request) -> Response:
        body = EnvironmentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        environment = create_environment(**body.validated_data, now=self.now)
        inventory = selectors.read_model(environment, self.now, expired=True)  # new: nothing can be overdue
        data = EnvironmentSerializer(inventory, context={"now": self.now}).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Read one environment", responses={200: EnvironmentSerializer, **READ_ERRORS})
    def retrieve(self, request: Request, context: str, instance: str) -> Response:
        check_pair(context, instance)
        inventory = selectors.named_read_model(context, instance, self.now)
        if inventory is None:  # the 404 every environment URL answers
            inventory = selectors.read_model(named_environment(context, instance), self.now)
        return Response(EnvironmentSerializer(inventory, context={"now": self.now}).data)

    @extend_schema(
        summary="Change an environment's settings",
        description="Settings only: state fields (and the context and instance) are unknown fields (400).",
        request=EnvironmentSettingsSerializer,
        responses={200: EnvironmentSerializer, **WRITE_ERRORS},
    )
    def partial_update(self, request: Request, context: str, instance: str) -> Response:
        environment = named_environment(context, instance)
        body = EnvironmentSettingsSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        update_environment_settings(environment, **body.validated_data)
        inventory = selectors.read_model(environment, self.now)
        return Response(EnvironmentSerializer(inventory, context={"now": self.now}).data)

    @extend_schema(
        summary="Queue a verification run (Launchplane probes the runtime itself)",
        description=(
            "202 with the queued run; 200 with the run already queued or running (asking again gives the "
            "same run). 409 `bootstrap_active` while a bootstrap is active, 409 `not_verifiable` without a "
            "`base_url`. No body."
        ),
        request=None,
        responses={202: VerificationRunSerializer, 200: VerificationRunSerializer, **WRITE_ERRORS},
        parameters=[IDEMPOTENCY_KEY],
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def verify(self, request: Request, context: str, instance: str) -> Response:
        environment = environment_written(context, instance)
        if request.data:
            raise ValidationError({name: ["Unknown field."] for name in sorted(request.data)})
        run, created = queue_verification(
            environment, trigger=VerificationTrigger.API, requested_by=self.scope.actor, now=self.now
        )
        return Response(
            VerificationRunSerializer(run, context={"now": self.now}).data,
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        summary="History of an environment's inventory, newest first",
        responses={200: TransitionSerializer(many=True), **LIST_ERRORS},
        filters=False,
    )
    @action(detail=True, methods=["get"], filterset_class=InventoryTransitionFilterSet)
    def history(self, request: Request, context: str, instance: str) -> Response:
        environment = named_environment(context, instance)
        transitions = InventoryTransitionFilterSet(
            request.query_params, queryset=selectors.history(environment, self.now), request=request
        )
        if not transitions.is_valid():
            raise ValidationError(transitions.errors)
        page = self.paginate_queryset(transitions.qs)
        return self.get_paginated_response(TransitionSerializer(page, many=True).data)

    @extend_schema(
        summary="Record an observation of the runtime's identity",
        description=OBSERVATION_RULES,
        request=ObservationCreateSerializer,
        responses={201: ObservationSerializer, **WRITE_ERRORS},
        parameters=[IDEMPOTENCY_KEY],
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def observations(self, request: Request, context: str, instance: str) -> Response:
        environment = environment_written(context, instance)
        body = ObservationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        recorded = record_observation(
            environment,
            identity=identity_input(body),
            source=body.validated_data["source"],
            observed_at=body.validated_data["observed_at"],
            actor=self.scope.actor,
            now=self.now,
        )
        return Response(
            ObservationSerializer(recorded.record, context=self.answer_context(environment)).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema_view(
    list=extend_schema(
        summary="List deployment records, newest first",
        responses={200: DeploymentRecordSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Read one deployment record", responses={200: DeploymentRecordSerializer, **READ_ERRORS}
    ),
)
class DeploymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, InventoryViewSet):
    """Artifact deployment records. Created by automation, never changed."""

    serializer_class = DeploymentRecordSerializer
    filterset_class = DeploymentRecordFilterSet
    lookup_field = "record_id"
    lookup_value_regex = r"[A-Za-z0-9._:-]{1,128}"
    queryset = DeploymentRecord.objects.none()

    def scoped_queryset(self) -> QuerySet:
        return DeploymentRecord.objects.select_related("environment").order_by("-created_at", "-pk")

    def get_object(self) -> DeploymentRecord:
        # Out of scope answers 404, like an unknown record.
        return get_object_or_404(self.get_queryset(), record_id=self.kwargs["record_id"])

    @extend_schema(
        summary="Record an artifact deployment",
        description=DEPLOYMENT_RULES,
        request=DeploymentCreateSerializer,
        responses={201: DeploymentResponseSerializer, **WRITE_ERRORS},
        parameters=[IDEMPOTENCY_KEY],
    )
    @idempotent()
    def create(self, request: Request) -> Response:
        body = DeploymentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        environment = environment_written(data["context"], data["instance"])
        recorded = record_deployment(
            environment,
            record_id=data.get("record_id"),
            artifact_id=data["artifact_id"],
            source_git_ref=data["source_git_ref"],
            image_digest=data["image_digest"],
            deploy_status=data["deploy_status"],
            post_deploy_status=data["post_deploy_status"],
            health_status=data["health_status"],
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            identity=identity_input(body),
            actor=self.scope.actor,
            now=self.now,
        )
        return Response(
            DeploymentResponseSerializer(recorded.record, context=self.answer_context(environment)).data,
            status=status.HTTP_201_CREATED,
        )
