"""The access matrix: every route in the URLconf, every kind of caller, and the answer each one gets.

The tables below write out, route by route, what PRODUCT.md says about access ("REST contract" for the
API, "Operator pages" and "Review" for the pages) and what the Django admin does with our groups. The
URLconf is walked, so a route without an entry fails here (a new endpoint cannot ship without its
access rules), and so does an entry whose route is gone (a stale table).

Each entry builds the world its request addresses (cm/testing with a current deployment, a running
bootstrap, the object an admin page shows), then one caller sends one request. A refusal must leave
every table as it was; an API refusal must carry the one error body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Environment, EnvironmentInventory, InventoryTransition
from launchplane.models import ApiClient, IdempotencyKey
from tests.api.conftest import make_caller
from tests.api.support import (
    API,
    BOOTSTRAPS,
    bootstrap_url,
    deployed_env,
    environment_url,
    error_of,
    new_key,
    prepare_bootstrap_cancel,
    prepare_bootstrap_result,
    prepare_bootstrap_start,
    prepare_deployment_create,
    prepare_environment_create,
    prepare_get,
    prepare_observation,
)
from tests.factories import observe, row_counts, runtime_identity, start

# ---------------------------------------------------------------------------------------------------
# The URLconf, walked
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URLPattern: its namespaced name, or (unnamed) its joined pattern, is its key in the tables."""

    key: str
    pattern: str
    callback: Callable[..., Any]


def join(prefix: str, pattern: str) -> str:
    # As Django joins them into ResolverMatch.route: the inner pattern loses its leading "^".
    return pattern if not prefix else prefix + pattern.removeprefix("^")


def walk(patterns: list[Any], prefix: str = "", namespaces: tuple[str, ...] = ()) -> Iterator[Route]:
    for entry in patterns:
        pattern = join(prefix, str(entry.pattern))
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from walk(entry.url_patterns, pattern, inner)
        elif isinstance(entry, URLPattern):
            key = ":".join([*namespaces, entry.name]) if entry.name else pattern
            yield Route(key, pattern, entry.callback)


def urlconf_routes() -> dict[str, Route]:
    return {route.key: route for route in walk(get_resolver().url_patterns)}


def route_key_of(path: str) -> str:
    """The key of the route a path resolves to, spelled as ``walk`` spells it."""
    match = resolve(urlsplit(path).path)
    return ":".join([*match.namespaces, match.url_name]) if match.url_name else match.route


# ---------------------------------------------------------------------------------------------------
# What a caller expects
# ---------------------------------------------------------------------------------------------------

ResponseCheck = Callable[[Any, Any], None]


@dataclass(frozen=True)
class Expect:
    """One cell of the matrix: the status, and what else the answer must say.

    ``code``: the API error body's code. ``to``: a redirect's target path (``{name}`` is filled in from
    what the entry built). ``mentions``: the error message names it. ``says``: the page says it.
    ``listed``: whether a list shows the cm record. ``then``: a check on what the request did.
    ``unchanged``: the request must leave the database as it was (always so for a 4xx).
    """

    status: int
    code: str | None = None
    to: str | None = None
    mentions: str | None = None
    says: str | None = None
    listed: bool | None = None
    then: ResponseCheck | None = None
    unchanged: bool = False

    @property
    def changes_nothing(self) -> bool:
        return self.unchanged or self.status >= 400


@dataclass(frozen=True)
class Call:
    """The request an entry sends, once it has built the world it addresses."""

    path: str
    body: Mapping[str, Any] | None = None
    targets: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    # "api" (bearer tokens), "compat" (bearer tokens, the existing clients' /v1/ envelope: docs/compat.md)
    # or "site" (sessions: the pages and the admin)
    audience: str
    build: Callable[[], Call]
    expect: Mapping[str, Expect]


API_CALLERS = ("no-token", "bad-token", "read-only-cm", "client-acme", "client-cm")
SITE_USERS = ("anonymous", "non-staff", "read-only-staff", "operator", "reviewer")
STAFF = frozenset({"read-only-staff", "operator", "reviewer"})
CALLERS = {"api": API_CALLERS, "compat": API_CALLERS, "site": SITE_USERS}

# --- The REST API (PRODUCT.md, "REST contract") ----------------------------------------------------

UNAUTHENTICATED = Expect(401, code="not_authenticated")  # and WWW-Authenticate: Bearer
READ_ONLY = Expect(403, code="permission_denied")
OUTSIDE_THE_SCOPE = Expect(403, code="permission_denied", mentions="cm")  # a URL or body naming cm
UNKNOWN_TO_THE_CALLER = Expect(404, code="not_found")  # a record by id outside the scope, like an unknown one
NOT_FOUND = Expect(404, code="not_found")
READ = Expect(200)
LISTED = Expect(200, listed=True)
NOT_LISTED = Expect(200, listed=False)  # lists show only what is in scope
CREATED = Expect(201)
DONE = Expect(200)  # /result/, /cancel/, /events/
ACCEPTED = Expect(202)  # /verify/ queued a run


def api_row(*, read_only: Expect, other_context: Expect, in_scope: Expect) -> dict[str, Expect]:
    """No or a bad token answers 401 everywhere the API authenticates."""
    return {
        "no-token": UNAUTHENTICATED,
        "bad-token": UNAUTHENTICATED,
        "read-only-cm": read_only,
        "client-acme": other_context,
        "client-cm": in_scope,
    }


