"""Background tasks (Django's task framework; the django-tasks backport with the database backend).

Thin and idempotent: a task loads its record and calls one service, whose guard decides whether there
is anything left to do, so running it twice (or on two workers) changes nothing the second time.
"""

from __future__ import annotations

from django_tasks import task


@task()
def verify_environment(run_id: str) -> str:
    """Run one queued verification run (inventory.services.verification.execute_run)."""
    from inventory.services.verification import execute_run

    return execute_run(run_id).status
