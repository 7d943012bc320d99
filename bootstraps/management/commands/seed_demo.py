"""``python manage.py seed_demo [--admin-username U --admin-password P]``: demo data for the board and admin.

Every inventory state appears, with stale and verified freshness among them. Everything is recorded
through the services — create, deploy, observe, start, result, one-shot, cancel, expire — exactly as
automation would record it; no state field is written here. Each demo environment tells a short story
back from "now"; one that already exists is skipped, so running the command again creates nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.utils import timezone

from bootstraps.models import BootstrapOperation
from bootstraps.services import (
    BootstrapResult,
    cancel_bootstrap,
    expire_overdue,
    record_bootstrap_result,
    run_bootstrap_once,
    start_bootstrap,
)
from inventory.choices import Freshness, InventoryState
from inventory.models import DeploymentRecord, Environment, EnvironmentInventory
from inventory.models.deployment import new_record_id
from inventory.rules import CHECKS, NOT_SENT, IdentityInput, expected_identity
from inventory.services import create_environment, record_deployment, record_observation

# PRODUCT.md: demo operations in progress get a 30-day deadline, so the demo stays in
# `bootstrap_in_progress` for a month. (The API caps timeout_seconds at a day; the service lets internal
# callers go up to MAX_TIMEOUT_SECONDS.)
DEMO_ACTIVE_TIMEOUT_SECONDS = int(timedelta(days=30).total_seconds())

DEPLOY_ACTOR = "github-actions"
BOOTSTRAP_ACTOR = "bootstrap-driver"
PROBE = "uptime-prober"


# ---------------------------------------------------------------------------------------------------
# Steps: one service call each, at a time "ago" before now
# ---------------------------------------------------------------------------------------------------


@dataclass
class Scene:
    """One environment's story as it is told: the environment, the seeding time, the last operation."""

    environment: Environment
    now: datetime
    operation: BootstrapOperation | None = None

    def at(self, ago: timedelta) -> datetime:
        return self.now - ago


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def artifact_of(context: str, build: int) -> str:
    return f"{context}-odoo-17.0.{build}"


def image_reference_of(context: str, build: int) -> str:
    return f"ghcr.io/{context}/odoo@sha256:{_digest(artifact_of(context, build))}"


def current_identity(environment: Environment, **overrides: str) -> IdentityInput:
    """What a runtime running the current deployment reports (with ``overrides``)."""
    inventory = EnvironmentInventory.objects.select_related("current_deployment__environment").get(pk=environment.pk)
    deployment = inventory.current_deployment
    if deployment is None:
        return NOT_SENT
    value: dict[str, Any] = {
        **deployment.own_identity,
        "image_reference": f"ghcr.io/{environment.context}/odoo@{deployment.image_digest}",
    }
    value.update(overrides)
    return IdentityInput(sent=True, value=value)


@dataclass(frozen=True)
class Deploy:
    """CI deployed a build of the context's Odoo image (``record_deployment``)."""

    ago: timedelta
    build: int
    deploy_status: str = "pass"
    post_deploy_status: str = "pass"
    health_status: str = "pass"
    report_identity: bool = True  # the runtime's identity was read after the deploy

    def __call__(self, scene: Scene) -> None:
        env = scene.environment
        record_id = new_record_id()
        artifact_id = artifact_of(env.context, self.build)
        source_git_ref = f"refs/tags/17.0.{self.build}"
        identity = NOT_SENT
        if self.report_identity:
            identity = IdentityInput(
                sent=True,
                value={
                    **expected_identity(
                        context=env.context,
                        instance=env.instance,
                        deployment_record_id=record_id,
                        artifact_id=artifact_id,
                        source_git_ref=source_git_ref,
                    ),
                    "image_reference": image_reference_of(env.context, self.build),
                },
            )
        finished_at = scene.at(self.ago)
        record_deployment(
            env,
            record_id=record_id,
            artifact_id=artifact_id,
            source_git_ref=source_git_ref,
            image_digest=f"sha256:{_digest(artifact_id)}",
            deploy_status=self.deploy_status,
            post_deploy_status=self.post_deploy_status,
            health_status=self.health_status,
            started_at=finished_at - timedelta(minutes=7),
            finished_at=finished_at,
            identity=identity,
            actor=DEPLOY_ACTOR,
            now=finished_at,
        )


