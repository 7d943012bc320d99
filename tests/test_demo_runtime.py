"""The demo runtime (``make run``): each demo environment's probes tell the story its state tells; off by
default (404); no login. And ``manage.py runall``, which runs the web server, worker and sweeper together."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import clear_url_caches
from django.utils import timezone

import launchplane.urls
from bootstraps.demo.runtime import LOGO_PNG
from bootstraps.demo.scenarios import DEMOS, DEMOS_BY_LABEL, seed_environment
from bootstraps.demo.steps import DEFAULT_RUNTIME_BASE
from inventory.models import Environment, EnvironmentInventory
from inventory.probes.parsing import judge_canonical, judge_logo, logo_url, read_health
from inventory.rules import IdentityInput, compare_identity
from launchplane.management.commands.runall import Process, Supervisor, launchplane_processes

# What each demo environment's probes find (health, canonical, logo, identity), stated here on its own
# rather than read from Demo.runtime, so that the test says the story and the runtime has to tell it.
PASSES = ("pass", "pass", "pass", "match")
STORIES: dict[str, tuple[str, str, str, str]] = {
    "cm/prod": PASSES,
    "cm/staging": ("fail", "fail", "fail", "match"),  # down for the restore (503), still names its build
    "cm/testing": ("fail", "fail", "fail", "match"),  # the half-built database answers 500
    "acme/prod": ("pass", "pass", "pass", "mismatch"),  # runs the hotfix nobody recorded
    "acme/staging": ("pass", "fail", "fail", "match"),  # a restored copy of prod: prod's canonical, no logo
    "acme/testing": PASSES,  # Re-verify brings it to current
    "globex/prod": PASSES,  # build 20 still runs: Re-verify makes it verified again
    "globex/staging": ("pass", "pass", "fail", "match"),  # the filestore copy hung: no logo
    "globex/testing": PASSES,  # passes, and its data stays unknown all the same
    "initech/testing": ("pass", "pass", "pass", "missing"),  # no deployment, nothing to name
    "initech/prod": ("fail", "fail", "fail", "missing"),  # nothing installed yet
}


def reload_urls() -> None:
    importlib.reload(launchplane.urls)
    clear_url_caches()


@pytest.fixture
def demo_runtime(settings) -> Iterator[None]:
    """``DEMO_RUNTIME`` on, as ``make run`` sets it: launchplane/urls.py reads it as it loads, so reload it."""
    settings.DEMO_RUNTIME = True
    reload_urls()
    yield
    settings.DEMO_RUNTIME = False
    reload_urls()


def fetch(client: Client, url: str):
    """GET an absolute URL through the test client, anonymously, with the Host the prober would send."""
    parts = urlsplit(url)
    return client.get(parts.path + (f"?{parts.query}" if parts.query else ""), HTTP_HOST=parts.netloc)


def probe(client: Client, environment: Environment) -> dict[str, object]:
    """The three probes as Launchplane judges them (inventory.probes.parsing), over the test client."""
    base = environment.base_url
    health = fetch(client, base + environment.health_path)
    reading = read_health(health.status_code, health.get("Content-Type", ""), health.content)
    home = fetch(client, base)
    home_type = home.get("Content-Type", "")
    canonical = judge_canonical(
        home.status_code,
        home_type,
        home.content,
        base_url=base,
        page_url=base,
        preview_marker=environment.preview_marker,
    )
    logo_at = logo_url(home_type, home.content, base_url=base, page_url=base)
    logo = fetch(client, logo_at)
    logo_judged = judge_logo(logo.status_code, logo.get("Content-Type", ""), logo.content[:512])
    inventory = EnvironmentInventory.objects.select_related("current_deployment__environment").get(pk=environment.pk)
    expected = inventory.current_deployment.own_identity if inventory.current_deployment else None
    identity = compare_identity(
        expected,
        IdentityInput(
            sent=reading.identity.sent, value=reading.identity.value, unverifiable=reading.identity.unverifiable
        ),
    )
    return {
        "statuses": (reading.judgement.status, canonical.status, logo_judged.status, str(identity.status)),
        "health": reading.judgement,
        "canonical": canonical,
        "logo": logo_judged,
        "logo_url": logo_at,
        "logo_response": logo,
        "identity": identity,
        "health_response": health,
    }


def test_the_stories_here_cover_every_demo() -> None:
    assert set(STORIES) == set(DEMOS_BY_LABEL)


# ---------------------------------------------------------------------------------------------------
# Each demo environment's probes tell its story
# ---------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_data", "demo_runtime")
class TestTheDemoRuntime:
    @pytest.mark.parametrize("label", list(STORIES))
    def test_its_probes_tell_its_story(self, client, label) -> None:
        demo = DEMOS_BY_LABEL[label]
        environment = Environment.objects.get(context=demo.context, instance=demo.instance)

        found = probe(client, environment)

        assert found["statuses"] == STORIES[label], (label, found)

    def test_the_demo_environments_point_at_the_runtime_make_run_serves(self) -> None:
        for demo in DEMOS:
            environment = Environment.objects.get(context=demo.context, instance=demo.instance)
            assert environment.base_url == f"http://127.0.0.1:8000/demo-runtime/{demo.label}"
            assert environment.base_url.startswith(DEFAULT_RUNTIME_BASE)

    def test_a_healthy_one_reports_its_current_deployments_own_identity(self, client) -> None:
        environment = Environment.objects.get(context="cm", instance="prod")
        deployment = EnvironmentInventory.objects.get(pk=environment.pk).current_deployment

        body = fetch(client, environment.base_url + "/web/health").json()

        assert body["status"] == "pass"
        assert {key: body["runtime_identity"][key] for key in deployment.own_identity} == deployment.own_identity

    def test_the_stale_one_reports_the_hotfix(self, client) -> None:
        found = probe(client, Environment.objects.get(context="acme", instance="prod"))

        body = found["health_response"].json()
        assert body["runtime_identity"]["artifact_id"] == "acme-odoo-17.0.87-hotfix1"
        assert body["runtime_identity"]["source_git_ref"] == "refs/heads/hotfix/rounding"
        assert set(found["identity"].mismatches) == {"artifact_id", "source_git_ref"}

    def test_the_failed_one_names_prod_as_canonical_and_has_no_logo(self, client) -> None:
        found = probe(client, Environment.objects.get(context="acme", instance="staging"))

        assert found["canonical"].failure_class == "canonical_missing"
        assert "/demo-runtime/acme/prod/" in found["canonical"].detail
        assert found["logo"].failure_class == "html_404"

    def test_the_page_links_the_logo_and_the_logo_is_a_png(self, client) -> None:
        environment = Environment.objects.get(context="cm", instance="prod")

        found = probe(client, environment)

        assert found["logo_url"] == environment.base_url + "/web/image/website/1/logo"
        response = found["logo_response"]
        assert response["Content-Type"] == "image/png"
        assert response.content == LOGO_PNG

    def test_a_runtime_that_is_down_says_so_everywhere(self, client) -> None:
        environment = Environment.objects.get(context="cm", instance="staging")

        found = probe(client, environment)

        assert found["health_response"].status_code == 503
        assert found["health_response"].json()["status"] == "restoring"
        assert fetch(client, environment.base_url + "/").status_code == 503
        assert found["logo_response"].status_code == 503

    def test_the_homepage_answers_with_and_without_a_trailing_slash(self, client) -> None:
        base = Environment.objects.get(context="cm", instance="prod").base_url

        assert fetch(client, base).status_code == 200
        assert fetch(client, base + "/").status_code == 200

    def test_it_needs_no_login_and_sets_no_session(self, client) -> None:
        base = Environment.objects.get(context="cm", instance="prod").base_url

        for url in (base, base + "/web/health", base + "/web/image/website/1/logo"):
            response = fetch(client, url)
            assert response.status_code == 200, url
            assert "sessionid" not in response.cookies

    @pytest.mark.parametrize(
        "path",
        [
            "/demo-runtime/nope/prod/web/health",  # not a demo environment
            "/demo-runtime/cm/nope/",
            "/demo-runtime/cm/prod/web/image/website/1/logo/extra",
        ],
    )
    def test_it_answers_for_nothing_but_the_demo_environments(self, client, path) -> None:
        assert client.get(path).status_code == 404

    def test_it_only_reads(self, client) -> None:
        assert client.post("/demo-runtime/cm/prod/web/health").status_code == 405


@pytest.mark.django_db
def test_a_demo_not_seeded_is_not_answered_for(client, demo_runtime) -> None:
    assert client.get("/demo-runtime/cm/prod/web/health").status_code == 404


@pytest.mark.django_db
def test_a_real_environment_that_is_not_a_demo_is_not_answered_for(client, demo_runtime) -> None:
    from inventory.services import create_environment

    create_environment(context="shop", instance="prod", base_url="http://127.0.0.1:8000/demo-runtime/shop/prod")

    assert client.get("/demo-runtime/shop/prod/web/health").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/demo-runtime/cm/prod", "/demo-runtime/cm/prod/web/health", "/demo-runtime/cm/prod/web/image/website/1/logo"],
)
def test_off_by_default_the_paths_are_404(client, settings, path) -> None:
    assert settings.DEMO_RUNTIME is False
    seed_environment(DEMOS_BY_LABEL["cm/prod"], now=timezone.now())

    assert client.get(path).status_code == 404
    assert not any("demo-runtime" in str(pattern.pattern) for pattern in launchplane.urls.urlpatterns)


@pytest.mark.django_db
def test_the_views_refuse_even_if_mounted_with_the_setting_off(client, demo_runtime, settings) -> None:
    seed_environment(DEMOS_BY_LABEL["cm/prod"], now=timezone.now())
    settings.DEMO_RUNTIME = False  # a stale URLconf must not serve it either

    assert client.get("/demo-runtime/cm/prod/web/health").status_code == 404


def test_the_logo_is_a_real_png() -> None:
    assert LOGO_PNG.startswith(b"\x89PNG\r\n\x1a\n")
    assert LOGO_PNG[12:16] == b"IHDR" and int.from_bytes(LOGO_PNG[16:20], "big") == 16
    idat_length = int.from_bytes(LOGO_PNG[33:37], "big")
    assert LOGO_PNG[37:41] == b"IDAT"
    assert len(zlib.decompress(LOGO_PNG[41 : 41 + idat_length])) == 16 * (1 + 16 * 3)


# ---------------------------------------------------------------------------------------------------
# seed_demo points the demo environments at the runtime
# ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_takes_the_runtime_base_and_points_existing_environments_there_again() -> None:
    call_command("seed_demo", "--runtime-base", "http://127.0.0.1:9000/demo-runtime", stdout=StringIO())
    assert Environment.objects.get(context="acme", instance="testing").base_url == (
        "http://127.0.0.1:9000/demo-runtime/acme/testing"
    )
    before = list(EnvironmentInventory.objects.order_by("pk").values_list("state", "state_changed_at"))

    out = StringIO()
    call_command("seed_demo", "--runtime-base", "http://127.0.0.1:8000/demo-runtime/", stdout=out)

    assert Environment.objects.get(context="acme", instance="testing").base_url == (
        "http://127.0.0.1:8000/demo-runtime/acme/testing"
    )
    assert out.getvalue().count("settings updated: base_url") == len(DEMOS)
    assert list(EnvironmentInventory.objects.order_by("pk").values_list("state", "state_changed_at")) == before


@pytest.mark.django_db
def test_seed_demo_refuses_a_runtime_base_that_is_not_a_url() -> None:
    with pytest.raises(CommandError, match="--runtime-base"):
        call_command("seed_demo", "--runtime-base", "not a url", stdout=StringIO())
    assert not Environment.objects.exists()


@pytest.mark.django_db
def test_the_stories_that_a_scheduled_run_would_change_wait_for_re_verify() -> None:
    call_command("seed_demo", stdout=StringIO())

    never = set(Environment.objects.filter(verification_interval_seconds=0).values_list("context", "instance"))
    assert never == {("acme", "testing"), ("globex", "prod")}
    # Seeding queued nothing: acme/testing's deployment left it unverified, but it waits for Re-verify.
    assert not Environment.objects.filter(verifications__isnull=False).exists()


# ---------------------------------------------------------------------------------------------------
# End to end: a real verification run against the runtime (once inventory.probes.run_probes exists)
# ---------------------------------------------------------------------------------------------------


def _real_probes_exist() -> bool:
    try:
        return hasattr(importlib.import_module("inventory.probes"), "run_probes")
    except ImportError:
        return False


# Where one verification run (Re-verify) leaves each story: (state, effect, freshness afterwards).
AFTER_A_RUN: dict[str, tuple[str, str, str]] = {
    "cm/prod": ("current", "advanced", "verified"),
    "cm/testing": ("partially_bootstrapped", "marked", "verified"),  # the deployment side fails too
    "acme/prod": ("stale_inventory", "marked", "stale"),  # the mismatch, seen again
    "acme/staging": ("verification_failed", "marked", "verified"),
    "acme/testing": ("current", "advanced", "verified"),  # Re-verify brings it to current
    "globex/prod": ("current", "advanced", "verified"),  # verified again
    "globex/staging": ("unknown", "marked", "stale"),
    "globex/testing": ("unknown", "retained", "stale"),  # readiness is not provenance
    "initech/testing": ("unrecorded", "retained", "recorded"),
    "initech/prod": ("unrecorded", "retained", "recorded"),
}
needs_real_probes = pytest.mark.skipif(not _real_probes_exist(), reason="inventory.probes.run_probes is not there yet")


def seed_against(live_server, label: str) -> Environment:
    """Seed ``label`` (and the demo its canonical link names) pointing at the live server's runtime."""
    demo = DEMOS_BY_LABEL[label]
    runtime_base = f"{live_server.url}/demo-runtime"
    for name in {label, demo.runtime.canonical} - {"", "self"}:
        seed_environment(DEMOS_BY_LABEL[name], now=timezone.now(), runtime_base=runtime_base)
    return Environment.objects.get(context=demo.context, instance=demo.instance)


