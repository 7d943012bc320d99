"""Rule 15 as a pure function: every combination of a run's inputs against a reference written here
from PRODUCT.md's table (never from the code's own rows).

The sweep crosses the statuses a probe reports for each check (pass, fail, not_run, unknown) with every
required-checks subset, every identity status with identity required or not, and both sides in every
state; the two rows that come before everything else (superseded, no current deployment) are swept over
the same inputs in a second pass. ``skipped`` — which no probe reports — is swept separately.
"""

from __future__ import annotations

import dataclasses
import itertools
from functools import cache

import pytest

from inventory.rules import (
    VERIFICATION_ROWS,
    IdentityComparison,
    VerificationFacts,
    VerificationOutcome,
    decide_verification,
)
from tests.inventory.test_rules import DATA_STATES, DEPLOYMENT_STATES, IDENTITY_STATUSES, board_state

CHECKS = ("health", "canonical", "logo")
PROBE_STATUSES = ("pass", "fail", "not_run", "unknown")
REQUIRED_SUBSETS = tuple(
    tuple(name for name in CHECKS if name in subset)
    for size in (1, 2, 3)
    for subset in itertools.combinations(CHECKS, size)
)

# PRODUCT.md rule 15, row by row: (when, deployment_state, data_state, effect).
VERIFICATION_TABLE = (
    (
        "the current deployment changed, or a bootstrap started, after the run began",
        "unchanged",
        "unchanged",
        "`superseded`",
    ),
    ("no current deployment", "unchanged", "unchanged", "`retained` (the evidence is kept)"),
    ("identity `mismatch` or `malformed`", "`stale_inventory`", "unchanged", "`marked`"),
    ("a required check `fail`", "`verification_failed`", "unchanged", "`marked`"),
    (
        "a required check `not_run`/`unknown`, or identity `missing`/`unverifiable` where required",
        "`unverified` if it was `current`, else unchanged",
        "unchanged",
        "`marked` if a side changed, else `retained`",
    ),
    (
        "everything required passed",
        "`current`",
        "`current` if it was `unverified` or `verification_failed`, else unchanged",
        "`advanced` if `state` is now `current`, else `retained`",
    ),
)


@dataclasses.dataclass(frozen=True)
class Expected:
    row: int  # 1-based, as the table is read
    deployment_state: str
    data_state: str
    effect: str


def reference(f: VerificationFacts) -> Expected:
    """Rule 15 as PRODUCT.md words it."""
    dep, data = f.deployment_state, f.data_state
    required = [name for name in CHECKS if name in f.required_checks]
    if f.superseded:
        return Expected(1, dep, data, "superseded")
    if not f.has_current_deployment:
        return Expected(2, dep, data, "retained")
    if f.identity.status in ("mismatch", "malformed"):
        return Expected(3, "stale_inventory", data, "marked")
    if any(f.checks[name] == "fail" for name in required):
        return Expected(4, "verification_failed", data, "marked")
    unproven_identity = f.identity_required and f.identity.status in ("missing", "unverifiable", "unchecked")
    if any(f.checks[name] in ("not_run", "unknown", "skipped") for name in required) or unproven_identity:
        new_dep = "unverified" if dep == "current" else dep
        return Expected(5, new_dep, data, "marked" if new_dep != dep else "retained")
    new_data = "current" if data in ("unverified", "verification_failed") else data
    effect = "advanced" if board_state("current", new_data) == "current" else "retained"
    return Expected(6, "current", new_data, effect)


def facts(checks, required, identity, identity_required, dep, data, **extra) -> VerificationFacts:
    mismatches = ("artifact_id",) if identity == "mismatch" else ()
    return VerificationFacts(
        checks=dict(zip(CHECKS, checks, strict=True)),
        required_checks=required,
        identity=IdentityComparison(identity, mismatches),
        identity_required=identity_required,
        deployment_state=dep,
        data_state=data,
        **extra,
    )


@cache
def sweep() -> tuple[tuple[VerificationFacts, VerificationOutcome, Expected], ...]:
    cases = []
    for checks, required, identity, identity_required, dep, data in itertools.product(
        itertools.product(PROBE_STATUSES, repeat=3),
        REQUIRED_SUBSETS,
        IDENTITY_STATUSES,
        (True, False),
        DEPLOYMENT_STATES,
        DATA_STATES,
    ):
        f = facts(checks, required, identity, identity_required, dep, data)
        cases.append((f, decide_verification(f), reference(f)))
    return tuple(cases)


