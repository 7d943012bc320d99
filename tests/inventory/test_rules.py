"""Pure tests of the artifact-side rules (PRODUCT.md rules 4, 5, 6 and 8), the board's state and freshness.

No database and no clock: every test calls a rule with plain values. The decision tables are swept over
every combination of their inputs — exhaustively, not sampled — and each outcome is compared with a
reference written in this file straight from PRODUCT.md, never from the code's own tables. The
vocabulary below is spelled out as PRODUCT.md spells it for the same reason; ``tests/bootstraps``
imports it from here.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta
from functools import cache

import pytest

from inventory.choices import (
    CheckStatus,
    DataState,
    DeploymentState,
    Freshness,
    InventoryEffect,
    InventoryState,
    RuntimeIdentityStatus,
)
from inventory.rules import (
    DEPLOYMENT_ROWS,
    IDENTITY_KEYS,
    OBSERVATION_ROWS,
    DeploymentFacts,
    DeploymentOutcome,
    IdentityComparison,
    IdentityInput,
    ObservationFacts,
    ObservationOutcome,
    combine,
    compare_identity,
    decide_deployment,
    decide_observation,
    deployment_is_superseded,
    freshness,
    observation_is_superseded,
    state_reason,
)
from tests.factories import T0  # the suite's base time; the rules only compare with it

# ---------------------------------------------------------------------------------------------------
# The vocabulary as PRODUCT.md writes it
# ---------------------------------------------------------------------------------------------------

CHECK_STATUSES = ("pass", "fail", "skipped", "not_run", "unknown")
IDENTITY_STATUSES = ("unchecked", "match", "mismatch", "missing", "malformed", "unverifiable")
DEPLOYMENT_STATES = ("unrecorded", "current", "unverified", "verification_failed", "stale_inventory")
DATA_STATES = (
    "untouched",
    "current",
    "bootstrap_in_progress",
    "partially_bootstrapped",
    "verification_failed",
    "unverified",
    "unknown",
)
# "the more severe of the two sides in this order" — most severe first.
SEVERITY_ORDER = (
    "bootstrap_in_progress",
    "unknown",
    "partially_bootstrapped",
    "stale_inventory",
    "verification_failed",
    "unverified",
    "unrecorded",
    "current",
)
SPEC_IDENTITY_KEYS = ("context", "instance", "deployment_record_id", "artifact_id", "source_git_ref")
AGAINST = ("mismatch", "malformed")  # "always count against the environment"
EFFECTS_A_RULE_DECIDES = ("advanced", "retained", "marked")  # superseded and pending are the services'

# One comparison per identity status; a mismatch lists the keys that differ.
COMPARISONS = {
    status: IdentityComparison(
        RuntimeIdentityStatus(status), ("artifact_id", "source_git_ref") if status == "mismatch" else ()
    )
    for status in IDENTITY_STATUSES
}


def rank(state: str) -> int:
    """Position in PRODUCT.md's severity order (lower is worse); data ``untouched`` counts as ``current``."""
    return SEVERITY_ORDER.index("current" if state == "untouched" else state)


def board_state(deployment_state: str, data_state: str) -> str:
    """The board's ``state``: the more severe of the two sides."""
    return min(deployment_state, data_state, key=rank).replace("untouched", "current")


def is_worse(new: str, old: str) -> bool:
    return rank(new) < rank(old)


def is_current(state: str) -> bool:
    return rank(state) == rank("current")


def test_the_vocabulary_is_spelled_as_product_md_spells_it() -> None:
    assert set(CheckStatus.values) == set(CHECK_STATUSES)
    assert set(RuntimeIdentityStatus.values) == set(IDENTITY_STATUSES)
    assert set(DeploymentState.values) == set(DEPLOYMENT_STATES)
    assert set(DataState.values) == set(DATA_STATES)
    assert set(InventoryState.values) == set(SEVERITY_ORDER)
    assert set(InventoryEffect.values) == {"advanced", "retained", "marked", "superseded", "pending"}
    assert set(Freshness.values) == {"missing", "recorded", "verified", "stale"}
    assert IDENTITY_KEYS == SPEC_IDENTITY_KEYS


