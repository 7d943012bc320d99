"""The Django admin for data bootstraps.

Bootstrap operations are evidence: started and finished by services only, never added, changed or
deleted here. The one thing an operator can do is cancel active operations, through
``bootstraps.services.cancel_bootstrap``, from an action that asks for the reason. Reconciliations
(rule 16) are evidence too: recorded on the pages through ``bootstraps.services.reconcile``, read here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import ngettext

from bootstraps.models import BootstrapOperation, Reconciliation
from bootstraps.services import cancel_bootstrap
from inventory.admin import (
    EMPTY,
    EvidenceAdmin,
    ExpireOverdueMixin,
    admin_link,
    changelist_link,
    environment_column,
    identity_table,
    pretty_json,
    yes_no_filter,
)
from inventory.choices import CHECK_STATUS_COLORS
from inventory.templatetags.status_badges import badge_column, render_badge
from launchplane.errors import OperationFinished, ServiceError

ActiveFilter = yes_no_filter(
    "active",
    "active",
    {
        "yes": ("Active", Q(status__in=BootstrapOperation.ACTIVE)),
        "no": ("Over", Q(status__in=BootstrapOperation.TERMINAL)),
    },
)


class CancelForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 70}), help_text="Recorded with the operation."
    )
    data_mutated = forms.TypedChoiceField(
        label="Did the run change data?",
        choices=[("", "Not known"), ("false", "No, the data is unchanged"), ("true", "Yes, data was changed")],
        coerce=lambda value: value == "true",
        empty_value=None,
        required=False,
        help_text="Only when known for certain that data is unchanged does the data state go back to what it "
        "was before the start; otherwise it becomes unknown.",
    )


@admin.register(BootstrapOperation)
class BootstrapOperationAdmin(ExpireOverdueMixin, EvidenceAdmin):
    list_display = (
        "operation_id",
        "environment_link",
        "data_source",
        "status_badge",
        "run_badge",
        "data_mutated",
        "readiness_badge",
        "started_at",
        "deadline",
        "finished_at",
    )
    list_select_related = ("environment",)
    list_filter = (
        "status",
        ActiveFilter,
        "readiness_status",
        "bootstrap_run_status",
        "inventory_effect",
        "data_source",
        "late",
        "environment__context",
    )
    search_fields = (
        "operation_id",
        "reason",
        "requested_by",
        "idempotency_key",
        "error_message",
        "environment__context",
        "environment__instance",
    )
    date_hierarchy = "started_at"
    actions = ["cancel_selected"]
    fieldsets = [
        (
            None,
            {"fields": ("operation_id", "environment_link", "data_source", "reason", "requested_by", "sequence")},
        ),
        (
            "Lifecycle",
            {
                "fields": (
                    "status_badge",
                    "started_at",
                    "timeout_seconds",
                    "deadline",
                    "finished_at",
                    "result_received_at",
                    "late",
                    "cancel_reason",
                )
            },
        ),
        (
            "Outcome",
            {
                "fields": (
                    "run_badge",
                    "data_mutated",
                    "readiness_badge",
                    "effect_badge",
                    "error_message",
                    "transitions",
                )
            },
        ),
        ("Checks", {"fields": ("post_deploy_badge", "health_badge", "canonical_badge", "logo_badge")}),
        ("Runtime identity", {"fields": ("identity_badge", "identity")}),
        ("Verification evidence", {"fields": ("probes",)}),
        ("Data before the start", {"fields": ("data_state_before_badge", "data_detail_before")}),
        ("Request", {"fields": ("idempotency_key", "request_fingerprint", "created_at"), "classes": ("collapse",)}),
    ]

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        # The admin offers no change form, but cancelling changes an operation: it needs that permission.
        return request.user.has_perm("bootstraps.cancel_bootstrapoperation")

    @admin.action(description="Cancel selected active operations (with a reason)", permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        operations = list(queryset)
        active = [operation for operation in operations if operation.is_active]
        form = CancelForm(request.POST if "apply" in request.POST else None)
        if active and not (form.is_bound and form.is_valid()):
            context = {
                **self.admin_site.each_context(request),
                "title": "Cancel bootstrap operations",
                "opts": self.model._meta,
                "operations": operations,
                "active_count": len(active),
                "over_count": len(operations) - len(active),
                "form": form,
                "action_name": "cancel_selected",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
            }
            return TemplateResponse(request, "admin/bootstraps/bootstrapoperation/cancel.html", context)
        cancelled = 0
        skipped = len(operations) - len(active)
        for operation in active:
            try:
                cancel_bootstrap(
                    operation,
                    reason=form.cleaned_data["reason"],
                    data_mutated=form.cleaned_data["data_mutated"],
                    actor=request.user.get_username(),
                )
            except OperationFinished:  # it finished or timed out since the list was read
                skipped += 1
            except ServiceError as exc:
                self.message_user(request, f"{operation}: {exc.message}", messages.ERROR)
            else:
                cancelled += 1
        self.message_user(
            request,
            ngettext("Cancelled %(count)d operation.", "Cancelled %(count)d operations.", cancelled)
            % {"count": cancelled},
            messages.SUCCESS if cancelled else messages.WARNING,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "Skipped %(count)d operation that was already over.",
                    "Skipped %(count)d operations that were already over.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
        return None

    @admin.display(description="environment", ordering="environment__context")
    def environment_link(self, obj: BootstrapOperation) -> SafeString | str:
        return environment_column(obj)

    status_badge = badge_column("status", "status")

    run_badge = badge_column("bootstrap_run_status", "run")

    readiness_badge = badge_column("readiness_status", "readiness")

    effect_badge = badge_column("inventory_effect", "effect")

    post_deploy_badge = badge_column("post_deploy_status", "post-deploy", sortable=False)

    health_badge = badge_column("health_status", "health", sortable=False)

    canonical_badge = badge_column("canonical_status", "canonical URL", sortable=False)

    logo_badge = badge_column("logo_status", "logo", sortable=False)

    identity_badge = badge_column("runtime_identity_status", "runtime identity status", sortable=False)

    @admin.display(description="expected vs observed identity")
    def identity(self, obj: BootstrapOperation) -> SafeString:
        return identity_table(obj)

    data_state_before_badge = badge_column("data_state_before", "data state before", sortable=False)

    @admin.display(description="transitions")
    def transitions(self, obj: BootstrapOperation) -> SafeString:
        return changelist_link("inventory_inventorytransition", "Transitions it caused", cause_id=obj.operation_id)

    @admin.display(description="probes")
    def probes(self, obj: BootstrapOperation) -> SafeString | str:
        evidence = obj.verification_evidence
        if not evidence:
            return EMPTY
        if not all(isinstance(probe, dict) for probe in evidence):
            return pretty_json(evidence)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    probe.get("probe", ""),
                    probe.get("url", ""),
                    _probe_status(probe.get("status")),
                    probe.get("status_code", ""),
                    probe.get("failure_class", ""),
                    probe.get("detail", ""),
                )
                for probe in evidence
            ),
        )
        return format_html(
            '<table class="lp-probes"><thead><tr><th scope="col">probe</th><th scope="col">url</th>'
            '<th scope="col">status</th><th scope="col">HTTP</th><th scope="col">failure class</th>'
            '<th scope="col">detail</th></tr></thead><tbody>{}</tbody></table>',
            rows,
        )


def _probe_status(status: Any) -> SafeString | str:
    if isinstance(status, str) and status in CHECK_STATUS_COLORS:
        return render_badge(status, color=CHECK_STATUS_COLORS[status], field="probe status")
    return format_html("{}", status if status is not None else "")


@admin.register(Reconciliation)
class ReconciliationAdmin(EvidenceAdmin):
    """What reviewers found by inspecting the provider (rule 16): read-only, like all evidence."""

    list_display = (
        "reconciliation_id",
        "environment_link",
        "bootstrap_link",
        "provider_badge",
        "from_data_badge",
        "data_badge",
        "effect_badge",
        "reviewer",
        "inspected_at",
        "recorded_at",
    )
    list_select_related = ("environment", "bootstrap")
    list_filter = ("provider_state", "inventory_effect", "data_state", "environment__context")
    search_fields = (
        "reconciliation_id",
        "bootstrap__operation_id",
        "evidence_reference",
        "note",
        "reviewer",
        "environment__context",
        "environment__instance",
    )
    date_hierarchy = "recorded_at"
    fieldsets = [
        (None, {"fields": ("reconciliation_id", "environment_link", "bootstrap_link", "reviewer", "recorded_at")}),
        ("What the provider showed", {"fields": ("provider_badge", "inspected_at", "evidence_reference", "note")}),
        (
            "Effect",
            {"fields": ("from_data_badge", "data_badge", "effect_badge", "verification_run_link", "transitions")},
        ),
    ]

    @admin.display(description="environment", ordering="environment__context")
    def environment_link(self, obj: Reconciliation) -> SafeString | str:
        return environment_column(obj)

    @admin.display(description="bootstrap", ordering="bootstrap__operation_id")
    def bootstrap_link(self, obj: Reconciliation) -> SafeString | str:
        return admin_link(obj.bootstrap, obj.bootstrap.operation_id)

    @admin.display(description="verification run")
    def verification_run_link(self, obj: Reconciliation) -> SafeString | str:
        return admin_link(obj.verification_run)

    provider_badge = badge_column("provider_state", "provider state")

    from_data_badge = badge_column("from_data_state", "data state before", sortable=False)

    data_badge = badge_column("data_state", "data state after")

    effect_badge = badge_column("inventory_effect", "effect")

    @admin.display(description="transition")
    def transitions(self, obj: Reconciliation) -> SafeString:
        return changelist_link(
            "inventory_inventorytransition", "The transition it caused", cause_id=obj.reconciliation_id
        )
