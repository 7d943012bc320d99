"""Serializers for bootstrap operations: start, result, cancel, and the operation itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from bootstraps.models import BootstrapOperation
from bootstraps.services import BootstrapResult
from inventory.api.serializers import UNVERIFIABLE_ONLY, WithEnvironment, identity_of, slug_field
from inventory.choices import CheckStatus
from launchplane.api.fields import (
    AwareDateTimeField,
    NullableJSONField,
    ReadModelSerializer,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictSerializer,
)

API_MAX_TIMEOUT_SECONDS = 86400
CHECK = CheckStatus.choices


class ProbeSerializer(StrictSerializer):
    """One verification probe: what was requested and what came back."""

    probe = StrictCharField(max_length=64)
    url = StrictCharField(max_length=2048, required=False, allow_blank=True, default="")
    status = StrictChoiceField(choices=CHECK)
    status_code = StrictIntegerField(required=False, allow_null=True, default=None, min_value=0, max_value=999)
    failure_class = StrictCharField(max_length=128, required=False, allow_blank=True, allow_null=True, default=None)
    detail = StrictCharField(max_length=4000, required=False, allow_blank=True, default="")


class ResultSerializer(StrictSerializer):
    bootstrap_run_status = StrictChoiceField(choices=BootstrapOperation.RunStatus.choices)
    data_mutated = StrictBooleanField(allow_null=True)
    post_deploy_status = StrictChoiceField(choices=CHECK, required=False, default=CheckStatus.NOT_RUN)
    health_status = StrictChoiceField(choices=CHECK, required=False, default=CheckStatus.NOT_RUN)
    canonical_status = StrictChoiceField(choices=CHECK, required=False, default=CheckStatus.NOT_RUN)
    logo_status = StrictChoiceField(choices=CHECK, required=False, default=CheckStatus.NOT_RUN)
    observed_runtime_identity = NullableJSONField()
    runtime_identity_status = StrictChoiceField(choices=UNVERIFIABLE_ONLY, required=False)
    verification_evidence = ProbeSerializer(many=True, required=False, max_length=100)  # type: ignore[call-arg]
    finished_at = AwareDateTimeField(required=False)
    error_message = StrictCharField(max_length=10000, required=False, allow_blank=True, default="")

    def to_result(self) -> BootstrapResult:
        return self.result_of(self.validated_data)

    @staticmethod
    def result_of(data: Mapping[str, Any]) -> BootstrapResult:
        """The result in validated data: this serializer's, or a body's that nests it (a one-shot's)."""
        return BootstrapResult(
            bootstrap_run_status=data["bootstrap_run_status"],
            data_mutated=data["data_mutated"],
            post_deploy_status=data["post_deploy_status"],
            health_status=data["health_status"],
            canonical_status=data["canonical_status"],
            logo_status=data["logo_status"],
            identity=identity_of(data),
            verification_evidence=data.get("verification_evidence", []),
            finished_at=data.get("finished_at"),
            error_message=data["error_message"],
            started_at=data.get("started_at"),
        )


class OneShotResultSerializer(ResultSerializer):
    """A result sent with its start in one request; ``started_at`` is the run's own start (without it,
    the start is the arrival)."""

    started_at = AwareDateTimeField(required=False)


class StartSerializer(StrictSerializer):
    context = slug_field()  # type: ignore[assignment]
    instance = slug_field()
    data_source = StrictChoiceField(choices=BootstrapOperation.DataSource.choices)
    reason = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
    timeout_seconds = StrictIntegerField(required=False, default=3600, min_value=1, max_value=API_MAX_TIMEOUT_SECONDS)
    result = OneShotResultSerializer(required=False)


class CancelSerializer(StrictSerializer):
    reason = StrictCharField(max_length=2000)
    data_mutated = StrictBooleanField(required=False, allow_null=True, default=None)


class EventSerializer(StrictSerializer):
    """Progress of a running operation; ``extend_deadline_seconds`` doubles as a heartbeat."""

    phase = StrictChoiceField(choices=BootstrapOperation.Phase.choices)
    data_mutated = StrictBooleanField(required=False, allow_null=True, default=None)
    extend_deadline_seconds = StrictIntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=API_MAX_TIMEOUT_SECONDS
    )


class BootstrapOperationSerializer(ReadModelSerializer):
    context = serializers.CharField(source="environment.context")  # type: ignore[assignment]
    instance = serializers.CharField(source="environment.instance")

    class Meta:
        model = BootstrapOperation
        fields = [
            "operation_id",
            "context",
            "instance",
            "data_source",
            "reason",
            "requested_by",
            "status",
            "phase",
            "bootstrap_run_status",
            "data_mutated",
            "post_deploy_status",
            "health_status",
            "canonical_status",
            "logo_status",
            "runtime_identity_status",
            "expected_runtime_identity",
            "observed_runtime_identity",
            "runtime_identity_mismatches",
            "readiness_status",
            "inventory_effect",
            "verification_evidence",
            "error_message",
            "cancel_reason",
            "timeout_seconds",
            "deadline",
            "started_at",
            "finished_at",
            "result_received_at",
            "late",
            "created_at",
        ]
        read_only_fields = fields


class BootstrapResponseSerializer(WithEnvironment, BootstrapOperationSerializer):
    """An operation and the environment's read model after it was applied."""

    class Meta(BootstrapOperationSerializer.Meta):
        fields = [*BootstrapOperationSerializer.Meta.fields, "environment"]
        read_only_fields = fields
