"""Rule 8: what an observation of the runtime's identity does to the artifact side."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inventory.choices import (
    DeploymentState,
    InventoryEffect,
    InventoryState,
)
from inventory.rules.core import Row, combine, first_match, identity_detail, no_detail
from inventory.rules.identity import ID, IDENTITY_AGAINST, IdentityComparison

# ---------------------------------------------------------------------------------------------------
# Observations (rule 8)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObservationFacts:
    identity: IdentityComparison
    deployment_state: str
    data_state: str
    identity_required: bool = True


@dataclass(frozen=True)
class ObservationOutcome:
    row: int
    deployment_state: DeploymentState
    data_state: str
    state: InventoryState
    effect: InventoryEffect
    detail: str


@dataclass(frozen=True)
class ObservationDecision:
    """What an observation row decides."""

    deployment_state: DeploymentState | None  # None: unchanged
    effect: InventoryEffect
    detail: Callable[[ObservationFacts], str] = no_detail


OBSERVATION_ROWS: tuple[Row[ObservationFacts, ObservationDecision], ...] = (
    Row(
        "identity `mismatch` or `malformed`",
        lambda f: f.identity.status in IDENTITY_AGAINST,
        {"deployment_state": "`stale_inventory`", "effect": "`marked`"},
        ObservationDecision(DeploymentState.STALE_INVENTORY, InventoryEffect.MARKED, identity_detail),
    ),
    Row(
        "identity `match` while `stale_inventory`",
        lambda f: f.identity.status == ID.MATCH and f.deployment_state == DeploymentState.STALE_INVENTORY,
        {"deployment_state": "`unverified` (the checks were not re-run)", "effect": "`marked`"},
        ObservationDecision(
            DeploymentState.UNVERIFIED,
            InventoryEffect.MARKED,
            lambda f: "the runtime matches again but the checks were not re-run",
        ),
    ),
    Row(
        "identity `missing` or `unverifiable` where required, while `current`",
        lambda f: (
            f.identity_required
            and f.identity.status in (ID.MISSING, ID.UNVERIFIABLE)
            and f.deployment_state == DeploymentState.CURRENT
        ),
        {"deployment_state": "`unverified`", "effect": "`marked`"},
        ObservationDecision(DeploymentState.UNVERIFIED, InventoryEffect.MARKED, identity_detail),
    ),
    Row(
        "otherwise",
        lambda f: True,
        {"deployment_state": "unchanged", "effect": "`retained`"},
        ObservationDecision(None, InventoryEffect.RETAINED),
    ),
)


def decide_observation(f: ObservationFacts) -> ObservationOutcome:
    """Rule 8: what an observation of the runtime does. It never moves last known good."""
    index, row = first_match(OBSERVATION_ROWS, f)
    decision = row.result
    deployment_state = decision.deployment_state or DeploymentState(f.deployment_state)
    return ObservationOutcome(
        index,
        deployment_state,
        f.data_state,
        combine(deployment_state, f.data_state),
        decision.effect,
        decision.detail(f),
    )
