"""Pure tests of the bootstrap rules (PRODUCT.md rule 7), over every combination that decides a row.

No database and no clock. Each outcome is compared with a reference written in this file straight from
PRODUCT.md's table. The whole product of a result's inputs and the inventory it lands on is about 38
million combinations, so the sweep is split, each part exhaustive over what it varies:

- ``passing_cases`` (rows 6-10, run ``pass`` with data_mutated true): post-deploy x health x canonical x
  logo x identity status x every non-empty required_checks x identity_required, landing on one fixed
  inventory (data_mutated null, which no row tells apart from true, is swept in ``landing_cases``);
- ``failing_cases`` (rows 1-5, run ``fail``/``not_run``/``unknown``, which the table decides on the run
  and data_mutated alone): run x data_mutated x post-deploy x identity status x required_checks x
  identity_required, with each check status applied to all three checks at once;
- ``landing_cases``: every data_state_before (bar ``bootstrap_in_progress``) x every deployment_state x
  every coherent run/data_mutated/post-deploy x identity status x identity_required x two check
  vectors (all pass; a required check failed), all checks required.

Contradictions are swept over every input that rule 7 names.
"""

from __future__ import annotations

import dataclasses
import itertools
from functools import cache

import pytest

from bootstraps.rules import (
    RESULT_ROWS,
    BootstrapOutcome,
    Readiness,
    ResultFacts,
    contradictions,
    decide_result,
    decide_without_result,
    readiness_of,
)
from inventory.rules import CHECKS, IdentityInput, state_reason
from tests.inventory.test_rules import (
    AGAINST,
    CHECK_STATUSES,
    COMPARISONS,
    DATA_STATES,
    DEPLOYMENT_STATES,
    EFFECTS_A_RULE_DECIDES,
    IDENTITY_STATUSES,
    board_state,
    is_current,
    is_worse,
)

RUN_STATUSES = ("pending", "running", "pass", "fail", "not_run", "unknown")
RESULT_RUN_STATUSES = ("pass", "fail", "not_run", "unknown")
DATA_MUTATED = (True, False, None)
READINESS = (
    "pending",
    "ready",
    "verification_failed",
    "unverified",
    "partially_bootstrapped",
    "failed_before_mutation",
    "not_run",
    "unknown",
)
# A bootstrap starts only when none is active, so the data state it remembers is never in progress.
DATA_STATES_BEFORE = tuple(state for state in DATA_STATES if state != "bootstrap_in_progress")
REQUIRED_SUBSETS = tuple(
    frozenset(subset) for size in (1, 2, 3) for subset in itertools.combinations(("health", "canonical", "logo"), size)
)
CHECK_VECTORS = tuple(
    dict(zip(("health", "canonical", "logo"), statuses, strict=True))
    for statuses in itertools.product(CHECK_STATUSES, repeat=3)
)
UNIFORM_CHECK_VECTORS = tuple(dict.fromkeys(("health", "canonical", "logo"), status) for status in CHECK_STATUSES)

OBJECT = {"context": "cm", "instance": "testing", "deployment_record_id": "dep-1"}
IDENTITY_INPUTS = {
    "not sent": IdentityInput(),
    "null": IdentityInput(sent=True, value=None),
    "object": IdentityInput(sent=True, value=OBJECT),
    "not an object": IdentityInput(sent=True, value=["cm"]),
    "unverifiable": IdentityInput(unverifiable=True),
    "unverifiable with null": IdentityInput(sent=True, value=None, unverifiable=True),
    "unverifiable with an object": IdentityInput(sent=True, value=OBJECT, unverifiable=True),
    "unverifiable with a non-object": IdentityInput(sent=True, value="cm", unverifiable=True),
}


def test_the_vocabulary_is_spelled_as_product_md_spells_it() -> None:
    readiness = {value for name, value in vars(Readiness).items() if name.isupper()}
    assert readiness == set(READINESS)
    assert CHECKS == ("health", "canonical", "logo")


