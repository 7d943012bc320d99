"""Probes of Launchplane itself, for load balancers and Kubernetes: no login, no details.

``/healthz``: the process answers (it touches nothing else, so a database outage does not get every
app server restarted). ``/readyz``: the database answers and every migration is applied — a new
release whose migrations have not run yet is not sent traffic. Why a check failed goes to the log,
never into the answer.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

# Migrations do not un-apply under a running process, so once they are all applied that is not asked again.
_migrated = False


def _answer(text: str, status: int = 200) -> HttpResponse:
    return HttpResponse(text + "\n", content_type="text/plain; charset=utf-8", status=status)


@csrf_exempt
@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return _answer("ok")


def migrations_applied() -> bool:
    global _migrated
    if not _migrated:
        executor = MigrationExecutor(connection)
        _migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return _migrated


@csrf_exempt
@never_cache
@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        if not migrations_applied():
            logger.warning("readyz: migrations are not all applied")
            return _answer("not ready", 503)
    except DatabaseError:
        logger.warning("readyz: the database does not answer", exc_info=True)
        return _answer("not ready", 503)
    return _answer("ready")
