"""Guard tests that keep the project's conventions honest."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

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
        for app in ("launchplane", "inventory", "bootstraps")
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