# ---------------------------------------------------------------------------------------------------
# Runtime identity (rule 5)
# ---------------------------------------------------------------------------------------------------

EXPECTED = {
    "context": "cm",
    "instance": "testing",
    "deployment_record_id": "dep-1",
    "artifact_id": "ghcr.io/cm/odoo:17.0-41",
    "source_git_ref": "4f1c2a9",
}
NOTHING_TO_COMPARE = (None, {}, dict.fromkeys(SPEC_IDENTITY_KEYS, ""), {"image_reference": "ghcr.io/cm/odoo"})


def sent(value: object) -> IdentityInput:
    return IdentityInput(sent=True, value=value)


@pytest.mark.parametrize("expected", [EXPECTED, *NOTHING_TO_COMPARE])
def test_an_identity_that_was_not_sent_is_unchecked(expected) -> None:
    assert compare_identity(expected, IdentityInput()) == IdentityComparison("unchecked", ())


@pytest.mark.parametrize("expected", [EXPECTED, *NOTHING_TO_COMPARE])
@pytest.mark.parametrize("observed", [IdentityInput(unverifiable=True), IdentityInput(True, None, True)])
def test_an_identity_the_prober_could_not_read_is_unverifiable(expected, observed) -> None:
    assert compare_identity(expected, observed) == IdentityComparison("unverifiable", ())


@pytest.mark.parametrize("expected", [EXPECTED, *NOTHING_TO_COMPARE])
def test_an_identity_sent_as_json_null_is_missing_even_with_nothing_to_compare(expected) -> None:
    assert compare_identity(expected, sent(None)) == IdentityComparison("missing", ())


@pytest.mark.parametrize("expected", [EXPECTED, *NOTHING_TO_COMPARE])
@pytest.mark.parametrize("value", [[], [EXPECTED], "cm/testing", "", 123, 1.5, 0, True, False])
def test_an_identity_that_is_not_an_object_is_malformed_even_with_nothing_to_compare(expected, value) -> None:
    assert compare_identity(expected, sent(value)) == IdentityComparison("malformed", ())


@pytest.mark.parametrize("expected", NOTHING_TO_COMPARE)
@pytest.mark.parametrize("value", [{}, EXPECTED, {"context": "other"}])
def test_an_object_with_nothing_expected_is_unchecked(expected, value) -> None:
    assert compare_identity(expected, sent(value)) == IdentityComparison("unchecked", ())


def test_an_identical_identity_matches() -> None:
    assert compare_identity(EXPECTED, sent(dict(EXPECTED))) == IdentityComparison("match", ())


def test_extra_keys_such_as_image_reference_are_not_compared() -> None:
    observed = {**EXPECTED, "image_reference": "ghcr.io/cm/odoo@sha256:aa", "hostname": "web-1"}
    expected = {**EXPECTED, "image_reference": "ghcr.io/cm/odoo@sha256:bb"}
    assert compare_identity(expected, sent(observed)) == IdentityComparison("match", ())


def test_an_absent_key_is_a_difference() -> None:
    observed = {key: value for key, value in EXPECTED.items() if key != "source_git_ref"}
    assert compare_identity(EXPECTED, sent(observed)) == IdentityComparison("mismatch", ("source_git_ref",))


def test_a_non_string_value_is_a_difference_even_when_it_prints_the_same() -> None:
    expected = {**EXPECTED, "deployment_record_id": "123"}
    observed = {**EXPECTED, "deployment_record_id": 123}
    assert compare_identity(expected, sent(observed)) == IdentityComparison("mismatch", ("deployment_record_id",))


@pytest.mark.parametrize("other", ["CM", "cm ", " cm", "cm\n", "c", ""])
def test_strings_are_compared_exactly(other: str) -> None:
    observed = {**EXPECTED, "context": other}
    assert compare_identity(EXPECTED, sent(observed)) == IdentityComparison("mismatch", ("context",))


@pytest.mark.parametrize("empty", ["", None])
def test_empty_expected_keys_are_not_compared(empty) -> None:
    expected = {**EXPECTED, "artifact_id": empty, "source_git_ref": empty}
    observed = {"context": "cm", "instance": "testing", "deployment_record_id": "dep-1", "artifact_id": "x"}
    assert compare_identity(expected, sent(observed)) == IdentityComparison("match", ())


