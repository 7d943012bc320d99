"""The existing service's payload, validated strictly: unknown fields are refused at every level,
identifiers are taken exactly as sent, and the existing service's own rules hold (a bootstrap not
attempted is skipped, an attempted one is not; a post-deploy update not attempted is skipped; a
verified destination health has URLs, a timeout and pass or fail). Shape and types only: what the
payload means is ``compat.rules``'."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from compat import rules
from inventory.api.serializers import slug_field
from inventory.models.base import RECORD_ID_PATTERN
from launchplane.api.fields import (
    AwareDateTimeField,
    IdentifierField,
    NullableJSONField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictRegexField,
    StrictSerializer,
)


def text(max_length: int = 255, **kwargs: Any) -> StrictCharField:
    """An optional piece of upstream text we keep as evidence (null and empty allowed)."""
    kwargs.setdefault("required", False)
    return StrictCharField(max_length=max_length, allow_blank=True, allow_null=True, **kwargs)


class SchemaVersionField(serializers.IntegerField):
    """The payload's ``schema_version``: the JSON integer 1, the only version there is."""

    default_error_messages = {"version": "Only schema_version 1 is understood."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=1, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or data != 1 or not isinstance(data, int):
            self.fail("version")
        return 1


@extend_schema_field({"oneOf": [{"type": "string", "maxLength": 255}, {"type": "integer"}], "nullable": True})
class VersionField(serializers.Field):
    """``manifest_version``: a string or an integer, kept as evidence exactly as sent."""

    default_error_messages = {"invalid": "Must be a string or an integer.", "long": "At most 255 characters."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, (str, int)):
            self.fail("invalid")
        if isinstance(data, str) and len(data) > 255:
            self.fail("long")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 86400})
class SecondsField(serializers.FloatField):
    """A JSON number of seconds (integer or not), above 0 and at most a day; strings are refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_value=86400, **kwargs)  # "above 0" below: min_value would say ">= 0" in the schema

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if value <= 0:
            raise serializers.ValidationError("Must be more than 0.")
        return value


class UpstreamArtifactIdentitySerializer(StrictSerializer):
    artifact_id = IdentifierField(max_length=512, help_text="Required here: the artifact deployed.")
    manifest_version = VersionField()


class UpstreamTargetSerializer(StrictSerializer):
    target_type = text()
    target_id = text()
    target_name = text()


class UpstreamDeploySerializer(StrictSerializer):
    target_name = text()
    target_type = text()
    deploy_mode = text()
    provider_id = text()
    target_category = text()
    provider_target_type = text()
    provider_deploy_mode = text()
    deployment_id = text()
    status = StrictChoiceField(choices=rules.STEP_CHOICES)
    started_at = AwareDateTimeField(required=False, allow_null=True)
    finished_at = AwareDateTimeField(required=False, allow_null=True)


class UpstreamBootstrapSerializer(StrictSerializer):
    attempted = StrictBooleanField()
    run_status = StrictChoiceField(choices=rules.STEP_CHOICES)
    readiness_status = StrictChoiceField(choices=rules.READINESS_CHOICES)
    detail = text(10000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        skipped = [name for name in ("run_status", "readiness_status") if attrs[name] == "skipped"]
        if not attrs["attempted"] and len(skipped) != 2:
            raise serializers.ValidationError(
                {
                    name: ["A bootstrap that was not attempted is skipped."]
                    for name in ("run_status", "readiness_status")
                    if name not in skipped
                }
            )
        if attrs["attempted"] and skipped:
            raise serializers.ValidationError({name: ["An attempted bootstrap is not skipped."] for name in skipped})
        return attrs


class UpstreamPostDeployUpdateSerializer(StrictSerializer):
    attempted = StrictBooleanField()
    status = StrictChoiceField(choices=rules.STEP_CHOICES)
    detail = text(10000)
    evidence = NullableJSONField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["attempted"] and attrs["status"] != "skipped":
            raise serializers.ValidationError({"status": ["A post-deploy update that was not attempted is skipped."]})
        return attrs


class UpstreamDestinationHealthSerializer(StrictSerializer):
    verified = StrictBooleanField()
    urls = serializers.ListField(child=StrictCharField(max_length=2048), required=False, max_length=50)
    timeout_seconds = SecondsField(required=False, allow_null=True)
    status = StrictChoiceField(choices=rules.STEP_CHOICES, required=False)
    runtime_identity_status = text(64)
    runtime_identity_detail = text(10000)
    observed_runtime_identity = NullableJSONField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["verified"]:
            problems = {}
            if not attrs.get("urls"):
                problems["urls"] = ["A verified destination health names the URLs it checked."]
            if attrs.get("timeout_seconds") is None:
                problems["timeout_seconds"] = ["A verified destination health gives its timeout."]
            if attrs.get("status") not in ("pass", "fail"):
                problems["status"] = ["A verified destination health is pass or fail."]
            if problems:
                raise serializers.ValidationError(problems)
        return attrs


class UpstreamDeploymentRecordSerializer(StrictSerializer):
    """The existing service's ``DeploymentRecord`` (bootstrap evidence inside, as it conflates them)."""

    schema_version = SchemaVersionField()
    record_id = StrictRegexField(
        RECORD_ID_PATTERN,
        max_length=128,
        required=False,
        help_text="Chosen by the client (used once); left out, Launchplane assigns the deployment's.",
        error_messages={"invalid": "Use 1-128 characters from A-Z, a-z, 0-9, '.', '_', ':' and '-'."},
    )
    artifact_identity = UpstreamArtifactIdentitySerializer()
    context = slug_field()  # type: ignore[assignment]
    instance = slug_field()
    source_git_ref = IdentifierField(max_length=255)
    wait_for_completion = StrictBooleanField(required=False)
    verify_destination_health = StrictBooleanField(required=False)
    no_cache = StrictBooleanField(required=False)
    delegated_executor = text()
    resolved_target = UpstreamTargetSerializer(required=False, allow_null=True)
    deployed_target = UpstreamTargetSerializer(required=False, allow_null=True)
    runtime_source = text()
    runtime_identity = NullableJSONField(help_text="The identity the client expects; kept as evidence.")
    deploy = UpstreamDeploySerializer(required=False, allow_null=True)
    bootstrap = UpstreamBootstrapSerializer(required=False, allow_null=True)
    post_deploy_update = UpstreamPostDeployUpdateSerializer(required=False, allow_null=True)
    destination_health = UpstreamDestinationHealthSerializer(required=False, allow_null=True)