def test_the_sweep_covers_every_combination_and_every_row() -> None:
    assert len(sweep()) == 4**3 * 7 * 6 * 2 * 5 * 7
    assert {expected.row for _f, _o, expected in sweep()} == {3, 4, 5, 6}


def test_the_rows_are_product_md_rows_in_order() -> None:
    rows = tuple(
        (row.when, row.then["deployment_state"], row.then["data_state"], row.then["effect"])
        for row in VERIFICATION_ROWS
    )
    assert rows == VERIFICATION_TABLE


def test_every_outcome_is_the_one_the_product_md_table_gives() -> None:
    for f, outcome, expected in sweep():
        got = (outcome.row + 1, outcome.deployment_state, outcome.data_state, outcome.effect)
        assert got == (expected.row, expected.deployment_state, expected.data_state, expected.effect), f
        assert outcome.state == board_state(outcome.deployment_state, outcome.data_state), f


def test_superseded_and_no_deployment_runs_change_nothing_whatever_they_found() -> None:
    for checks, identity, dep, data, superseded, has_current in itertools.product(
        itertools.product(PROBE_STATUSES, repeat=3),
        IDENTITY_STATUSES,
        DEPLOYMENT_STATES,
        DATA_STATES,
        (True, False),
        (True, False),
    ):
        if not superseded and has_current:
            continue
        f = facts(checks, CHECKS, identity, True, dep, data, superseded=superseded, has_current_deployment=has_current)
        outcome, expected = decide_verification(f), reference(f)
        assert (outcome.row + 1, outcome.effect) == (expected.row, expected.effect), f
        assert (outcome.deployment_state, outcome.data_state) == (dep, data), f
        assert not outcome.applies if superseded else outcome.applies


def test_verification_never_clears_partial_or_unknown_data() -> None:
    for f, outcome, _expected in sweep():
        if f.data_state in ("partially_bootstrapped", "unknown", "bootstrap_in_progress"):
            assert outcome.data_state == f.data_state, f
            assert outcome.effect != "advanced", f


def test_a_check_that_is_not_required_never_blocks_and_is_named() -> None:
    for f, outcome, _expected in sweep():
        optional_failed = [name for name in CHECKS if name not in f.required_checks and f.checks[name] == "fail"]
        if not optional_failed:
            continue
        passing = dataclasses.replace(
            f, checks={name: "pass" if name in optional_failed else status for name, status in f.checks.items()}
        )
        twin = decide_verification(passing)
        assert (outcome.deployment_state, outcome.data_state, outcome.effect) == (
            twin.deployment_state,
            twin.data_state,
            twin.effect,
        ), f
        assert any(name in " ".join(outcome.notes) for name in optional_failed), f


def test_a_skipped_required_check_leaves_the_run_unproven_like_not_run() -> None:
    for position in range(3):
        checks = tuple("skipped" if index == position else "pass" for index in range(3))
        f = facts(checks, CHECKS, "match", True, "current", "untouched")
        outcome = decide_verification(f)
        assert (outcome.row + 1, outcome.deployment_state, outcome.effect) == (5, "unverified", "marked")
        assert reference(f).row == 5


def test_a_failed_required_check_is_named_with_its_failure_class() -> None:
    f = facts(("pass", "fail", "pass"), CHECKS, "match", True, "current", "untouched")
    outcome = decide_verification(dataclasses.replace(f, failures={"canonical": "canonical_missing"}))

    assert outcome.deployment_state == "verification_failed"
    assert outcome.detail == "canonical check failed (canonical_missing)"


def test_a_passing_run_proves_a_bootstraps_unverified_data() -> None:
    for data in ("unverified", "verification_failed"):
        outcome = decide_verification(facts(("pass",) * 3, CHECKS, "match", True, "unverified", data))
        assert (outcome.deployment_state, outcome.data_state, outcome.effect) == ("current", "current", "advanced")


@pytest.mark.parametrize("at", range(len(VERIFICATION_ROWS) + 1))
def test_a_no_op_row_anywhere_in_the_table_changes_no_outcome(monkeypatch, at) -> None:
    import inventory.rules.verification as verification_rules
    from tests.test_decision_rows import with_noop_row, without_index

    cases = sweep()[::97]
    monkeypatch.setattr(verification_rules, "VERIFICATION_ROWS", with_noop_row(VERIFICATION_ROWS, at))
    for f, outcome, _expected in cases:
        assert without_index(verification_rules.decide_verification(f)) == without_index(outcome), f