# ---------------------------------------------------------------------------------------------------
# Contradictions: 400 contradictory_result, naming the fields
# ---------------------------------------------------------------------------------------------------


def spec_contradictions(run: str, data_mutated: bool | None, post_deploy: str, identity: IdentityInput) -> set[str]:
    """The fields rule 7's list of contradictions names for a result."""
    fields = set()
    if run == "not_run" and data_mutated is not False:  # "run not_run with data_mutated other than false"
        fields.add("data_mutated")
    if run == "pass" and data_mutated is False:  # "run pass with data_mutated false"
        fields.add("data_mutated")
    if run in ("fail", "not_run") and post_deploy in ("pass", "fail"):  # "... with post-deploy pass or fail"
        fields.add("post_deploy_status")
    if run in ("pending", "running"):  # "run pending or running in a result"
        fields.add("bootstrap_run_status")
    if identity.unverifiable and identity.sent and identity.value is not None:  # "unverifiable with a non-null"
        fields |= {"runtime_identity_status", "observed_runtime_identity"}
    return fields


def test_contradictions_are_exactly_the_ones_product_md_lists() -> None:
    for run, mutated, post, (kind, identity) in itertools.product(
        RUN_STATUSES, DATA_MUTATED, CHECK_STATUSES, IDENTITY_INPUTS.items()
    ):
        found = contradictions(
            bootstrap_run_status=run, data_mutated=mutated, post_deploy_status=post, identity=identity
        )
        assert set(found) == spec_contradictions(run, mutated, post, identity), (run, mutated, post, kind)
        assert all(isinstance(why, str) and why.strip() for why in found.values()), found


def test_a_result_may_leave_the_identity_out_or_send_it_as_null_with_unverifiable() -> None:
    for kind in ("not sent", "null", "object", "not an object", "unverifiable", "unverifiable with null"):
        assert (
            contradictions(
                bootstrap_run_status="pass",
                data_mutated=True,
                post_deploy_status="pass",
                identity=IDENTITY_INPUTS[kind],
            )
            == {}
        ), kind


def coherent(run: str, data_mutated: bool | None, post_deploy: str) -> bool:
    return run in RESULT_RUN_STATUSES and not spec_contradictions(run, data_mutated, post_deploy, IdentityInput())


COHERENT_RUNS = tuple(
    (run, mutated, post)
    for run, mutated, post in itertools.product(RESULT_RUN_STATUSES, DATA_MUTATED, CHECK_STATUSES)
    if coherent(run, mutated, post)
)


def test_there_are_37_coherent_run_data_mutated_and_post_deploy_combinations() -> None:
    assert len(COHERENT_RUNS) == 2 * 5 + 3 * 3 + 1 * 3 + 3 * 5  # pass, fail, not_run, unknown


# ---------------------------------------------------------------------------------------------------
# Step 3: the result table, from PRODUCT.md
# ---------------------------------------------------------------------------------------------------

# PRODUCT.md rule 7 step 3, row by row: (result, readiness_status, data_state, effect).
RESULT_TABLE = (
    ("run `not_run`", "`not_run`", "before the start", "`retained`"),
    ("run `fail`, data_mutated false", "`failed_before_mutation`", "before the start", "`retained`"),
    ("run `unknown`, data_mutated false", "`unknown`", "before the start", "`retained`"),
    ("run `fail`, data_mutated true", "`partially_bootstrapped`", "`partially_bootstrapped`", "`marked`"),
    (
        "run `fail` with data_mutated null, or run `unknown` with true or null",
        "`unknown`",
        "`unknown`",
        "`marked`",
    ),
    (
        "run `pass`, post-deploy `fail`, `unknown` or `not_run`",
        "`partially_bootstrapped`",
        "`partially_bootstrapped`",
        "`marked`",
    ),
    (
        "run `pass`, identity `mismatch` or `malformed`",
        "`verification_failed`",
        "`verification_failed`, and `deployment_state` `stale_inventory`",
        "`marked`",
    ),
    (
        "run `pass`, a required check (health, canonical, logo) `fail`",
        "`verification_failed`",
        "`verification_failed`",
        "`marked`",
    ),
    (
        "run `pass`, a required check `skipped`/`not_run`/`unknown`, or identity "
        "`missing`/`unverifiable`/`unchecked` where required",
        "`unverified`",
        "`unverified`",
        "`marked`",
    ),
    (
        "run `pass`, everything else",
        "`ready`",
        "`current`, and `deployment_state` `current` when the identity matched",
        "`advanced` if `state` is now `current`, else `retained`",
    ),
)
RESTORING_ROWS = (1, 2, 3)  # "before the start"


