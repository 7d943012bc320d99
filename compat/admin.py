"""Admin for the payloads existing clients submitted: shown whole, never added, changed or deleted."""

from __future__ import annotations

from django.contrib import admin
from django.utils.safestring import SafeString

from compat.models import DeploymentEvidence
from inventory.admin.base import EvidenceAdmin, admin_link, environment_column, pretty_json

# The submitted fields we do not model: what an operator comes here to see.
UNMODELLED = (
    "wait_for_completion",
    "verify_destination_health",
    "no_cache",
    "delegated_executor",
    "resolved_target",
    "deployed_target",
    "runtime_source",
    "runtime_identity",
)
# In the sections, the keys the mapping reads (docs/compat.md); every other key is only kept.
MODELLED_IN_SECTIONS = {
    "deploy": {"status", "started_at", "finished_at"},
    "bootstrap": {"attempted", "run_status"},
    "post_deploy_update": {"attempted", "status"},
    "destination_health": {"verified", "status", "observed_runtime_identity"},
}


@admin.register(DeploymentEvidence)
class DeploymentEvidenceAdmin(EvidenceAdmin):
    list_display = (
        "upstream_record_id",
        "environment_link",
        "product",
        "deployment_link",
        "bootstrap_link",
        "submitted_by",
        "received_at",
    )
    list_select_related = ("environment", "deployment", "bootstrap")
    list_filter = ("environment__context", "product")
    search_fields = ("upstream_record_id", "product", "trace_id", "environment__instance")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "upstream_record_id",
                    "product",
                    "environment_link",
                    "submitted_by",
                    "received_at",
                    "trace_id",
                )
            },
        ),
        ("Recorded as", {"fields": ("deployment_link", "bootstrap_link")}),
        ("Not modelled here (kept as evidence)", {"fields": ("unmodelled",)}),
        ("The whole payload, as submitted", {"fields": ("payload_json",)}),
    )

    @admin.display(description="environment", ordering="environment__context")
    def environment_link(self, obj: DeploymentEvidence) -> SafeString | str:
        return environment_column(obj)

    @admin.display(description="deployment record")
    def deployment_link(self, obj: DeploymentEvidence) -> SafeString | str:
        return admin_link(obj.deployment, obj.deployment.record_id if obj.deployment else None)

    @admin.display(description="bootstrap operation")
    def bootstrap_link(self, obj: DeploymentEvidence) -> SafeString | str:
        return admin_link(obj.bootstrap, obj.bootstrap.operation_id if obj.bootstrap else None)

    @admin.display(description="fields we do not model")
    def unmodelled(self, obj: DeploymentEvidence) -> SafeString | str:
        record = obj.record
        found: dict[str, object] = {name: record[name] for name in UNMODELLED if name in record}
        artifact = record.get("artifact_identity")
        if isinstance(artifact, dict) and "manifest_version" in artifact:
            found["artifact_identity.manifest_version"] = artifact["manifest_version"]
        for section, modelled in MODELLED_IN_SECTIONS.items():
            values = record.get(section)
            if isinstance(values, dict):
                found.update({f"{section}.{k}": v for k, v in values.items() if k not in modelled})
        return pretty_json(found)

    @admin.display(description="payload")
    def payload_json(self, obj: DeploymentEvidence) -> SafeString | str:
        return pretty_json(obj.payload)
