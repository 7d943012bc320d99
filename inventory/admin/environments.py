"""Admin for environments: created through the service, only their settings change afterwards."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from inventory.admin.base import (
    EMPTY,
    EnvironmentNotCurrentFilter,
    ExpireOverdueMixin,
    FreshnessFilter,
    admin_link,
    changelist_link,
)
from inventory.models import (
    Environment,
    EnvironmentInventory,
)
from inventory.rules import CHECKS
from inventory.services import create_environment
from inventory.services.environments import VERIFICATION_SETTINGS
from inventory.templatetags.status_badges import field_badge, freshness_badge

# ---------------------------------------------------------------------------------------------------
# Environment: created through the service, settings editable afterwards
# ---------------------------------------------------------------------------------------------------


class EnvironmentForm(forms.ModelForm):
    base_url = forms.URLField(required=False, assume_scheme="https", help_text="Where the environment serves.")
    required_checks = forms.MultipleChoiceField(
        choices=[(check, check) for check in CHECKS],
        widget=forms.CheckboxSelectMultiple,
        help_text="Checks a bootstrap must pass to be ready (deployments are judged on health only).",
    )

    class Meta:
        model = Environment
        fields = (
            "context",
            "instance",
            "base_url",
            "required_checks",
            "requires_runtime_identity",
            "verification_ttl_seconds",
            *VERIFICATION_SETTINGS,
        )

    def clean_required_checks(self) -> list[str]:
        chosen = set(self.cleaned_data["required_checks"])
        return [check for check in CHECKS if check in chosen]


@admin.register(Environment)
class EnvironmentAdmin(ExpireOverdueMixin, admin.ModelAdmin):
    form = EnvironmentForm
    # A base URL typed without a scheme is an https one (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = (
        "name",
        "state_badge",
        "freshness",
        "last_good",
        "artifact",
        "required_checks_display",
        "requires_runtime_identity",
        "verification_ttl_seconds",
    )
    list_select_related = ("inventory", "inventory__current_deployment")
    show_full_result_count = False  # one count per page fewer at fleet size
    list_filter = ("inventory__state", EnvironmentNotCurrentFilter, FreshnessFilter, "context")
    search_fields = ("context", "instance", "base_url")
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The same database expression as the inventory admin, one subquery per row: no N+1.
        freshness = (
            EnvironmentInventory.objects.with_freshness(timezone.now())
            .filter(pk=OuterRef("pk"))
            .values("freshness_value")[:1]
        )
        return super().get_queryset(request).annotate(freshness_value=Subquery(freshness))

    def get_fieldsets(self, request: HttpRequest, obj: Environment | None = None) -> list:
        settings_fields = ("base_url", "required_checks", "requires_runtime_identity", "verification_ttl_seconds")
        if obj is None:
            return [
                (None, {"fields": ("context", "instance", *settings_fields)}),
                ("Verification (Launchplane's own probes)", {"fields": VERIFICATION_SETTINGS}),
            ]
        return [
            (None, {"fields": ("context", "instance", "created_at")}),
            ("Settings", {"fields": settings_fields}),
            ("Verification (Launchplane's own probes)", {"fields": VERIFICATION_SETTINGS}),
            ("Inventory", {"fields": ("inventory_summary", "records")}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Environment | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        # An environment is unique by (context, instance); records refer to it by that pair.
        return ("context", "instance", "created_at", "inventory_summary", "records")

    def save_model(self, request: HttpRequest, obj: Environment, form: forms.ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # The only way an environment comes to exist: the service creates it with its inventory.
        created = create_environment(
            context=obj.context,
            instance=obj.instance,
            base_url=obj.base_url,
            required_checks=obj.required_checks,
            requires_runtime_identity=obj.requires_runtime_identity,
            verification_ttl_seconds=obj.verification_ttl_seconds,
            **{name: getattr(obj, name) for name in VERIFICATION_SETTINGS},
        )
        # The admin goes on with ``obj`` (log entry, redirect): make it the row the service saved.
        obj.pk = created.pk
        obj.created_at = created.created_at
        obj._state.adding = False
        obj._state.db = created._state.db

    def _inventory(self, obj: Environment) -> EnvironmentInventory | None:
        try:
            return obj.inventory
        except EnvironmentInventory.DoesNotExist:
            return None

    @admin.display(description="environment", ordering="context")
    def name(self, obj: Environment) -> str:
        return str(obj)

    @admin.display(description="state", ordering="inventory__state")
    def state_badge(self, obj: Environment) -> SafeString | str:
        inventory = self._inventory(obj)
        return field_badge(inventory, "state") if inventory else EMPTY

    @admin.display(description="freshness")
    def freshness(self, obj: Environment) -> SafeString | str:
        value = getattr(obj, "freshness_value", None)
        return freshness_badge(value) if value else EMPTY

    @admin.display(description="last known good", ordering="inventory__lkg_verified_at")
    def last_good(self, obj: Environment) -> datetime | None:
        inventory = self._inventory(obj)
        return inventory.lkg_verified_at if inventory else None

    @admin.display(description="current artifact", ordering="inventory__current_deployment__artifact_id")
    def artifact(self, obj: Environment) -> str | None:
        inventory = self._inventory(obj)
        deployment = inventory.current_deployment if inventory else None
        return deployment.artifact_id if deployment else None

    @admin.display(description="required checks")
    def required_checks_display(self, obj: Environment) -> str:
        return ", ".join(obj.required_checks)

    @admin.display(description="inventory")
    def inventory_summary(self, obj: Environment) -> SafeString | str:
        inventory = self._inventory(obj)
        if inventory is None:
            return EMPTY
        return format_html(
            "{} {}<br>{}",
            field_badge(inventory, "state"),
            inventory.state_reason,
            admin_link(inventory, "Open inventory"),
        )

    @admin.display(description="records")
    def records(self, obj: Environment) -> SafeString:
        links = [
            changelist_link("inventory_inventorytransition", "History", environment=obj.pk),
            changelist_link("inventory_deploymentrecord", "Deployments", environment=obj.pk),
            changelist_link("bootstraps_bootstrapoperation", "Bootstraps", environment=obj.pk),
            changelist_link("inventory_runtimeobservation", "Observations", environment=obj.pk),
        ]
        return format_html_join(" · ", "{}", ((link,) for link in links))