@dataclasses.dataclass(frozen=True)
class ExpectedResult:
    row: int  # 1-based, as RESULT_TABLE (and PRODUCT.md) number them
    readiness_status: str
    data_state: str
    deployment_state: str
    effect: str


def expected_row(f: ResultFacts) -> ExpectedResult:
    """Rule 7 step 3 read straight from PRODUCT.md: the first row whose condition holds."""
    run, mutated, before, deployment = f.bootstrap_run_status, f.data_mutated, f.data_state_before, f.deployment_state
    identity = f.identity.status
    required = [f.checks[name] for name in ("health", "canonical", "logo") if name in f.required_checks]
    if run == "not_run":
        return ExpectedResult(1, "not_run", before, deployment, "retained")
    if run == "fail" and mutated is False:
        return ExpectedResult(2, "failed_before_mutation", before, deployment, "retained")
    if run == "unknown" and mutated is False:
        return ExpectedResult(3, "unknown", before, deployment, "retained")
    if run == "fail" and mutated is True:
        return ExpectedResult(4, "partially_bootstrapped", "partially_bootstrapped", deployment, "marked")
    if (run == "fail" and mutated is None) or (run == "unknown" and mutated in (True, None)):
        return ExpectedResult(5, "unknown", "unknown", deployment, "marked")
    assert run == "pass", f  # a coherent result has nothing else left
    if f.post_deploy_status in ("fail", "unknown", "not_run"):
        return ExpectedResult(6, "partially_bootstrapped", "partially_bootstrapped", deployment, "marked")
    if identity in AGAINST:
        return ExpectedResult(7, "verification_failed", "verification_failed", "stale_inventory", "marked")
    if "fail" in required:
        return ExpectedResult(8, "verification_failed", "verification_failed", deployment, "marked")
    if any(status in ("skipped", "not_run", "unknown") for status in required) or (
        f.identity_required and identity in ("missing", "unverifiable", "unchecked")
    ):
        return ExpectedResult(9, "unverified", "unverified", deployment, "marked")
    deployment = "current" if identity == "match" else deployment
    effect = "advanced" if board_state(deployment, "current") == "current" else "retained"
    return ExpectedResult(10, "ready", "current", deployment, effect)


def expected_result(f: ResultFacts) -> ExpectedResult:
    """Step 3's row, then identity judged on every applied result: ``mismatch`` or ``malformed`` also
    sets ``deployment_state`` ``stale_inventory`` and the effect ``marked``, whatever the row."""
    row = expected_row(f)
    if f.identity.status in AGAINST:
        return dataclasses.replace(row, deployment_state="stale_inventory", effect="marked")
    return row


def verified_success(f: ResultFacts) -> bool:
    """Every required check passed, post-deploy passed (or was skipped), and the identity holds."""
    identity = f.identity.status
    return (
        f.bootstrap_run_status == "pass"
        and f.post_deploy_status in ("pass", "skipped")
        and all(f.checks[name] == "pass" for name in f.required_checks)
        and (identity == "match" or (not f.identity_required and identity not in AGAINST))
    )


@dataclasses.dataclass(frozen=True)
class ResultCase:
    facts: ResultFacts
    outcome: BootstrapOutcome
    expected: ExpectedResult


