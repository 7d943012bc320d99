"""``python manage.py verify CONTEXT/INSTANCE …``: probes in the command itself (no worker), applies rule
15 and prints each outcome; a fake runtime on loopback answers."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from inventory.models import EnvironmentInventory, VerificationRun
from inventory.services import create_environment
from tests.inventory.test_verification_services import _own, deployed

pytestmark = pytest.mark.django_db


def healthy_runtime(httpserver, instance: str) -> str:
    base = httpserver.url_for(f"/{instance}").rstrip("/")
    httpserver.expect_request(f"/{instance}/web/health").respond_with_json(
        {"status": "pass", "runtime_identity": _own(None, instance).value}
    )
    httpserver.expect_request(f"/{instance}").respond_with_data(
        f'<html><head><link rel="canonical" href="{base}/"></head></html>', content_type="text/html"
    )
    httpserver.expect_request(f"/{instance}/web/image/website/1/logo").respond_with_data(
        b"\x89PNG\r\n\x1a\n", content_type="image/png"
    )
    return base


def run(*names: str) -> str:
    out = StringIO()
    call_command("verify", *names, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_probes_in_the_command_and_prints_each_outcome(httpserver) -> None:
    environment = deployed()
    base = healthy_runtime(httpserver, "testing")
    environment.base_url = base
    environment.save(update_fields=["base_url"])

    output = run("cm/testing")

    run_ = VerificationRun.objects.get(environment=environment)
    assert (run_.trigger, run_.status, run_.inventory_effect) == ("command", "finished", "advanced")
    assert EnvironmentInventory.objects.get(pk=environment.pk).state == "current"
    assert f"cm/testing: {run_.run_id} advanced" in output
    assert "now current" in output
    assert "health    pass" in output and f"{base}/web/health" in output


def test_an_environment_that_cannot_be_verified_fails_the_command_after_the_others(httpserver) -> None:
    environment = deployed()
    environment.base_url = healthy_runtime(httpserver, "testing")
    environment.save(update_fields=["base_url"])
    create_environment(context="cm", instance="bare")

    with pytest.raises(CommandError, match="1 of 2 environments could not be verified"):
        run("cm/testing", "cm/bare")

    assert VerificationRun.objects.get().environment == environment


@pytest.mark.parametrize("name", ["cm", "cm/", "/testing", "cm/nowhere"])
def test_bad_names_are_refused_before_anything_is_probed(name) -> None:
    deployed()

    with pytest.raises(CommandError):
        run("cm/testing", name)

    assert not VerificationRun.objects.exists()
