"""The environment page's timeline: what happened, newest first, with the time between events."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from django.utils.safestring import SafeString

from inventory.choices import INVENTORY_EFFECT_COLORS, VerificationStatus
from inventory.models import InventoryTransition, VerificationRun
from inventory.presentation.verification import run_title
from inventory.presentation.words import seconds_words, timesince
from inventory.templatetags.status_badges import field_badge, render_badge


@dataclass
class TimelineEvent:
    """One thing that happened to the environment, for the timeline."""

    at: datetime
    order: int
    kind: str  # deployment, bootstrap, observation, deadline, cancel, review, verification, reconciliation
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
    "verification": "Verification",
    "reconciliation": "Reconciliation",
}

# A run not yet applied (queued, running, abandoned) has no sequence: it sorts after anything applied
# at the same moment, as it was queued after it.
UNSEQUENCED = 2**62


def review_title(transition: InventoryTransition) -> str:
    """A review transition's title, from its cause id's verb (``inventory.services.review``: ``review:``
    an acknowledgement, ``take:`` and ``release:`` responsibility)."""
    verb = transition.cause_id.split(":", 1)[0]
    if verb == "take":
        over = transition.reason.startswith("Taken over")
        return f"{'Taken over' if over else 'Taken'} by {transition.actor}"
    if verb == "release":
        return f"Released by {transition.actor}"
    return f"Acknowledged by {transition.actor}"


def timeline(
    transitions: list[InventoryTransition],
    deployments: Iterable[Any],
    bootstraps: Iterable[Any],
    observations: Iterable[Any],
    verifications: Iterable[VerificationRun] = (),
    reconciliations: Iterable[Any] = (),
) -> list[TimelineEvent]:
    """Every applied record and verification run (through its transition), every superseded one, and
        the runs that changed nothing (queued, running, abandoned), newest first, with the time that passed
        between them. A reconciliation (``bootstraps.Reconciliation``: inventory never imports bootstraps, so
    it is read by its fields) shows through its transition, with the provider state and the evidence."""
    by_record = {d.record_id: d for d in deployments}
    by_operation = {b.operation_id: b for b in bootstraps}
    by_run = {r.run_id: r for r in verifications}
    by_reconciliation = {r.reconciliation_id: r for r in reconciliations}
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
            title = review_title(t)
        elif t.cause_type == "observation":
            title = "Runtime identity observed"
        elif t.cause_type == "verification" and t.cause_id in by_run:
            run = by_run[t.cause_id]
            title = run_title(run)
            badges[0:0] = [(name, field_badge(run, f"{name}_status")) for name in ("health", "canonical", "logo")]
        elif t.cause_type == "reconciliation" and t.cause_id in by_reconciliation:
            found = by_reconciliation[t.cause_id]
            title = f"Reconciled by {found.reviewer}: bootstrap {found.bootstrap.operation_id} {found.get_provider_state_display()}"
            badges.insert(0, ("provider", field_badge(found, "provider_state")))
            detail = f"{t.reason} Inspected {found.inspected_at:%Y-%m-%d %H:%M} UTC."
            if found.note:
                detail += f" Note: {found.note}"
            events.append(TimelineEvent(t.occurred_at, t.sequence, t.cause_type, title, detail, badges))
            continue
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
    for run in by_run.values():
        status_badge = ("run", field_badge(run, "status"))
        if run.status == VerificationStatus.FINISHED and run.inventory_effect == "superseded":
            events.append(
                TimelineEvent(
                    run.finished_at or run.queued_at,
                    run.sequence or UNSEQUENCED,
                    "verification",
                    run_title(run),
                    superseded,
                    [(name, field_badge(run, f"{name}_status")) for name in ("health", "canonical", "logo")]
                    + [superseded_badge],
                )
            )
        elif run.status == VerificationStatus.ABANDONED:
            events.append(
                TimelineEvent(
                    run.finished_at or run.deadline,
                    UNSEQUENCED,
                    "verification",
                    f"{run_title(run)} abandoned",
                    f"No worker finished it within its budget of {seconds_words(run.timeout_seconds)}; "
                    "inventory did not change.",
                    [status_badge],
                )
            )
        elif run.is_active:
            events.append(
                TimelineEvent(
                    run.started_at or run.queued_at,
                    UNSEQUENCED,
                    "verification",
                    f"{run_title(run)} {'running' if run.status == VerificationStatus.RUNNING else 'queued'}",
                    "",
                    [status_badge],
                )
            )
    events.sort(key=lambda e: (e.at, e.order), reverse=True)
    for newer, older in pairwise(events):
        gap = newer.at - older.at
        if gap >= timedelta(minutes=30):
            older.gap_before = f"{timesince(older.at, newer.at, depth=1)} earlier".replace("\xa0", " ")
            older.gap_size = min(4.0, math.log10(gap.total_seconds() / 60))
    return events
