"""The demo environments: every inventory state, with stale and verified freshness among them, each
telling a short story back from "now".

Each one's ``base_url`` points at the demo runtime (``bootstraps/demo/runtime.py``), which ``make run``
serves on loopback (``http://127.0.0.1:8000/demo-runtime/<context>/<instance>``; ``seed_demo
--runtime-base`` changes where), so Re-verify and the schedule really probe something. What the runtime
answers per story (``Demo.runtime``), and so what a verification run finds there:

- cm/prod (current, verified; scheduled): healthy, its current deployment's identity, a canonical link
  and a logo. Everything passes: it stays current and verified.
- cm/staging (bootstrap_in_progress): 503 "restoring" everywhere. A run is refused while the restore
  is active, and the schedule skips it.
- cm/testing (partially_bootstrapped; scheduled): 500 "error" everywhere (module cm_sale failed to
  install). Health fails; the board stays partially_bootstrapped, which verification never clears.
- acme/prod (stale_inventory, stale; scheduled): healthy, but names the hotfix the prober saw
  (``ACME_HOTFIX``). Identity mismatch: it stays stale_inventory.
- acme/staging (verification_failed; scheduled): a restored copy of acme/prod, so its canonical link
  names acme/prod, and the logo is an HTML 404. canonical_missing and html_404: it stays failed.
- acme/testing (unverified, recorded; not scheduled): healthy, its identity. Re-verify brings it to
  current.
- globex/prod (current, stale; not scheduled): healthy, build 20's identity (the failed build 21 never
  replaced it). Re-verify makes its freshness verified again.
- globex/staging (unknown; scheduled): the filestore copy hung, so the logo is an HTML 404. The data
  stays unknown whatever a run finds; a reconciliation settles it.
- globex/testing (unknown; scheduled): healthy, its identity. The deployment side passes and the data
  stays unknown: readiness is not provenance.
- initech/testing (unrecorded): healthy, no identity (there is no deployment to name). With no current
  deployment a run only keeps its evidence (retained), and the schedule skips it.
- initech/prod (unrecorded, missing): 503 "unavailable" (nothing installed yet). As initech/testing.

"Not scheduled" is ``verification_interval_seconds=0``: where a scheduled run would move the state the
story ends in, the environment waits for Re-verify, so every state stays on the board until someone
asks (acme/testing also has ``verify_after_records`` off, or seeding it would queue a run at once).
There is no preview-marker story: no demo sets ``preview_marker``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.db import transaction

from bootstraps.demo.steps import (
    DEFAULT_RUNTIME_BASE,
    DEMO_ACTIVE_TIMEOUT_SECONDS,
    Cancel,
    Demo,
    Deploy,
    Expire,
    Finish,
    Observe,
    Once,
    Outcome,
    Runtime,
    Scene,
    Start,
)
from inventory.choices import Freshness, InventoryState
from inventory.models import Environment, EnvironmentInventory
from inventory.services import create_environment, update_environment_settings


def _ago(**delta: float) -> timedelta:
    return timedelta(**delta)


# What acme/prod's runtime really runs: a hotfix nobody recorded as a deployment.
ACME_HOTFIX = {"artifact_id": "acme-odoo-17.0.87-hotfix1", "source_git_ref": "refs/heads/hotfix/rounding"}
NEVER = 0  # verification_interval_seconds: never scheduled


DEMOS: tuple[Demo, ...] = (
    Demo(
        "cm",
        "prod",
        InventoryState.CURRENT,
        expect_freshness=Freshness.VERIFIED,
        steps=(
            Deploy(_ago(days=2), build=412),
            Start(
                _ago(hours=3),
                "upstream_restore",
                "Monthly refresh from the production backup",
                timeout_seconds=2 * 3600,
            ),
            Finish(_ago(hours=2), Outcome()),
        ),
        runtime=Runtime(finds="everything passes and the identity matches: it stays current and verified"),
    ),
    Demo(
        "cm",
        "staging",
        InventoryState.BOOTSTRAP_IN_PROGRESS,
        steps=(
            Deploy(_ago(hours=6), build=413),
            Start(
                _ago(minutes=10),
                "upstream_restore",
                "Restore cm/prod for user acceptance tests",
                timeout_seconds=DEMO_ACTIVE_TIMEOUT_SECONDS,
            ),
        ),
        runtime=Runtime(
            finds="nothing: a run is refused while the restore is active (the runtime is down for it)",
            status_code=503,
            health_status="restoring",
        ),
    ),
    Demo(
        "cm",
        "testing",
        InventoryState.PARTIALLY_BOOTSTRAPPED,
        steps=(
            Deploy(_ago(hours=5), build=414),
            Once(
                _ago(minutes=40),
                "empty",
                "Rebuild from empty to rehearse the module upgrade",
                Outcome(
                    bootstrap_run_status="fail",
                    data_mutated=True,
                    post_deploy_status="not_run",
                    error_message="odoo -i cm_sale: module cm_sale failed to install "
                    "(ParseError in views/sale_order_views.xml)",
                ),
            ),
        ),
        runtime=Runtime(
            finds="the half-built database answers 500: health fails, and the environment stays partially "
            "bootstrapped (only a new bootstrap or a reconciliation clears that)",
            status_code=500,
            health_status="error",
        ),
    ),
    Demo(
        "acme",
        "prod",
        InventoryState.STALE_INVENTORY,
        expect_freshness=Freshness.STALE,
        steps=(
            Deploy(_ago(days=3), build=87),
            Observe(_ago(hours=1), overrides=ACME_HOTFIX),
        ),
        runtime=Runtime(
            finds="the runtime reports the hotfix build, not the recorded deployment: identity mismatch, it "
            "stays stale_inventory until the hotfix is recorded as a deployment",
            identity_overrides=ACME_HOTFIX,
        ),
    ),
    Demo(
        "acme",
        "staging",
        InventoryState.VERIFICATION_FAILED,
        expect_freshness=Freshness.VERIFIED,
        steps=(
            Deploy(_ago(hours=20), build=88),
            Once(
                _ago(minutes=12),
                "upstream_restore",
                "Restore acme/prod to reproduce a customer issue",
                Outcome(checks={"canonical": "fail", "logo": "fail"}),
            ),
        ),
        runtime=Runtime(
            finds="the restored copy still names acme/prod as its canonical address and has no logo: "
            "canonical and logo fail, it stays verification_failed",
            canonical="acme/prod",
            logo=False,
        ),
    ),
    Demo(
        "acme",
        "testing",
        InventoryState.UNVERIFIED,
        expect_freshness=Freshness.RECORDED,
        steps=(Deploy(_ago(minutes=30), build=89, health_status="unknown", report_identity=False),),
        runtime=Runtime(finds="everything passes and the identity matches: Re-verify brings it to current"),
        verification_interval_seconds=NEVER,
        verify_after_records=False,
    ),
    Demo(
        "globex",
        "prod",
        InventoryState.CURRENT,
        expect_freshness=Freshness.STALE,
        steps=(
            Deploy(_ago(days=6), build=19),
            Deploy(_ago(days=5), build=20),
            Deploy(
                _ago(days=2),
                build=21,
                deploy_status="fail",
                post_deploy_status="not_run",
                health_status="not_run",
                report_identity=False,
            ),
        ),
        runtime=Runtime(
            finds="build 20 still runs (the failed build 21 never replaced it) and passes: Re-verify makes its "
            "freshness verified again"
        ),
        verification_interval_seconds=NEVER,
    ),
    Demo(
        "globex",
        "staging",
        InventoryState.UNKNOWN,
        steps=(
            Deploy(_ago(days=2), build=20),
            Start(_ago(hours=2), "upstream_restore", "Restore globex/prod", timeout_seconds=4 * 3600),
            Cancel(_ago(hours=1), "The filestore copy hung; cancelled to free the database"),
        ),
        runtime=Runtime(
            finds="the filestore never arrived, so the logo fails; the data stays unknown whatever a run "
            "finds (a reconciliation settles it)",
            logo=False,
        ),
    ),
    Demo(
        "globex",
        "testing",
        InventoryState.UNKNOWN,
        steps=(
            Deploy(_ago(days=1, hours=2), build=20),
            Start(_ago(hours=3), "empty", "Nightly rebuild from empty"),
            Expire(),
        ),
        runtime=Runtime(
            finds="everything passes, yet it stays unknown: a run proves readiness, not what the expired "
            "rebuild did to the data (a reconciliation settles it)"
        ),
    ),
    Demo(
        "initech",
        "testing",
        InventoryState.UNRECORDED,
        requires_runtime_identity=False,
        steps=(Once(_ago(hours=4), "empty", "First database for the new context", Outcome(report_identity=False)),),
        runtime=Runtime(
            finds="a healthy runtime with no deployment to name: with no current deployment a run only keeps "
            "its evidence",
            identity=False,
        ),
    ),
    Demo(
        "initech",
        "prod",
        InventoryState.UNRECORDED,
        expect_freshness=Freshness.MISSING,
        runtime=Runtime(
            finds="nothing is installed yet (503): with no current deployment a run only keeps its evidence",
            status_code=503,
            health_status="unavailable",
            identity=False,
        ),
    ),
)
DEMOS_BY_LABEL: dict[str, Demo] = {demo.label: demo for demo in DEMOS}


# ---------------------------------------------------------------------------------------------------
# Units of work
# ---------------------------------------------------------------------------------------------------


def seed_environment(demo: Demo, *, now: datetime, runtime_base: str = DEFAULT_RUNTIME_BASE) -> bool:
    """Create ``demo``'s environment and tell its story. Returns False when it already exists."""
    if Environment.objects.filter(context=demo.context, instance=demo.instance).exists():
        return False
    with transaction.atomic():  # all of a story or none of it, so a failed run can simply be repeated
        environment = create_environment(
            context=demo.context,
            instance=demo.instance,
            requires_runtime_identity=demo.requires_runtime_identity,
            verification_ttl_seconds=demo.verification_ttl_seconds,
            now=now - max((step.ago for step in demo.steps), default=timedelta(0)) - timedelta(minutes=5),
            **demo.settings_at(runtime_base),
        )
        scene = Scene(environment, now)
        for step in demo.steps:
            step(scene)
    return True