def judge(**inputs) -> ResultCase:
    facts = ResultFacts(**inputs)
    return ResultCase(facts, decide_result(facts), expected_result(facts))


@cache
def passing_cases() -> tuple[ResultCase, ...]:
    """Rows 6-10, exhaustively, on an inventory where every row's effect shows (see the asserts below)."""
    return tuple(
        judge(
            bootstrap_run_status="pass",
            data_mutated=True,
            post_deploy_status=post,
            checks=checks,
            identity=COMPARISONS[identity],
            required_checks=required,
            identity_required=identity_required,
            data_state_before="untouched",  # no row's outcome, so restoring it by mistake shows
            data_detail_before="before the start",
            deployment_state="unverified",  # a match moves it, and only a match makes the state current
        )
        for post, checks, identity, required, identity_required in itertools.product(
            CHECK_STATUSES, CHECK_VECTORS, IDENTITY_STATUSES, REQUIRED_SUBSETS, (True, False)
        )
    )


@cache
def failing_cases() -> tuple[ResultCase, ...]:
    """Rows 1-5, exhaustively over what they read, with the checks swept uniformly."""
    return tuple(
        judge(
            bootstrap_run_status=run,
            data_mutated=mutated,
            post_deploy_status=post,
            checks=checks,
            identity=COMPARISONS[identity],
            required_checks=required,
            identity_required=identity_required,
            data_state_before="untouched",
            data_detail_before="before the start",
            deployment_state="unverified",  # an identity against it moves it, whatever the run
        )
        for (run, mutated, post), checks, identity, required, identity_required in itertools.product(
            [coherent_run for coherent_run in COHERENT_RUNS if coherent_run[0] != "pass"],
            UNIFORM_CHECK_VECTORS,
            IDENTITY_STATUSES,
            REQUIRED_SUBSETS,
            (True, False),
        )
    )


# Row 9 is reached through the identity (unchecked, missing or unverifiable where required).
LANDING_CHECK_VECTORS = (
    {"health": "pass", "canonical": "pass", "logo": "pass"},
    {"health": "pass", "canonical": "pass", "logo": "fail"},
)


@cache
def landing_cases() -> tuple[ResultCase, ...]:
    """Every inventory a result can land on, with results that reach every row."""
    return tuple(
        judge(
            bootstrap_run_status=run,
            data_mutated=mutated,
            post_deploy_status=post,
            checks=checks,
            identity=COMPARISONS[identity],
            required_checks=frozenset(CHECKS),
            identity_required=identity_required,
            data_state_before=before,
            data_detail_before="before the start",
            deployment_state=deployment_state,
        )
        for before, deployment_state, (run, mutated, post), identity, identity_required, checks in itertools.product(
            DATA_STATES_BEFORE,
            DEPLOYMENT_STATES,
            COHERENT_RUNS,
            IDENTITY_STATUSES,
            (True, False),
            LANDING_CHECK_VECTORS,
        )
    )


def all_cases():
    return itertools.chain(passing_cases(), failing_cases(), landing_cases())


def test_the_sweeps_cover_what_they_claim() -> None:
    assert len(passing_cases()) == 5 * 5**3 * 6 * 7 * 2
    assert len(failing_cases()) == 27 * 5 * 6 * 7 * 2
    assert len(landing_cases()) == 6 * 5 * 37 * 6 * 2 * 2
    assert {case.expected.row for case in passing_cases()} == {6, 7, 8, 9, 10}
    assert {case.expected.row for case in failing_cases()} == {1, 2, 3, 4, 5}
    assert {case.expected.effect for case in passing_cases() if case.expected.row == 10} == {"advanced", "retained"}
    landed = {
        (case.expected.row, case.facts.data_state_before, case.facts.deployment_state) for case in landing_cases()
    }
    assert landed == set(itertools.product(range(1, 11), DATA_STATES_BEFORE, DEPLOYMENT_STATES))


