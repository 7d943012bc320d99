"""``GET /metrics``: Prometheus text, the domain gauges read from the database at scrape time.

Every app server reports the same truth because nothing is kept in memory: each gauge family is one
grouped query (``Collector.collect`` runs on every scrape), cheap at 10,000 environments. The
request and database metrics of this process (``launchplane.metrics``) are served beside them.
Counts agree with the board: the same queryset (``with_freshness``), after the same expiry of
overdue operations (rule 9).
"""

from __future__ import annotations

import hmac
import os
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from inventory.choices import Freshness, InventoryEffect, InventoryState, VerificationStatus
from inventory.models import Environment, EnvironmentInventory, InventoryTransition, VerificationRun
from inventory.selectors import expire_overdue
from notifications.models import DeliveryStatus, WebhookDelivery


class LaunchplaneCollector(Collector):
    """The domain series PRODUCT.md names, plus the two an alert needs (time in state, queue age)."""

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now

    def collect(self) -> Iterator[Metric]:
        now = self._now or timezone.now()
        yield from environment_gauges(now)
        yield transitions_total()
        yield verification_runs_total()
        yield webhook_deliveries()
        yield from task_queue(now)


def environment_gauges(now: datetime) -> Iterator[Metric]:
    inventories = EnvironmentInventory.objects.with_freshness(now).order_by()
    contexts = sorted(set(Environment.objects.order_by().values_list("context", flat=True).distinct()))

    states = GaugeMetricFamily(
        "launchplane_environments",
        "Environments by context and state (as the board counts them).",
        labels=["context", "state"],
    )
    by_state: dict[tuple[str, str], int] = defaultdict(int)
    for context, state, count in inventories.values_list("environment__context", "state").annotate(n=Count("pk")):
        by_state[context, state] = count
    for context in contexts:
        for state in InventoryState.values:
            states.add_metric([context, state], by_state[context, state])
    yield states

    freshness = GaugeMetricFamily(
        "launchplane_environments_by_freshness",
        "Environments by context and freshness (derived at scrape time).",
        labels=["context", "freshness"],
    )
    by_freshness: dict[tuple[str, str], int] = defaultdict(int)
    for context, value, count in inventories.values_list("environment__context", "freshness_value").annotate(
        n=Count("pk")
    ):
        by_freshness[context, value] = count
    for context in contexts:
        for value in Freshness.values:
            freshness.add_metric([context, value], by_freshness[context, value])
    yield freshness

    verified = GaugeMetricFamily(
        "launchplane_last_verified_timestamp_seconds",
        "When each environment's last known good was verified (Unix seconds); absent until it is.",
        labels=["context", "instance"],
    )
    since = GaugeMetricFamily(
        "launchplane_environment_state_changed_timestamp_seconds",
        "When each environment entered its current state (server time, Unix seconds).",
        labels=["context", "instance", "state"],
    )
    rows = EnvironmentInventory.objects.order_by().values_list(
        "environment__context", "environment__instance", "state", "state_changed_at", "lkg_verified_at"
    )
    for context, instance, state, changed_at, verified_at in rows:
        since.add_metric([context, instance, state], changed_at.timestamp())
        if verified_at is not None:
            verified.add_metric([context, instance], verified_at.timestamp())
    yield verified
    yield since


def transitions_total() -> Metric:
    family = CounterMetricFamily(
        "launchplane_transitions",
        "Inventory transitions appended, by cause type and effect.",
        labels=["cause_type", "effect"],
    )
    grouped = InventoryTransition.objects.order_by().values_list("cause_type", "effect").annotate(n=Count("pk"))
    for cause_type, effect, count in sorted(grouped):
        family.add_metric([cause_type, effect], count)
    return family


def verification_runs_total() -> Metric:
    family = CounterMetricFamily(
        "launchplane_verification_runs", "Verification runs that ended, by inventory effect.", labels=["effect"]
    )
    ended = [VerificationStatus.FINISHED, VerificationStatus.ABANDONED]
    grouped = dict(
        VerificationRun.objects.filter(status__in=ended)
        .order_by()
        .values_list("inventory_effect")
        .annotate(n=Count("pk"))
    )
    for effect in InventoryEffect.values:
        if effect != InventoryEffect.PENDING:
            family.add_metric([effect], grouped.get(effect, 0))
    return family


def webhook_deliveries() -> Metric:
    family = GaugeMetricFamily("launchplane_webhook_deliveries", "Webhook deliveries by status.", labels=["status"])
    grouped = dict(WebhookDelivery.objects.order_by().values_list("status").annotate(n=Count("pk")))
    for status in DeliveryStatus.values:
        family.add_metric([status], grouped.get(status, 0))
    return family


def task_queue(now: datetime) -> Iterator[Metric]:
    """How long the oldest runnable task has waited: grows without bound when no worker runs (with
    the database task backend; other backends have their own metrics)."""
    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return
    from django.db.models import Q
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    ready = DBTaskResult.objects.filter(status=TaskResultStatus.READY).filter(
        Q(run_after__isnull=True) | Q(run_after__lte=now)
    )
    oldest = ready.aggregate(oldest=Min("enqueued_at"))["oldest"]
    family = GaugeMetricFamily(
        "launchplane_task_queue_oldest_seconds",
        "Age of the oldest task waiting for a worker (0 when none waits).",
    )
    family.add_metric([], max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
    yield family


DOMAIN = CollectorRegistry(auto_describe=False)
DOMAIN.register(LaunchplaneCollector())


def process_registry() -> CollectorRegistry:
    """This process's request metrics, or every worker's when they share PROMETHEUS_MULTIPROC_DIR."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def authorised(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), token.encode())


@csrf_exempt
@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not authorised(request):
        response = HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = "Bearer"
        return response
    expire_overdue(Environment.objects.all(), timezone.now())  # rule 9: the same counts as the board
    body = generate_latest(DOMAIN) + generate_latest(process_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