# How a key can differ: left out, another string, the same text as a number, JSON null.
DIFFERENCES = {
    "absent": lambda key, value: None,
    "another string": lambda key, value: (key, value + "-other"),
    "not a string": lambda key, value: (key, int.from_bytes(value.encode()[:4], "big")),
    "null": lambda key, value: (key, None),
}


@pytest.mark.parametrize("difference", DIFFERENCES)
def test_every_set_of_differing_keys_is_listed_in_product_md_key_order(difference: str) -> None:
    make = DIFFERENCES[difference]
    for size in range(len(SPEC_IDENTITY_KEYS) + 1):
        for differing in itertools.combinations(reversed(SPEC_IDENTITY_KEYS), size):
            items = [make(key, value) if key in differing else (key, value) for key, value in EXPECTED.items()]
            observed = dict(reversed([item for item in items if item is not None]))
            comparison = compare_identity(EXPECTED, sent(observed))
            listed = tuple(key for key in SPEC_IDENTITY_KEYS if key in differing)
            assert comparison == IdentityComparison("mismatch" if differing else "match", listed), differing


@pytest.mark.parametrize(
    ("observed", "contradictory", "carries"),
    [
        (IdentityInput(), False, False),
        (sent(None), False, True),
        (sent(EXPECTED), False, True),
        (sent(["x"]), False, True),
        (IdentityInput(unverifiable=True), False, True),
        (IdentityInput(True, None, True), False, True),
        (IdentityInput(True, EXPECTED, True), True, True),
        (IdentityInput(True, {}, True), True, True),
        (IdentityInput(True, ["x"], True), True, True),
        (IdentityInput(True, "", True), True, True),
    ],
)
def test_unverifiable_contradicts_only_a_non_null_identity(observed, contradictory, carries) -> None:
    assert observed.is_contradictory is contradictory
    assert observed.carries_identity is carries


# ---------------------------------------------------------------------------------------------------
# The board's state: the more severe side
# ---------------------------------------------------------------------------------------------------

ALL_SIDES = list(itertools.product(DEPLOYMENT_STATES, DATA_STATES))


@pytest.mark.parametrize(("deployment_state", "data_state"), ALL_SIDES)
def test_the_board_shows_the_more_severe_side_in_product_md_order(deployment_state, data_state) -> None:
    deployment_rank = SEVERITY_ORDER.index(deployment_state)
    data_rank = SEVERITY_ORDER.index("current" if data_state == "untouched" else data_state)
    expected = SEVERITY_ORDER[min(deployment_rank, data_rank)]
    assert combine(deployment_state, data_state) == expected


def test_untouched_data_counts_as_current() -> None:
    for deployment_state in DEPLOYMENT_STATES:
        assert combine(deployment_state, "untouched") == combine(deployment_state, "current") == deployment_state


def test_the_board_state_is_never_untouched() -> None:
    assert {combine(*sides) for sides in ALL_SIDES} <= set(SEVERITY_ORDER)


# ---------------------------------------------------------------------------------------------------
# state_reason: one sentence naming each side that is not current
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("deployment_state", "data_state"), ALL_SIDES)
def test_state_reason_names_each_side_that_is_not_current(deployment_state, data_state) -> None:
    reason = state_reason(deployment_state, data_state).lower()
    if is_current(deployment_state) and is_current(data_state):
        return
    assert ("deployment" in reason) is not is_current(deployment_state), reason
    assert ("data" in reason) is not is_current(data_state), reason


@pytest.mark.parametrize("data_state", ["current", "untouched"])
def test_state_reason_says_current_when_both_sides_are_current(data_state) -> None:
    reason = state_reason("current", data_state)
    assert "current" in reason
    assert reason[0].isupper() and reason.endswith(".")


