"""Inventory services against the database: deployments (rule 6), order (rule 4), observations (rule 8),
history (rule 11), acknowledgement and bad input (rule 13), immutable evidence."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from inventory.models import DeploymentRecord, EnvironmentInventory, InventoryTransition, RuntimeObservation
from inventory.rules import NOT_SENT, IdentityInput, combine
from inventory.services import acknowledge, get_environment, record_deployment
from launchplane.errors import Conflict, ContradictoryResult, InvalidInput, NotFound
from tests.factories import (
    MALFORMED_IDENTITY,
    MISSING_IDENTITY,
    T0,
    UNVERIFIABLE_IDENTITY,
    assert_transition,
    bootstrap_once,
    deploy,
    field_values,
    history,
    identity_of,
    inventory_of,
    make_environment,
    observe,
    passing_result,
    row_counts,
    start,
    wrong_identity,
)

pytestmark = pytest.mark.django_db

BASELINE_AT = T0 + timedelta(minutes=10)
RECORD_AT = T0 + timedelta(minutes=20)
# Inventory fields that numbering a stored-but-superseded record may touch (rule 4: records are numbered).
COUNTER_FIELDS = {"last_sequence"}


def inventory_fields(environment) -> dict[str, Any]:
    return {
        name: value
        for name, value in field_values(EnvironmentInventory.objects.get(pk=environment.pk)).items()
        if name not in COUNTER_FIELDS
    }


@pytest.fixture
def baseline():
    """Builds an environment whose current deployment passed everything (state ``current``)."""

    def build(**environment_kwargs: Any):
        environment = make_environment(**environment_kwargs)
        current = deploy(environment, record_id="dep-base", finished_at=BASELINE_AT).record
        inventory = inventory_of(environment)
        assert (inventory.state, inventory.lkg_deployment) == ("current", current)
        return environment, current

    return build


# ---------------------------------------------------------------------------------------------------
# Rule 6: deployments, every row
# ---------------------------------------------------------------------------------------------------


def _identity(spec: Any, *, current: DeploymentRecord, record_id: str) -> IdentityInput | str | None:
    """Resolve a case's identity: "match" (the record's own), "wrong-own", "wrong-current", or as given."""
    if spec == "wrong-own":
        return IdentityInput(
            sent=True,
            value={
                "context": current.environment.context,
                "instance": current.environment.instance,
                "deployment_record_id": record_id,
                "artifact_id": "artifact-elsewhere",
                "source_git_ref": "refs/heads/main",
            },
        )
    if spec == "wrong-current":
        return wrong_identity(current)
    if spec == "current":
        return identity_of(current)
    return spec


DEPLOYMENT_ROWS = [
    # id, deploy kwargs, environment kwargs, (moves pointer, deployment_state, effect)
    pytest.param(
        {"deploy_status": "fail", "identity": "wrong-current"},
        {},
        (False, "stale_inventory", "marked"),
        id="deploy-fail-identity-mismatch-against-current-marks-stale",
    ),
    pytest.param(
        {"deploy_status": "fail", "identity": MALFORMED_IDENTITY},
        {},
        (False, "stale_inventory", "marked"),
        id="deploy-fail-identity-malformed-marks-stale",
    ),
    pytest.param(
        {"deploy_status": "fail", "identity": "wrong-current"},
        {"requires_runtime_identity": False},
        (False, "stale_inventory", "marked"),
        id="deploy-fail-identity-mismatch-counts-even-where-identity-not-required",
    ),
    pytest.param(
        {"deploy_status": "fail", "identity": "current"},
        {},
        (False, "current", "retained"),
        id="deploy-fail-retains-pointer-and-state",
    ),
    pytest.param(
        {"deploy_status": "fail", "identity": None, "post_deploy_status": "not_run", "health_status": "not_run"},
        {},
        (False, "current", "retained"),
        id="deploy-fail-without-identity-retains-pointer-and-state",
    ),
    pytest.param(
        {"identity": "wrong-own"},
        {},
        (True, "stale_inventory", "marked"),
        id="deploy-pass-identity-mismatch-marks-stale",
    ),
    pytest.param(
        {"identity": MALFORMED_IDENTITY},
        {},
        (True, "stale_inventory", "marked"),
        id="deploy-pass-identity-malformed-marks-stale",
    ),
    pytest.param(
        {"identity": "wrong-own"},
        {"requires_runtime_identity": False},
        (True, "stale_inventory", "marked"),
        id="deploy-pass-identity-mismatch-counts-even-where-identity-not-required",
    ),
    pytest.param(
        {"post_deploy_status": "fail"},
        {},
        (True, "verification_failed", "marked"),
        id="deploy-pass-post-deploy-fail-marks-verification-failed",
    ),
    pytest.param(
        {"health_status": "fail"},
        {},
        (True, "verification_failed", "marked"),
        id="deploy-pass-health-fail-where-required-marks-verification-failed",
    ),
    pytest.param(
        {"post_deploy_status": "not_run"},
        {},
        (True, "unverified", "marked"),
        id="deploy-pass-post-deploy-not-run-marks-unverified",
    ),
    pytest.param(
        {"post_deploy_status": "unknown"},
        {},
        (True, "unverified", "marked"),
        id="deploy-pass-post-deploy-unknown-marks-unverified",
    ),
    *[
        pytest.param(
            {"health_status": status},
            {},
            (True, "unverified", "marked"),
            id=f"deploy-pass-health-{status}-where-required-marks-unverified",
        )
        for status in ("skipped", "not_run", "unknown")
    ],
    *[
        pytest.param(
            {"identity": identity},
            {},
            (True, "unverified", "marked"),
            id=f"deploy-pass-identity-{name}-where-required-marks-unverified",
        )
        for name, identity in (
            ("missing", MISSING_IDENTITY),
            ("unverifiable", UNVERIFIABLE_IDENTITY),
            ("unchecked", None),
        )
    ],
    pytest.param({}, {}, (True, "current", "advanced"), id="deploy-pass-everything-else-advances"),
    pytest.param(
        {"health_status": "fail"},
        {"required_checks": ["canonical", "logo"]},
        (True, "current", "advanced"),
        id="deploy-pass-health-fail-where-not-required-advances",
    ),
    pytest.param(
        {"health_status": "skipped"},
        {"required_checks": ["canonical", "logo"]},
        (True, "current", "advanced"),
        id="deploy-pass-health-skipped-where-not-required-advances",
    ),
    *[
        pytest.param(
            {"identity": identity},
            {"requires_runtime_identity": False},
            (True, "current", "advanced"),
            id=f"deploy-pass-identity-{name}-where-not-required-advances",
        )
        for name, identity in (
            ("missing", MISSING_IDENTITY),
            ("unverifiable", UNVERIFIABLE_IDENTITY),
            ("unchecked", None),
        )
    ],
    pytest.param(
        {"post_deploy_status": "skipped"},
        {},
        (True, "current", "advanced"),
        id="deploy-pass-post-deploy-skipped-is-everything-else",
    ),
]


@pytest.mark.parametrize(("deploy_kwargs", "environment_kwargs", "expected"), DEPLOYMENT_ROWS)
def test_each_deployment_row_moves_pointer_and_artifact_side_as_the_table_says(
    baseline, deploy_kwargs, environment_kwargs, expected
) -> None:
    environment, current = baseline(**environment_kwargs)
    moves_pointer, deployment_state, effect = expected
    kwargs = dict(deploy_kwargs)
    kwargs["identity"] = _identity(kwargs.get("identity", "match"), current=current, record_id="dep-new")
    before = inventory_of(environment)
    deployments_before = DeploymentRecord.objects.count()

    recorded = deploy(environment, record_id="dep-new", finished_at=RECORD_AT, **kwargs)

    inventory = inventory_of(environment)
    record = recorded.record
    assert recorded.effect == record.inventory_effect == effect
    assert DeploymentRecord.objects.count() == deployments_before + 1
    assert inventory.current_deployment == (record if moves_pointer else current)
    assert inventory.last_deployment_attempt == record
    assert inventory.deployment_state == deployment_state
    assert inventory.data_state == "untouched"
    assert inventory.state == combine(deployment_state, "current")
    if effect == "advanced":
        assert (inventory.lkg_deployment, inventory.lkg_bootstrap, inventory.lkg_verified_at) == (
            record,
            None,
            RECORD_AT,
        )
    else:
        assert (inventory.lkg_deployment, inventory.lkg_verified_at) == (current, BASELINE_AT)
    [transition] = history(environment)[:1]
    assert recorded.transition == transition
    assert_transition(
        transition,
        from_sides=(before.deployment_state, before.data_state),
        sides=(deployment_state, "untouched"),
        effect=effect,
        cause_type="deployment",
        cause_id="dep-new",
        actor="ci",
        occurred_at=RECORD_AT,
    )
    assert InventoryTransition.objects.filter(environment=environment).count() == 2


def test_it_names_a_failed_check_that_is_not_required_in_state_reason(baseline) -> None:
    environment, _current = baseline(required_checks=["canonical", "logo"])

    deploy(environment, finished_at=RECORD_AT, health_status="fail")

    inventory = inventory_of(environment)
    assert inventory.state == "current"
    assert "health check failed but is not required" in inventory.state_reason


def test_it_keeps_the_artifact_side_as_it_was_when_a_deployment_fails(baseline) -> None:
    environment, current = baseline()
    deploy(environment, record_id="dep-unverified", finished_at=RECORD_AT, post_deploy_status="not_run")
    unverified = inventory_of(environment).current_deployment

    recorded = deploy(environment, deploy_status="fail", identity=None, finished_at=RECORD_AT + timedelta(minutes=1))

    inventory = inventory_of(environment)
    assert recorded.effect == "retained"
    assert (inventory.current_deployment, inventory.last_deployment_attempt) == (unverified, recorded.record)
    assert (inventory.deployment_state, inventory.state) == ("unverified", "unverified")
    assert inventory.lkg_deployment == current


def test_it_compares_a_failed_deployment_with_the_current_one_and_stores_what_it_expected(baseline) -> None:
    environment, current = baseline()

    recorded = deploy(environment, deploy_status="fail", identity=wrong_identity(current), finished_at=RECORD_AT)

    record = DeploymentRecord.objects.get(pk=recorded.record.pk)
    inventory = inventory_of(environment)
    assert record.expected_runtime_identity == current.own_identity
    assert (record.runtime_identity_status, record.runtime_identity_mismatches) == ("mismatch", ["artifact_id"])
    assert inventory.observed_runtime_identity == wrong_identity(current).value
    assert (inventory.runtime_identity_status, inventory.runtime_identity_mismatches) == ("mismatch", ["artifact_id"])
    assert inventory.expected_runtime_identity == current.own_identity


def _set_data_side(environment, data_state: str) -> None:
    if data_state == "bootstrap_in_progress":
        start(environment, now=BASELINE_AT + timedelta(minutes=1))
    elif data_state == "partially_bootstrapped":
        bootstrap_once(
            environment,
            passing_result(environment, bootstrap_run_status="fail", post_deploy_status="not_run"),
            now=BASELINE_AT + timedelta(minutes=1),
        )
    elif data_state == "unknown":
        bootstrap_once(
            environment,
            passing_result(
                environment, bootstrap_run_status="unknown", data_mutated=None, post_deploy_status="not_run"
            ),
            now=BASELINE_AT + timedelta(minutes=1),
        )
    assert inventory_of(environment).data_state == data_state


DATA_SIDE_PHRASES = {
    "bootstrap_in_progress": "a data bootstrap is in progress",
    "partially_bootstrapped": "the data is partially bootstrapped",
    "unknown": "the outcome of the last data bootstrap is unknown",
}


@pytest.mark.parametrize("data_state", ["partially_bootstrapped", "unknown", "bootstrap_in_progress"])
def test_it_never_clears_the_data_side_with_a_passing_deployment(baseline, data_state) -> None:
    environment, _current = baseline()
    _set_data_side(environment, data_state)
    lkg_before = inventory_of(environment).last_known_good

    recorded = deploy(environment, finished_at=RECORD_AT)

    inventory = inventory_of(environment)
    assert recorded.effect == "retained"
    assert inventory.current_deployment == recorded.record
    assert (inventory.deployment_state, inventory.data_state, inventory.state) == ("current", data_state, data_state)
    assert inventory.last_known_good == lkg_before
    assert DATA_SIDE_PHRASES[data_state] in inventory.state_reason.lower()


@pytest.mark.parametrize("data_state", ["partially_bootstrapped", "unknown", "bootstrap_in_progress"])
def test_it_names_both_sides_when_an_unverified_deployment_lands_on_a_worse_data_side(baseline, data_state) -> None:
    environment, _current = baseline()
    _set_data_side(environment, data_state)

    recorded = deploy(environment, finished_at=RECORD_AT, post_deploy_status="not_run")

    inventory = inventory_of(environment)
    assert recorded.effect == "marked"
    assert (inventory.deployment_state, inventory.data_state, inventory.state) == ("unverified", data_state, data_state)
    reason = inventory.state_reason.lower()
    assert DATA_SIDE_PHRASES[data_state] in reason
    assert "the deployment is unverified" in reason


def test_it_advances_last_known_good_with_the_bootstrap_whose_data_is_current(baseline) -> None:
    environment, _current = baseline()
    operation = bootstrap_once(environment, passing_result(environment), now=BASELINE_AT + timedelta(minutes=1))

    recorded = deploy(environment, finished_at=RECORD_AT)

    inventory = inventory_of(environment)
    assert recorded.effect == "advanced"
    assert inventory.last_known_good == {
        "deployment_record_id": recorded.record.record_id,
        "bootstrap_operation_id": operation.operation_id,
        "verified_at": RECORD_AT,
    }


def test_it_stamps_last_known_good_no_later_than_the_server_heard_of_it(environment) -> None:
    heard_at = RECORD_AT - timedelta(minutes=5)

    deploy(environment, finished_at=RECORD_AT, now=heard_at)

    assert inventory_of(environment).lkg_verified_at == heard_at


# ---------------------------------------------------------------------------------------------------
# Rule 4: order of deployments
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("deploy_status", ["pass", "fail"])
def test_it_supersedes_a_deployment_that_finished_before_the_current_one(baseline, deploy_status) -> None:
    environment, current = baseline()
    inventory_before = inventory_fields(environment)
    transitions_before = InventoryTransition.objects.count()

    recorded = deploy(
        environment, record_id="dep-old", deploy_status=deploy_status, finished_at=BASELINE_AT - timedelta(seconds=1)
    )

    stored = DeploymentRecord.objects.get(record_id="dep-old")
    assert recorded.effect == stored.inventory_effect == "superseded"
    assert recorded.transition is None
    assert stored.sequence > current.sequence
    assert InventoryTransition.objects.count() == transitions_before
    assert inventory_fields(environment) == inventory_before


def test_it_lets_a_tie_on_finished_at_go_to_arrival(baseline) -> None:
    environment, _current = baseline()

    recorded = deploy(environment, record_id="dep-tie", finished_at=BASELINE_AT)

    inventory = inventory_of(environment)
    assert recorded.effect == "advanced"
    assert inventory.current_deployment == recorded.record
    assert history(environment)[0].cause_id == "dep-tie"


def test_it_orders_by_finished_at_not_by_started_at(baseline) -> None:
    environment, current = baseline()

    recorded = record_deployment(
        environment,
        record_id="dep-long",
        artifact_id="artifact-long",
        source_git_ref="refs/heads/main",
        deploy_status="pass",
        post_deploy_status="pass",
        health_status="pass",
        started_at=BASELINE_AT - timedelta(hours=1),
        finished_at=BASELINE_AT + timedelta(seconds=1),
        identity=IdentityInput(
            sent=True,
            value={
                "context": "cm",
                "instance": "testing",
                "deployment_record_id": "dep-long",
                "artifact_id": "artifact-long",
                "source_git_ref": "refs/heads/main",
            },
        ),
        actor="ci",
        now=RECORD_AT,
    )

    assert recorded.effect == "advanced"
    assert inventory_of(environment).current_deployment.record_id == "dep-long"
    assert recorded.record.started_at < current.started_at


# ---------------------------------------------------------------------------------------------------
# Rule 8: observations, every row; rule 4 for observations
# ---------------------------------------------------------------------------------------------------


def _make_stale(environment, current) -> None:
    observe(environment, wrong_identity(current), observed_at=BASELINE_AT + timedelta(minutes=1))
    assert inventory_of(environment).deployment_state == "stale_inventory"


def _make_unverified(environment, current) -> None:
    observe(environment, MISSING_IDENTITY, observed_at=BASELINE_AT + timedelta(minutes=1))
    assert inventory_of(environment).deployment_state == "unverified"


OBSERVATION_ROWS = [
    # identity (resolved against the current deployment), setup, environment kwargs, (state, effect)
    pytest.param("wrong-current", None, {}, ("stale_inventory", "marked"), id="mismatch-marks-stale"),
    pytest.param(MALFORMED_IDENTITY, None, {}, ("stale_inventory", "marked"), id="malformed-marks-stale"),
    pytest.param(
        "wrong-current",
        None,
        {"requires_runtime_identity": False},
        ("stale_inventory", "marked"),
        id="mismatch-marks-stale-even-where-identity-not-required",
    ),
    pytest.param(
        MALFORMED_IDENTITY,
        _make_unverified,
        {},
        ("stale_inventory", "marked"),
        id="malformed-while-unverified-marks-stale",
    ),
    pytest.param(
        "current", _make_stale, {}, ("unverified", "marked"), id="match-while-stale-marks-unverified-checks-not-rerun"
    ),
    pytest.param(
        MISSING_IDENTITY, None, {}, ("unverified", "marked"), id="missing-where-required-while-current-marks-unverified"
    ),
    pytest.param(
        UNVERIFIABLE_IDENTITY,
        None,
        {},
        ("unverified", "marked"),
        id="unverifiable-where-required-while-current-marks-unverified",
    ),
    pytest.param(
        MISSING_IDENTITY,
        None,
        {"requires_runtime_identity": False},
        ("current", "retained"),
        id="missing-where-not-required-retains",
    ),
    pytest.param(
        UNVERIFIABLE_IDENTITY,
        _make_stale,
        {},
        ("stale_inventory", "retained"),
        id="unverifiable-while-stale-retains",
    ),
    pytest.param(
        MISSING_IDENTITY, _make_unverified, {}, ("unverified", "retained"), id="missing-while-unverified-retains"
    ),
    pytest.param("current", None, {}, ("current", "retained"), id="match-while-current-retains"),
    pytest.param("current", _make_unverified, {}, ("unverified", "retained"), id="match-while-unverified-retains"),
]


@pytest.mark.parametrize(("identity", "setup", "environment_kwargs", "expected"), OBSERVATION_ROWS)
def test_each_observation_row_changes_only_the_artifact_side(
    baseline, identity, setup, environment_kwargs, expected
) -> None:
    environment, current = baseline(**environment_kwargs)
    if setup:
        setup(environment, current)
    deployment_state, effect = expected
    before = inventory_of(environment)
    identity = _identity(identity, current=current, record_id=current.record_id)

    recorded = observe(environment, identity, observed_at=RECORD_AT)

    inventory = inventory_of(environment)
    observation = RuntimeObservation.objects.get(pk=recorded.record.pk)
    assert recorded.effect == observation.inventory_effect == effect
    assert (inventory.deployment_state, inventory.data_state) == (deployment_state, "untouched")
    assert inventory.state == combine(deployment_state, "untouched")
    assert inventory.current_deployment == current
    assert (inventory.lkg_deployment, inventory.lkg_verified_at) == (current, BASELINE_AT)
    assert observation.expected_runtime_identity == current.own_identity
    assert inventory.runtime_identity_status == observation.runtime_identity_status
    assert inventory.runtime_identity_mismatches == observation.runtime_identity_mismatches
    assert inventory.observed_at == RECORD_AT
    assert_transition(
        history(environment)[0],
        from_sides=(before.deployment_state, before.data_state),
        sides=(deployment_state, "untouched"),
        effect=effect,
        cause_type="observation",
        cause_id=str(observation.pk),
        actor="prober",
        occurred_at=RECORD_AT,
    )


def test_it_keeps_an_observation_with_nothing_to_compare_unchecked_and_retained(environment) -> None:
    recorded = observe(environment, IdentityInput(sent=True, value={"context": "cm"}), observed_at=RECORD_AT)

    inventory = inventory_of(environment)
    assert recorded.effect == "retained"
    assert (inventory.state, inventory.runtime_identity_status) == ("unrecorded", "unchecked")


def test_it_never_touches_the_data_side_with_an_observation(baseline) -> None:
    environment, current = baseline()
    _set_data_side(environment, "partially_bootstrapped")

    recorded = observe(environment, wrong_identity(current), observed_at=RECORD_AT)

    inventory = inventory_of(environment)
    assert recorded.effect == "marked"
    assert (inventory.deployment_state, inventory.data_state) == ("stale_inventory", "partially_bootstrapped")
    assert inventory.state == "partially_bootstrapped"


def test_it_never_moves_last_known_good_with_an_observation(baseline) -> None:
    environment, current = baseline()
    _make_stale(environment, current)

    observe(environment, identity_of(current), observed_at=RECORD_AT)

    inventory = inventory_of(environment)
    assert inventory.deployment_state == "unverified"
    assert (inventory.lkg_deployment, inventory.lkg_verified_at) == (current, BASELINE_AT)


def test_it_supersedes_an_observation_made_before_the_current_deployment_finished(baseline) -> None:
    environment, current = baseline()
    inventory_before = inventory_fields(environment)
    transitions_before = InventoryTransition.objects.count()

    recorded = observe(environment, wrong_identity(current), observed_at=BASELINE_AT - timedelta(seconds=1))

    assert recorded.effect == RuntimeObservation.objects.get(pk=recorded.record.pk).inventory_effect == "superseded"
    assert recorded.transition is None
    assert InventoryTransition.objects.count() == transitions_before
    assert inventory_fields(environment) == inventory_before


def test_it_applies_an_observation_made_when_the_current_deployment_finished(baseline) -> None:
    environment, current = baseline()

    recorded = observe(environment, wrong_identity(current), observed_at=BASELINE_AT)

    assert recorded.effect == "marked"
    assert inventory_of(environment).deployment_state == "stale_inventory"


# ---------------------------------------------------------------------------------------------------
# Rule 11: one transition per applied record
# ---------------------------------------------------------------------------------------------------


def test_it_appends_exactly_one_transition_per_applied_deployment_even_when_state_stays(baseline) -> None:
    environment, current = baseline()

    deploy(environment, deploy_status="fail", identity=identity_of(current), finished_at=RECORD_AT)
    deploy(environment, finished_at=RECORD_AT + timedelta(minutes=1))
    deploy(environment, finished_at=RECORD_AT - timedelta(minutes=1))  # superseded

    transitions = history(environment)
    assert [t.effect for t in transitions] == ["advanced", "retained", "advanced"]
    assert [(t.from_state, t.to_state) for t in transitions] == [("current", "current")] * 2 + [
        ("unrecorded", "current")
    ]
    assert [t.sequence for t in transitions] == sorted((t.sequence for t in transitions), reverse=True)


def test_it_records_the_first_deployment_as_a_transition_from_unrecorded(environment) -> None:
    recorded = deploy(environment, record_id="dep-first", finished_at=RECORD_AT, actor="ci-bot")

    assert_transition(
        recorded.transition,
        from_sides=("unrecorded", "untouched"),
        sides=("current", "untouched"),
        effect="advanced",
        cause_type="deployment",
        cause_id="dep-first",
        actor="ci-bot",
        occurred_at=RECORD_AT,
    )
    assert "dep-first" in recorded.transition.reason


# ---------------------------------------------------------------------------------------------------
# Rule 13: acknowledgement
# ---------------------------------------------------------------------------------------------------


@pytest.fixture
def unverified_environment(baseline):
    environment, _current = baseline()
    deploy(environment, finished_at=RECORD_AT, post_deploy_status="not_run")
    return environment


def test_it_acknowledges_without_changing_state_and_appends_a_transition(unverified_environment, reviewer) -> None:
    environment = unverified_environment
    before = inventory_of(environment)
    at = RECORD_AT + timedelta(minutes=5)

    transition = acknowledge(environment, user=reviewer, note="  Known: post-deploy job is flaky.  ", now=at)

    inventory = inventory_of(environment)
    assert (inventory.state, inventory.deployment_state, inventory.data_state) == (
        "unverified",
        "unverified",
        "untouched",
    )
    assert (inventory.state_reason, inventory.state_changed_at) == (before.state_reason, before.state_changed_at)
    assert (inventory.acknowledged_by, inventory.acknowledged_at) == (reviewer, at)
    assert inventory.acknowledgement_note == "Known: post-deploy job is flaky."
    assert history(environment)[0] == transition
    assert_transition(
        transition,
        from_sides=("unverified", "untouched"),
        sides=("unverified", "untouched"),
        effect="retained",
        cause_type="review",
        cause_id=transition.cause_id,
        actor="rita",
        occurred_at=at,
    )


@pytest.mark.parametrize("note", ["", "   ", None])
def test_it_refuses_an_acknowledgement_without_a_note_and_writes_nothing(
    unverified_environment, reviewer, note
) -> None:
    counts = row_counts()
    inventory_before = inventory_fields(unverified_environment)

    with pytest.raises(InvalidInput) as raised:
        acknowledge(unverified_environment, user=reviewer, note=note, now=RECORD_AT)

    assert "note" in raised.value.fields
    assert row_counts() == counts
    assert inventory_fields(unverified_environment) == inventory_before


def test_it_clears_an_acknowledgement_on_the_next_change_of_state(unverified_environment, reviewer) -> None:
    environment = unverified_environment
    acknowledge(environment, user=reviewer, note="seen", now=RECORD_AT + timedelta(minutes=1))

    deploy(environment, finished_at=RECORD_AT + timedelta(minutes=2))

    inventory = inventory_of(environment)
    assert inventory.state == "current"
    assert (inventory.acknowledged_by, inventory.acknowledged_at, inventory.acknowledgement_note) == (None, None, "")
    assert not inventory.is_acknowledged


def test_it_keeps_an_acknowledgement_through_a_record_that_leaves_state_as_it_was(
    unverified_environment, reviewer
) -> None:
    environment = unverified_environment
    acknowledge(environment, user=reviewer, note="seen", now=RECORD_AT + timedelta(minutes=1))

    recorded = deploy(environment, deploy_status="fail", identity=None, finished_at=RECORD_AT + timedelta(minutes=2))

    inventory = inventory_of(environment)
    assert recorded.effect == "retained"
    assert inventory.state == "unverified"
    assert (inventory.acknowledged_by, inventory.acknowledgement_note) == (reviewer, "seen")


# ---------------------------------------------------------------------------------------------------
# Bad input writes nothing
# ---------------------------------------------------------------------------------------------------


def test_it_refuses_an_unknown_environment(db) -> None:
    make_environment()

    with pytest.raises(NotFound) as raised:
        get_environment("cm", "nowhere")

    assert raised.value.code == "not_found"
    assert set(raised.value.fields) == {"context", "instance"}


def test_it_refuses_a_reused_record_id_and_writes_nothing(baseline) -> None:
    environment, current = baseline()
    other = make_environment(instance="prod")
    counts = row_counts()
    inventories_before = (inventory_fields(environment), inventory_fields(other))

    with pytest.raises(Conflict) as raised:
        deploy(other, record_id=current.record_id, finished_at=RECORD_AT)

    assert raised.value.fields == {"record_id": "already used"}
    assert row_counts() == counts
    assert (inventory_fields(environment), inventory_fields(other)) == inventories_before
    assert field_values(current) == field_values(DeploymentRecord.objects.get(record_id=current.record_id))


def test_it_refuses_an_unverifiable_deployment_that_carries_an_identity_and_writes_nothing(baseline) -> None:
    environment, _current = baseline()
    counts = row_counts()
    inventory_before = inventory_fields(environment)

    with pytest.raises(ContradictoryResult) as raised:
        deploy(
            environment,
            finished_at=RECORD_AT,
            identity=IdentityInput(sent=True, value={"context": "cm"}, unverifiable=True),
        )

    assert raised.value.code == "contradictory_result"
    assert set(raised.value.fields) == {"runtime_identity_status", "observed_runtime_identity"}
    assert row_counts() == counts
    assert inventory_fields(environment) == inventory_before


def test_it_refuses_an_unverifiable_observation_that_carries_an_identity_and_writes_nothing(baseline) -> None:
    environment, current = baseline()
    counts = row_counts()
    inventory_before = inventory_fields(environment)

    with pytest.raises(ContradictoryResult) as raised:
        observe(
            environment,
            IdentityInput(sent=True, value=dict(current.own_identity), unverifiable=True),
            observed_at=RECORD_AT,
        )

    assert set(raised.value.fields) == {"runtime_identity_status", "observed_runtime_identity"}
    assert row_counts() == counts
    assert inventory_fields(environment) == inventory_before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"deploy_status": "maybe"}, "deploy_status", id="unknown-deploy-status"),
        pytest.param({"health_status": "green"}, "health_status", id="unknown-check-status"),
        pytest.param({"started_at": RECORD_AT + timedelta(seconds=1)}, "finished_at", id="finished-before-started"),
        pytest.param({"record_id": "has space"}, "record_id", id="bad-record-id"),
        pytest.param({"artifact_id": "a" * 513}, "artifact_id", id="artifact-id-too-long"),
    ],
)
def test_it_refuses_an_invalid_deployment_and_writes_nothing(baseline, overrides, field) -> None:
    environment, _current = baseline()
    counts = row_counts()
    inventory_before = inventory_fields(environment)
    kwargs: dict[str, Any] = {
        "record_id": "dep-bad",
        "artifact_id": "artifact-bad",
        "source_git_ref": "refs/heads/main",
        "deploy_status": "pass",
        "started_at": RECORD_AT - timedelta(minutes=2),
        "finished_at": RECORD_AT,
        "actor": "ci",
        "now": RECORD_AT,
        **overrides,
    }

    with pytest.raises(InvalidInput) as raised:
        record_deployment(environment, **kwargs)

    assert field in raised.value.fields
    assert row_counts() == counts
    assert inventory_fields(environment) == inventory_before


@pytest.mark.parametrize(
    ("identity", "source", "field"),
    [
        pytest.param(NOT_SENT, "prober", "observed_runtime_identity", id="no-identity"),
        pytest.param(MISSING_IDENTITY, "", "source", id="no-source"),
    ],
)
def test_it_refuses_an_incomplete_observation_and_writes_nothing(baseline, identity, source, field) -> None:
    environment, _current = baseline()
    counts = row_counts()

    with pytest.raises(InvalidInput) as raised:
        observe(environment, identity, source=source, observed_at=RECORD_AT)

    assert field in raised.value.fields
    assert row_counts() == counts


# ---------------------------------------------------------------------------------------------------
# Evidence is immutable
# ---------------------------------------------------------------------------------------------------


def test_it_refuses_to_change_or_delete_a_deployment_record(baseline) -> None:
    _environment, current = baseline()
    stored = field_values(current)
    record = DeploymentRecord.objects.get(pk=current.pk)
    record.artifact_id = "artifact-rewritten"
    record.finished_at = RECORD_AT

    with pytest.raises(ValidationError):
        record.save()
    with pytest.raises(ValidationError):
        record.delete()

    assert field_values(current) == stored


def test_it_refuses_to_change_or_delete_transitions_and_observations(baseline) -> None:
    environment, current = baseline()
    observation = observe(environment, identity_of(current), observed_at=RECORD_AT).record
    transition = history(environment)[0]

    for evidence in (observation, transition):
        stored = field_values(evidence)
        evidence.actor = evidence.recorded_by = "someone-else"
        with pytest.raises(ValidationError):
            evidence.save()
        with pytest.raises(ValidationError):
            evidence.delete()
        assert field_values(evidence) == stored