def get(name: str) -> Callable[[], Call]:
    return lambda: Call(prepare_get(name))


def posting(prepare: Callable[[], tuple[str, dict[str, Any]]]) -> Callable[[], Call]:
    def build() -> Call:
        path, body = prepare()
        return Call(path, body)

    return build


def prepare_bootstrap_event() -> tuple[str, dict[str, Any]]:
    operation = start(deployed_env())
    return f"{bootstrap_url(operation.operation_id)}events/", {"phase": "bootstrap", "data_mutated": False}


def with_world(path: str, body: dict[str, Any] | None = None) -> Callable[[], Call]:
    """cm/testing with a deployment and a running bootstrap exist, whatever the path says."""

    def build() -> Call:
        start(deployed_env())
        return Call(path, body)

    return build


VERIFIABLE_URL = "http://127.0.0.1:9/runtime"


def verifiable_env() -> Environment:
    """cm/testing with a deployment and a base URL to probe (nothing is probed: runs stay queued)."""
    environment = deployed_env()
    Environment.objects.filter(pk=environment.pk).update(base_url=VERIFIABLE_URL)
    environment.refresh_from_db()
    return environment


def queued_run() -> Any:
    from inventory.services.verification import queue_verification

    run, _created = queue_verification(verifiable_env(), trigger="api", requested_by="ci")
    return run


def prepare_verify() -> tuple[str, dict[str, Any]]:
    verifiable_env()
    return f"{environment_url()}verify/", {}


def task_result() -> Any:
    from django_tasks_db.models import DBTaskResult

    from inventory.tasks import verify_environment

    result = verify_environment.enqueue("ver-not-a-run")
    return DBTaskResult.objects.get(pk=result.id)


def settings_change() -> Call:
    deployed_env()
    return Call(environment_url(), {"preview_marker": "PREVIEW"})


def reverify_page() -> Call:
    verifiable_env()
    return Call("/environments/cm/testing/verify/", {})


def verification_call(detail: bool) -> Callable[[], Call]:
    def build() -> Call:
        run = queued_run()
        return Call(f"{API}/verifications/{run.run_id}/" if detail else f"{API}/verifications/")

    return build


API_MATRIX: dict[tuple[str, str], Entry] = {
    ("environment-list", "GET"): Entry(
        "api", get("environments"), api_row(read_only=LISTED, other_context=NOT_LISTED, in_scope=LISTED)
    ),
    ("environment-list", "POST"): Entry(
        "api",
        posting(prepare_environment_create),
        api_row(read_only=READ_ONLY, other_context=OUTSIDE_THE_SCOPE, in_scope=CREATED),
    ),
    ("environment-detail", "GET"): Entry(
        "api", get("environment"), api_row(read_only=READ, other_context=OUTSIDE_THE_SCOPE, in_scope=READ)
    ),
    ("environment-detail", "PATCH"): Entry(
        "api",
        settings_change,
        api_row(read_only=READ_ONLY, other_context=OUTSIDE_THE_SCOPE, in_scope=READ),
    ),
    ("environment-verify", "POST"): Entry(
        "api",
        posting(prepare_verify),
        api_row(read_only=READ_ONLY, other_context=OUTSIDE_THE_SCOPE, in_scope=ACCEPTED),
    ),
    ("verification-list", "GET"): Entry(
        "api",
        verification_call(detail=False),
        api_row(read_only=LISTED, other_context=NOT_LISTED, in_scope=LISTED),
    ),
    ("verification-detail", "GET"): Entry(
        "api",
        verification_call(detail=True),
        api_row(read_only=READ, other_context=UNKNOWN_TO_THE_CALLER, in_scope=READ),
    ),
    ("environment-history", "GET"): Entry(
        "api", get("history"), api_row(read_only=READ, other_context=OUTSIDE_THE_SCOPE, in_scope=READ)
    ),
    ("environment-observations", "POST"): Entry(
        "api",
        posting(prepare_observation),
        api_row(read_only=READ_ONLY, other_context=OUTSIDE_THE_SCOPE, in_scope=CREATED),
    ),
    ("deployment-list", "GET"): Entry(
        "api", get("deployments"), api_row(read_only=LISTED, other_context=NOT_LISTED, in_scope=LISTED)
    ),
    ("deployment-list", "POST"): Entry(
        "api",
        posting(prepare_deployment_create),
        api_row(read_only=READ_ONLY, other_context=OUTSIDE_THE_SCOPE, in_scope=CREATED),
    ),
    ("deployment-detail", "GET"): Entry(
        "api", get("deployment"), api_row(read_only=READ, other_context=UNKNOWN_TO_THE_CALLER, in_scope=READ)
    ),
    ("bootstrap-list", "GET"): Entry(
        "api", get("bootstraps"), api_row(read_only=LISTED, other_context=NOT_LISTED, in_scope=LISTED)
    ),
    ("bootstrap-list", "POST"): Entry(
        "api",
        posting(prepare_bootstrap_start),
        api_row(read_only=READ_ONLY, other_context=OUTSIDE_THE_SCOPE, in_scope=CREATED),
    ),
    ("bootstrap-detail", "GET"): Entry(
        "api", get("bootstrap"), api_row(read_only=READ, other_context=UNKNOWN_TO_THE_CALLER, in_scope=READ)
    ),
    ("bootstrap-result", "POST"): Entry(
        "api",
        posting(prepare_bootstrap_result),
        api_row(read_only=READ_ONLY, other_context=UNKNOWN_TO_THE_CALLER, in_scope=DONE),
    ),
    ("bootstrap-cancel", "POST"): Entry(
        "api",
        posting(prepare_bootstrap_cancel),
        api_row(read_only=READ_ONLY, other_context=UNKNOWN_TO_THE_CALLER, in_scope=DONE),
    ),
    ("bootstrap-events", "POST"): Entry(
        "api",
        posting(prepare_bootstrap_event),
        api_row(read_only=READ_ONLY, other_context=UNKNOWN_TO_THE_CALLER, in_scope=DONE),
    ),
    # The schema names no context: every authenticated client may read it.
    ("schema", "GET"): Entry(
        "api", with_world(f"{API}/schema/"), api_row(read_only=READ, other_context=READ, in_scope=READ)
    ),
    ("api-docs", "GET"): Entry(
        "api", with_world(f"{API}/docs/"), api_row(read_only=READ, other_context=READ, in_scope=READ)
    ),
    # Anything else under /api/v1/ is not found, for everyone, token or not.
    ("api/v1/.*$", "GET"): Entry("api", with_world(f"{API}/no-such-route/"), dict.fromkeys(API_CALLERS, NOT_FOUND)),
    ("api/v1/.*$", "POST"): Entry(
        "api", with_world(f"{BOOTSTRAPS}no-such-operation/retry/", {}), dict.fromkeys(API_CALLERS, NOT_FOUND)
    ),
}