def point_at_runtime(demo: Demo, *, runtime_base: str = DEFAULT_RUNTIME_BASE) -> list[str]:
    """Give an existing demo environment the settings its demo gives it (its ``base_url`` on the runtime at
    ``runtime_base``, its schedule), so a database seeded earlier, or for another port, probes the runtime
    ``make run`` serves. Settings only: no state changes and nothing is recorded. Returns what changed.

    Only an environment whose ``base_url`` is a demo address (on a demo runtime, or the example.com
    address demos had before there was one) is touched: an environment of the same name that someone
    pointed at a real runtime is left alone."""
    environment = Environment.objects.get(context=demo.context, instance=demo.instance)
    if not is_demo_address(demo, environment.base_url):
        return []
    changes = {
        name: value for name, value in demo.settings_at(runtime_base).items() if getattr(environment, name) != value
    }
    if changes:
        update_environment_settings(environment, **changes)
    return sorted(changes)


def is_demo_address(demo: Demo, base_url: str) -> bool:
    """``…/demo-runtime/<context>/<instance>`` on any host, or the demos' former example.com address."""
    host = demo.context if demo.instance == "prod" else f"{demo.instance}.{demo.context}"
    on_a_runtime = urlsplit(base_url).path.rstrip("/").endswith(f"/demo-runtime/{demo.label}")
    return on_a_runtime or base_url.rstrip("/") == f"https://{host}.example.com"


def describe(demo: Demo, *, now: datetime) -> str:
    """``cm/prod: current, verified`` — and what was expected when the story ended elsewhere."""
    inventory = EnvironmentInventory.objects.select_related("environment").get(
        environment__context=demo.context, environment__instance=demo.instance
    )
    freshness = inventory.freshness_at(now)
    text = f"{demo.label}: {inventory.state}, {freshness}"
    if inventory.state != demo.expect or (demo.expect_freshness and freshness != demo.expect_freshness):
        text += f" (the demo expects {demo.expect}" + (f", {demo.expect_freshness})" if demo.expect_freshness else ")")
    return text
