"""The fixed cast for API access tests: a client scoped to ``cm``, a read-only one, one scoped
elsewhere, and staff sessions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from launchplane.models import ApiClient


@dataclass
class Caller:
    """An API client (the model), its token, and a DRF test client that sends it."""

    model: ApiClient
    token: str
    http: APIClient


def make_caller(name: str, contexts: list[str], read_only: bool = False) -> Caller:
    model, token = ApiClient.issue(name, contexts=contexts, read_only=read_only)
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return Caller(model, token, http)


@pytest.fixture
def automation(db) -> Caller:
    """Read-write client scoped to ``cm``."""
    return make_caller("ci-cm", ["cm"])


@pytest.fixture
def reader(db) -> Caller:
    """Read-only client scoped to ``cm``."""
    return make_caller("reader-cm", ["cm"], read_only=True)


@pytest.fixture
def outsider(db) -> Caller:
    """Read-write client scoped to another context."""
    return make_caller("ci-acme", ["acme"])


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def _fresh_throttle_history():
    """Throttle history lives in the cache, keyed by client pk, and pks are reused after a rollback:
    start every test with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def driver(automation: Caller):
    """Builds scenarios over HTTP as the ``cm`` automation client."""
    from tests.api.support import Driver

    return Driver(automation.http)


@pytest.fixture
def superuser_session(db) -> APIClient:
    """A staff superuser logged in with a session (the browsable API)."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="olga", is_staff=True, is_superuser=True)
    http = APIClient()
    http.force_login(user)
    return http


@pytest.fixture
def staff_session(db) -> APIClient:
    """A staff user without superuser rights, logged in with a session: may read, not write."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="sam", is_staff=True)
    http = APIClient()
    http.force_login(user)
    return http