# --- The existing clients' routes (docs/compat.md): our scopes, their envelope and codes --------------

COMPAT_UNAUTHENTICATED = Expect(401, code="authentication_required")  # and WWW-Authenticate: Bearer
COMPAT_READ_ONLY = Expect(403, code="authorization_denied")
COMPAT_OUTSIDE_THE_SCOPE = Expect(403, code="authorization_denied", mentions="cm")
COMPAT_UNKNOWN_TO_THE_CALLER = Expect(404, code="not_found")
COMPAT_NOT_FOUND = Expect(404, code="not_found")


def compat_row(*, read_only: Expect, other_context: Expect, in_scope: Expect) -> dict[str, Expect]:
    return {
        "no-token": COMPAT_UNAUTHENTICATED,
        "bad-token": COMPAT_UNAUTHENTICATED,
        "read-only-cm": read_only,
        "client-acme": other_context,
        "client-cm": in_scope,
    }


def prepare_compat_evidence() -> tuple[str, dict[str, Any]]:
    from tests.compat.support import EVIDENCE, payload

    deployed_env()
    return EVIDENCE, payload(bootstrap="pass", identity=runtime_identity("dep-1"), deploy_status="skipped")


COMPAT_MATRIX: dict[tuple[str, str], Entry] = {
    ("compat:evidence-deployments", "POST"): Entry(
        "compat",
        posting(prepare_compat_evidence),
        compat_row(read_only=COMPAT_READ_ONLY, other_context=COMPAT_OUTSIDE_THE_SCOPE, in_scope=ACCEPTED),
    ),
    ("compat:inventory", "GET"): Entry(
        "compat",
        with_world("/v1/inventory/cm/testing"),
        compat_row(read_only=READ, other_context=COMPAT_OUTSIDE_THE_SCOPE, in_scope=READ),
    ),
    ("compat:deployment", "GET"): Entry(
        "compat",
        with_world("/v1/deployments/dep-1"),
        compat_row(read_only=READ, other_context=COMPAT_UNKNOWN_TO_THE_CALLER, in_scope=READ),
    ),
    # Anything else under /v1/ is not found, for everyone, token or not.
    ("v1/.*$", "GET"): Entry("compat", with_world("/v1/no-such-route"), dict.fromkeys(API_CALLERS, COMPAT_NOT_FOUND)),
    ("v1/.*$", "POST"): Entry(
        "compat", with_world("/v1/evidence/deployments/", {}), dict.fromkeys(API_CALLERS, COMPAT_NOT_FOUND)
    ),
}

# --- The operator pages (PRODUCT.md, "Operator pages" and "Review") -------------------------------

NOTE = "Checked the provider: the restore is expected to be partial until tonight."


def acknowledged(response: Any, http: Any) -> None:
    inventory = EnvironmentInventory.objects.get(environment__context="cm", environment__instance="testing")
    assert inventory.acknowledgement_note == NOTE
    assert str(inventory.acknowledged_by_id) == http.session["_auth_user_id"]


def logged_out(response: Any, http: Any) -> None:
    assert "_auth_user_id" not in http.session


TO_LOGIN = Expect(302, to="/login/", unchanged=True)  # with ?next=
STAFF_ONLY = Expect(403, says="These pages are for staff")  # signed in, not staff
MAY_NOT_ACKNOWLEDGE = Expect(403, says="not acknowledge")
MAY_NOT_VERIFY = Expect(403, says="not ask for a verification run")
PAGE = Expect(200)
ACKNOWLEDGED = Expect(302, to="/review/", then=acknowledged)
TO_THE_BOARD = Expect(302, to="/", unchanged=True)  # the login page sends whoever is signed in on
LOGGED_OUT = Expect(302, to="/login/", then=logged_out)


def verification_queued(response: Any, http: Any) -> None:
    from inventory.models import VerificationRun

    run = VerificationRun.objects.get(environment__context="cm", environment__instance="testing")
    assert (run.status, run.trigger) == ("queued", "operator")


VERIFY_QUEUED = Expect(302, to="/environments/cm/testing/", then=verification_queued)
MAY_NOT_RECONCILE = Expect(403, says="not reconcile")