@needs_real_probes
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("label", list(AFTER_A_RUN))
def test_a_verification_run_against_the_runtime_ends_where_the_story_says(live_server, demo_runtime, label) -> None:
    from inventory.services.verification import execute_run, queue_verification

    environment = seed_against(live_server, label)
    run, _created = queue_verification(environment, trigger="operator", requested_by="test", enqueue=False)

    run = execute_run(run.run_id)

    inventory = EnvironmentInventory.objects.get(pk=environment.pk)
    found = (inventory.state, run.inventory_effect, inventory.freshness_at(timezone.now()))
    assert found == AFTER_A_RUN[label], (run.probes, run.runtime_identity_status, run.detail)


@needs_real_probes
@pytest.mark.django_db(transaction=True)
def test_a_run_is_refused_while_the_restore_is_active(live_server, demo_runtime) -> None:
    from inventory.services.verification import queue_verification
    from launchplane.errors import BootstrapActive

    environment = seed_against(live_server, "cm/staging")

    with pytest.raises(BootstrapActive):
        queue_verification(environment, trigger="operator", requested_by="test", enqueue=False)


# ---------------------------------------------------------------------------------------------------
# runall: three processes, one terminal
# ---------------------------------------------------------------------------------------------------


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


SLEEPER = python(
    """
    import os, time
    print("up", os.getpid(), flush=True)
    time.sleep(60)
    """
)


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for whoever adopted it to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_runall_prefixes_each_line_and_stops_the_others_when_one_exits() -> None:
    lines: list[str] = []
    supervisor = Supervisor(
        [
            Process("web", SLEEPER),
            Process("worker", SLEEPER),
            Process("sweep", python("import time; print('one line'); time.sleep(0.5); raise SystemExit(3)")),
        ],
        write=lines.append,
        grace_seconds=5,
    )

    started = time.monotonic()
    status = supervisor.run()

    assert status == 3
    assert time.monotonic() - started < 10
    assert "sweep  | one line" in lines
    assert any(line.startswith("web    | up ") for line in lines)
    assert "runall | sweep exited with status 3; stopping the others" in lines
    assert all(child.poll() is not None for child in supervisor.children.values())


