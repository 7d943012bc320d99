"""FilterSets shared by the API lists, the operator pages and the admin."""

from datetime import datetime

import django_filters
from django.utils import timezone

from inventory.choices import (
    CheckStatus,
    DataState,
    DeploymentState,
    Freshness,
    InventoryEffect,
    InventoryState,
    VerificationStatus,
    VerificationTrigger,
)
from inventory.models import DeploymentRecord, EnvironmentInventory, InventoryTransition, VerificationRun
from launchplane.filters import BoundedIsoDateTimeFilter, FilterSet, IdentifierFilter, MultipleChoiceFilter


class EnvironmentInventoryFilterSet(FilterSet):
    """Needs a queryset annotated by ``with_freshness(now)`` for the ``freshness`` filter."""

    context = IdentifierFilter(field_name="environment__context", max_length=63)
    instance = IdentifierFilter(field_name="environment__instance", max_length=63)
    state = MultipleChoiceFilter(choices=InventoryState.choices)
    deployment_state = MultipleChoiceFilter(choices=DeploymentState.choices)
    data_state = MultipleChoiceFilter(choices=DataState.choices)
    freshness = MultipleChoiceFilter(field_name="freshness_value", choices=Freshness.choices)

    class Meta:
        model = EnvironmentInventory
        fields = ["context", "instance", "state", "deployment_state", "data_state", "freshness"]


class ReviewQueueFilterSet(FilterSet):
    """The review queue's views (PRODUCT.md, "Review"): by default the environments waiting for review
    (a snooze that has not ended keeps one out); ``show=snoozed`` lists the snoozed ones instead;
    ``holder=mine`` those the requesting user holds, ``holder=unassigned`` those nobody holds. Needs
    the ``request`` (for "mine") and ``now`` (when snoozes end)."""

    show = django_filters.ChoiceFilter(
        choices=[("snoozed", "snoozed")],
        method="keep",  # applied in filter_queryset: no value filters too (snoozed ones are left out)
        error_messages={"invalid_choice": "Use show=snoozed, or leave it out for the environments waiting for review."},
    )
    holder = django_filters.ChoiceFilter(
        choices=[("mine", "mine"), ("unassigned", "unassigned")],
        method="filter_holder",
        error_messages={"invalid_choice": "Use holder=mine or holder=unassigned, or leave it out for everyone's."},
    )

    class Meta:
        model = EnvironmentInventory
        fields = ["show", "holder"]

    def __init__(self, *args, now: datetime | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()

    def keep(self, queryset, name, value):
        return queryset

    def filter_holder(self, queryset, name, value):
        if value == "mine":
            return queryset.filter(assignee_id=getattr(self.request.user, "pk", None))
        return queryset.filter(assignee__isnull=True)

    @property
    def shows_snoozed(self) -> bool:
        return self.is_valid() and self.form.cleaned_data.get("show") == "snoozed"

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        return queryset.snoozed(self.now) if self.shows_snoozed else queryset.not_snoozed(self.now)


class DeploymentRecordFilterSet(FilterSet):
    context = IdentifierFilter(field_name="environment__context", max_length=63)
    instance = IdentifierFilter(field_name="environment__instance", max_length=63)
    deploy_status = django_filters.ChoiceFilter(choices=DeploymentRecord.DeployStatus.choices)
    post_deploy_status = django_filters.ChoiceFilter(choices=CheckStatus.choices)
    health_status = django_filters.ChoiceFilter(choices=CheckStatus.choices)
    inventory_effect = django_filters.ChoiceFilter(choices=InventoryEffect.choices)
    artifact_id = IdentifierFilter(max_length=512)
    finished_after = BoundedIsoDateTimeFilter(field_name="finished_at", lookup_expr="gte")
    finished_before = BoundedIsoDateTimeFilter(field_name="finished_at", lookup_expr="lt")

    class Meta:
        model = DeploymentRecord
        fields = ["context", "instance", "deploy_status", "post_deploy_status", "health_status", "inventory_effect"]


class InventoryTransitionFilterSet(FilterSet):
    effect = django_filters.ChoiceFilter(choices=InventoryEffect.choices)
    cause_type = django_filters.ChoiceFilter(choices=InventoryTransition.CauseType.choices)
    occurred_after = BoundedIsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = BoundedIsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = InventoryTransition
        fields = ["effect", "cause_type"]


class VerificationRunFilterSet(FilterSet):
    context = IdentifierFilter(field_name="environment__context", max_length=63)
    instance = IdentifierFilter(field_name="environment__instance", max_length=63)
    status = MultipleChoiceFilter(choices=VerificationStatus.choices)
    trigger = MultipleChoiceFilter(choices=VerificationTrigger.choices)
    inventory_effect = django_filters.ChoiceFilter(choices=InventoryEffect.choices)
    queued_after = BoundedIsoDateTimeFilter(field_name="queued_at", lookup_expr="gte")
    queued_before = BoundedIsoDateTimeFilter(field_name="queued_at", lookup_expr="lt")

    class Meta:
        model = VerificationRun
        fields = ["context", "instance", "status", "trigger", "inventory_effect"]