def lost_connection_env() -> Any:
    """cm/testing whose bootstrap lost its connection and timed out: the data side is unknown."""
    from datetime import timedelta

    from bootstraps.services import expire_overdue

    environment = deployed_env()
    operation = start(environment, now=timezone.now() - timedelta(hours=1), timeout_seconds=600)
    expire_overdue(environment=environment)
    return operation


def reconcile_page() -> Call:
    operation = lost_connection_env()
    inspected = timezone.now()  # UTC: the settings time zone, as the form reads it
    return Call(
        "/environments/cm/testing/reconcile/",
        {
            "provider_state": "partial",
            "inspected_at": inspected.strftime("%Y-%m-%dT%H:%M"),
            "evidence_reference": "OPS-1",
            "operation_id": operation.operation_id,
        },
    )


def reconciled(response: Any, http: Any) -> None:
    from bootstraps.models import Reconciliation

    found = Reconciliation.objects.get()
    assert found.reviewer == get_user_model().objects.get(pk=http.session["_auth_user_id"]).get_username()
    assert found.data_state == "partially_bootstrapped"


RECONCILED = Expect(302, to="/environments/cm/testing/", then=reconciled)


def held_by_someone_env() -> Any:
    """cm/testing waiting for review (its bootstrap lost its connection), taken by another reviewer."""
    from inventory.services import take

    lost_connection_env()
    holder = get_user_model().objects.create_user(username="hana-holder", is_staff=True)
    holder.groups.add(Group.objects.get(name="reviewers"))
    take(Environment.objects.get(context="cm", instance="testing"), user=holder)
    return holder


def take_page() -> Call:
    lost_connection_env()
    return Call("/environments/cm/testing/take/", {"next": "/review/"})


def release_page() -> Call:
    held_by_someone_env()
    return Call("/environments/cm/testing/release/", {})


def taken(response: Any, http: Any) -> None:
    inventory = EnvironmentInventory.objects.get(environment__context="cm", environment__instance="testing")
    assert str(inventory.assignee_id) == http.session["_auth_user_id"]
    latest = InventoryTransition.objects.filter(environment=inventory.environment).order_by("-sequence").first()
    assert latest is not None and latest.cause_type == "review" and latest.reason.startswith("Taken by ")


def released(response: Any, http: Any) -> None:
    inventory = EnvironmentInventory.objects.get(environment__context="cm", environment__instance="testing")
    assert inventory.assignee_id is None and inventory.assigned_at is None
    latest = InventoryTransition.objects.filter(environment=inventory.environment).order_by("-sequence").first()
    assert latest is not None and latest.reason.endswith("on behalf of hana-holder.")


MAY_NOT_TAKE = Expect(403, says="not take or release")
TAKEN = Expect(302, to="/review/", then=taken)
RELEASED = Expect(302, to="/environments/cm/testing/", then=released)


def site_row(
    *, anonymous: Expect, non_staff: Expect, read_only_staff: Expect, operator: Expect, reviewer: Expect
) -> dict[str, Expect]:
    return {
        "anonymous": anonymous,
        "non-staff": non_staff,
        "read-only-staff": read_only_staff,
        "operator": operator,
        "reviewer": reviewer,
    }


def staff_read() -> dict[str, Expect]:
    return site_row(anonymous=TO_LOGIN, non_staff=STAFF_ONLY, read_only_staff=PAGE, operator=PAGE, reviewer=PAGE)


def page(path: str, body: Mapping[str, Any] | None = None) -> Callable[[], Call]:
    def build() -> Call:
        deployed_env()
        return Call(path, body)

    return build