def test_the_result_table_carries_product_md_rows_in_order() -> None:
    rows = tuple(
        (row.when, row.then["readiness_status"], row.then["data_state"], row.then["effect"]) for row in RESULT_ROWS
    )
    assert rows == RESULT_TABLE


def test_every_result_gets_exactly_one_outcome_the_first_matching_row() -> None:
    for case in all_cases():
        first = next(index for index, row in enumerate(RESULT_ROWS) if row.matches(case.facts))
        assert case.outcome.row == first == case.expected.row - 1, case


def test_every_result_outcome_is_the_one_the_product_md_table_gives() -> None:
    for case in all_cases():
        outcome, expected = case.outcome, case.expected
        got = (outcome.readiness_status, outcome.data_state, outcome.deployment_state, outcome.effect)
        assert got == (expected.readiness_status, expected.data_state, expected.deployment_state, expected.effect), case
        assert outcome.state == board_state(outcome.deployment_state, outcome.data_state), case
        assert outcome.effect in EFFECTS_A_RULE_DECIDES, case
        assert outcome.bootstrap_run_status is None, case  # only step 2 rewrites the run status


def test_no_bootstrap_outcome_can_touch_the_deployment_pointer() -> None:
    fields = {field.name for field in dataclasses.fields(BootstrapOutcome)}
    assert not {name for name in fields if any(word in name for word in ("pointer", "record", "artifact", "lkg"))}
    assert not hasattr(BootstrapOutcome, "moves_pointer")


def test_a_result_changes_deployment_state_only_on_an_identity_against_it_or_a_ready_match() -> None:
    for case in all_cases():
        outcome, f = case.outcome, case.facts
        if f.identity.status in AGAINST:  # identity mismatch or malformed, on any row
            assert outcome.deployment_state == "stale_inventory", case
            assert outcome.deployment_detail, case
        elif case.expected.row == 10 and f.identity.status == "match":  # ready, and the runtime matched
            assert outcome.deployment_state == "current", case
        else:
            assert outcome.deployment_state == f.deployment_state, case
            assert outcome.deployment_detail is None, case  # the artifact side's detail stays as it is


def test_a_result_advances_only_when_every_required_check_passed_and_the_state_is_now_current() -> None:
    for case in all_cases():
        outcome = case.outcome
        now_current = board_state(outcome.deployment_state, outcome.data_state) == "current"
        assert (outcome.effect == "advanced") is (verified_success(case.facts) and now_current), case
        assert outcome.advances is (outcome.effect == "advanced")


def test_a_retained_result_never_makes_a_side_worse_than_before_the_start() -> None:
    for case in all_cases():
        outcome, f = case.outcome, case.facts
        if outcome.effect == "retained":
            assert not is_worse(outcome.data_state, f.data_state_before), case
            assert not is_worse(outcome.deployment_state, f.deployment_state), case


def test_rows_that_restore_the_data_state_from_before_the_start_restore_it_exactly() -> None:
    for case in all_cases():
        outcome, f = case.outcome, case.facts
        if case.expected.row in RESTORING_ROWS:
            against = f.identity.status in AGAINST  # the artifact side is marked, the data side restored
            assert (outcome.data_state, outcome.effect) == (f.data_state_before, "marked" if against else "retained"), (
                case
            )
            assert outcome.data_detail == f.data_detail_before, case
            assert outcome.restores_data_state, case
        elif outcome.effect == "retained":  # the only other retained row: ready, on a side that is not current
            assert (case.expected.row, outcome.data_state) == (10, "current"), case


def test_a_marked_result_leaves_a_side_not_current() -> None:
    for case in all_cases():
        if case.outcome.effect == "marked":
            assert not (is_current(case.outcome.data_state) and is_current(case.outcome.deployment_state)), case


def test_a_result_never_leaves_the_data_side_in_progress() -> None:
    for case in all_cases():
        assert case.outcome.data_state != "bootstrap_in_progress", case


def passing_key(f: ResultFacts, checks: dict[str, str]) -> tuple:
    return (f.post_deploy_status, tuple(checks.values()), f.identity, f.required_checks, f.identity_required)