@pytest.mark.parametrize(("deployment_state", "data_state"), ALL_SIDES)
@pytest.mark.parametrize("details", [{}, {"deployment_detail": "D-detail", "data_detail": "d-detail"}])
@pytest.mark.parametrize("notes", [(), ("health check failed but is not required",)])
def test_state_reason_is_one_sentence_and_never_blank(deployment_state, data_state, details, notes) -> None:
    reason = state_reason(deployment_state, data_state, notes=notes, **details)
    assert reason.strip() and reason[0].isupper() and reason.endswith(".")
    assert reason.count(".") == 1, reason
    for note in notes:
        assert note in reason
    if details:
        # A non-current side's detail says why; a current side's detail is a remark that stays named
        # (a check that failed without being required).
        assert "D-detail" in reason and "d-detail" in reason, reason


def test_state_reason_tells_every_state_of_each_side_apart() -> None:
    for data_state in DATA_STATES:
        reasons = {state_reason(deployment_state, data_state) for deployment_state in DEPLOYMENT_STATES}
        assert len(reasons) == len(DEPLOYMENT_STATES), data_state
    for deployment_state in DEPLOYMENT_STATES:
        not_untouched = [data_state for data_state in DATA_STATES if data_state != "untouched"]
        reasons = {state_reason(deployment_state, data_state) for data_state in not_untouched}
        assert len(reasons) == len(not_untouched), deployment_state


# ---------------------------------------------------------------------------------------------------
# Deployments (rule 6), over every combination of their inputs
# ---------------------------------------------------------------------------------------------------

# PRODUCT.md rule 6, row by row: (deployment, current deployment pointer, deployment_state, effect).
DEPLOYMENT_TABLE = (
    (
        "deploy `fail`, identity `mismatch` or `malformed` against the current deployment",
        "unchanged",
        "`stale_inventory`",
        "`marked`",
    ),
    ("deploy `fail`", "unchanged", "unchanged", "`retained`"),
    ("deploy `pass`, identity `mismatch` or `malformed`", "this record", "`stale_inventory`", "`marked`"),
    (
        "deploy `pass`, post-deploy `fail`, or health `fail` where required",
        "this record",
        "`verification_failed`",
        "`marked`",
    ),
    (
        "deploy `pass`, post-deploy `not_run`/`unknown`, health `skipped`/`not_run`/`unknown` where required, "
        "or identity `missing`/`unverifiable`/`unchecked` where required",
        "this record",
        "`unverified`",
        "`marked`",
    ),
    (
        "deploy `pass`, everything else",
        "this record",
        "`current`",
        "`advanced` if `state` is now `current`, else `retained`",
    ),
)


@dataclasses.dataclass(frozen=True)
class ExpectedDeployment:
    row: int  # 1-based, as DEPLOYMENT_TABLE (and PRODUCT.md) number them
    moves_pointer: bool
    deployment_state: str
    effect: str


def expected_deployment(f: DeploymentFacts) -> ExpectedDeployment:
    """Rule 6 read straight from PRODUCT.md: the first row whose condition holds."""
    identity = f.identity.status
    if f.deploy_status == "fail" and identity in AGAINST:
        return ExpectedDeployment(1, False, "stale_inventory", "marked")
    if f.deploy_status == "fail":
        return ExpectedDeployment(2, False, f.deployment_state, "retained")
    if identity in AGAINST:
        return ExpectedDeployment(3, True, "stale_inventory", "marked")
    if f.post_deploy_status == "fail" or (f.health_required and f.health_status == "fail"):
        return ExpectedDeployment(4, True, "verification_failed", "marked")
    if (
        f.post_deploy_status in ("not_run", "unknown")
        or (f.health_required and f.health_status in ("skipped", "not_run", "unknown"))
        or (f.identity_required and identity in ("missing", "unverifiable", "unchecked"))
    ):
        return ExpectedDeployment(5, True, "unverified", "marked")
    effect = "advanced" if board_state("current", f.data_state) == "current" else "retained"
    return ExpectedDeployment(6, True, "current", effect)


def verified_success(f: DeploymentFacts) -> bool:
    """The deployment passed with every check it is judged on passing (post-deploy may be skipped)."""
    return (
        f.deploy_status == "pass"
        and f.post_deploy_status in ("pass", "skipped")
        and (not f.health_required or f.health_status == "pass")
        and f.identity.status not in AGAINST
        and (not f.identity_required or f.identity.status == "match")
    )


