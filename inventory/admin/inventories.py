"""Admin for the inventory pointer: read only; acknowledging, taking and releasing go through the
services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import ngettext

from inventory.admin.base import (
    EMPTY,
    AcknowledgedFilter,
    ExpireOverdueMixin,
    FreshnessFilter,
    NotCurrentFilter,
    ReadOnlyFieldsetsMixin,
    admin_link,
    changelist_link,
    identity_table,
)
from inventory.admin.verification import has_verify_permission, reverify_selected
from inventory.forms import AcknowledgeForm
from inventory.models import (
    EnvironmentInventory,
)
from inventory.models.queries import RELATED as INVENTORY_RELATED
from inventory.services import Responsibility, acknowledge, release, take
from inventory.templatetags.status_badges import badge_column, field_badge, freshness_badge
from launchplane.errors import ServiceError

# ---------------------------------------------------------------------------------------------------
# Inventory: read only, acknowledged through the service
# ---------------------------------------------------------------------------------------------------


@admin.register(EnvironmentInventory)
class EnvironmentInventoryAdmin(ExpireOverdueMixin, ReadOnlyFieldsetsMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "state_badge",
        "freshness",
        "last_good",
        "artifact",
        "sides",
        "last_bootstrap_link",
        "since",
        "holder",
    )
    list_select_related = INVENTORY_RELATED
    # At fleet size, the unfiltered total is one more count per page for a number nobody reads.
    show_full_result_count = False
    list_filter = (
        "state",
        NotCurrentFilter,
        FreshnessFilter,
        AcknowledgedFilter,
        "deployment_state",
        "data_state",
        "runtime_identity_status",
        "environment__context",
    )
    search_fields = ("environment__context", "environment__instance", "current_deployment__artifact_id", "state_reason")
    actions = ["acknowledge_selected", "take_selected", "release_selected", reverify_selected]
    fieldsets = [
        (
            None,
            {
                "fields": (
                    "environment_settings",
                    "state_badge",
                    "state_reason",
                    "freshness",
                    "state_changed_at",
                    "history",
                )
            },
        ),
        ("Artifact side", {"fields": ("deployment_state_badge", "deployment_detail", "current", "latest_attempt")}),
        ("Data side", {"fields": ("data_state_badge", "data_detail", "current_data", "last_bootstrap_link")}),
        ("Last known good", {"fields": ("lkg_deployment_link", "lkg_bootstrap_link", "lkg_verified_at")}),
        ("Runtime identity", {"fields": ("identity_status_badge", "identity", "observed_at")}),
        (
            "Review",
            {
                "fields": (
                    "acknowledged_by",
                    "acknowledged_at",
                    "acknowledgement_note",
                    "acknowledged_until",
                    "assignee",
                    "assigned_at",
                )
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Freshness is computed by the database for every row at once; worst first, like the board.
        return (
            EnvironmentInventory.objects.for_rows()  # without the evidence documents no row shows
            .select_related("current_bootstrap", "current_deployment__environment")
            .with_freshness(timezone.now())
            .worst_first()
        )

    # State fields are written by services only.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    has_verify_permission = has_verify_permission

    def has_acknowledge_permission(self, request: HttpRequest) -> bool:
        # The admin offers no change form, but acknowledging is a change a reviewer must be allowed.
        return request.user.has_perm("inventory.acknowledge_environmentinventory")

    @admin.action(description="Acknowledge selected environments (with a note)", permissions=["acknowledge"])
    def acknowledge_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form = AcknowledgeForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            acknowledged = 0
            for inventory in queryset:
                try:
                    acknowledge(
                        inventory.environment,
                        user=request.user,
                        note=form.cleaned_data["note"],
                        until=form.cleaned_data["until"],
                    )
                except ServiceError as exc:
                    self.message_user(request, f"{inventory.environment}: {exc.message}", messages.ERROR)
                else:
                    acknowledged += 1
            self.message_user(
                request,
                ngettext("Acknowledged %(count)d environment.", "Acknowledged %(count)d environments.", acknowledged)
                % {"count": acknowledged},
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Acknowledge environments",
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "action_name": "acknowledge_selected",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/inventory/environmentinventory/acknowledge.html", context)

    def change_responsibility(
        self, request: HttpRequest, queryset: QuerySet, service: Callable[..., Responsibility]
    ) -> tuple[int, int]:
        """Call ``service`` on each selected environment; errors are reported one by one. Returns how
        many changed and how many were already as asked (no-ops)."""
        changed = unchanged = 0
        for inventory in queryset:
            try:
                done = service(inventory.environment, user=request.user)
            except ServiceError as exc:
                self.message_user(request, f"{inventory.environment}: {exc.message}", messages.ERROR)
            else:
                changed += done.changed
                unchanged += not done.changed
        return changed, unchanged

    @admin.action(description="Take selected environments (I'm on it)", permissions=["acknowledge"])
    def take_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        took, held = self.change_responsibility(request, queryset, take)
        self.message_user(
            request,
            ngettext("Took %(count)d environment.", "Took %(count)d environments.", took) % {"count": took},
            messages.SUCCESS,
        )
        if held:
            self.message_user(
                request,
                ngettext(
                    "%(count)d was already yours: nothing changed.",
                    "%(count)d were already yours: nothing changed.",
                    held,
                )
                % {"count": held},
                messages.INFO,
            )

    @admin.action(description="Release selected environments", permissions=["acknowledge"])
    def release_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        released, free = self.change_responsibility(request, queryset, release)
        self.message_user(
            request,
            ngettext("Released %(count)d environment.", "Released %(count)d environments.", released)
            % {"count": released},
            messages.SUCCESS,
        )
        if free:
            self.message_user(
                request,
                ngettext("Nobody held %(count)d: nothing changed.", "Nobody held %(count)d: nothing changed.", free)
                % {"count": free},
                messages.INFO,
            )

    @admin.display(description="held by", ordering="assigned_at")
    def holder(self, obj: EnvironmentInventory) -> str:
        if obj.holder is None or obj.assigned_at is None:
            return EMPTY
        return f"{obj.holder} since {obj.assigned_at:%Y-%m-%d %H:%M} UTC"

    @admin.display(description="environment", ordering="environment__context")
    def name(self, obj: EnvironmentInventory) -> str:
        return str(obj.environment)

    @admin.display(description="state", ordering="severity")
    def state_badge(self, obj: EnvironmentInventory) -> SafeString:
        return field_badge(obj, "state")

    deployment_state_badge = badge_column("deployment_state", "deployment state")

    data_state_badge = badge_column("data_state", "data state")

    @admin.display(description="freshness")
    def freshness(self, obj: EnvironmentInventory) -> SafeString:
        return freshness_badge(obj.freshness_at(timezone.now()))

    @admin.display(description="last known good", ordering="lkg_verified_at")
    def last_good(self, obj: EnvironmentInventory) -> datetime | None:
        return obj.lkg_verified_at

    @admin.display(description="artifact side · data side")
    def sides(self, obj: EnvironmentInventory) -> SafeString:
        return format_html("{} {}", field_badge(obj, "deployment_state"), field_badge(obj, "data_state"))

    @admin.display(description="in this state since", ordering="state_changed_at")
    def since(self, obj: EnvironmentInventory) -> datetime:
        return obj.state_changed_at

    @admin.display(description="current artifact", ordering="current_deployment__artifact_id")
    def artifact(self, obj: EnvironmentInventory) -> SafeString | str:
        deployment = obj.current_deployment
        return admin_link(deployment, deployment.artifact_id) if deployment else EMPTY

    @admin.display(description="last bootstrap")
    def last_bootstrap_link(self, obj: EnvironmentInventory) -> SafeString | str:
        operation = obj.last_bootstrap
        if operation is None:
            return EMPTY
        return format_html("{} {}", admin_link(operation), field_badge(operation, "readiness_status"))

    @admin.display(description="environment")
    def environment_settings(self, obj: EnvironmentInventory) -> SafeString | str:
        return admin_link(obj.environment, f"{obj.environment} (settings)")

    @admin.display(description="history")
    def history(self, obj: EnvironmentInventory) -> SafeString:
        return format_html_join(
            " · ",
            "{}",
            (
                (changelist_link("inventory_inventorytransition", "Transitions", environment=obj.pk),),
                (changelist_link("inventory_deploymentrecord", "Deployments", environment=obj.pk),),
                (changelist_link("bootstraps_bootstrapoperation", "Bootstraps", environment=obj.pk),),
                (changelist_link("inventory_runtimeobservation", "Observations", environment=obj.pk),),
                (changelist_link("inventory_verificationrun", "Verification runs", environment=obj.pk),),
            ),
        )

    @admin.display(description="current deployment")
    def current(self, obj: EnvironmentInventory) -> SafeString | str:
        deployment = obj.current_deployment
        if deployment is None:
            return EMPTY
        return format_html(
            "{} — {} at {} {}",
            admin_link(deployment),
            deployment.artifact_id,
            deployment.source_git_ref,
            field_badge(deployment, "deploy_status"),
        )

    @admin.display(description="latest deployment attempt")
    def latest_attempt(self, obj: EnvironmentInventory) -> SafeString | str:
        deployment = obj.last_deployment_attempt
        if deployment is None:
            return EMPTY
        return format_html(
            "{} — {} {} {}",
            admin_link(deployment),
            deployment.artifact_id,
            field_badge(deployment, "deploy_status"),
            field_badge(deployment, "inventory_effect"),
        )

    @admin.display(description="bootstrap in place")
    def current_data(self, obj: EnvironmentInventory) -> SafeString | str:
        return admin_link(obj.current_bootstrap)

    @admin.display(description="last known good deployment")
    def lkg_deployment_link(self, obj: EnvironmentInventory) -> SafeString | str:
        deployment = obj.lkg_deployment
        return admin_link(deployment, f"{deployment} — {deployment.artifact_id}") if deployment else EMPTY

    @admin.display(description="last known good bootstrap")
    def lkg_bootstrap_link(self, obj: EnvironmentInventory) -> SafeString | str:
        return admin_link(obj.lkg_bootstrap)

    identity_status_badge = badge_column("runtime_identity_status", "runtime identity status", sortable=False)

    @admin.display(description="expected vs observed identity")
    def identity(self, obj: EnvironmentInventory) -> SafeString:
        return identity_table(obj)
