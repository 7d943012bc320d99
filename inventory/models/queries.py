"""How inventory is read: the related rows a read model, a board row or an admin row shows, the columns
each of them selects, freshness and severity in SQL, and the queryset that puts them together."""

from datetime import datetime

from django.db import models
from django.db.models import Case, ExpressionWrapper, F, Q, Value, When

from inventory.choices import Freshness, InventoryState
from inventory.models.environment import Environment
from launchplane.compiled import CompiledLookup

# Worst first: the rank of each state in PRODUCT.md's order of severity (InventoryState is declared in it).
SEVERITY: dict[str, int] = {state: rank for rank, state in enumerate(InventoryState.values)}


class EpochSeconds(models.Func):
    """Seconds since the Unix epoch of a datetime column, on SQLite and PostgreSQL alike.

    Freshness compares ``verified_at + ttl`` with now per row; Django cannot multiply an integer
    column by an interval on SQLite, so both sides are compared as epoch seconds instead.
    """

    output_field = models.FloatField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)", **extra_context
        )

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)", **extra_context)


# Everything a read model, a board row or an admin row shows beside the inventory itself.
RELATED = (
    "environment",
    "current_deployment",
    "last_deployment_attempt",
    "lkg_deployment",
    "lkg_bootstrap",
    "last_bootstrap",
    "current_bootstrap",
    "last_verification",
    "acknowledged_by",
    "assignee",
)

# The columns the API's read model shows (inventory.api.serializers.EnvironmentSerializer) beside the
# inventory's and the environment's own: the nested summaries, and of last known good only its ids.
# Selecting these instead of every column of nine tables halves the time Django takes to build and read
# the query (docs/performance.md). A field the read model starts showing must be listed here; the query
# count tests fail (a deferred field loads with one query per object) when one is missing.
DEPLOYMENT_SUMMARY = (
    "record_id",
    "artifact_id",
    "source_git_ref",
    "image_digest",
    "deploy_status",
    "post_deploy_status",
    "health_status",
    "runtime_identity_status",
    "inventory_effect",
    "started_at",
    "finished_at",
)
BOOTSTRAP_SUMMARY = (
    "operation_id",
    "environment_id",
    "data_source",
    "status",
    "bootstrap_run_status",
    "data_mutated",
    "readiness_status",
    "inventory_effect",
    "late",
    "started_at",
    "deadline",
    "finished_at",
)
VERIFICATION_SUMMARY = (
    "run_id",
    "status",
    "trigger",
    "queued_at",
    "finished_at",
    "health_status",
    "canonical_status",
    "logo_status",
    "runtime_identity_status",
    "inventory_effect",
)
_IDENTITY_EVIDENCE = ("expected_runtime_identity", "observed_runtime_identity", "runtime_identity_mismatches")
ROW_DEFERRED = (
    *(
        f"{pointer}__{name}"
        for pointer in ("current_deployment", "last_deployment_attempt", "lkg_deployment")
        for name in _IDENTITY_EVIDENCE
    ),
    *(
        f"{pointer}__{name}"
        for pointer in ("last_bootstrap", "current_bootstrap", "lkg_bootstrap")
        for name in (*_IDENTITY_EVIDENCE, "verification_evidence")
    ),
    *(f"last_verification__{name}" for name in (*_IDENTITY_EVIDENCE, "probes")),
)
# The nested deployment and verification serializers show exactly these (their Meta.fields); each
# record also brings its environment_id, which Django needs to tie it to its row.
READ_MODEL_RELATED_FIELDS = (
    *(
        f"{pointer}__{name}"
        for pointer in ("current_deployment", "last_deployment_attempt")
        for name in (*DEPLOYMENT_SUMMARY, "environment_id")
    ),
    *(f"last_bootstrap__{name}" for name in BOOTSTRAP_SUMMARY),
    *(f"last_verification__{name}" for name in (*VERIFICATION_SUMMARY, "environment_id")),
    "lkg_deployment__record_id",
    "lkg_bootstrap__operation_id",
    "current_bootstrap__operation_id",
    "acknowledged_by__username",
    "assignee__username",
)