@dataclass(frozen=True)
class Observe:
    """A prober read the runtime's identity (``record_observation``); ``overrides`` make it differ."""

    ago: timedelta
    overrides: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, scene: Scene) -> None:
        observed_at = scene.at(self.ago)
        record_observation(
            scene.environment,
            identity=current_identity(scene.environment, **self.overrides),
            source=PROBE,
            observed_at=observed_at,
            actor=PROBE,
            now=observed_at,
        )


def probes(environment: Environment, **statuses: str) -> list[dict[str, Any]]:
    """Verification evidence as a bootstrap driver reports it: one probe per check."""
    base = environment.base_url.rstrip("/")
    found = {
        "health": ("/web/health", 200, "", ""),
        "canonical": ("/", 200, "", ""),
        "logo": ("/web/binary/company_logo", 200, "", ""),
    }
    failures = {
        "canonical": (301, "redirect_mismatch", f"redirects to {base}.odoo.com/ instead of {base}/"),
        "logo": (200, "default_logo", "serves Odoo's default logo instead of the company logo"),
        "health": (502, "bad_gateway", "the proxy answered 502 Bad Gateway"),
    }
    evidence = []
    for check in CHECKS:
        status = statuses.get(check, "pass")
        path, code, failure_class, detail = found[check]
        if status == "fail":
            code, failure_class, detail = failures[check]
        evidence.append(
            {
                "probe": check,
                "url": f"{base}{path}",
                "status": status,
                "status_code": code,
                "failure_class": failure_class,
                "detail": detail,
            }
        )
    return evidence


@dataclass(frozen=True)
class Outcome:
    """What the bootstrap driver reports at the end of a run (a ``BootstrapResult``)."""

    bootstrap_run_status: str = "pass"
    data_mutated: bool | None = True
    post_deploy_status: str = "pass"
    checks: Mapping[str, str] = field(default_factory=dict)  # health/canonical/logo, "pass" when left out
    report_identity: bool = True
    error_message: str = ""

    def result(self, environment: Environment, finished_at: datetime) -> BootstrapResult:
        ran = self.bootstrap_run_status == "pass"
        checks = {name: self.checks.get(name, "pass" if ran else "not_run") for name in CHECKS}
        return BootstrapResult(
            bootstrap_run_status=self.bootstrap_run_status,
            data_mutated=self.data_mutated,
            post_deploy_status=self.post_deploy_status,
            health_status=checks["health"],
            canonical_status=checks["canonical"],
            logo_status=checks["logo"],
            identity=current_identity(environment) if self.report_identity and ran else NOT_SENT,
            verification_evidence=probes(environment, **checks) if ran else (),
            finished_at=finished_at,
            error_message=self.error_message,
        )


@dataclass(frozen=True)
class Start:
    """The bootstrap driver started a bootstrap (``start_bootstrap``)."""

    ago: timedelta
    data_source: str
    reason: str
    timeout_seconds: int = 3600

    def __call__(self, scene: Scene) -> None:
        scene.operation = start_bootstrap(
            scene.environment,
            data_source=self.data_source,
            reason=self.reason,
            timeout_seconds=self.timeout_seconds,
            actor=BOOTSTRAP_ACTOR,
            now=scene.at(self.ago),
        )


@dataclass(frozen=True)
class Finish:
    """The started bootstrap's result arrived (``record_bootstrap_result``)."""

    ago: timedelta
    outcome: Outcome

    def __call__(self, scene: Scene) -> None:
        assert scene.operation is not None, "Finish needs a Start before it"
        at = scene.at(self.ago)
        record_bootstrap_result(
            scene.operation, self.outcome.result(scene.environment, at), actor=BOOTSTRAP_ACTOR, now=at
        )