PAGE_MATRIX: dict[tuple[str, str], Entry] = {
    ("inventory:board", "GET"): Entry("site", page("/"), staff_read()),
    ("inventory:environment", "GET"): Entry("site", page("/environments/cm/testing/"), staff_read()),
    ("inventory:review", "GET"): Entry("site", page("/review/"), staff_read()),
    ("inventory:acknowledge", "POST"): Entry(
        "site",
        page("/review/cm/testing/acknowledge/", {"note": NOTE}),
        site_row(
            anonymous=TO_LOGIN,
            non_staff=STAFF_ONLY,
            read_only_staff=MAY_NOT_ACKNOWLEDGE,
            operator=ACKNOWLEDGED,
            reviewer=ACKNOWLEDGED,
        ),
    ),
    ("inventory:verify", "POST"): Entry(
        "site",
        reverify_page,
        site_row(
            anonymous=TO_LOGIN,
            non_staff=STAFF_ONLY,
            read_only_staff=MAY_NOT_VERIFY,
            operator=VERIFY_QUEUED,
            reviewer=VERIFY_QUEUED,
        ),
    ),
    ("inventory:take", "POST"): Entry(
        "site",
        take_page,
        site_row(
            anonymous=TO_LOGIN,
            non_staff=STAFF_ONLY,
            read_only_staff=MAY_NOT_TAKE,
            operator=TAKEN,
            reviewer=TAKEN,
        ),
    ),
    ("inventory:release", "POST"): Entry(
        "site",
        release_page,
        site_row(
            anonymous=TO_LOGIN,
            non_staff=STAFF_ONLY,
            read_only_staff=MAY_NOT_TAKE,
            operator=RELEASED,
            reviewer=RELEASED,
        ),
    ),
    ("bootstraps:reconcile", "GET"): Entry("site", page("/environments/cm/testing/reconcile/"), staff_read()),
    ("bootstraps:reconcile", "POST"): Entry(
        "site",
        reconcile_page,
        site_row(
            anonymous=TO_LOGIN,
            non_staff=STAFF_ONLY,
            read_only_staff=MAY_NOT_RECONCILE,
            operator=RECONCILED,
            reviewer=RECONCILED,
        ),
    ),
    ("login", "GET"): Entry(
        "site",
        page("/login/"),
        site_row(
            anonymous=PAGE,
            non_staff=TO_THE_BOARD,
            read_only_staff=TO_THE_BOARD,
            operator=TO_THE_BOARD,
            reviewer=TO_THE_BOARD,
        ),
    ),
    # An empty form: re-rendered with its errors, without hashing any password.
    ("login", "POST"): Entry(
        "site",
        page("/login/", {}),
        site_row(
            anonymous=PAGE,
            non_staff=TO_THE_BOARD,
            read_only_staff=TO_THE_BOARD,
            operator=TO_THE_BOARD,
            reviewer=TO_THE_BOARD,
        ),
    ),
    ("logout", "POST"): Entry("site", page("/logout/", {}), dict.fromkeys(SITE_USERS, LOGGED_OUT)),
    # For machines: no login, the same answer for everyone (/metrics with METRICS_TOKEN unset; with it
    # set, tests/notifications/test_metrics.py proves the 401).
    ("healthz", "GET"): Entry("site", page("/healthz"), dict.fromkeys(SITE_USERS, Expect(200, says="ok"))),
    ("readyz", "GET"): Entry("site", page("/readyz"), dict.fromkeys(SITE_USERS, Expect(200, says="ready"))),
    ("metrics", "GET"): Entry(
        "site", page("/metrics"), dict.fromkeys(SITE_USERS, Expect(200, says="launchplane_environments{"))
    ),
}

# --- The Django admin -------------------------------------------------------------------------------

TO_ADMIN_LOGIN = Expect(302, to="/admin/login/", unchanged=True)  # anonymous, and signed in but not staff
ADMIN_PAGE = Expect(200)
ADMIN_REFUSED = Expect(403)
ADMIN_NOT_FOUND = Expect(404)
TO_ADMIN_INDEX = Expect(302, to="/admin/", unchanged=True)


def admin_row(staff: Expect | Mapping[str, Expect]) -> dict[str, Expect]:
    """The admin lets only active staff in: everyone else is sent to its login page."""
    per_role = staff if isinstance(staff, Mapping) else dict.fromkeys(STAFF, staff)
    return {"anonymous": TO_ADMIN_LOGIN, "non-staff": TO_ADMIN_LOGIN, **per_role}


def environment_content_type() -> Call:
    environment = deployed_env()
    return Call(f"/admin/r/{ContentType.objects.get_for_model(environment).pk}/{environment.pk}/")


ADMIN_SITE_MATRIX: dict[tuple[str, str], Entry] = {
    ("admin:index", "GET"): Entry("site", page("/admin/"), admin_row(ADMIN_PAGE)),
    ("admin:login", "GET"): Entry(
        "site",
        page("/admin/login/"),
        {"anonymous": ADMIN_PAGE, "non-staff": ADMIN_PAGE, **dict.fromkeys(STAFF, TO_ADMIN_INDEX)},
    ),
    ("admin:logout", "POST"): Entry(
        "site",
        page("/admin/logout/", {}),
        # Logging out of the admin lands on the operator pages' login (LOGOUT_REDIRECT_URL).
        {"anonymous": TO_ADMIN_INDEX, "non-staff": TO_ADMIN_INDEX, **dict.fromkeys(STAFF, LOGGED_OUT)},
    ),
    ("admin:password_change", "GET"): Entry("site", page("/admin/password_change/"), admin_row(ADMIN_PAGE)),
    ("admin:password_change_done", "GET"): Entry("site", page("/admin/password_change/done/"), admin_row(ADMIN_PAGE)),
    # No admin declares autocomplete fields, so there is nothing to complete: refused for all staff.
    ("admin:autocomplete", "GET"): Entry(
        "site",
        page("/admin/autocomplete/?app_label=inventory&model_name=environment&field_name=context&term=c"),
        admin_row(ADMIN_REFUSED),
    ),
    ("admin:jsi18n", "GET"): Entry("site", page("/admin/jsi18n/"), admin_row(ADMIN_PAGE)),
    # No model has get_absolute_url, so "view on site" has nowhere to go.
    ("admin:view_on_site", "GET"): Entry("site", environment_content_type, admin_row(ADMIN_NOT_FOUND)),
    # An app's index lists the models the user may see; reviewers see none of launchplane's.
    ("admin:app_list", "GET"): Entry(
        "site",
        page("/admin/launchplane/"),
        admin_row({"read-only-staff": ADMIN_PAGE, "operator": ADMIN_PAGE, "reviewer": ADMIN_NOT_FOUND}),
    ),
    ("admin/(?P<url>.*)$", "GET"): Entry("site", page("/admin/no-such-page/"), admin_row(ADMIN_NOT_FOUND)),
    # Nobody here holds auth.change_user, which setting a password needs.
    ("admin:auth_user_password_change", "GET"): Entry(
        "site", lambda: Call(f"/admin/auth/user/{target_user().pk}/password/"), admin_row(ADMIN_REFUSED)
    ),
}


