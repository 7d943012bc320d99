"""Launchplane's own verification runs on the pages: the Re-verify button, the "Latest verification"
card, the settings line and "last verified" on the board."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils.safestring import SafeString

from inventory.choices import DataState, VerificationStatus
from inventory.models import Environment, EnvironmentInventory, VerificationRun
from inventory.presentation.evidence import ProbeTable, probe_table
from inventory.presentation.words import ago, ago_exact, seconds_words
from inventory.templatetags.status_badges import field_badge


def run_title(run: VerificationRun) -> str:
    """``Verification ver-… (operator, by olga)``"""
    return f"Verification {run.run_id} ({run.get_trigger_display()}, by {run.requested_by})"


def active_run_sentence(run: VerificationRun, now: datetime) -> str:
    """``Verification run ver-… queued 5 seconds ago (operator, by olga).``"""
    if run.status == VerificationStatus.RUNNING and run.started_at is not None:
        when = f"running, started {ago_exact(run.started_at, now)}"
    else:
        when = f"queued {ago_exact(run.queued_at, now)}"
    return f"Verification run {run.run_id} {when} ({run.get_trigger_display()}, by {run.requested_by})."


def abandoned_sentence(run: VerificationRun, now: datetime) -> str:
    """``Verification run ver-… was abandoned 3 minutes ago: …``"""
    return (
        f"Verification run {run.run_id} was abandoned {ago(run.finished_at, now)}: no worker finished it within "
        f"its budget of {seconds_words(run.timeout_seconds)}, so it changed nothing. Re-verify to queue a fresh one."
    )


def queued_message(run: VerificationRun, created: bool, environment: Environment) -> str:
    """What the Re-verify button answers."""
    if created:
        return f"Verification run {run.run_id} queued for {environment}."
    return f"A verification run is already {run.status} for {environment}: {run.run_id}."


def verification_settings(environment: Environment) -> list[str]:
    """The environment's verification settings as short phrases, for one line of the page."""
    interval = environment.effective_interval_seconds
    if environment.verification_interval_seconds == 0:
        schedule = "never scheduled"
    elif environment.verification_interval_seconds is None:
        schedule = f"scheduled every {seconds_words(interval)} (half the freshness window)"
    else:
        schedule = f"scheduled every {seconds_words(interval)}"
    return [
        f"base URL {environment.base_url}" if environment.base_url else "no base URL",
        f"health path {environment.health_path}",
        schedule,
        f"budget {seconds_words(environment.verification_timeout_seconds)}",
        f"preview marker “{environment.preview_marker}”" if environment.preview_marker else "no preview marker",
        "TLS verified" if environment.verify_tls else "TLS not verified",
        "verified after records" if environment.verify_after_records else "not verified after records",
    ]


@dataclass(frozen=True)
class ReverifyAction:
    """The Re-verify button (``templates/inventory/includes/reverify.html``): ``blocked`` says why it is
    disabled (the service would refuse); ``pending`` that a run is already queued or running."""

    environment: Environment
    next_url: str
    blocked: str = ""
    pending: str = ""


def reverify_blocked(inventory: EnvironmentInventory) -> str:
    """Why a run would be refused now (the service's own guards, said before anyone presses), or ``""``."""
    environment = inventory.environment
    if not environment.is_verifiable:
        return "no base URL to probe: set one on the environment first"
    if inventory.data_state == DataState.BOOTSTRAP_IN_PROGRESS:
        operation = inventory.last_bootstrap
        which = f" ({operation.operation_id})" if operation is not None else ""
        return f"a bootstrap is active{which}: verify once it has finished"
    return ""


def reverify_action(
    inventory: EnvironmentInventory, *, next_url: str, active: VerificationRun | None = None
) -> ReverifyAction:
    pending = f"Run {active.run_id} is already {active.status}." if active is not None else ""
    return ReverifyAction(inventory.environment, next_url, reverify_blocked(inventory), pending)


@dataclass(frozen=True)
class VerificationCard:
    """The "Latest verification" card of the environment page.

    ``run`` is the latest finished run (the inventory's ``last_verification``); ``active`` the run queued
    or running now; ``abandoned`` says when the newest run was abandoned since. ``never`` is the sentence
    shown instead of a run when Launchplane has not verified the environment.
    """

    run: VerificationRun | None
    badges: list[tuple[str, SafeString]]
    probes: ProbeTable | None
    active: VerificationRun | None
    active_sentence: str
    abandoned: str
    never: str
    settings: list[str]


def verification_card(
    inventory: EnvironmentInventory, runs: Iterable[VerificationRun], now: datetime
) -> VerificationCard:
    """The card from the inventory and the environment's newest runs (newest first)."""
    environment = inventory.environment
    runs = list(runs)
    run = inventory.last_verification if inventory.last_verification_id else None
    active = next((r for r in runs if r.is_active), None)
    newest_done = next((r for r in runs if not r.is_active), None)
    abandoned = ""
    if newest_done is not None and newest_done.status == VerificationStatus.ABANDONED and active is None:
        abandoned = abandoned_sentence(newest_done, now)
    badges: list[tuple[str, SafeString]] = []
    probes = None
    if run is not None:
        badges = [
            ("health", field_badge(run, "health_status")),
            ("canonical", field_badge(run, "canonical_status")),
            ("logo", field_badge(run, "logo_status")),
            ("runtime identity", field_badge(run, "runtime_identity_status")),
        ]
        probes = probe_table(run.probes, f"What each probe of {run.run_id} saw")
    never = ""
    if run is None:
        if environment.is_verifiable:
            never = f"Never verified by Launchplane. It can be: a run probes {environment.base_url}."
        else:
            never = "Never verified by Launchplane, and it cannot be yet: the environment has no base URL to probe."
    return VerificationCard(
        run=run,
        badges=badges,
        probes=probes,
        active=active,
        active_sentence=active_run_sentence(active, now) if active is not None else "",
        abandoned=abandoned,
        never=never,
        settings=verification_settings(environment),
    )


@dataclass(frozen=True)
class LastVerified:
    """When Launchplane last verified an environment, for a board row."""

    at: datetime | None
    phrase: str
    badge: SafeString | None


def last_verified(inventory: EnvironmentInventory, now: datetime) -> LastVerified:
    """``last verified 3 hours ago`` from the latest finished run (no query: it is select_related)."""
    run = inventory.last_verification if inventory.last_verification_id else None
    if run is None or run.finished_at is None:
        return LastVerified(None, "never verified by Launchplane", None)
    return LastVerified(
        run.finished_at, f"last verified {ago(run.finished_at, now)}", field_badge(run, "inventory_effect")
    )


@dataclass(frozen=True)
class BoardRow:
    inventory: EnvironmentInventory
    verified: LastVerified


def board_rows(inventories: Iterable[EnvironmentInventory], now: datetime) -> list[BoardRow]:
    return [BoardRow(inventory, last_verified(inventory, now)) for inventory in inventories]