class UpstreamSubmissionSerializer(StrictSerializer):
    """``POST /v1/evidence/deployments``: ``{"schema_version": 1, "product", "deployment"}``."""

    schema_version = SchemaVersionField()
    product = IdentifierField(max_length=200)
    deployment = UpstreamDeploymentRecordSerializer()


# ---------------------------------------------------------------------------------------------------
# Answers (for the schema; the views build the dictionaries)
# ---------------------------------------------------------------------------------------------------


class UpstreamRecordsSerializer(serializers.Serializer):
    deployment_record_id = serializers.CharField(allow_null=True, help_text="Null when no artifact was deployed.")
    inventory_record_id = serializers.CharField(help_text='"<context>-<instance>".')
    bootstrap_operation_id = serializers.CharField(
        required=False, help_text="Present when the payload's bootstrap evidence was recorded."
    )


class UpstreamAcceptedSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"accepted".')
    trace_id = serializers.CharField()
    records = UpstreamRecordsSerializer()
    replayed = serializers.BooleanField(required=False, help_text="Present (true) on a replay.")


class UpstreamErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class UpstreamErrorSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"rejected".')
    trace_id = serializers.CharField()
    error = UpstreamErrorDetailSerializer()


class UpstreamLastKnownGoodSerializer(serializers.Serializer):
    deployment_record_id = serializers.CharField(allow_null=True)
    bootstrap_operation_id = serializers.CharField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)


class UpstreamInventoryRecordSerializer(serializers.Serializer):
    context = serializers.CharField()  # type: ignore[assignment]
    instance = serializers.CharField()
    artifact_identity = serializers.JSONField(allow_null=True)
    source_git_ref = serializers.CharField(allow_null=True)
    deploy = serializers.JSONField(allow_null=True)
    post_deploy_update = serializers.JSONField(allow_null=True)
    destination_health = serializers.JSONField(allow_null=True)
    updated_at = serializers.DateTimeField()
    deployment_record_id = serializers.CharField(allow_null=True)
    bootstrap_record_id = serializers.CharField(allow_null=True)
    state = serializers.CharField()
    state_reason = serializers.CharField()
    deployment_state = serializers.CharField()
    data_state = serializers.CharField()
    freshness = serializers.CharField()
    last_known_good = UpstreamLastKnownGoodSerializer()


class UpstreamInventorySerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"ok".')
    trace_id = serializers.CharField()
    record = UpstreamInventoryRecordSerializer()


class UpstreamDeploymentReadRecordSerializer(serializers.Serializer):
    record_id = serializers.CharField()
    context = serializers.CharField()  # type: ignore[assignment]
    instance = serializers.CharField()
    artifact_identity = serializers.JSONField()
    source_git_ref = serializers.CharField()
    deploy = serializers.JSONField()
    post_deploy_update = serializers.JSONField(allow_null=True)
    destination_health = serializers.JSONField(allow_null=True)
    deploy_status = serializers.CharField()
    post_deploy_status = serializers.CharField()
    health_status = serializers.CharField()
    runtime_identity_status = serializers.CharField()
    runtime_identity_mismatches = serializers.ListField(child=serializers.CharField())
    inventory_effect = serializers.CharField()
    bootstrap_record_id = serializers.CharField(allow_null=True)
    recorded_at = serializers.DateTimeField()


class UpstreamDeploymentSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"ok".')
    trace_id = serializers.CharField()
    record = UpstreamDeploymentReadRecordSerializer()
