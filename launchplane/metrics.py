"""Request and database metrics (prometheus-client), for every app's views alike.

``RequestMetricsMiddleware`` counts and times each request by method, route pattern (never the raw
path: bounded labels) and status, and — through Django's ``execute_wrapper`` — counts and times the
database queries made while it runs. These are per process: with several gunicorn workers set
``PROMETHEUS_MULTIPROC_DIR`` (docs/operations.md), and /metrics adds up every worker's files.
The domain gauges (environments, transitions, deliveries) are read from the database at scrape time
by ``notifications.metrics``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Histogram

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"

REQUESTS = Counter(
    "launchplane_http_requests", "HTTP requests answered, by method, route and status.", ["method", "route", "status"]
)
REQUEST_SECONDS = Histogram(
    "launchplane_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
QUERIES = Counter("launchplane_db_queries", "Database queries made while answering requests.", ["database"])
QUERY_ERRORS = Counter("launchplane_db_query_errors", "Database queries that raised.", ["database"])
QUERY_SECONDS = Histogram(
    "launchplane_db_query_duration_seconds",
    "Time of one database query made while answering a request.",
    ["database"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)

for _family in (QUERIES, QUERY_ERRORS, QUERY_SECONDS):
    _family.labels("default")  # served at zero from the start, so rate() and alerts see the series


def route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None and match.route else UNMATCHED


class _QueryObserver:
    """Counts and times each query. The labelled series are looked up once per observer (a request),
    not once per query: prometheus-client's ``labels()`` locks and hashes every time it is asked."""

    def __init__(self, alias: str) -> None:
        self.errors = QUERY_ERRORS.labels(alias)
        self.queries = QUERIES.labels(alias)
        self.seconds = QUERY_SECONDS.labels(alias)

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        except Exception:
            self.errors.inc()
            raise
        finally:
            self.queries.inc()
            self.seconds.observe(time.perf_counter() - started)


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        connection = connections["default"]
        with connection.execute_wrapper(_QueryObserver("default")):
            response = self.get_response(request)
        method = request.method if request.method in METHODS else "other"
        route = route_of(request)
        REQUESTS.labels(method, route, str(response.status_code)).inc()
        REQUEST_SECONDS.labels(method, route).observe(time.perf_counter() - started)
        return response