@dataclass(frozen=True)
class Once:
    """A bootstrap started and finished in one request (``run_bootstrap_once``)."""

    ago: timedelta
    data_source: str
    reason: str
    outcome: Outcome

    def __call__(self, scene: Scene) -> None:
        at = scene.at(self.ago)
        scene.operation = run_bootstrap_once(
            scene.environment,
            self.outcome.result(scene.environment, at),
            data_source=self.data_source,
            reason=self.reason,
            actor=BOOTSTRAP_ACTOR,
            now=at,
        )


@dataclass(frozen=True)
class Cancel:
    """An operator cancelled the started bootstrap (``cancel_bootstrap``)."""

    ago: timedelta
    reason: str
    data_mutated: bool | None = None

    def __call__(self, scene: Scene) -> None:
        assert scene.operation is not None, "Cancel needs a Start before it"
        cancel_bootstrap(
            scene.operation, reason=self.reason, data_mutated=self.data_mutated, actor="ops", now=scene.at(self.ago)
        )


@dataclass(frozen=True)
class Expire:
    """The deadline sweeper ran now (``expire_overdue``)."""

    ago: timedelta = timedelta(0)

    def __call__(self, scene: Scene) -> None:
        expire_overdue(scene.at(self.ago), environment=scene.environment)


Step = Deploy | Observe | Start | Finish | Once | Cancel | Expire


# ---------------------------------------------------------------------------------------------------
# The demo environments
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Demo:
    """A demo environment, its story (oldest step first) and where the story should leave it."""

    context: str
    instance: str
    expect: InventoryState
    steps: tuple[Step, ...] = ()
    expect_freshness: Freshness | None = None
    requires_runtime_identity: bool = True
    verification_ttl_seconds: int = 86400

    def __post_init__(self) -> None:
        agos = [step.ago for step in self.steps]
        if agos != sorted(agos, reverse=True):
            raise ValueError(f"{self.label}: steps must be told oldest first")

    @property
    def label(self) -> str:
        return f"{self.context}/{self.instance}"

    @property
    def base_url(self) -> str:
        host = self.context if self.instance == "prod" else f"{self.instance}.{self.context}"
        return f"https://{host}.example.com"


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


def validate_admin_arguments(username: str | None, password: str | None) -> None:
    if (username is None) != (password is None):
        raise CommandError("Give --admin-username and --admin-password together.")
    if username is None or password is None:
        return
    user_model = get_user_model()
    try:
        username_field = cast(models.Field, user_model._meta.get_field(user_model.USERNAME_FIELD))
        username_field.run_validators(username)
        if not username:
            raise ValidationError("The username cannot be empty.")
        validate_password(password, user=user_model(**{user_model.USERNAME_FIELD: username}))
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from exc


def ensure_superuser(username: str, password: str) -> bool:
    """Create the superuser, or make the existing user one with this password. True when created."""
    user_model = get_user_model()
    lookup: dict[str, Any] = {user_model.USERNAME_FIELD: username}
    user, created = user_model.objects.get_or_create(**lookup)
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    return created


class Command(BaseCommand):
    help = (
        "Create demo environments in every inventory state through the services (skipping those that "
        "exist), and optionally a superuser to log in with."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--admin-username", help="Create this superuser (or reset its password).")
        parser.add_argument("--admin-password", help="The superuser's password.")

    def handle(self, *args: Any, admin_username: str | None, admin_password: str | None, **options: Any) -> None:
        validate_admin_arguments(admin_username, admin_password)
        now = timezone.now()
        for demo in DEMOS:
            created = seed_environment(demo, now=now)
            self.stdout.write(f"{'created' if created else 'exists '}  {describe(demo, now=now)}")
        self.stdout.write(
            f"{Environment.objects.count()} environments, {DeploymentRecord.objects.count()} deployment records, "
            f"{BootstrapOperation.objects.count()} bootstrap operations."
        )
        if admin_username is not None and admin_password is not None:
            created = ensure_superuser(admin_username, admin_password)
            self.stdout.write(
                f"{'Created' if created else 'Updated'} superuser {admin_username!r}. Log in at /admin/ on the "
                f"running server (make run: http://127.0.0.1:8000/admin/) as {admin_username!r} with the "
                "password you gave."
            )
