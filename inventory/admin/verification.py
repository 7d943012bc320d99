"""Admin for verification runs (evidence: shown, never added, changed or deleted) and the
"Re-verify selected environments" action, which queues runs through the service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import ngettext

from inventory.admin.base import EvidenceAdmin, changelist_link, environment_column, pretty_json
from inventory.choices import VerificationTrigger
from inventory.models import VerificationRun
from inventory.services.verification import queue_verification
from inventory.templatetags.status_badges import badge_column
from launchplane.errors import ServiceError

VERIFY_PERMISSION = "inventory.verify_environmentinventory"


@admin.register(VerificationRun)
class VerificationRunAdmin(EvidenceAdmin):
    list_display = (
        "run_id",
        "environment_link",
        "status_badge",
        "trigger",
        "effect_badge",
        "health_badge",
        "canonical_badge",
        "logo_badge",
        "identity_badge",
        "queued_at",
        "finished_at",
    )
    list_select_related = ("environment",)
    list_filter = ("status", "trigger", "inventory_effect", "health_status", "canonical_status", "environment__context")
    search_fields = ("run_id", "requested_by", "environment__context", "environment__instance")
    date_hierarchy = "queued_at"
    fieldsets = [
        (None, {"fields": ("run_id", "environment_link", "trigger", "requested_by", "base_url", "sequence")}),
        ("Lifecycle", {"fields": ("status_badge", "queued_at", "started_at", "finished_at", "timeout_seconds")}),
        ("Checks", {"fields": ("health_badge", "canonical_badge", "logo_badge")}),
        ("Runtime identity", {"fields": ("identity_badge", "expected", "observed", "runtime_identity_mismatches")}),
        ("Probes", {"fields": ("probe_table",)}),
        ("Inventory", {"fields": ("effect_badge", "detail", "transitions")}),
    ]

    @admin.display(description="environment", ordering="environment__context")
    def environment_link(self, obj: VerificationRun) -> SafeString | str:
        return environment_column(obj)

    status_badge = badge_column("status", "status")
    effect_badge = badge_column("inventory_effect", "effect")
    health_badge = badge_column("health_status", "health")
    canonical_badge = badge_column("canonical_status", "canonical")
    logo_badge = badge_column("logo_status", "logo")
    identity_badge = badge_column("runtime_identity_status", "runtime identity")

    @admin.display(description="expected identity")
    def expected(self, obj: VerificationRun) -> SafeString | str:
        return pretty_json(obj.expected_runtime_identity)

    @admin.display(description="observed identity")
    def observed(self, obj: VerificationRun) -> SafeString | str:
        return pretty_json(obj.observed_runtime_identity)

    @admin.display(description="probes")
    def probe_table(self, obj: VerificationRun) -> SafeString:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ms</td><td>{}</td></tr>",
            (
                (
                    probe.get("probe"),
                    probe.get("url"),
                    probe.get("status"),
                    probe.get("status_code") if probe.get("status_code") is not None else "-",
                    probe.get("failure_class") or "-",
                    probe.get("elapsed_ms"),
                    probe.get("detail"),
                )
                for probe in obj.probes
            ),
        )
        header = "<tr><th>probe</th><th>URL</th><th>status</th><th>code</th><th>failure</th><th>time</th><th>detail</th></tr>"
        return format_html('<table class="lp-probes">{}{}</table>', SafeString(header), rows)

    @admin.display(description="transitions")
    def transitions(self, obj: VerificationRun) -> SafeString:
        return changelist_link("inventory_inventorytransition", "Transitions it caused", cause_id=obj.run_id)


def reverify_selected(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Queue a verification run for each selected environment (the run already queued counts)."""
    queued = 0
    for inventory in queryset.select_related("environment"):
        try:
            queue_verification(
                inventory.environment, trigger=VerificationTrigger.OPERATOR, requested_by=request.user.get_username()
            )
        except ServiceError as exc:
            model_admin.message_user(request, f"{inventory.environment}: {exc.message}", messages.ERROR)
        else:
            queued += 1
    model_admin.message_user(
        request,
        ngettext(
            "Queued a verification run for %(count)d environment.",
            "Queued verification runs for %(count)d environments.",
            queued,
        )
        % {"count": queued},
        messages.SUCCESS if queued else messages.WARNING,
    )


reverify_selected.short_description = "Re-verify selected environments"  # type: ignore[attr-defined]
reverify_selected.allowed_permissions = ("verify",)  # type: ignore[attr-defined]


def has_verify_permission(model_admin: admin.ModelAdmin, request: HttpRequest) -> bool:
    return request.user.has_perm(VERIFY_PERMISSION)