def test_runall_kills_a_process_that_ignores_sigterm_after_the_grace_period() -> None:
    stubborn = python(
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ignoring", flush=True)
        time.sleep(60)
        """
    )
    lines: list[str] = []
    supervisor = Supervisor(
        [Process("web", stubborn), Process("sweep", python("import time; time.sleep(1); raise SystemExit(0)"))],
        write=lines.append,
        grace_seconds=0.5,
    )

    assert supervisor.run() == 1  # a process that ends at all is a failure, whatever its status
    assert "runall | web did not stop in 0.5 s; killing" in lines
    assert supervisor.children["web"].returncode == -signal.SIGKILL


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_runall_stops_everything_on_a_signal_including_what_a_process_forked(tmp_path, sig) -> None:
    """As Ctrl-C or `kill` would: the supervisor in a process of its own, children with children (as
    runserver's autoreloader has), then the signal to the supervisor; nothing may be left running."""
    parent_with_child = python(
        """
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import os, time; print('grandchild', os.getpid(), flush=True); time.sleep(60)"])
        print("parent", os.getpid(), flush=True)
        time.sleep(60)
        """
    )
    script = tmp_path / "supervise.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import signal, sys
            signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, whatever we inherited
            from launchplane.management.commands.runall import Process, Supervisor
            supervisor = Supervisor(
                [Process("web", {parent_with_child!r}), Process("worker", {SLEEPER!r})],
                write=lambda line: print(line, flush=True),
            )
            sys.exit(supervisor.run())
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(settings.BASE_DIR)}
    with subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env) as supervisor:
        assert supervisor.stdout is not None
        seen: list[str] = []
        pids: dict[str, int] = {}
        deadline = time.monotonic() + 60
        while len(pids) < 3 and time.monotonic() < deadline:
            line = supervisor.stdout.readline()
            if not line:
                break  # the supervisor ended before its children said who they are
            seen.append(line)
            words = line.split()
            if len(words) == 4 and words[1] == "|" and words[2] in ("parent", "grandchild", "up"):
                pids[words[2]] = int(words[3])
        assert len(pids) == 3, seen

        supervisor.send_signal(sig)
        rest = supervisor.communicate(timeout=60)[0]

    assert supervisor.returncode == 0, [*seen, rest]
    assert "runall | all stopped" in rest
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in pids.values()), (pids, seen, rest)