def target_user() -> Any:
    return get_user_model().objects.create_user(username="tara")  # no password: hashing is slow


def idempotency_key() -> IdempotencyKey:
    now = timezone.now()
    return IdempotencyKey.objects.create(
        owner="client:1", key=new_key(), fingerprint="0" * 64, created_at=now, expires_at=now
    )


def observation() -> Any:
    environment = deployed_env()
    return observe(environment, runtime_identity("dep-1")).record


def reconciliation() -> Any:
    from bootstraps.services import reconcile

    operation = lost_connection_env()
    reviewer = get_user_model().objects.create_user(username="rhea-matrix", is_staff=True)
    reviewer.groups.add(Group.objects.get(name="reviewers"))
    done = reconcile(
        operation.environment,
        user=reviewer,
        provider_state="partial",
        inspected_at=timezone.now(),
        evidence_reference="OPS-1",
    )
    return done.reconciliation


def compat_evidence() -> Any:
    from compat.models import DeploymentEvidence
    from tests.compat.support import payload, submit

    deployed_env()
    submit(make_caller("ci-evidence", ["cm"]).http, payload(identity=runtime_identity("dep-1"), deploy_status="fail"))
    return DeploymentEvidence.objects.get()


def transition() -> InventoryTransition:
    return InventoryTransition.objects.filter(environment=deployed_env()).latest("sequence")


@dataclass(frozen=True)
class Rights:
    """Which staff roles may view, add, change and delete a model in the admin, and an object to show.

    The read-only staff user holds every ``view_*`` permission; operators and reviewers hold their
    group's (launchplane/groups.py). A model someone may add or change carries a valid ``form`` and
    the checks that the add and the change really happened.
    """

    target: Callable[[], Any]
    view: frozenset[str] = frozenset()
    add: frozenset[str] = frozenset()
    change: frozenset[str] = frozenset()
    delete: frozenset[str] = frozenset()
    form: Mapping[str, Any] = field(default_factory=dict)
    added: ResponseCheck | None = None
    changed: ResponseCheck | None = None


VIEW_ONLY = frozenset({"read-only-staff"})

ENVIRONMENT_FORM = {
    "context": "acme",
    "instance": "preprod",
    "base_url": "https://preprod.acme.example.com",
    "required_checks": ["health", "logo"],
    "requires_runtime_identity": "on",
    "verification_ttl_seconds": "43200",
    "health_path": "/web/health",
    "verification_timeout_seconds": "30",
    "verify_tls": "on",
    "verify_after_records": "on",
}


SUBSCRIPTION_FORM = {
    "name": "ops-pager",
    "url": "https://hooks.example.com/launchplane",
    "contexts": '["cm"]',
    "events": '["state_changed"]',
    "format": "slack",
    "is_active": "on",
}


def subscription() -> Any:
    from tests.factories import subscribe

    return subscribe("pager")[0]


def subscription_changed(response: Any, http: Any) -> None:
    from notifications.models import WebhookSubscription

    changed = WebhookSubscription.objects.get()
    assert (changed.name, changed.url, changed.format) == ("ops-pager", SUBSCRIPTION_FORM["url"], "slack")


def delivery() -> Any:
    from notifications.models import WebhookDelivery
    from tests.factories import subscribe

    subscribe("pager")
    deployed_env()
    return WebhookDelivery.objects.get()


def environment_added(response: Any, http: Any) -> None:
    assert EnvironmentInventory.objects.filter(environment__context="acme", environment__instance="preprod").exists()


def environment_changed(response: Any, http: Any) -> None:
    # Context and instance are read-only on the change form: the settings changed, the pair did not.
    changed = Environment.objects.get(context="cm", instance="testing")
    assert (changed.base_url, changed.verification_ttl_seconds) == ("https://preprod.acme.example.com", 43200)


ADMIN_RIGHTS: dict[str, Rights] = {
    # Users and groups are the superuser's business.
    "auth.Group": Rights(lambda: Group.objects.get(name="operators"), view=VIEW_ONLY),
    "auth.User": Rights(target_user, view=VIEW_ONLY),
    # Operators see API clients; a token is issued by create_api_client only, never added here.
    "launchplane.ApiClient": Rights(
        lambda: ApiClient.issue("ci-cm", contexts=["cm"])[0], view=VIEW_ONLY | {"operator"}
    ),
    "launchplane.IdempotencyKey": Rights(idempotency_key, view=VIEW_ONLY),
    # Operators create and configure environments; nobody deletes one here.
    "inventory.Environment": Rights(
        deployed_env,
        view=STAFF,
        add=frozenset({"operator"}),
        change=frozenset({"operator"}),
        form=ENVIRONMENT_FORM,
        added=environment_added,
        changed=environment_changed,
    ),
    # Inventory and evidence are written by services only (rules 2 and 11): everyone reads.
    "inventory.EnvironmentInventory": Rights(
        lambda: EnvironmentInventory.objects.get(pk=deployed_env().pk), view=STAFF
    ),
    "inventory.DeploymentRecord": Rights(lambda: deployed_env().deployments.get(), view=STAFF),
    "inventory.RuntimeObservation": Rights(observation, view=STAFF),
    "inventory.InventoryTransition": Rights(transition, view=STAFF),
    "bootstraps.BootstrapOperation": Rights(lambda: start(deployed_env()), view=STAFF),
    "inventory.VerificationRun": Rights(queued_run, view=STAFF),
    "bootstraps.Reconciliation": Rights(reconciliation, view=STAFF),
    # What existing clients submitted (compat/): evidence like the records it became, read-only.
    "compat.DeploymentEvidence": Rights(compat_evidence, view=STAFF),
    # Webhooks: subscriptions are created by create_webhook only (their secret is shown once) and kept
    # by operators; deliveries are the outbox's rows, read-only. Reviewers see neither.
    "notifications.WebhookSubscription": Rights(
        subscription,
        view=VIEW_ONLY | {"operator"},
        change=frozenset({"operator"}),
        form=SUBSCRIPTION_FORM,
        changed=subscription_changed,
    ),
    "notifications.WebhookDelivery": Rights(delivery, view=VIEW_ONLY | {"operator"}),
    # The task queue's own records (django-tasks-db): read-only in its admin, for whoever may view all.
    "django_tasks_database.DBTaskResult": Rights(task_result, view=VIEW_ONLY),
}


