"""Decision rows carry their outcomes: a row that never matches, inserted anywhere in a table, changes
no outcome but the index of the row that decided. Nothing reads a row's position to decide."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

import bootstraps.rules as bootstrap_rules
import inventory.rules.deployments as deployment_rules
import inventory.rules.observations as observation_rules
from inventory.rules import Row
from tests.bootstraps.test_rules import all_cases as result_cases
from tests.inventory.test_rules import deployment_cases, observation_cases


def never(facts: object) -> bool:
    return False


def with_noop_row(rows: tuple[Row, ...], at: int) -> tuple[Row, ...]:
    """The table with a row that never matches inserted at ``at``; its result is the first row's, so a
    decision taken by position rather than by the matching row would show."""
    noop = Row("never", never, rows[0].then, rows[-1].result)
    return (*rows[:at], noop, *rows[at:])


def without_index(outcome: object) -> dict:
    values = dataclasses.asdict(outcome)  # type: ignore[call-overload]
    values.pop("row")
    return values


def sample(cases, step: int):
    return list(itertools.islice(cases, 0, None, step))


@pytest.mark.parametrize("at", range(len(deployment_rules.DEPLOYMENT_ROWS) + 1))
def test_a_no_op_row_anywhere_in_the_deployment_table_changes_no_outcome(monkeypatch, at) -> None:
    cases = sample(deployment_cases(), 7)
    monkeypatch.setattr(deployment_rules, "DEPLOYMENT_ROWS", with_noop_row(deployment_rules.DEPLOYMENT_ROWS, at))
    for case in cases:
        assert without_index(deployment_rules.decide_deployment(case.facts)) == without_index(case.outcome), case


@pytest.mark.parametrize("at", range(len(observation_rules.OBSERVATION_ROWS) + 1))
def test_a_no_op_row_anywhere_in_the_observation_table_changes_no_outcome(monkeypatch, at) -> None:
    cases = observation_cases()
    monkeypatch.setattr(observation_rules, "OBSERVATION_ROWS", with_noop_row(observation_rules.OBSERVATION_ROWS, at))
    for facts, outcome in cases:
        assert without_index(observation_rules.decide_observation(facts)) == without_index(outcome), facts


@pytest.mark.parametrize("at", range(len(bootstrap_rules.RESULT_ROWS) + 1))
def test_a_no_op_row_anywhere_in_the_bootstrap_result_table_changes_no_outcome(monkeypatch, at) -> None:
    cases = sample(result_cases(), 13)
    monkeypatch.setattr(bootstrap_rules, "RESULT_ROWS", with_noop_row(bootstrap_rules.RESULT_ROWS, at))
    for case in cases:
        assert without_index(bootstrap_rules.decide_result(case.facts)) == without_index(case.outcome), case
        assert bootstrap_rules.readiness_of(case.facts) == case.outcome.readiness_status, case
