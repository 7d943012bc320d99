"""/healthz and /readyz: no login, no details."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import DatabaseError
from django.test import Client

from launchplane import health


def test_healthz_answers_ok_without_touching_the_database() -> None:
    response = Client().get("/healthz")  # no django_db mark: any query would raise

    assert (response.status_code, response.content) == (200, b"ok\n")
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_readyz_answers_ready_when_the_database_answers_and_migrations_are_applied(monkeypatch) -> None:
    monkeypatch.setattr(health, "_migrated", False)
    response = Client().get("/readyz")

    assert (response.status_code, response.content) == (200, b"ready\n")


@pytest.mark.django_db
def test_readyz_answers_503_while_migrations_are_missing(monkeypatch) -> None:
    monkeypatch.setattr(health, "_migrated", False)
    with mock.patch("launchplane.health.MigrationExecutor") as executor:
        executor.return_value.migration_plan.return_value = [("notifications", "0002_future")]
        response = Client().get("/readyz")

    assert (response.status_code, response.content) == (503, b"not ready\n")


@pytest.mark.django_db
def test_readyz_answers_503_without_details_when_the_database_fails(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise DatabaseError("connection to server at 10.0.0.5 failed: password authentication failed")

    with mock.patch("django.db.backends.utils.CursorWrapper.execute", broken):
        response = Client().get("/readyz")

    assert (response.status_code, response.content) == (503, b"not ready\n")


def test_probes_are_never_redirected_to_https(settings) -> None:
    settings.SECURE_SSL_REDIRECT = True

    assert Client().get("/healthz").status_code == 200
    assert Client().get("/metrics").status_code == 301  # everything else is