def model_pages(label: str, rights: Rights) -> dict[tuple[str, str], Entry]:
    """The pages every ModelAdmin serves, read and posted, with the answer each role gets."""
    app_label, model = label.lower().split(".")
    base = f"/admin/{app_label}/{model}/"

    def on_object(suffix: str, body: Mapping[str, Any] | None = None) -> Callable[[], Call]:
        def build() -> Call:
            pk = rights.target().pk
            return Call(f"{base}{pk}/{suffix}", body, targets={"change": f"{base}{pk}/change/"})

        return build

    def allowed(roles: frozenset[str], done: Expect = ADMIN_PAGE) -> dict[str, Expect]:
        return {role: done if role in roles else ADMIN_REFUSED for role in STAFF}

    seen = rights.view | rights.change
    saved = {"add": Expect(302, to=base, then=rights.added), "change": Expect(302, to=base, then=rights.changed)}
    return {
        (f"admin:{app_label}_{model}_changelist", "GET"): Entry("site", page(base), admin_row(allowed(seen))),
        (f"admin:{app_label}_{model}_add", "GET"): Entry("site", page(f"{base}add/"), admin_row(allowed(rights.add))),
        (f"admin:{app_label}_{model}_add", "POST"): Entry(
            "site", page(f"{base}add/", dict(rights.form)), admin_row(allowed(rights.add, saved["add"]))
        ),
        (f"admin:{app_label}_{model}_change", "GET"): Entry("site", on_object("change/"), admin_row(allowed(seen))),
        # Read-only staff see the change page and cannot save it.
        (f"admin:{app_label}_{model}_change", "POST"): Entry(
            "site", on_object("change/", dict(rights.form)), admin_row(allowed(rights.change, saved["change"]))
        ),
        (f"admin:{app_label}_{model}_history", "GET"): Entry("site", on_object("history/"), admin_row(allowed(seen))),
        (f"admin:{app_label}_{model}_delete", "GET"): Entry(
            "site", on_object("delete/"), admin_row(allowed(rights.delete))
        ),
        (f"admin:{app_label}_{model}_delete", "POST"): Entry(
            "site", on_object("delete/", {"post": "yes"}), admin_row(allowed(rights.delete))
        ),
        # The pre-1.9 change URL: any staff member is redirected; the change page then decides.
        (f"admin/{app_label}/{model}/<path:object_id>/", "GET"): Entry(
            "site", on_object(""), admin_row(Expect(302, to="{change}"))
        ),
    }


ADMIN_MODEL_MATRIX: dict[tuple[str, str], Entry] = {
    key: entry for label, rights in ADMIN_RIGHTS.items() for key, entry in model_pages(label, rights).items()
}

MATRIX: dict[tuple[str, str], Entry] = {
    **API_MATRIX,
    **COMPAT_MATRIX,
    **PAGE_MATRIX,
    **ADMIN_SITE_MATRIX,
    **ADMIN_MODEL_MATRIX,
}

# Cells where the app answers otherwise than PRODUCT.md says: (route key, method, caller) -> the finding.
# The expectation stays as the product says; the case is a strict xfail until the app is fixed.
# None today: the schema and docs views used to answer their 401s as YAML and bare HTML.
DEVIATIONS: dict[tuple[str, str, str], str] = {}


# ---------------------------------------------------------------------------------------------------
# The callers
# ---------------------------------------------------------------------------------------------------


def api_caller(name: str) -> APIClient:
    if name == "no-token":
        return APIClient()
    if name == "bad-token":
        http = APIClient()
        http.credentials(HTTP_AUTHORIZATION="Bearer lp_not-a-token-we-issued")
        return http
    if name == "read-only-cm":
        return make_caller("reader-cm", ["cm"], read_only=True).http
    if name == "client-acme":
        return make_caller("ci-acme", ["acme"]).http
    assert name == "client-cm", name
    return make_caller("ci-cm", ["cm"]).http


def site_user(name: str, request: pytest.FixtureRequest) -> Client:
    http = Client()
    if name == "anonymous":
        return http
    users = get_user_model().objects
    if name == "non-staff":
        user = users.create_user(username="nina")  # no password: force_login needs none
    elif name == "read-only-staff":
        user = request.getfixturevalue("view_only_staff")
    else:
        user = users.create_user(username=name, is_staff=True)
        user.groups.add(Group.objects.get(name={"operator": "operators", "reviewer": "reviewers"}[name]))
    http.force_login(user)
    return http


# ---------------------------------------------------------------------------------------------------
# The matrix
# ---------------------------------------------------------------------------------------------------