@dataclasses.dataclass(frozen=True)
class DeploymentCase:
    facts: DeploymentFacts
    outcome: DeploymentOutcome
    expected: ExpectedDeployment


@cache
def deployment_cases() -> tuple[DeploymentCase, ...]:
    """Every combination: deploy x post-deploy x health x identity x both requirements x both sides."""
    cases = []
    for deploy, post, health, identity, health_required, identity_required, data_state, prior in itertools.product(
        ("pass", "fail"),
        CHECK_STATUSES,
        CHECK_STATUSES,
        IDENTITY_STATUSES,
        (True, False),
        (True, False),
        DATA_STATES,
        DEPLOYMENT_STATES,
    ):
        facts = DeploymentFacts(
            deploy_status=deploy,
            post_deploy_status=post,
            health_status=health,
            identity=COMPARISONS[identity],
            health_required=health_required,
            identity_required=identity_required,
            data_state=data_state,
            deployment_state=prior,
        )
        cases.append(DeploymentCase(facts, decide_deployment(facts), expected_deployment(facts)))
    return tuple(cases)


def test_the_deployment_sweep_covers_every_combination_of_inputs() -> None:
    assert len(deployment_cases()) == 2 * 5 * 5 * 6 * 2 * 2 * 7 * 5
    assert len({case.facts for case in deployment_cases()}) == len(deployment_cases())
    assert {case.expected.row for case in deployment_cases()} == set(range(1, len(DEPLOYMENT_TABLE) + 1))


def test_the_deployment_table_carries_product_md_rows_in_order() -> None:
    rows = tuple(
        (row.when, row.then["current deployment pointer"], row.then["deployment_state"], row.then["effect"])
        for row in DEPLOYMENT_ROWS
    )
    assert rows == DEPLOYMENT_TABLE


def test_every_deployment_gets_exactly_one_outcome_the_first_matching_row() -> None:
    for case in deployment_cases():
        first = next(index for index, row in enumerate(DEPLOYMENT_ROWS) if row.matches(case.facts))
        assert case.outcome.row == first == case.expected.row - 1, case


def test_every_deployment_outcome_is_the_one_the_product_md_table_gives() -> None:
    for case in deployment_cases():
        outcome, expected = case.outcome, case.expected
        got = (outcome.moves_pointer, outcome.deployment_state, outcome.effect)
        assert got == (expected.moves_pointer, expected.deployment_state, expected.effect), case
        assert outcome.state == board_state(outcome.deployment_state, outcome.data_state), case
        assert outcome.effect in EFFECTS_A_RULE_DECIDES, case


def test_a_failed_deployment_never_moves_the_current_pointer() -> None:
    for case in deployment_cases():
        assert case.outcome.moves_pointer is (case.facts.deploy_status == "pass"), case


def test_a_deployment_advances_exactly_when_it_verified_success_and_the_state_is_now_current() -> None:
    for case in deployment_cases():
        f, outcome = case.facts, case.outcome
        now_current = board_state(outcome.deployment_state, f.data_state) == "current"
        assert (outcome.effect == "advanced") is (verified_success(f) and now_current), case
        assert outcome.advances is (outcome.effect == "advanced")


def test_a_retained_deployment_never_makes_the_artifact_side_worse() -> None:
    for case in deployment_cases():
        if case.outcome.effect == "retained":
            assert not is_worse(case.outcome.deployment_state, case.facts.deployment_state), case
            assert not is_worse(case.outcome.state, board_state(case.facts.deployment_state, case.facts.data_state))


def test_a_marked_deployment_leaves_the_artifact_side_not_current() -> None:
    for case in deployment_cases():
        if case.outcome.effect == "marked":
            assert not is_current(case.outcome.deployment_state), case


def test_a_deployment_never_changes_the_data_side() -> None:
    for case in deployment_cases():
        assert case.outcome.data_state == case.facts.data_state, case