def test_runall_runs_the_web_server_the_worker_and_the_sweeper() -> None:
    processes = {
        process.name: list(process.argv)
        for process in launchplane_processes(host="127.0.0.1", port=8000, sweep_interval=2)
    }

    assert {name: argv[2:] for name, argv in processes.items()} == {
        "web": ["runserver", "127.0.0.1:8000"],
        "worker": ["db_worker"],
        "sweep": ["sweep", "--loop", "--interval", "2"],
    }
    assert all(argv[:2] == [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")] for argv in processes.values())


def test_the_runall_command_fails_when_a_process_exits(monkeypatch) -> None:
    from launchplane.management.commands import runall

    monkeypatch.setattr(
        runall,
        "launchplane_processes",
        lambda **options: [Process("web", SLEEPER), Process("sweep", python("raise SystemExit(3)"))],
    )
    out = StringIO()

    with pytest.raises(CommandError, match="sweep exited with status 3; stopped the others") as raised:
        call_command("runall", stdout=out)

    assert raised.value.returncode == 3
    assert "runall | all stopped" in out.getvalue()


def test_the_runall_command_refuses_a_sweep_interval_that_is_not_positive() -> None:
    with pytest.raises(CommandError, match="--sweep-interval"):
        call_command("runall", "--sweep-interval", "0", stdout=StringIO())


@pytest.mark.django_db
def test_seed_demo_leaves_alone_an_environment_of_a_demo_name_pointed_at_a_real_runtime() -> None:
    call_command("seed_demo", stdout=StringIO())
    Environment.objects.filter(context="cm", instance="prod").update(base_url="https://erp.cm.example.org")
    Environment.objects.filter(context="acme", instance="prod").update(base_url="https://prod.acme.example.com")

    out = StringIO()
    call_command("seed_demo", "--runtime-base", "http://127.0.0.1:9000/demo-runtime", stdout=out)

    assert Environment.objects.get(context="cm", instance="prod").base_url == "https://erp.cm.example.org"
    assert Environment.objects.get(context="acme", instance="prod").base_url == "https://prod.acme.example.com"
    assert out.getvalue().count("settings updated") == len(DEMOS) - 2


@pytest.mark.django_db
def test_seed_demo_moves_a_database_seeded_before_the_runtime_onto_it() -> None:
    call_command("seed_demo", stdout=StringIO())
    Environment.objects.filter(context="acme", instance="testing").update(
        base_url="https://testing.acme.example.com", verification_interval_seconds=None, verify_after_records=True
    )

    call_command("seed_demo", stdout=StringIO())

    environment = Environment.objects.get(context="acme", instance="testing")
    assert environment.base_url == "http://127.0.0.1:8000/demo-runtime/acme/testing"
    assert (environment.verification_interval_seconds, environment.verify_after_records) == (0, False)
