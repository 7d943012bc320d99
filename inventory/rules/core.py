"""What every decision table shares: rows and first match, combining the two sides into ``state``,
the words of ``state_reason``, order (rule 4) and freshness."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from inventory.choices import (
    CheckStatus,
    DataState,
    DeploymentState,
    Freshness,
    InventoryEffect,
    InventoryState,
)
from inventory.rules.identity import ID, IdentityComparison

CHECKS = ("health", "canonical", "logo")
CS = CheckStatus
CHECK_NOT_PASSED = frozenset({CS.SKIPPED, CS.NOT_RUN, CS.UNKNOWN})

# ---------------------------------------------------------------------------------------------------
# Decision tables: an ordered list of rows, first match wins.
# ---------------------------------------------------------------------------------------------------

F = TypeVar("F")
R = TypeVar("R")


@dataclass(frozen=True)
class Row(Generic[F, R]):
    """One row of a decision table: when ``matches(facts)`` holds, the row decides ``result``.

    A row carries everything it decides (NetBox's ChoiceSet keeps value, label and colour together the
    same way): its condition, its words for the rendered table, and its result — so inserting or
    reordering rows changes nothing but which row matches first.
    """

    when: str  # the row's condition as PRODUCT.md words it
    matches: Callable[[F], bool]
    then: Mapping[str, str]  # column name -> what the row sets, for the rendered table
    result: R


def first_match(rows: Sequence[Row[F, R]], facts: F) -> tuple[int, Row[F, R]]:
    """Index and row of the first row that matches. Tables end with a catch-all, so one always does."""
    for index, row in enumerate(rows):
        if row.matches(facts):
            return index, row
    raise AssertionError("decision table without a catch-all row")  # pragma: no cover


def no_detail(facts: object) -> str:
    return ""


def effect_for(effect: InventoryEffect | None, state: InventoryState) -> InventoryEffect:
    """A row's effect; ``None`` means ``advanced`` when the state is now current, else ``retained``."""
    if effect is not None:
        return effect
    return InventoryEffect.ADVANCED if state == InventoryState.CURRENT else InventoryEffect.RETAINED


def identity_detail(facts: Any) -> str:
    """A row's detail when the runtime's identity decided it."""
    return identity_phrase(facts.identity)


# ---------------------------------------------------------------------------------------------------
# Combining the two sides (the board's ``state``)
# ---------------------------------------------------------------------------------------------------

# Most severe first. Data ``untouched`` counts as ``current``.
SEVERITY = tuple(InventoryState.values)


def severity(state: str) -> int:
    """Lower is worse. ``untouched`` ranks as ``current``."""
    return SEVERITY.index(InventoryState.CURRENT if state == DataState.UNTOUCHED else state)


def combine(deployment_state: str, data_state: str) -> InventoryState:
    """The more severe of the two sides."""
    return InventoryState(SEVERITY[min(severity(deployment_state), severity(data_state))])


def is_worse(new: str, old: str) -> bool:
    """Whether ``new`` is a strictly more severe state than ``old`` (on the board's scale)."""
    return severity(new) < severity(old)


_DEPLOYMENT_SIDE: dict[str, str] = {
    DeploymentState.UNRECORDED: "no artifact deployment is recorded",
    DeploymentState.UNVERIFIED: "the deployment is unverified",
    DeploymentState.VERIFICATION_FAILED: "the deployment failed verification",
    DeploymentState.STALE_INVENTORY: "the runtime reports an identity other than the recorded deployment",
}
_DATA_SIDE: dict[str, str] = {
    DataState.BOOTSTRAP_IN_PROGRESS: "a data bootstrap is in progress",
    DataState.UNKNOWN: "the outcome of the last data bootstrap is unknown",
    DataState.PARTIALLY_BOOTSTRAPPED: "the data is partially bootstrapped",
    DataState.VERIFICATION_FAILED: "the bootstrapped data failed verification",
    DataState.UNVERIFIED: "the bootstrapped data is unverified",
}


def state_reason(
    deployment_state: str,
    data_state: str,
    *,
    deployment_detail: str = "",
    data_detail: str = "",
    notes: Sequence[str] = (),
) -> str:
    """One sentence naming each side that is not current, with what is known about why."""
    parts: list[str] = []
    if data_state in _DATA_SIDE:
        parts.append(_DATA_SIDE[data_state] + (f" ({data_detail})" if data_detail else ""))
    if deployment_state in _DEPLOYMENT_SIDE:
        parts.append(_DEPLOYMENT_SIDE[deployment_state] + (f" ({deployment_detail})" if deployment_detail else ""))
    if not parts:
        parts.append(
            "the deployment and the data are current"
            if data_state == DataState.CURRENT
            else "the deployment is current and no data bootstrap has changed the data"
        )
    # A current side may still carry a remark: a check that failed but is not required.
    if deployment_state == DeploymentState.CURRENT and deployment_detail:
        parts.append(deployment_detail)
    if data_state in (DataState.CURRENT, DataState.UNTOUCHED) and data_detail:
        parts.append(data_detail)
    parts.extend(notes)
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."


def human_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def checks_phrase(names: Sequence[str], verb: str) -> str:
    """``health check failed``, ``canonical and logo checks not run``."""
    label = [name.replace("_", "-") for name in names]
    return f"{human_list(label)} check{'s' if len(label) > 1 else ''} {verb}"


def identity_phrase(comparison: IdentityComparison) -> str:
    if comparison.status == ID.MISMATCH:
        return f"runtime identity mismatch on {human_list(list(comparison.mismatches))}"
    return {
        ID.MALFORMED: "runtime identity malformed",
        ID.MISSING: "runtime reported no identity",
        ID.UNVERIFIABLE: "runtime identity unverifiable",
        ID.UNCHECKED: "runtime identity not checked",
        ID.MATCH: "runtime identity matches",
    }[comparison.status]


def unpassed_phrases(statuses: Mapping[str, str], names: Sequence[str]) -> list[str]:
    """Phrases for the named checks that did not pass, grouped by status (``logo check not run``)."""
    phrases = []
    for status, verb in (
        (CS.FAIL, "failed"),
        (CS.UNKNOWN, "unknown"),
        (CS.NOT_RUN, "not run"),
        (CS.SKIPPED, "skipped"),
    ):
        matching = [name for name in names if statuses[name] == status]
        if matching:
            phrases.append(checks_phrase(matching, verb))
    return phrases


# ---------------------------------------------------------------------------------------------------
# Ordering (rule 4)
# ---------------------------------------------------------------------------------------------------


def deployment_is_superseded(finished_at: datetime, current_finished_at: datetime | None) -> bool:
    """A deployment that finished before the current one is superseded; ties go to arrival."""
    return current_finished_at is not None and finished_at < current_finished_at


def observation_is_superseded(observed_at: datetime, current_finished_at: datetime | None) -> bool:
    """An observation made before the current deployment finished says nothing about it."""
    return current_finished_at is not None and observed_at < current_finished_at


# ---------------------------------------------------------------------------------------------------
# Freshness (derived, never stored)
# ---------------------------------------------------------------------------------------------------


def freshness(now: datetime, *, has_records: bool, verified_at: datetime | None, ttl_seconds: int) -> Freshness:
    """How recent the last verification is, measured from last known good's ``verified_at``."""
    if verified_at is None:
        return Freshness.RECORDED if has_records else Freshness.MISSING
    if now - verified_at <= timedelta(seconds=ttl_seconds):
        return Freshness.VERIFIED
    return Freshness.STALE
