"""Guard tests that keep the project's conventions honest."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_models_and_migrations_agree() -> None:
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_every_management_command_of_ours_has_a_test() -> None:
    root = ROOT
    commands = [
        p.stem
        for app in ("launchplane", "inventory", "bootstraps", "notifications")
        for p in (root / app / "management" / "commands").glob("*.py")
        if p.stem != "__init__"
    ]
    tests = "\n".join(p.read_text() for p in (root / "tests").rglob("test_*.py"))
    untested = [name for name in commands if f'"{name}"' not in tests]
    assert commands and not untested, f"commands without a test: {untested}"


@pytest.mark.django_db
def test_the_staff_groups_exist_with_their_permissions() -> None:
    from django.contrib.auth.models import Group

    perms = {
        g.name: {f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.all()} for g in Group.objects.all()
    }
    assert "inventory.acknowledge_environmentinventory" in perms["reviewers"]
    assert "bootstraps.cancel_bootstrapoperation" not in perms["reviewers"]
    assert {"inventory.acknowledge_environmentinventory", "bootstraps.cancel_bootstrapoperation"} <= perms["operators"]
    assert perms["automation"] == set()
    assert not any(p.startswith(("inventory.change_deploymentrecord", "inventory.delete_")) for p in perms["operators"])


def test_the_openapi_schema_renders_without_warnings() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null"],
        capture_output=True,
        text=True,
        env={**os.environ, "DEBUG": "1"},
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def documented_production_environment() -> dict[str, str]:
    """The settings docs/operations.md tells an operator to export, read from its shell block."""
    text = (ROOT / "docs" / "operations.md").read_text()
    block = text.split("## Serving", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    exports = " ".join(
        line.split("#", 1)[0].rstrip().rstrip("\\")
        for line in block.replace("\\\n", "\\ ").splitlines()
        if line.startswith("export")
    )
    variables = dict(word.split("=", 1) for word in exports.split() if "=" in word)
    assert {"SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD"} <= set(variables)
    return variables


def test_check_deploy_is_clean_under_the_production_settings_docs_operations_md_documents() -> None:
    variables = documented_production_environment()
    # PostgreSQL, as documented (SQLite with DEBUG off warns, launchplane.W001); the check connects to nothing.
    variables["DATABASE_URL"] = "postgres://launchplane@127.0.0.1:5432/launchplane-deploy-check"
    variables["SECRET_KEY"] = "a-long-random-production-like-key-" + "x7Qp2vR9sT4wY6zA8bC1dE3fG5hJ0kL" * 2
    # Only the documented settings: not this test run's (the browser tests allow async-unsafe calls).
    ours = ("DEBUG", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    environment = {key: value for key, value in os.environ.items() if key not in ours}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        env={**environment, **variables},
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "no issues" in result.stdout


def test_every_status_colour_map_covers_every_choice_of_its_field() -> None:
    from django.apps import apps

    from inventory.models.base import StatusColors

    checked = 0
    for model in apps.get_models():
        if not issubclass(model, StatusColors):
            continue
        for name, colors in model.STATUS_COLORS_BY_FIELD.items():
            field = model._meta.get_field(name)
            values = {value for value, _label in field.choices}
            assert values <= set(colors), f"{model.__name__}.{name}: no colour for {values - set(colors)}"
            assert callable(getattr(model, f"get_{name}_color"))
            checked += 1
    assert checked >= 25


@pytest.mark.parametrize(
    ("overrides", "check_id"),
    [
        ({"CLOCK_SKEW_SECONDS": -1}, "launchplane.E002"),
        ({"IDEMPOTENCY_IN_FLIGHT_LEASE_SECONDS": 90000, "IDEMPOTENCY_KEY_TTL_SECONDS": 86400}, "launchplane.E003"),
        ({"IDEMPOTENCY_KEY_TTL_SECONDS": 0}, "launchplane.E004"),
    ],
)
def test_settings_that_are_wrong_together_fail_the_system_checks(settings, overrides, check_id) -> None:
    from launchplane.checks import check_clocks_and_leases

    for name, value in overrides.items():
        setattr(settings, name, value)
    assert check_id in {message.id for message in check_clocks_and_leases(None)}


def test_the_default_settings_pass_the_clock_and_lease_checks() -> None:
    from launchplane.checks import check_clocks_and_leases

    assert check_clocks_and_leases(None) == []


def test_sqlite_with_debug_off_warns_at_deploy_check(settings) -> None:
    from launchplane.checks import check_production_database

    settings.DEBUG = False
    default = settings.DATABASES["default"]
    with mock.patch.dict(default, ENGINE="django.db.backends.sqlite3"):
        assert [message.id for message in check_production_database(None)] == ["launchplane.W001"]
    with mock.patch.dict(default, ENGINE="django.db.backends.postgresql"):
        assert check_production_database(None) == []


def test_every_api_viewset_passes_the_one_scope_gate() -> None:
    """A new endpoint is scoped by default: every viewset under /api/v1/ is a ScopedViewSet."""
    from django.urls import URLPattern, URLResolver, get_resolver

    from launchplane.api.viewsets import ScopedViewSet

    def walk(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern), entry.callback

    viewsets = {
        route: callback.cls
        for route, callback in walk(get_resolver().url_patterns)
        if route.startswith("api/v1/") and hasattr(callback, "actions")  # a ViewSet's as_view()
    }
    assert len(viewsets) >= 8, viewsets
    unscoped = sorted(route for route, cls in viewsets.items() if not issubclass(cls, ScopedViewSet))
    assert not unscoped, f"API viewsets outside the scope gate: {unscoped}"


def test_no_app_module_grows_past_400_lines() -> None:
    """Split a module into a package before it passes ~400 lines (STYLE.md); migrations are generated."""
    too_long = {
        str(path.relative_to(ROOT)): lines
        for app in ("launchplane", "inventory", "bootstraps", "notifications")
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and (lines := len(path.read_text().splitlines())) > 400
    }
    assert not too_long, too_long
