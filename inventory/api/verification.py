"""API for verification runs: read them (scoped like every record). Queueing one is the environment's
``/verify/`` action (inventory/api/views.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from inventory import selectors
from inventory.api.serializers import EnvironmentSerializer
from inventory.filtersets import VerificationRunFilterSet
from inventory.models import VerificationRun
from launchplane.api.fields import ReadModelSerializer
from launchplane.api.schema import LIST_ERRORS, READ_ERRORS
from launchplane.api.viewsets import ScopedViewSet


class ProbeEvidenceSerializer(serializers.Serializer):
    probe = serializers.CharField()
    url = serializers.CharField()
    status = serializers.CharField()
    status_code = serializers.IntegerField(allow_null=True)
    content_type = serializers.CharField()
    failure_class = serializers.CharField()
    detail = serializers.CharField()
    elapsed_ms = serializers.IntegerField()


class VerificationRunSerializer(ReadModelSerializer):
    """One verification run; ``environment`` (the read model) once the run has finished."""

    context = serializers.CharField(source="environment.context")  # type: ignore[assignment]
    instance = serializers.CharField(source="environment.instance")
    probes = ProbeEvidenceSerializer(many=True)
    environment = serializers.SerializerMethodField()

    class Meta:
        model = VerificationRun
        fields = [
            "run_id",
            "context",
            "instance",
            "status",
            "trigger",
            "requested_by",
            "queued_at",
            "started_at",
            "finished_at",
            "base_url",
            "health_status",
            "canonical_status",
            "logo_status",
            "expected_runtime_identity",
            "observed_runtime_identity",
            "runtime_identity_status",
            "runtime_identity_mismatches",
            "probes",
            "inventory_effect",
            "detail",
            "environment",
        ]
        read_only_fields = fields

    @extend_schema_field(EnvironmentSerializer(allow_null=True))
    def get_environment(self, run: VerificationRun) -> dict[str, Any] | None:
        if run.status != VerificationRun.Status.FINISHED:
            return None
        context: dict[str, Any] = self._context  # ``context`` is also a field here
        read_models = context.get("read_models")
        if read_models is not None:  # a list page: every environment on it was read in one query
            inventory = read_models[run.environment_id]
        else:
            inventory = selectors.read_model(run.environment, context["now"])
        return EnvironmentSerializer(inventory, context=context).data


@extend_schema_view(
    list=extend_schema(
        summary="List verification runs, newest first",
        responses={200: VerificationRunSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Read one verification run", responses={200: VerificationRunSerializer, **READ_ERRORS}
    ),
)
class VerificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Launchplane's own verification runs: evidence, never changed once finished."""

    serializer_class = VerificationRunSerializer
    filterset_class = VerificationRunFilterSet
    lookup_field = "run_id"
    lookup_value_regex = r"[A-Za-z0-9._:-]{1,64}"
    queryset = VerificationRun.objects.none()

    def scoped_queryset(self) -> QuerySet:
        return VerificationRun.objects.select_related("environment").order_by("-queued_at", "-pk")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        runs = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert runs is not None  # the API always paginates
        read_models = selectors.read_models({run.environment_id for run in runs}, self.now)
        context = {**self.get_serializer_context(), "read_models": read_models}
        return self.get_paginated_response(VerificationRunSerializer(runs, many=True, context=context).data)

    def get_object(self) -> VerificationRun:
        return get_object_or_404(self.get_queryset(), run_id=self.kwargs["run_id"])