def test_a_failed_check_that_is_not_required_never_blocks_but_state_reason_names_it() -> None:
    outcomes = {passing_key(case.facts, case.facts.checks): case.outcome for case in passing_cases()}
    for case in passing_cases():
        f, outcome = case.facts, case.outcome
        optional_failed = [name for name in CHECKS if name not in f.required_checks and f.checks[name] == "fail"]
        if not optional_failed:
            continue
        had_they_passed = outcomes[passing_key(f, {**f.checks, **dict.fromkeys(optional_failed, "pass")})]
        assert (outcome.row, outcome.readiness_status, outcome.data_state, outcome.effect) == (
            had_they_passed.row,
            had_they_passed.readiness_status,
            had_they_passed.data_state,
            had_they_passed.effect,
        ), case
        reason = state_reason(outcome.deployment_state, outcome.data_state, notes=outcome.notes)
        assert all(name in reason for name in optional_failed), (case, reason)


def test_readiness_of_is_the_readiness_decide_result_gives() -> None:
    for case in all_cases():
        assert readiness_of(case.facts) == case.outcome.readiness_status, case


def test_a_result_that_is_not_ready_never_reads_ready() -> None:
    for case in all_cases():
        assert (case.outcome.readiness_status == "ready") is (case.expected.row == 10), case
        assert case.outcome.readiness_status in READINESS and case.outcome.readiness_status != "pending", case


# ---------------------------------------------------------------------------------------------------
# Step 2: no result (the deadline passed or the operation was cancelled)
# ---------------------------------------------------------------------------------------------------

WITHOUT_RESULT = list(itertools.product(DATA_MUTATED, DATA_STATES_BEFORE, DEPLOYMENT_STATES))
LANDINGS = list(itertools.product(DATA_STATES_BEFORE, DEPLOYMENT_STATES))


def end_without_result(data_mutated: bool | None, before: str, deployment_state: str) -> BootstrapOutcome:
    return decide_without_result(
        data_mutated=data_mutated,
        data_state_before=before,
        data_detail_before="the detail before the start",
        deployment_state=deployment_state,
        why="timed out at its deadline (3600s)",
    )


@pytest.mark.parametrize(("before", "deployment_state"), LANDINGS)
def test_an_operation_known_not_to_have_changed_data_restores_the_data_state_from_before_the_start(
    before: str, deployment_state: str
) -> None:
    outcome = end_without_result(False, before, deployment_state)
    assert (outcome.data_state, outcome.effect) == (before, "retained")
    assert outcome.data_detail == "the detail before the start"


@pytest.mark.parametrize("data_mutated", [True, None])
@pytest.mark.parametrize(("before", "deployment_state"), LANDINGS)
def test_an_operation_that_may_have_changed_data_leaves_the_data_state_unknown(
    data_mutated, before: str, deployment_state: str
) -> None:
    outcome = end_without_result(data_mutated, before, deployment_state)
    assert (outcome.data_state, outcome.effect) == ("unknown", "marked")
    assert "timed out at its deadline" in outcome.data_detail


def test_an_operation_without_a_result_reads_readiness_unknown_and_run_status_unknown() -> None:
    for data_mutated, before, deployment_state in WITHOUT_RESULT:
        outcome = end_without_result(data_mutated, before, deployment_state)
        assert (outcome.readiness_status, outcome.bootstrap_run_status) == ("unknown", "unknown")


def test_an_operation_without_a_result_never_touches_the_artifact_side_or_advances() -> None:
    for data_mutated, before, deployment_state in WITHOUT_RESULT:
        outcome = end_without_result(data_mutated, before, deployment_state)
        assert (outcome.deployment_state, outcome.deployment_detail) == (deployment_state, None)
        assert outcome.state == board_state(deployment_state, outcome.data_state)
        assert outcome.effect != "advanced"
        if outcome.effect == "retained":
            assert not is_worse(outcome.data_state, before)