def test_mismatch_and_malformed_count_against_the_environment_whatever_is_required() -> None:
    for case in deployment_cases():
        if case.facts.identity.status in AGAINST:
            assert case.outcome.deployment_state == "stale_inventory", case
            assert case.outcome.effect == "marked", case


def test_a_failed_health_check_that_is_not_required_never_blocks_but_is_named() -> None:
    for case in deployment_cases():
        f = case.facts
        if f.deploy_status == "pass" and not f.health_required and f.health_status == "fail":
            had_it_passed = decide_deployment(dataclasses.replace(f, health_status="pass"))
            assert (case.outcome.row, case.outcome.deployment_state, case.outcome.effect) == (
                had_it_passed.row,
                had_it_passed.deployment_state,
                had_it_passed.effect,
            ), case
            assert any("health" in note for note in case.outcome.notes), case
            reason = state_reason(case.outcome.deployment_state, case.outcome.data_state, notes=case.outcome.notes)
            assert "health" in reason


@pytest.mark.parametrize("data_state", ["bootstrap_in_progress", "unknown", "partially_bootstrapped"])
def test_a_passing_deployment_never_clears_a_partial_unknown_or_in_progress_bootstrap(data_state: str) -> None:
    facts = DeploymentFacts(
        deploy_status="pass",
        post_deploy_status="pass",
        health_status="pass",
        identity=COMPARISONS["match"],
        data_state=data_state,
        deployment_state="unverified",
    )
    outcome = decide_deployment(facts)
    assert (outcome.moves_pointer, outcome.deployment_state, outcome.data_state) == (True, "current", data_state)
    assert (outcome.state, outcome.effect) == (data_state, "retained")


def test_a_verified_deployment_on_current_data_advances() -> None:
    for data_state in ("untouched", "current"):
        outcome = decide_deployment(
            DeploymentFacts(
                deploy_status="pass",
                post_deploy_status="skipped",
                health_status="pass",
                identity=COMPARISONS["match"],
                data_state=data_state,
                deployment_state="stale_inventory",
            )
        )
        assert (outcome.deployment_state, outcome.state, outcome.effect) == ("current", "current", "advanced")


# ---------------------------------------------------------------------------------------------------
# Observations (rule 8), over every combination of their inputs
# ---------------------------------------------------------------------------------------------------


def expected_observation(f: ObservationFacts) -> tuple[int, str, str]:
    """Rule 8 read straight from PRODUCT.md: (1-based row, deployment_state, effect)."""
    identity = f.identity.status
    if identity in AGAINST:
        return 1, "stale_inventory", "marked"
    if identity == "match" and f.deployment_state == "stale_inventory":
        return 2, "unverified", "marked"
    if f.identity_required and identity in ("missing", "unverifiable") and f.deployment_state == "current":
        return 3, "unverified", "marked"
    return 4, f.deployment_state, "retained"


@cache
def observation_cases() -> tuple[tuple[ObservationFacts, ObservationOutcome], ...]:
    cases = []
    for identity, deployment_state, data_state, identity_required in itertools.product(
        IDENTITY_STATUSES, DEPLOYMENT_STATES, DATA_STATES, (True, False)
    ):
        facts = ObservationFacts(
            identity=COMPARISONS[identity],
            deployment_state=deployment_state,
            data_state=data_state,
            identity_required=identity_required,
        )
        cases.append((facts, decide_observation(facts)))
    return tuple(cases)


def test_the_observation_sweep_covers_every_combination_of_inputs() -> None:
    assert len(observation_cases()) == 6 * 5 * 7 * 2
    assert {expected_observation(facts)[0] for facts, _ in observation_cases()} == {1, 2, 3, 4}
    assert len(OBSERVATION_ROWS) == 4


def test_every_observation_gets_exactly_one_outcome_the_first_matching_row() -> None:
    for facts, outcome in observation_cases():
        first = next(index for index, row in enumerate(OBSERVATION_ROWS) if row.matches(facts))
        assert outcome.row == first == expected_observation(facts)[0] - 1, facts


def test_every_observation_outcome_is_the_one_rule_8_gives() -> None:
    for facts, outcome in observation_cases():
        _row, deployment_state, effect = expected_observation(facts)
        assert (outcome.deployment_state, outcome.effect) == (deployment_state, effect), facts
        assert outcome.state == board_state(outcome.deployment_state, outcome.data_state), facts


