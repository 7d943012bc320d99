"""FilterSets for bootstrap operations, shared by the API, the pages and the admin."""

import django_filters

from bootstraps.models import BootstrapOperation
from inventory.choices import CheckStatus, InventoryEffect, RuntimeIdentityStatus
from launchplane.filters import (
    BoundedIsoDateTimeFilter,
    FilterSet,
    IdentifierFilter,
    MultipleChoiceFilter,
    StrictBooleanFilter,
)


class BootstrapOperationFilterSet(FilterSet):
    context = IdentifierFilter(field_name="environment__context", max_length=63)
    instance = IdentifierFilter(field_name="environment__instance", max_length=63)
    status = MultipleChoiceFilter(choices=BootstrapOperation.Status.choices)
    readiness_status = MultipleChoiceFilter(choices=BootstrapOperation.Readiness.choices)
    bootstrap_run_status = django_filters.ChoiceFilter(choices=BootstrapOperation.RunStatus.choices)
    data_source = django_filters.ChoiceFilter(choices=BootstrapOperation.DataSource.choices)
    post_deploy_status = django_filters.ChoiceFilter(choices=CheckStatus.choices)
    health_status = django_filters.ChoiceFilter(choices=CheckStatus.choices)
    canonical_status = django_filters.ChoiceFilter(choices=CheckStatus.choices)
    logo_status = django_filters.ChoiceFilter(choices=CheckStatus.choices)
    runtime_identity_status = django_filters.ChoiceFilter(choices=RuntimeIdentityStatus.choices)
    inventory_effect = django_filters.ChoiceFilter(choices=InventoryEffect.choices)
    late = StrictBooleanFilter()
    started_after = BoundedIsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = BoundedIsoDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = BootstrapOperation
        fields = ["context", "instance", "status", "readiness_status"]
