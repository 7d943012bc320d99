"""The demo's steps: one service call each, at a time "ago" before now — exactly as automation would
record it; no state field is written here."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

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
from inventory.models import Environment, EnvironmentInventory
from inventory.models.deployment import new_record_id
from inventory.rules import CHECKS, NOT_SENT, IdentityInput, expected_identity
from inventory.services import record_deployment, record_observation

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
        "canonical": (301, "redirect_mismatch", f"redirects to the production address instead of {base}/"),
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


# Where `make run` serves the demo runtime (bootstraps/demo/runtime.py); seed_demo --runtime-base changes it.
DEFAULT_RUNTIME_BASE = "http://127.0.0.1:8000/demo-runtime"
SELF = "self"  # Runtime.canonical: the environment's own base_url


@dataclass(frozen=True)
class Runtime:
    """How the demo runtime answers this environment's probes, so that a verification run tells the story
    its state tells (the mapping is in ``bootstraps.demo.scenarios``)."""

    finds: str  # what a verification run finds there, in one sentence (the runtime's homepage says it too)
    status_code: int = 200  # of every answer; not 2xx: the runtime is down, and says ``health_status``
    health_status: str = "pass"
    identity: bool = True  # the health answer names the current deployment (``current_identity``)
    identity_overrides: Mapping[str, str] = field(default_factory=dict)  # ... with these keys differing
    canonical: str = SELF  # the homepage's canonical link: SELF, another demo's label, or "" for none
    logo: bool = True  # False: the logo URL answers an HTML 404 page (no filestore behind it)


@dataclass(frozen=True)
class Demo:
    """A demo environment, its story (oldest step first), where the story should leave it, and how the demo
    runtime answers its probes."""

    context: str
    instance: str
    expect: InventoryState
    steps: tuple[Step, ...] = ()
    expect_freshness: Freshness | None = None
    requires_runtime_identity: bool = True
    verification_ttl_seconds: int = 86400
    runtime: Runtime = Runtime(finds="everything passes")
    # 0 where a scheduled run would move the state the story ends in: that one waits for Re-verify.
    verification_interval_seconds: int | None = None
    verify_after_records: bool = True

    def __post_init__(self) -> None:
        agos = [step.ago for step in self.steps]
        if agos != sorted(agos, reverse=True):
            raise ValueError(f"{self.label}: steps must be told oldest first")

    @property
    def label(self) -> str:
        return f"{self.context}/{self.instance}"

    @property
    def base_url(self) -> str:
        return self.base_url_at(DEFAULT_RUNTIME_BASE)

    def base_url_at(self, runtime_base: str) -> str:
        """The environment's address on the demo runtime served at ``runtime_base``."""
        return f"{runtime_base.rstrip('/')}/{self.context}/{self.instance}"

    def settings_at(self, runtime_base: str) -> dict[str, Any]:
        """The environment settings the demo gives it (``create_environment``/``update_environment_settings``)."""
        return {
            "base_url": self.base_url_at(runtime_base),
            "verification_interval_seconds": self.verification_interval_seconds,
            "verify_after_records": self.verify_after_records,
        }
