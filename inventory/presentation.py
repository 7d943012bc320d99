"""Presentation: how inventory reads as sentences, rows and timelines, for the pages and the admin.

Views fetch through ``inventory.selectors`` and hand plain objects to templates; the words and rows
are built here (healthchecks keeps the same in ``hc/front/templatetags``), so that a sentence is
phrased once wherever it appears.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from inventory.choices import INVENTORY_EFFECT_COLORS, Freshness, InventoryState
from inventory.models import Environment, EnvironmentInventory, InventoryTransition
from inventory.rules import IDENTITY_KEYS
from inventory.templatetags.status_badges import field_badge, render_badge

CHECK_LABELS = {"post_deploy": "post-deploy", "health": "health", "canonical": "canonical", "logo": "logo"}


def ago(moment: datetime | None, now: datetime) -> str:
    """``12 minutes ago`` (one unit, as a person says it); ``just now`` under a minute."""
    if moment is None:
        return ""
    if now - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago".replace("\xa0", " ")


def duration(since: datetime, now: datetime) -> str:
    """``12 minutes`` (one unit); ``less than a minute`` under a minute."""
    if now - since < timedelta(minutes=1):
        return "less than a minute"
    return timesince(since, now, depth=1).replace("\xa0", " ")


# ---------------------------------------------------------------------------------------------------
# The banner: state and evidence as one sentence
# ---------------------------------------------------------------------------------------------------


def _clause(text: str) -> str:
    """A sentence turned into a clause: no final period, lowercase first letter."""
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:]


def last_known_good_phrase(inventory: EnvironmentInventory, now: datetime) -> str:
    """``last known good: artifact X (ref) with data from bootstrap op-…, verified 3 days ago``."""
    if inventory.lkg_verified_at is None:
        return "no last known good yet"
    what = []
    deployment = inventory.lkg_deployment if inventory.lkg_deployment_id else None
    if deployment is not None:
        what.append(f"artifact {deployment.artifact_id} ({deployment.source_git_ref})")
    bootstrap = inventory.lkg_bootstrap if inventory.lkg_bootstrap_id else None
    if bootstrap is not None:
        what.append(f"data from bootstrap {bootstrap.operation_id}")
    phrase = f"last known good: {' with '.join(what) or 'recorded'} verified {ago(inventory.lkg_verified_at, now)}"
    if inventory.freshness_at(now) == Freshness.STALE:
        phrase += f" (stale: a verification stays fresh for {ttl_words(inventory.environment)})"
    return phrase


def ttl_words(environment: Environment) -> str:
    """How long a verification stays fresh, as a person says it: ``1 day``."""
    now = timezone.now()
    return timesince(now - timedelta(seconds=environment.verification_ttl_seconds), now).replace("\xa0", " ")


def banner_sentence(inventory: EnvironmentInventory, now: datetime) -> str:
    """One sentence: the state and for how long, why, and the last known good (or that there is none).

    ``Verification failed for 12 minutes — the bootstrapped data failed verification (bootstrap op-…:
    canonical and logo checks failed); last known good: artifact … verified 3 days ago.``
    """
    state = InventoryState(inventory.state).label
    return (
        f"{state[:1].upper()}{state[1:]} for {duration(inventory.state_changed_at, now)} — "
        f"{_clause(inventory.state_reason)}; {last_known_good_phrase(inventory, now)}."
    )


# ---------------------------------------------------------------------------------------------------
# Pieces of the detail page
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityRow:
    key: str
    expected: str | None
    observed: str | None
    compared: bool
    differs: bool


def identity_rows(expected: Any, observed: Any, mismatches: Iterable[str]) -> list[IdentityRow]:
    """Expected vs observed runtime identity, key by key; the compared keys first, extra keys after."""
    expected = expected if isinstance(expected, Mapping) else {}
    observed_map = observed if isinstance(observed, Mapping) else {}
    differing = set(mismatches)
    keys = list(IDENTITY_KEYS) + sorted(k for k in observed_map if k not in IDENTITY_KEYS)

    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    return [
        IdentityRow(
            key=key,
            expected=text(expected.get(key)),
            observed=text(observed_map.get(key)),
            compared=key in IDENTITY_KEYS,
            differs=key in differing,
        )
        for key in keys
    ]


@dataclass(frozen=True)
class IdentityView:
    """What ``templates/includes/identity_table.html`` shows, for the environment page and the admin."""

    rows: list[IdentityRow]
    status: str
    observed_is_object: bool
    observed_json: str
    caption: str


def identity_view(
    record: Any, caption: str = "Expected (what this record was compared with) and observed (what the runtime reported)"
) -> IdentityView:
    """Expected vs observed identity of anything that carries them (inventory, a deployment, an
    observation, a bootstrap): ``expected_runtime_identity``, ``observed_runtime_identity``,
    ``runtime_identity_mismatches`` and ``runtime_identity_status``."""
    observed = record.observed_runtime_identity
    return IdentityView(
        rows=identity_rows(record.expected_runtime_identity, observed, record.runtime_identity_mismatches),
        status=record.runtime_identity_status,
        observed_is_object=isinstance(observed, Mapping),
        observed_json=json.dumps(observed, indent=2, sort_keys=True),
        caption=caption,
    )


def data_mutated_words(value: bool | None) -> str:
    if value is None:
        return "not known whether data changed"
    return "data changed" if value else "data unchanged"


@dataclass
class HistoryRow:
    """A transition with its badges rendered by the one badge include."""

    transition: InventoryTransition
    badges: dict[str, SafeString]


def history_rows(transitions: Iterable[InventoryTransition]) -> list[HistoryRow]:
    rows = []
    for transition in transitions:
        badges = {
            name: field_badge(transition, name)
            for name in (
                "from_state",
                "to_state",
                "from_deployment_state",
                "deployment_state",
                "from_data_state",
                "data_state",
            )
        }
        badges["effect"] = field_badge(transition, "effect")
        rows.append(HistoryRow(transition, badges))
    return rows


@dataclass
class TimelineEvent:
    """One thing that happened to the environment, for the timeline."""

    at: datetime
    order: int
    kind: str  # deployment, bootstrap, observation, deadline, cancel, review
    title: str
    detail: str = ""
    badges: list[tuple[str, SafeString]] = field(default_factory=list)  # (what it is, badge)
    gap_before: str = ""  # "3 days earlier" when a long time passed before the next newer event
    gap_size: float = 0.0  # 0..4, how tall the gap is drawn (log scale)


KIND_LABELS = {
    "deployment": "Deployment",
    "bootstrap": "Bootstrap",
    "observation": "Observation",
    "deadline": "Deadline",
    "cancel": "Cancel",
    "review": "Review",
}


def timeline(
    transitions: list[InventoryTransition],
    deployments: Iterable[Any],
    bootstraps: Iterable[Any],
    observations: Iterable[Any],
) -> list[TimelineEvent]:
    """Every applied record (through its transition) and every superseded one, newest first, with the
    time that passed between them."""
    by_record = {d.record_id: d for d in deployments}
    by_operation = {b.operation_id: b for b in bootstraps}
    events: list[TimelineEvent] = []
    for t in transitions:
        badges = [
            ("state now", field_badge(t, "to_state")),
            ("effect", field_badge(t, "effect")),
        ]
        title = f"{KIND_LABELS.get(t.cause_type, t.cause_type)} {t.cause_id}"
        if t.cause_type == "deployment" and t.cause_id in by_record:
            record = by_record[t.cause_id]
            title = f"Deployment {record.record_id} of {record.artifact_id}"
            badges.insert(0, ("deploy", field_badge(record, "deploy_status")))
        elif t.cause_type == "bootstrap" and t.cause_id in by_operation:
            operation = by_operation[t.cause_id]
            started = t.effect == "pending"
            title = f"Bootstrap {operation.operation_id} {'started' if started else 'result'} ({operation.data_source})"
            if not started:
                badges.insert(0, ("readiness", field_badge(operation, "readiness_status")))
        elif t.cause_type in ("deadline", "cancel"):
            title = f"Bootstrap {t.cause_id} {'timed out' if t.cause_type == 'deadline' else 'cancelled'}"
        elif t.cause_type == "review":
            title = f"Acknowledged by {t.actor}"
        elif t.cause_type == "observation":
            title = "Runtime identity observed"
        events.append(TimelineEvent(t.occurred_at, t.sequence, t.cause_type, title, t.reason, badges))
    superseded = "Stored as superseded: something newer was already applied, so inventory did not change."
    superseded_badge = (
        "effect",
        render_badge("superseded", color=INVENTORY_EFFECT_COLORS["superseded"], field="effect"),
    )
    for record in by_record.values():
        if record.inventory_effect == "superseded":
            events.append(
                TimelineEvent(
                    record.finished_at,
                    record.sequence,
                    "deployment",
                    f"Deployment {record.record_id} of {record.artifact_id}",
                    superseded,
                    [("deploy", field_badge(record, "deploy_status")), superseded_badge],
                )
            )
    for operation in by_operation.values():
        if operation.inventory_effect == "superseded":
            events.append(
                TimelineEvent(
                    operation.finished_at or operation.started_at,
                    operation.sequence,
                    "bootstrap",
                    f"Bootstrap {operation.operation_id} result ({operation.data_source})",
                    superseded,
                    [("readiness", field_badge(operation, "readiness_status")), superseded_badge],
                )
            )
    for observation in observations:
        if observation.inventory_effect == "superseded":
            events.append(
                TimelineEvent(
                    observation.observed_at,
                    observation.sequence,
                    "observation",
                    f"Runtime identity observed by {observation.source}",
                    superseded,
                    [superseded_badge],
                )
            )
    events.sort(key=lambda e: (e.at, e.order), reverse=True)
    for newer, older in pairwise(events):
        gap = newer.at - older.at
        if gap >= timedelta(minutes=30):
            older.gap_before = f"{timesince(older.at, newer.at, depth=1)} earlier".replace("\xa0", " ")
            older.gap_size = min(4.0, math.log10(gap.total_seconds() / 60))
    return events