def cases() -> Iterator[Any]:
    for (key, method), entry in MATRIX.items():
        for caller in CALLERS[entry.audience]:
            reason = DEVIATIONS.get((key, method, caller))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(key, method, caller, id=f"{method} {key} as {caller}", marks=marks)


def check_api_answer(response: Any, expect: Expect) -> None:
    if expect.code is not None:
        error = error_of(response, expect.status, expect.code)
        if expect.status == 401:
            assert response.headers.get("WWW-Authenticate") == "Bearer", dict(response.headers)
        if expect.mentions is not None:
            assert expect.mentions in error["message"], error
        return
    assert response.status_code == expect.status, (response.status_code, response.content[:2000])
    if expect.listed is not None:
        results = response.json()["results"]
        assert any(item["context"] == "cm" for item in results) is expect.listed, results


def check_compat_answer(response: Any, expect: Expect) -> None:
    from tests.compat.support import rejected

    if expect.code is not None:
        error = rejected(response, expect.status, expect.code)
        if expect.status == 401:
            assert response.headers.get("WWW-Authenticate") == "Bearer", dict(response.headers)
        if expect.mentions is not None:
            assert expect.mentions in error["message"], error
        return
    assert response.status_code == expect.status, (response.status_code, response.content[:2000])
    assert response.json()["status"] in ("ok", "accepted"), response.json()


def check_site_answer(response: Any, expect: Expect, targets: Mapping[str, str]) -> None:
    location = response.headers.get("Location")
    assert response.status_code == expect.status, (response.status_code, location, response.content[:2000])
    if expect.to is not None:
        assert location is not None
        assert urlsplit(location).path == expect.to.format(**targets), location
    if expect.says is not None:
        assert expect.says in response.content.decode(), response.content[:2000]


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "method", "caller"), list(cases()))
def test_every_route_answers_each_caller_as_the_matrix_says(
    key: str, method: str, caller: str, request: pytest.FixtureRequest
) -> None:
    entry = MATRIX[key, method]
    expect = entry.expect[caller]
    call = entry.build()
    assert route_key_of(call.path) == key, f"{call.path} does not address {key}"
    http = api_caller(caller) if entry.audience in ("api", "compat") else site_user(caller, request)
    before = row_counts()

    if entry.audience in ("api", "compat"):
        if method == "POST":
            response = http.post(call.path, call.body, format="json", HTTP_IDEMPOTENCY_KEY=new_key())
        elif method == "PATCH":
            response = http.patch(call.path, call.body, format="json")
        else:
            response = http.get(call.path)
        (check_compat_answer if entry.audience == "compat" else check_api_answer)(response, expect)
    else:
        response = http.post(call.path, call.body) if method == "POST" else http.get(call.path)
        check_site_answer(response, expect, call.targets)

    if expect.changes_nothing:
        assert row_counts() == before, "a refused request changed the database"
    if expect.then is not None:
        expect.then(response, http)


# ---------------------------------------------------------------------------------------------------
# The table keeps up with the URLconf
# ---------------------------------------------------------------------------------------------------


def test_every_route_in_the_urlconf_has_an_entry() -> None:
    covered = {key for key, _method in MATRIX}
    missing = sorted(
        f"{route.key} ({route.pattern})" for route in urlconf_routes().values() if route.key not in covered
    )

    assert not missing, f"routes without access rules in tests/test_access_matrix.py: {missing}"


def test_every_entry_in_the_table_still_matches_a_route() -> None:
    routes = urlconf_routes()
    stale = sorted(f"{method} {key}" for key, method in MATRIX if key not in routes)

    assert not stale, f"entries for routes the URLconf no longer has: {stale}"


def test_every_method_an_api_route_answers_has_an_entry() -> None:
    """DRF views say which methods they answer; each one needs its own row."""
    missing = []
    for route in urlconf_routes().values():
        if not route.pattern.startswith(("api/", "v1/")):
            continue
        if hasattr(route.callback, "actions"):  # a ViewSet: {"get": "list", "post": "create"}
            methods = {name.upper() for name in route.callback.actions} - {"OPTIONS", "HEAD"}
        elif hasattr(route.callback, "cls"):  # an APIView
            methods = {
                name.upper() for name in route.callback.cls.http_method_names if hasattr(route.callback.cls, name)
            } - {"OPTIONS", "HEAD"}
        else:
            continue
        missing += [f"{method} {route.key}" for method in sorted(methods) if (route.key, method) not in MATRIX]

    assert not missing, f"API methods without access rules: {missing}"


def test_every_registered_admin_model_has_its_rights_in_the_table() -> None:
    registered = {model._meta.label for model in admin.site._registry}

    assert registered - set(ADMIN_RIGHTS) == set(), "admin models without rights in ADMIN_RIGHTS"
    assert set(ADMIN_RIGHTS) - registered == set(), "ADMIN_RIGHTS names models the admin no longer registers"


def test_every_entry_answers_every_caller_of_its_audience() -> None:
    incomplete = sorted(
        f"{method} {key}"
        for (key, method), entry in MATRIX.items()
        if set(entry.expect) != set(CALLERS[entry.audience])
    )

    assert not incomplete, f"entries that leave a caller out: {incomplete}"


def test_every_known_deviation_names_a_cell_of_the_matrix() -> None:
    cells = {(key, method, caller) for (key, method), entry in MATRIX.items() for caller in entry.expect}

    assert set(DEVIATIONS) <= cells, sorted(set(DEVIATIONS) - cells)
