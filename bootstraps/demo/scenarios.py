"""The demo environments: every inventory state, with stale and verified freshness among them, each
telling a short story back from "now"."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from bootstraps.demo.steps import (
    DEMO_ACTIVE_TIMEOUT_SECONDS,
    Cancel,
    Demo,
    Deploy,
    Expire,
    Finish,
    Observe,
    Once,
    Outcome,
    Scene,
    Start,
)
from inventory.choices import Freshness, InventoryState
from inventory.models import Environment, EnvironmentInventory
from inventory.services import create_environment


def _ago(**delta: float) -> timedelta:
    return timedelta(**delta)


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
    ),
    Demo(
        "acme",
        "prod",
        InventoryState.STALE_INVENTORY,
        expect_freshness=Freshness.STALE,
        steps=(
            Deploy(_ago(days=3), build=87),
            Observe(
                _ago(hours=1),
                overrides={"artifact_id": "acme-odoo-17.0.87-hotfix1", "source_git_ref": "refs/heads/hotfix/rounding"},
            ),
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
    ),
    Demo(
        "acme",
        "testing",
        InventoryState.UNVERIFIED,
        expect_freshness=Freshness.RECORDED,
        steps=(Deploy(_ago(minutes=30), build=89, health_status="unknown", report_identity=False),),
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
    ),
    Demo(
        "initech",
        "testing",
        InventoryState.UNRECORDED,
        requires_runtime_identity=False,
        steps=(Once(_ago(hours=4), "empty", "First database for the new context", Outcome(report_identity=False)),),
    ),
    Demo("initech", "prod", InventoryState.UNRECORDED, expect_freshness=Freshness.MISSING),
)


# ---------------------------------------------------------------------------------------------------
# Units of work
# ---------------------------------------------------------------------------------------------------


def seed_environment(demo: Demo, *, now: datetime) -> bool:
    """Create ``demo``'s environment and tell its story. Returns False when it already exists."""
    if Environment.objects.filter(context=demo.context, instance=demo.instance).exists():
        return False
    with transaction.atomic():  # all of a story or none of it, so a failed run can simply be repeated
        environment = create_environment(
            context=demo.context,
            instance=demo.instance,
            base_url=demo.base_url,
            requires_runtime_identity=demo.requires_runtime_identity,
            verification_ttl_seconds=demo.verification_ttl_seconds,
            now=now - max((step.ago for step in demo.steps), default=timedelta(0)) - timedelta(minutes=5),
        )
        scene = Scene(environment, now)
        for step in demo.steps:
            step(scene)
    return True


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
