"""Serializers for environments, deployments, observations and history.

Write serializers only check shape and types; what a record means is decided by the services.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.validators import URLValidator
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory.choices import CheckStatus, Freshness, RuntimeIdentityStatus
from inventory.models import (
    DeploymentRecord,
    EnvironmentInventory,
    InventoryTransition,
    RuntimeObservation,
    VerificationRun,
)
from inventory.models.base import RECORD_ID_PATTERN, SLUG_PATTERN
from inventory.models.queries import DEPLOYMENT_SUMMARY, VERIFICATION_SUMMARY
from inventory.rules import CHECKS, IdentityInput
from launchplane.api.fields import (
    AnswerSerializer,
    AwareDateTimeField,
    IdentifierField,
    NullableJSONField,
    ReadModelSerializer,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictRegexField,
    StrictSerializer,
    UniqueChoiceListField,
)

UNVERIFIABLE_ONLY = [RuntimeIdentityStatus.UNVERIFIABLE.value]
HTTP_URL = URLValidator(schemes=["http", "https"], message="Use an http:// or https:// URL.")


def slug_field(**kwargs) -> StrictRegexField:
    return StrictRegexField(
        SLUG_PATTERN,
        max_length=63,
        error_messages={"invalid": "Use a lowercase slug: a-z, 0-9, '_' and '-', starting with a letter or digit."},
        **kwargs,
    )


def identity_input(serializer: serializers.Serializer) -> IdentityInput:
    """What the body said about the runtime identity, keeping 'left out' apart from 'null'."""
    return identity_of(serializer.validated_data)


def identity_of(data: Mapping[str, Any]) -> IdentityInput:
    """``identity_input`` of validated data (a nested serializer's, say)."""
    return IdentityInput(
        sent="observed_runtime_identity" in data,
        value=data.get("observed_runtime_identity"),
        unverifiable=data.get("runtime_identity_status") == RuntimeIdentityStatus.UNVERIFIABLE,
    )


# ---------------------------------------------------------------------------------------------------
# Read model
# ---------------------------------------------------------------------------------------------------


class DeploymentSummarySerializer(ReadModelSerializer):
    class Meta:
        model = DeploymentRecord
        fields = list(DEPLOYMENT_SUMMARY)  # also the columns the read model's query selects


class BootstrapSummarySerializer(AnswerSerializer):
    """A bootstrap operation as the read model nests it (inventory does not import bootstraps)."""

    operation_id = serializers.CharField()
    data_source = serializers.CharField()
    status = serializers.CharField()
    bootstrap_run_status = serializers.CharField()
    data_mutated = serializers.BooleanField(allow_null=True)
    readiness_status = serializers.CharField()
    inventory_effect = serializers.CharField()
    late = serializers.BooleanField()
    started_at = serializers.DateTimeField()
    deadline = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class VerificationSummarySerializer(ReadModelSerializer):
    """The latest finished verification run, as the read model nests it."""

    class Meta:
        model = VerificationRun
        fields = list(VERIFICATION_SUMMARY)  # also the columns the read model's query selects


class LastKnownGoodSerializer(AnswerSerializer):
    deployment_record_id = serializers.CharField(allow_null=True)
    bootstrap_operation_id = serializers.CharField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)


class AcknowledgementSerializer(AnswerSerializer):
    by = serializers.CharField(source="acknowledged_by.get_username", allow_null=True)
    at = serializers.DateTimeField(source="acknowledged_at")
    note = serializers.CharField(source="acknowledgement_note")
    until = serializers.DateTimeField(
        source="acknowledged_until", allow_null=True, help_text="A snooze: out of the review queue until then."
    )


class AssigneeSerializer(AnswerSerializer):
    """Who has taken responsibility for the environment, and since when (server time)."""

    username = serializers.CharField(source="assignee.get_username")
    since = serializers.DateTimeField(source="assigned_at")