class EnvironmentInventoryQuerySet(models.QuerySet):
    def with_related(self) -> "EnvironmentInventoryQuerySet":
        """Everything a read model or a board row shows, in one query."""
        return self.select_related(*RELATED)

    def for_read_model(self, *, environment: bool = True) -> "EnvironmentInventoryQuerySet":
        """What the API's read model shows, in one query: every column of the inventory and the
        environment, and of the records it points at only what the read model nests.
        ``environment=False`` leaves the environment out, for a caller that holds it already."""
        own = [field.name for field in self.model._meta.concrete_fields]
        if not environment:
            return self.select_related(*RELATED[1:]).only(*own, *READ_MODEL_RELATED_FIELDS)
        columns = [f"environment__{field.name}" for field in Environment._meta.concrete_fields]
        return self.with_related().only(*own, *columns, *READ_MODEL_RELATED_FIELDS)

    def for_rows(self) -> "EnvironmentInventoryQuerySet":
        """Everything a board or queue row shows: ``with_related`` without the evidence documents of the
        records pointed at (identities, probes), which a row never shows and which cost most of the
        time to read (each is a JSON document to decode)."""
        return self.with_related().defer(*ROW_DEFERRED)

    def with_freshness(self, now: datetime) -> "EnvironmentInventoryQuerySet":
        """Annotate ``freshness_value`` computed in the database, the same as ``rules.freshness``."""
        verified_until = ExpressionWrapper(
            EpochSeconds("lkg_verified_at") + F("environment__verification_ttl_seconds"),
            output_field=models.FloatField(),
        )
        has_records = (
            Q(last_deployment_attempt__isnull=False)
            | Q(last_bootstrap__isnull=False)
            | Q(observed_at__isnull=False)
            | Q(last_verification__isnull=False)
        )
        return self.alias(verified_until=verified_until).annotate(
            freshness_value=Case(
                When(Q(lkg_verified_at__isnull=True) & has_records, then=Value(Freshness.RECORDED.value)),
                When(lkg_verified_at__isnull=True, then=Value(Freshness.MISSING.value)),
                When(verified_until__gte=now.timestamp(), then=Value(Freshness.VERIFIED.value)),
                default=Value(Freshness.STALE.value),
                output_field=models.CharField(),
            )
        )

    def snoozed(self, now: datetime) -> "EnvironmentInventoryQuerySet":
        """Acknowledged with a snooze that has not ended at ``now`` (``is_snoozed`` asks the same of a row)."""
        return self.filter(acknowledged_until__gt=now)

    def not_snoozed(self, now: datetime) -> "EnvironmentInventoryQuerySet":
        return self.exclude(acknowledged_until__gt=now)

    def not_current(self) -> "EnvironmentInventoryQuerySet":
        return self.exclude(state=InventoryState.CURRENT)

    def worst_first(self) -> "EnvironmentInventoryQuerySet":
        """Most severe state first, then the longest in that state (``inventory_worst_first_idx``)."""
        return self.order_by("severity", "state_changed_at", "pk")


# The read model of one environment, compiled once per connection (launchplane/compiled.py): by id under
# the row lock in every write and for ``selectors.read_model``, by pair for the read endpoint.
READ_MODEL_BY_ID = CompiledLookup(
    lambda pk: EnvironmentInventoryQuerySet(model=_inventory_model()).for_read_model(environment=False).filter(pk=pk),
    -1,
)
READ_MODEL_BY_PAIR = CompiledLookup(
    lambda context, instance: (
        EnvironmentInventoryQuerySet(model=_inventory_model())
        .for_read_model()
        .filter(environment__context=context, environment__instance=instance)
    ),
    "(context)",
    "(instance)",
)


def _inventory_model() -> type[models.Model]:
    from django.apps import apps

    return apps.get_model("inventory", "EnvironmentInventory")
