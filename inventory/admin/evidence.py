"""Admin for the evidence: deployment records, observations and transitions — shown, never added,
changed or deleted."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from inventory.admin.base import (
    EMPTY,
    CurrentDeploymentFilter,
    EvidenceAdmin,
    ExpireOverdueMixin,
    TransitionNotCurrentFilter,
    admin_link,
    changelist_link,
    environment_column,
    identity_table,
)
from inventory.models import (
    DeploymentRecord,
    EnvironmentInventory,
    InventoryTransition,
    RuntimeObservation,
)
from inventory.templatetags.status_badges import badge_column, field_badge

# ---------------------------------------------------------------------------------------------------
# Evidence: deployments, observations, transitions
# ---------------------------------------------------------------------------------------------------


@admin.register(DeploymentRecord)
class DeploymentRecordAdmin(EvidenceAdmin):
    list_display = (
        "record_id",
        "environment_link",
        "artifact_id",
        "deploy_status_badge",
        "effect_badge",
        "is_current_deployment",
        "finished_at",
        "post_deploy_badge",
        "health_badge",
        "identity_badge",
    )
    list_select_related = ("environment",)
    list_filter = (
        "deploy_status",
        CurrentDeploymentFilter,
        "inventory_effect",
        "post_deploy_status",
        "health_status",
        "runtime_identity_status",
        "environment__context",
    )
    search_fields = (
        "record_id",
        "artifact_id",
        "source_git_ref",
        "image_digest",
        "environment__context",
        "environment__instance",
    )
    date_hierarchy = "finished_at"
    fieldsets = [
        (None, {"fields": ("record_id", "environment_link", "is_current_deployment", "sequence", "recorded_by")}),
        ("Artifact", {"fields": ("artifact_id", "source_git_ref", "image_digest", "started_at", "finished_at")}),
        ("Checks", {"fields": ("deploy_status_badge", "post_deploy_badge", "health_badge")}),
        ("Runtime identity", {"fields": ("identity_badge", "identity")}),
        ("Inventory", {"fields": ("effect_badge", "transition", "created_at")}),
        ("Submitted as", {"fields": ("submitted_payload",)}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        is_current = EnvironmentInventory.objects.filter(current_deployment=OuterRef("pk"))
        return super().get_queryset(request).annotate(is_current=Exists(is_current))

    @admin.display(description="environment", ordering="environment__context")
    def environment_link(self, obj: DeploymentRecord) -> SafeString | str:
        return environment_column(obj)

    deploy_status_badge = badge_column("deploy_status", "deploy")

    post_deploy_badge = badge_column("post_deploy_status", "post-deploy")

    health_badge = badge_column("health_status", "health")

    identity_badge = badge_column("runtime_identity_status", "runtime identity")

    effect_badge = badge_column("inventory_effect", "effect")

    @admin.display(description="current", boolean=True, ordering="is_current")
    def is_current_deployment(self, obj: DeploymentRecord) -> bool:
        return bool(getattr(obj, "is_current", False))  # annotated by get_queryset

    @admin.display(description="expected vs observed identity")
    def identity(self, obj: DeploymentRecord) -> SafeString:
        return identity_table(obj)

    @admin.display(description="transition")
    def transition(self, obj: DeploymentRecord) -> SafeString:
        return changelist_link(
            "inventory_inventorytransition",
            "Transition it caused",
            cause_type__exact="deployment",
            cause_id=obj.record_id,
        )

    @admin.display(description="existing client's payload")
    def submitted_payload(self, obj: DeploymentRecord) -> SafeString | str:
        # The compat app's evidence (docs/compat.md), by its reverse accessor's name: inventory never
        # imports compat, and without compat (or for a record posted to /api/v1/) there is none.
        evidence = getattr(obj, "compat_evidence", None)
        return admin_link(evidence, "The whole payload, and the fields we do not model") if evidence else EMPTY


@admin.register(RuntimeObservation)
class RuntimeObservationAdmin(EvidenceAdmin):
    list_display = (
        "observation",
        "environment_link",
        "source",
        "observed_at",
        "identity_badge",
        "mismatches",
        "effect_badge",
        "recorded_by",
    )
    list_select_related = ("environment",)
    list_filter = ("runtime_identity_status", "inventory_effect", "environment__context")
    search_fields = ("source", "recorded_by", "environment__context", "environment__instance")
    date_hierarchy = "observed_at"
    fieldsets = [
        (None, {"fields": ("environment_link", "sequence", "source", "observed_at", "recorded_by", "created_at")}),
        ("Runtime identity", {"fields": ("identity_badge", "identity")}),
        ("Inventory", {"fields": ("effect_badge", "transition")}),
    ]

    @admin.display(description="observation", ordering="-id")
    def observation(self, obj: RuntimeObservation) -> str:
        return f"#{obj.pk}"

    @admin.display(description="environment", ordering="environment__context")
    def environment_link(self, obj: RuntimeObservation) -> SafeString | str:
        return environment_column(obj)

    identity_badge = badge_column("runtime_identity_status", "runtime identity")

    effect_badge = badge_column("inventory_effect", "effect")

    @admin.display(description="differing keys")
    def mismatches(self, obj: RuntimeObservation) -> str:
        return ", ".join(obj.runtime_identity_mismatches)

    @admin.display(description="expected vs observed identity")
    def identity(self, obj: RuntimeObservation) -> SafeString:
        return identity_table(obj)

    @admin.display(description="transition")
    def transition(self, obj: RuntimeObservation) -> SafeString:
        return changelist_link(
            "inventory_inventorytransition", "Transition it caused", cause_type__exact="observation", cause_id=obj.pk
        )


# Where a transition's cause lives: a changelist filtered to it (the cause id is not the primary key).
_CAUSE_LINKS = {
    InventoryTransition.CauseType.DEPLOYMENT: ("inventory_deploymentrecord", "record_id"),
    InventoryTransition.CauseType.BOOTSTRAP: ("bootstraps_bootstrapoperation", "operation_id"),
    InventoryTransition.CauseType.DEADLINE: ("bootstraps_bootstrapoperation", "operation_id"),
    InventoryTransition.CauseType.CANCEL: ("bootstraps_bootstrapoperation", "operation_id"),
    InventoryTransition.CauseType.OBSERVATION: ("inventory_runtimeobservation", "id"),
}


@admin.register(InventoryTransition)
class InventoryTransitionAdmin(ExpireOverdueMixin, EvidenceAdmin):
    list_display = ("environment_link", "change", "effect_badge", "reason", "cause", "actor", "occurred_at")
    list_select_related = ("environment",)
    list_filter = (
        "to_state",
        TransitionNotCurrentFilter,
        "effect",
        "cause_type",
        "deployment_state",
        "data_state",
        "environment__context",
    )
    search_fields = ("environment__context", "environment__instance", "cause_id", "reason", "actor")
    date_hierarchy = "occurred_at"
    ordering = ("-recorded_at", "-id")
    fieldsets = [
        (None, {"fields": ("environment_link", "sequence", "reason")}),
        (
            "State",
            {
                "fields": (
                    "from_state_badge",
                    "to_state_badge",
                    "from_sides",
                    "to_sides",
                    "effect_badge",
                )
            },
        ),
        ("Cause", {"fields": ("cause_type", "cause", "actor", "occurred_at", "recorded_at")}),
    ]

    @admin.display(description="environment", ordering="environment__context")
    def environment_link(self, obj: InventoryTransition) -> SafeString | str:
        return environment_column(obj)

    from_state_badge = badge_column("from_state", "from")

    to_state_badge = badge_column("to_state", "to")

    effect_badge = badge_column("effect", "effect")

    @admin.display(description="state", ordering="to_state")
    def change(self, obj: InventoryTransition) -> SafeString:
        return format_html("{} → {}", field_badge(obj, "from_state"), field_badge(obj, "to_state"))

    @admin.display(description="sides before (deployment, data)")
    def from_sides(self, obj: InventoryTransition) -> SafeString:
        return format_html(
            "{} {}",
            field_badge(obj, "from_deployment_state"),
            field_badge(obj, "from_data_state"),
        )

    @admin.display(description="sides after (deployment, data)")
    def to_sides(self, obj: InventoryTransition) -> SafeString:
        return format_html("{} {}", field_badge(obj, "deployment_state"), field_badge(obj, "data_state"))

    @admin.display(description="cause", ordering="cause_id")
    def cause(self, obj: InventoryTransition) -> SafeString:
        target = _CAUSE_LINKS.get(InventoryTransition.CauseType(obj.cause_type))
        if target is None:
            return format_html("{} {}", obj.cause_type, obj.cause_id)
        url_name, lookup = target
        return format_html("{} {}", obj.cause_type, changelist_link(url_name, obj.cause_id, **{lookup: obj.cause_id}))
