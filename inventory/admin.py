"""The Django admin for inventory.

Environments are created here through ``inventory.services.create_environment`` (which also creates
their inventory pointer); after that only their settings can change. The inventory pointer is read
only: its state fields are written by services alone. Deployment records, observations and
transitions are evidence: the admin shows them and can neither add, change nor delete them.
Acknowledging goes through ``inventory.services.acknowledge``, from an action that asks for the note.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import ngettext

from inventory.choices import (
    Freshness,
    InventoryState,
)
from inventory.forms import AcknowledgeForm
from inventory.models import (
    DeploymentRecord,
    Environment,
    EnvironmentInventory,
    InventoryTransition,
    RuntimeObservation,
)
from inventory.models.inventory import RELATED as INVENTORY_RELATED
from inventory.rules import CHECKS, IDENTITY_KEYS
from inventory.selectors import expire_overdue
from inventory.services import acknowledge, create_environment
from inventory.templatetags.status_badges import badge_column, field_badge, freshness_badge
from launchplane.errors import ServiceError

# ---------------------------------------------------------------------------------------------------
# Reading inventory: overdue work first (rule 9)
# ---------------------------------------------------------------------------------------------------


class ReadsInventoryMixin:
    """For admins whose pages show inventory state or bootstraps: expire overdue work before reading.

    A page may list every environment, so every environment's overdue operations expire; when none is
    overdue that costs one indexed query.
    """

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        expire_overdue(Environment.objects.all(), timezone.now())  # rule 9
        return super().changelist_view(request, extra_context)  # type: ignore[misc]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        expire_overdue(Environment.objects.all(), timezone.now())  # rule 9
        return super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]


class EvidenceAdmin(admin.ModelAdmin):
    """Evidence is created by services only and never changed or deleted (rules 2 and 11).

    Staff can view it; nobody can add, change or delete it here. Evidence tables grow without bound,
    so the changelist does not count the whole table.
    """

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# ---------------------------------------------------------------------------------------------------
# Display helpers, shared with bootstraps/admin.py
# ---------------------------------------------------------------------------------------------------


# What an empty cell or read-only field shows (the admin's own empty value; ``None`` would read "None").
EMPTY = "-"


def admin_url(obj: Any) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def admin_link(obj: Any, text: object = None) -> SafeString | str:
    """A link to ``obj``'s admin page; the empty value when there is no object."""
    if obj is None:
        return EMPTY
    return format_html('<a href="{}">{}</a>', admin_url(obj), text if text is not None else str(obj))


