"""Evidence as rows: runtime identity key by key, probes, and the history of transitions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.safestring import SafeString

from inventory.choices import CHECK_STATUS_COLORS
from inventory.models import InventoryTransition
from inventory.rules import IDENTITY_KEYS
from inventory.templatetags.status_badges import field_badge, render_badge

CHECK_LABELS = {"post_deploy": "post-deploy", "health": "health", "canonical": "canonical", "logo": "logo"}


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


@dataclass(frozen=True)
class ProbeRow:
    """One probe's evidence (a bootstrap driver's or a verification run's), its status as a badge."""

    probe: str
    url: str
    badge: SafeString
    status_code: int | None
    content_type: str
    failure_class: str
    detail: str
    elapsed_ms: int | None


@dataclass(frozen=True)
class ProbeTable:
    """What ``templates/inventory/includes/probe_table.html`` shows."""

    caption: str
    rows: list[ProbeRow]
    timed: bool  # whether the probes say how long they took (Launchplane's own always do)


def probe_table(probes: Any, caption: str) -> ProbeTable:
    """The probes of a run or a bootstrap result as rows; anything that is not an object is skipped."""
    rows = []
    for probe in probes if isinstance(probes, list) else []:
        if not isinstance(probe, Mapping):
            continue
        status = str(probe.get("status") or "")
        code = probe.get("status_code")
        elapsed = probe.get("elapsed_ms")
        rows.append(
            ProbeRow(
                probe=str(probe.get("probe") or ""),
                url=str(probe.get("url") or ""),
                badge=render_badge(status, color=CHECK_STATUS_COLORS.get(status, "grey"), field="probe status"),
                status_code=code if isinstance(code, int) else None,
                content_type=str(probe.get("content_type") or ""),
                failure_class=str(probe.get("failure_class") or ""),
                detail=str(probe.get("detail") or ""),
                elapsed_ms=elapsed if isinstance(elapsed, int) else None,
            )
        )
    return ProbeTable(caption, rows, timed=any(row.elapsed_ms is not None for row in rows))


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