class EnvironmentSerializer(ReadModelSerializer):
    """The read model of one environment: both sides, their combination, pointers and evidence."""

    context = serializers.CharField(source="environment.context")  # type: ignore[assignment]
    instance = serializers.CharField(source="environment.instance")
    base_url = serializers.CharField(source="environment.base_url")
    required_checks = serializers.ListField(child=serializers.CharField(), source="environment.required_checks")
    requires_runtime_identity = serializers.BooleanField(source="environment.requires_runtime_identity")
    verification_ttl_seconds = serializers.IntegerField(source="environment.verification_ttl_seconds")
    health_path = serializers.CharField(source="environment.health_path")
    verification_interval_seconds = serializers.IntegerField(
        source="environment.effective_interval_seconds",
        help_text="Seconds between scheduled runs (half the TTL unless set; 0: never scheduled).",
    )
    verification_timeout_seconds = serializers.IntegerField(source="environment.verification_timeout_seconds")
    preview_marker = serializers.CharField(source="environment.preview_marker")
    verify_tls = serializers.BooleanField(source="environment.verify_tls")
    verify_after_records = serializers.BooleanField(source="environment.verify_after_records")
    last_verification = VerificationSummarySerializer(allow_null=True)
    freshness = serializers.SerializerMethodField()
    current_deployment = DeploymentSummarySerializer(allow_null=True)
    last_deployment_attempt = DeploymentSummarySerializer(allow_null=True)
    last_known_good = LastKnownGoodSerializer()
    last_bootstrap = BootstrapSummarySerializer(allow_null=True)
    expected_runtime_identity = serializers.JSONField(allow_null=True)
    observed_runtime_identity = serializers.JSONField(allow_null=True)
    acknowledgement = serializers.SerializerMethodField()
    assignee = serializers.SerializerMethodField()

    class Meta:
        model = EnvironmentInventory
        fields = [
            "context",
            "instance",
            "state",
            "state_reason",
            "deployment_state",
            "data_state",
            "freshness",
            "current_deployment",
            "last_deployment_attempt",
            "last_known_good",
            "last_bootstrap",
            "expected_runtime_identity",
            "observed_runtime_identity",
            "runtime_identity_status",
            "runtime_identity_mismatches",
            "observed_at",
            "acknowledgement",
            "assignee",
            "state_changed_at",
            "updated_at",
            "base_url",
            "required_checks",
            "requires_runtime_identity",
            "verification_ttl_seconds",
            "health_path",
            "verification_interval_seconds",
            "verification_timeout_seconds",
            "preview_marker",
            "verify_tls",
            "verify_after_records",
            "last_verification",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=Freshness.choices))
    def get_freshness(self, obj: EnvironmentInventory) -> str:
        return obj.freshness_at(self.context.get("now") or timezone.now()).value  # type: ignore[attr-defined]

    @extend_schema_field(AcknowledgementSerializer(allow_null=True))
    def get_acknowledgement(self, obj: EnvironmentInventory) -> dict | None:
        return AcknowledgementSerializer(obj).data if obj.is_acknowledged else None

    @extend_schema_field(AssigneeSerializer(allow_null=True))
    def get_assignee(self, obj: EnvironmentInventory) -> dict | None:
        # A holder whose account was deleted (SET_NULL) reads as nobody: there is no one to ask.
        return AssigneeSerializer(obj).data if obj.assignee_id is not None else None


class WithEnvironment(serializers.Serializer):
    """A record's answer carries the environment's read model afterwards, given explicitly in the
    serializer's context as ``environment`` (built by the view through ``inventory.selectors``)."""

    environment = serializers.SerializerMethodField()

    @extend_schema_field(EnvironmentSerializer)
    def get_environment(self, obj: object) -> dict:
        return EnvironmentSerializer(self.context["environment"], context=self.context).data


class EnvironmentSettingsSerializer(StrictSerializer):
    """An environment's settings as PATCH changes them: every field optional, state fields unknown."""

    base_url = serializers.URLField(
        required=False, allow_blank=True, max_length=200, trim_whitespace=False, validators=[HTTP_URL]
    )
    required_checks = UniqueChoiceListField(
        child=StrictChoiceField(choices=list(CHECKS)), required=False, min_length=1, max_length=3
    )
    requires_runtime_identity = StrictBooleanField(required=False)
    verification_ttl_seconds = StrictIntegerField(required=False, min_value=1, max_value=365 * 86400)
    health_path = StrictRegexField(
        # No whitespace or control character (the model's rule), spelt out where Python's \s and ECMA 262's
        # differ, so the OpenAPI pattern means the same to every reader.
        r"^/[^\s\x00-\x1f\x85\ufeff#]*\Z",
        required=False,
        max_length=200,
        error_messages={"invalid": "Use an absolute path such as /web/health (no spaces, no fragment)."},
    )
    verification_interval_seconds = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=365 * 86400,
        help_text="Seconds between scheduled runs; null means half the TTL, 0 means never scheduled.",
    )
    verification_timeout_seconds = StrictIntegerField(required=False, min_value=1, max_value=300)
    preview_marker = StrictCharField(required=False, allow_blank=True, max_length=200)
    verify_tls = StrictBooleanField(required=False)
    verify_after_records = StrictBooleanField(required=False)