def changelist_link(url_name: str, text: object, **params: Any) -> SafeString:
    """A link to a changelist filtered by ``params`` (``url_name`` like ``inventory_deploymentrecord``)."""
    url = reverse(f"admin:{url_name}_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, urlencode(params), text)


def pretty_json(value: object) -> SafeString | str:
    if value is None:
        return EMPTY
    return format_html('<pre class="lp-json">{}</pre>', json.dumps(value, indent=2, sort_keys=True))


def identity_table(expected: Mapping[str, Any] | None, observed: object, mismatches: Iterable[str]) -> SafeString:
    """Expected and observed runtime identity side by side, the differing keys highlighted (rule 5)."""
    if observed is not None and not isinstance(observed, Mapping):
        return format_html(
            "<p>The runtime reported something other than a JSON object:</p>{}", pretty_json(observed) or ""
        )
    expected = expected or {}
    observed = observed or {}
    differing = set(mismatches)
    extra_keys = sorted(key for key in observed if key not in IDENTITY_KEYS)

    def cell(mapping: Mapping[str, Any], key: str) -> str:
        return str(mapping[key]) if key in mapping else "—"

    rows = format_html_join(
        "",
        '<tr class="{}"><th scope="row">{}{}</th><td>{}</td><td>{}</td></tr>',
        (
            (
                "lp-mismatch" if key in differing else "",
                key,
                " (differs)" if key in differing else "",
                cell(expected, key),
                cell(observed, key),
            )
            for key in (*IDENTITY_KEYS, *extra_keys)
        ),
    )
    return format_html(
        '<table class="lp-identity"><thead><tr><th scope="col">key</th><th scope="col">expected</th>'
        '<th scope="col">observed</th></tr></thead><tbody>{}</tbody></table>',
        rows,
    )


def environment_column(obj: Any) -> SafeString | str:
    return admin_link(obj.environment)


# ---------------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------------


class NotCurrentFilter(admin.SimpleListFilter):
    """Current or not current, on whichever field holds the board's state."""

    title = "current"
    parameter_name = "current"
    state_field = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("no", "Not current"), ("yes", "Current")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        current = {self.state_field: InventoryState.CURRENT}
        if self.value() == "no":
            return queryset.exclude(**current)
        if self.value() == "yes":
            return queryset.filter(**current)
        return queryset


class EnvironmentNotCurrentFilter(NotCurrentFilter):
    state_field = "inventory__state"


class TransitionNotCurrentFilter(NotCurrentFilter):
    title = "ended current"
    state_field = "to_state"


class FreshnessFilter(admin.SimpleListFilter):
    """Freshness is derived at read time: filter on the ``freshness_value`` annotation."""

    title = "freshness"
    parameter_name = "freshness"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return list(Freshness.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in Freshness.values:
            return queryset.filter(freshness_value=self.value())
        return queryset


class AcknowledgedFilter(admin.SimpleListFilter):
    title = "acknowledged"
    parameter_name = "acknowledged"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Acknowledged"), ("no", "Not acknowledged")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(acknowledged_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(acknowledged_at__isnull=True)
        return queryset


class CurrentDeploymentFilter(admin.SimpleListFilter):
    """Whether a deployment record is its environment's current deployment (the ``is_current`` annotation)."""

    title = "current deployment"
    parameter_name = "pointer"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("current", "Current deployment"), ("not_current", "Not current")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "current":
            return queryset.filter(is_current=True)
        if self.value() == "not_current":
            return queryset.filter(is_current=False)
        return queryset


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
        )

    def clean_required_checks(self) -> list[str]:
        chosen = set(self.cleaned_data["required_checks"])
        return [check for check in CHECKS if check in chosen]


@admin.register(Environment)
class EnvironmentAdmin(ReadsInventoryMixin, admin.ModelAdmin):
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
            return [(None, {"fields": ("context", "instance", *settings_fields)})]
        return [
            (None, {"fields": ("context", "instance", "created_at")}),
            ("Settings", {"fields": settings_fields}),
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


# ---------------------------------------------------------------------------------------------------
# Inventory: read only, acknowledged through the service
# ---------------------------------------------------------------------------------------------------


@admin.register(EnvironmentInventory)
class EnvironmentInventoryAdmin(ReadsInventoryMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "state_badge",
        "freshness",
        "last_good",
        "artifact",
        "sides",
        "last_bootstrap_link",
        "since",
    )
    list_select_related = INVENTORY_RELATED
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
    actions = ["acknowledge_selected"]
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
        ("Review", {"fields": ("acknowledged_by", "acknowledged_at", "acknowledgement_note")}),
    ]
    readonly_fields = (
        "environment_settings",
        "state_badge",
        "state_reason",
        "freshness",
        "state_changed_at",
        "history",
        "deployment_state_badge",
        "deployment_detail",
        "current",
        "latest_attempt",
        "data_state_badge",
        "data_detail",
        "current_data",
        "last_bootstrap_link",
        "lkg_deployment_link",
        "lkg_bootstrap_link",
        "lkg_verified_at",
        "identity_status_badge",
        "identity",
        "observed_at",
        "acknowledged_by",
        "acknowledged_at",
        "acknowledgement_note",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Freshness is computed by the database for every row at once; worst first, like the board.
        return (
            EnvironmentInventory.objects.with_related()
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
                    acknowledge(inventory.environment, user=request.user, note=form.cleaned_data["note"])
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

    @admin.display(description="environment", ordering="environment__context")
    def name(self, obj: EnvironmentInventory) -> str:
        return str(obj.environment)

    @admin.display(description="state", ordering="severity_rank")
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
        return identity_table(
            obj.expected_runtime_identity, obj.observed_runtime_identity, obj.runtime_identity_mismatches
        )


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
    ]
    readonly_fields = (
        "record_id",
        "environment_link",
        "is_current_deployment",
        "sequence",
        "recorded_by",
        "artifact_id",
        "source_git_ref",
        "image_digest",
        "started_at",
        "finished_at",
        "deploy_status_badge",
        "post_deploy_badge",
        "health_badge",
        "identity_badge",
        "identity",
        "effect_badge",
        "transition",
        "created_at",
    )

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
        return identity_table(
            obj.expected_runtime_identity, obj.observed_runtime_identity, obj.runtime_identity_mismatches
        )

    @admin.display(description="transition")
    def transition(self, obj: DeploymentRecord) -> SafeString:
        return changelist_link(
            "inventory_inventorytransition",
            "Transition it caused",
            cause_type__exact="deployment",
            cause_id=obj.record_id,
        )


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
    readonly_fields = (
        "environment_link",
        "sequence",
        "source",
        "observed_at",
        "recorded_by",
        "created_at",
        "identity_badge",
        "identity",
        "effect_badge",
        "transition",
    )

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
        return identity_table(
            obj.expected_runtime_identity, obj.observed_runtime_identity, obj.runtime_identity_mismatches
        )

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
class InventoryTransitionAdmin(ReadsInventoryMixin, EvidenceAdmin):
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
    readonly_fields = (
        "environment_link",
        "sequence",
        "reason",
        "from_state_badge",
        "to_state_badge",
        "from_sides",
        "to_sides",
        "effect_badge",
        "cause_type",
        "cause",
        "actor",
        "occurred_at",
        "recorded_at",
    )

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