def test_an_observation_never_moves_last_known_good() -> None:
    for facts, outcome in observation_cases():
        assert outcome.effect != "advanced", facts


def test_an_observation_never_changes_the_data_side() -> None:
    for facts, outcome in observation_cases():
        assert outcome.data_state == facts.data_state, facts


def test_a_retained_observation_changes_nothing() -> None:
    for facts, outcome in observation_cases():
        if outcome.effect == "retained":
            assert outcome.deployment_state == facts.deployment_state, facts


def test_a_matching_observation_never_claims_the_checks_passed() -> None:
    for facts, outcome in observation_cases():
        if facts.identity.status == "match":
            assert not is_current(outcome.deployment_state) or facts.deployment_state == "current", facts


# ---------------------------------------------------------------------------------------------------
# Order (rule 4): client timestamps decide only whether a record is superseded
# ---------------------------------------------------------------------------------------------------

TICK = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("finished_at", "superseded"),
    [(T0 - timedelta(days=1), True), (T0 - TICK, True), (T0, False), (T0 + TICK, False)],
)
def test_a_deployment_is_superseded_only_when_it_finished_before_the_current_one(finished_at, superseded) -> None:
    assert deployment_is_superseded(finished_at, T0) is superseded


def test_a_deployment_finishing_at_the_same_moment_as_the_current_one_is_not_superseded() -> None:
    assert deployment_is_superseded(T0, T0) is False


def test_nothing_supersedes_the_first_deployment() -> None:
    assert deployment_is_superseded(T0 - timedelta(days=365), None) is False


@pytest.mark.parametrize(
    ("observed_at", "superseded"),
    [(T0 - timedelta(days=1), True), (T0 - TICK, True), (T0, False), (T0 + TICK, False)],
)
def test_an_observation_is_superseded_only_when_made_before_the_current_deployment_finished(
    observed_at, superseded
) -> None:
    assert observation_is_superseded(observed_at, T0) is superseded


def test_an_observation_without_a_current_deployment_is_not_superseded() -> None:
    assert observation_is_superseded(T0 - timedelta(days=365), None) is False


# ---------------------------------------------------------------------------------------------------
# Freshness (derived at read time)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ttl", [1, 3600, 86400])
def test_freshness_is_missing_when_nothing_is_recorded(ttl: int) -> None:
    assert freshness(T0, has_records=False, verified_at=None, ttl_seconds=ttl) == "missing"


@pytest.mark.parametrize("ttl", [1, 3600, 86400])
def test_freshness_is_recorded_when_records_exist_but_nothing_was_ever_verified(ttl: int) -> None:
    assert freshness(T0, has_records=True, verified_at=None, ttl_seconds=ttl) == "recorded"


AGES_WITHIN_TTL = {
    "just now": lambda ttl: timedelta(0),
    "half a second ago": lambda ttl: timedelta(seconds=0.5),
    "one tick short of the ttl": lambda ttl: timedelta(seconds=ttl) - TICK,
    "exactly the ttl ago": lambda ttl: timedelta(seconds=ttl),
}


@pytest.mark.parametrize("ttl", [1, 3600, 86400])
@pytest.mark.parametrize("age", AGES_WITHIN_TTL)
def test_freshness_is_verified_up_to_and_including_the_ttl(ttl: int, age: str) -> None:
    verified_at = T0 - AGES_WITHIN_TTL[age](ttl)
    assert freshness(T0, has_records=True, verified_at=verified_at, ttl_seconds=ttl) == "verified"


@pytest.mark.parametrize("ttl", [1, 3600, 86400])
@pytest.mark.parametrize("beyond", [TICK, timedelta(seconds=1), timedelta(days=30)])
def test_freshness_is_stale_once_the_last_verification_is_older_than_the_ttl(ttl: int, beyond) -> None:
    verified_at = T0 - timedelta(seconds=ttl) - beyond
    assert freshness(T0, has_records=True, verified_at=verified_at, ttl_seconds=ttl) == "stale"