class EnvironmentCreateSerializer(EnvironmentSettingsSerializer):
    context = slug_field()  # type: ignore[assignment]
    instance = slug_field()
    base_url = serializers.URLField(
        required=False,
        allow_blank=True,
        default="",
        max_length=200,
        trim_whitespace=False,
        validators=[HTTP_URL],
    )
    requires_runtime_identity = StrictBooleanField(required=False, default=True)
    verification_ttl_seconds = StrictIntegerField(required=False, default=86400, min_value=1, max_value=365 * 86400)


# ---------------------------------------------------------------------------------------------------
# Deployments
# ---------------------------------------------------------------------------------------------------


class DeploymentRecordSerializer(ReadModelSerializer):
    context = serializers.CharField(source="environment.context")  # type: ignore[assignment]
    instance = serializers.CharField(source="environment.instance")

    class Meta:
        model = DeploymentRecord
        fields = [
            "record_id",
            "context",
            "instance",
            "artifact_id",
            "source_git_ref",
            "image_digest",
            "deploy_status",
            "post_deploy_status",
            "health_status",
            "expected_runtime_identity",
            "observed_runtime_identity",
            "runtime_identity_status",
            "runtime_identity_mismatches",
            "inventory_effect",
            "started_at",
            "finished_at",
            "recorded_by",
            "created_at",
        ]
        read_only_fields = fields


class DeploymentCreateSerializer(StrictSerializer):
    context = slug_field()  # type: ignore[assignment]
    instance = slug_field()
    record_id = StrictRegexField(RECORD_ID_PATTERN, required=False, max_length=128)
    artifact_id = IdentifierField(max_length=512)
    source_git_ref = IdentifierField(max_length=255)
    image_digest = IdentifierField(max_length=255, required=False, allow_blank=True, default="")
    deploy_status = StrictChoiceField(choices=DeploymentRecord.DeployStatus.choices)
    post_deploy_status = StrictChoiceField(choices=CheckStatus.choices, required=False, default=CheckStatus.NOT_RUN)
    health_status = StrictChoiceField(choices=CheckStatus.choices, required=False, default=CheckStatus.NOT_RUN)
    started_at = AwareDateTimeField()
    finished_at = AwareDateTimeField()
    observed_runtime_identity = NullableJSONField()
    runtime_identity_status = StrictChoiceField(choices=UNVERIFIABLE_ONLY, required=False)


class DeploymentResponseSerializer(WithEnvironment, DeploymentRecordSerializer):
    """A created deployment, what it did to inventory, and the environment afterwards."""

    class Meta(DeploymentRecordSerializer.Meta):
        fields = [*DeploymentRecordSerializer.Meta.fields, "environment"]
        read_only_fields = fields


# ---------------------------------------------------------------------------------------------------
# Observations and history
# ---------------------------------------------------------------------------------------------------


class ObservationCreateSerializer(StrictSerializer):
    observed_runtime_identity = NullableJSONField()
    runtime_identity_status = StrictChoiceField(choices=UNVERIFIABLE_ONLY, required=False)
    source = StrictCharField(max_length=200)  # type: ignore[assignment]
    observed_at = AwareDateTimeField()

    def validate(self, attrs: dict) -> dict:
        if "observed_runtime_identity" not in attrs and "runtime_identity_status" not in attrs:
            raise serializers.ValidationError(
                {
                    "observed_runtime_identity": [
                        "This field is required unless runtime_identity_status is 'unverifiable'."
                    ]
                }
            )
        return attrs


class ObservationSerializer(WithEnvironment, ReadModelSerializer):
    observation_id = serializers.IntegerField(source="pk")
    context = serializers.CharField(source="environment.context")  # type: ignore[assignment]
    instance = serializers.CharField(source="environment.instance")

    class Meta:
        model = RuntimeObservation
        fields = [
            "observation_id",
            "context",
            "instance",
            "source",
            "observed_at",
            "expected_runtime_identity",
            "observed_runtime_identity",
            "runtime_identity_status",
            "runtime_identity_mismatches",
            "inventory_effect",
            "recorded_by",
            "created_at",
            "environment",
        ]
        read_only_fields = fields


class TransitionSerializer(ReadModelSerializer):
    class Meta:
        model = InventoryTransition
        fields = [
            "sequence",
            "from_state",
            "to_state",
            "from_deployment_state",
            "from_data_state",
            "deployment_state",
            "data_state",
            "effect",
            "cause_type",
            "cause_id",
            "reason",
            "actor",
            "occurred_at",
            "recorded_at",
        ]
        read_only_fields = fields
