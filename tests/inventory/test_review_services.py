"""Taking responsibility, releasing it and snoozing (PRODUCT.md, "Review"), through the services:
each appends one ``review`` transition that changes no state (rule 11); a no-op appends none and says
so; a record that leaves the environment current and fresh releases whoever holds it; a snooze is
bounded and ends with the acknowledgement at the next change of state (rule 13)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inventory.models import EnvironmentInventory
from inventory.services import SNOOZE_LIMIT, acknowledge, release, take
from launchplane.errors import InvalidInput, PermissionRefused
from tests.factories import (
    T0,
    assert_transition,
    deploy,
    history,
    inventory_of,
    make_environment,
    row_counts,
    staff_user,
)

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(hours=1)


@pytest.fixture
def hana():
    return staff_user("hana")


@pytest.fixture
def omar():
    return staff_user("omar", "operators")


@pytest.fixture
def failing():
    """cm/testing whose current deployment failed its health check: verification_failed, in review."""
    environment = make_environment()
    deploy(environment, "dep-bad", health_status="fail", finished_at=T0)
    assert inventory_of(environment).state == "verification_failed"
    return environment


def latest(environment):
    return history(environment)[0]


# ---------------------------------------------------------------------------------------------------
# Take, take over, release
# ---------------------------------------------------------------------------------------------------


def test_taking_records_who_and_when_in_one_review_transition_without_changing_state(failing, hana) -> None:
    before = inventory_of(failing)
    transitions = len(history(failing))

    done = take(failing, user=hana, now=NOW)

    inventory = inventory_of(failing)
    assert (inventory.assignee, inventory.assigned_at) == (hana, NOW)
    assert (inventory.state, inventory.state_reason, inventory.state_changed_at) == (
        before.state,
        before.state_reason,
        before.state_changed_at,
    )
    assert len(history(failing)) == transitions + 1 and latest(failing) == done.transition
    assert_transition(
        done.transition,
        from_sides=("verification_failed", "untouched"),
        sides=("verification_failed", "untouched"),
        effect="retained",
        cause_type="review",
        cause_id="take:hana",
        actor="hana",
        occurred_at=NOW,
    )
    assert done.transition.reason == "Taken by hana."
    assert (done.changed, done.previous, done.message) == (True, None, "You took cm/testing.")


def test_taking_what_you_already_hold_changes_nothing_and_says_so(failing, hana) -> None:
    take(failing, user=hana, now=NOW)
    counts, fields = row_counts(), inventory_of(failing).__dict__.copy()

    done = take(failing, user=hana, now=NOW + timedelta(minutes=5))

    assert done.transition is None and not done.changed
    assert done.message == f"You already hold cm/testing since {NOW:%Y-%m-%d %H:%M} UTC: nothing changed."
    assert row_counts() == counts
    after = inventory_of(failing)
    assert (after.assigned_at, after.last_sequence) == (fields["assigned_at"], fields["last_sequence"])


def test_taking_over_names_both_reviewers(failing, hana, omar) -> None:
    take(failing, user=hana, now=NOW)

    done = take(failing, user=omar, now=NOW + timedelta(minutes=5))

    inventory = inventory_of(failing)
    assert (inventory.assignee, inventory.assigned_at) == (omar, NOW + timedelta(minutes=5))
    assert done.previous == "hana" and done.message == "You took cm/testing over from hana."
    assert done.transition.reason == f"Taken over by omar from hana (held since {NOW:%Y-%m-%d %H:%M} UTC)."
    assert (done.transition.actor, done.transition.cause_type, done.transition.effect) == ("omar", "review", "retained")


def test_releasing_hands_the_environment_back(failing, hana) -> None:
    take(failing, user=hana, now=NOW)

    done = release(failing, user=hana, now=NOW + timedelta(minutes=1))

    inventory = inventory_of(failing)
    assert (inventory.assignee, inventory.assigned_at) == (None, None)
    assert done.transition.reason == "Released by hana." and done.message == "You released cm/testing."
    assert (done.transition.cause_id, done.transition.effect, done.transition.to_state) == (
        "release:hana",
        "retained",
        "verification_failed",
    )


def test_anyone_with_the_permission_may_release_and_the_reason_names_both(failing, hana, omar) -> None:
    take(failing, user=hana, now=NOW)

    done = release(failing, user=omar, now=NOW + timedelta(minutes=1))

    assert inventory_of(failing).assignee is None
    assert done.transition.reason == "Released by omar on behalf of hana."
    assert done.previous == "hana"


def test_releasing_what_nobody_holds_changes_nothing_and_says_so(failing, hana) -> None:
    counts = row_counts()

    done = release(failing, user=hana, now=NOW)

    assert done.transition is None and done.message == "Nobody holds cm/testing: nothing changed."
    assert row_counts() == counts


def test_read_only_staff_can_neither_take_nor_release_and_nothing_is_written(failing, hana) -> None:
    reader = staff_user("rob", group=None)
    take(failing, user=hana, now=NOW)
    counts = row_counts()
    for service in (take, release):
        with pytest.raises(PermissionRefused) as refused:
            service(failing, user=reader, now=NOW + timedelta(minutes=1))
        assert "acknowledge" in refused.value.message
    assert row_counts() == counts
    assert inventory_of(failing).assignee == hana


def test_an_environment_that_is_current_and_fresh_cannot_be_taken(hana) -> None:
    environment = make_environment()
    deploy(environment, finished_at=T0)
    counts = row_counts()

    with pytest.raises(InvalidInput) as refused:
        take(environment, user=hana, now=NOW)

    assert refused.value.message == "cm/testing is current and fresh: there is nothing to take responsibility for."
    assert row_counts() == counts


def test_a_current_but_stale_environment_can_be_taken(hana) -> None:
    environment = make_environment()
    deploy(environment, finished_at=T0 - timedelta(days=3))  # verified 3 days ago, TTL one day

    done = take(environment, user=hana, now=NOW)

    assert done.changed and inventory_of(environment).assignee == hana


# ---------------------------------------------------------------------------------------------------
# Released automatically when current and fresh again (apply_transition, one place)
# ---------------------------------------------------------------------------------------------------


def test_a_record_that_leaves_the_environment_current_and_fresh_releases_the_holder(failing, hana) -> None:
    take(failing, user=hana, now=NOW)
    transitions = len(history(failing))

    recorded = deploy(failing, "dep-good", finished_at=NOW + timedelta(minutes=5))

    inventory = inventory_of(failing)
    assert (recorded.effect, inventory.state) == ("advanced", "current")
    assert (inventory.assignee, inventory.assigned_at) == (None, None)
    # The release rides on the record's own transition (rule 11: one per record) and says so.
    assert len(history(failing)) == transitions + 1
    assert recorded.transition.reason.endswith("Released hana's hold: the environment is current and fresh again.")
    assert recorded.transition.cause_type == "deployment"


def test_a_record_that_leaves_it_current_but_stale_keeps_the_holder(hana) -> None:
    environment = make_environment()
    deploy(environment, "dep-bad", health_status="fail", finished_at=T0 - timedelta(days=3))
    take(environment, user=hana, now=NOW)

    # Recorded now, finished (and so verified) two days ago: current, but stale.
    recorded = deploy(environment, "dep-old", finished_at=T0 - timedelta(days=2), now=NOW)

    inventory = inventory_of(environment)
    assert (recorded.effect, inventory.state, inventory.freshness_at(NOW)) == ("advanced", "current", "stale")
    assert inventory.assignee == hana
    assert "Released" not in recorded.transition.reason


def test_a_record_that_leaves_it_not_current_keeps_the_holder(failing, hana) -> None:
    take(failing, user=hana, now=NOW)

    recorded = deploy(failing, "dep-worse", post_deploy_status="fail", finished_at=NOW + timedelta(minutes=5))

    assert recorded.effect == "marked"
    assert inventory_of(failing).assignee == hana


# ---------------------------------------------------------------------------------------------------
# Snooze: an acknowledgement with ``until``
# ---------------------------------------------------------------------------------------------------


def test_an_acknowledgement_may_snooze_the_environment_up_to_seven_days(failing, hana) -> None:
    until = NOW + SNOOZE_LIMIT

    transition = acknowledge(failing, user=hana, note="Fix lands Monday", until=until, now=NOW)

    inventory = inventory_of(failing)
    assert inventory.acknowledged_until == until
    assert inventory.is_snoozed(NOW) and not inventory.is_snoozed(until)
    assert transition.reason == f"Acknowledged by hana (snoozed until {until:%Y-%m-%d %H:%M} UTC): Fix lands Monday"
    assert (transition.cause_type, transition.effect) == ("review", "retained")
    assert list(EnvironmentInventory.objects.snoozed(NOW)) == [inventory]
    assert not EnvironmentInventory.objects.not_snoozed(NOW).exists()
    assert EnvironmentInventory.objects.not_snoozed(until).exists()  # back once the snooze ends


@pytest.mark.parametrize(
    ("until", "field_error", "words"),
    [
        (NOW - timedelta(minutes=1), "not in the future", "Snooze until a time in the future"),
        (NOW, "not in the future", "Snooze until a time in the future"),
        (NOW + SNOOZE_LIMIT + timedelta(minutes=1), "more than 7 days ahead", "Snooze for at most 7 days"),
        (NOW.replace(tzinfo=None) + timedelta(hours=1), "no time zone", "until needs a time zone"),
    ],
    ids=["past", "now", "beyond-7-days", "naive"],
)
def test_a_snooze_outside_its_bounds_is_refused_and_nothing_is_written(
    failing, hana, until: datetime, field_error: str, words: str
) -> None:
    counts = row_counts()

    with pytest.raises(InvalidInput) as refused:
        acknowledge(failing, user=hana, note="seen", until=until, now=NOW)

    assert refused.value.fields == {"until": field_error}
    assert refused.value.message.startswith(words)
    assert row_counts() == counts
    assert inventory_of(failing).acknowledged_at is None


def test_the_seven_day_limit_is_said_in_utc(failing, hana) -> None:
    with pytest.raises(InvalidInput) as refused:
        acknowledge(failing, user=hana, note="seen", until=NOW + timedelta(days=8), now=NOW)
    latest_allowed = (NOW + SNOOZE_LIMIT).astimezone(UTC)
    assert f"until {latest_allowed:%Y-%m-%d %H:%M} UTC at the latest" in refused.value.message


def test_a_snooze_ends_when_the_state_changes(failing, hana) -> None:
    acknowledge(failing, user=hana, note="seen", until=NOW + timedelta(days=2), now=NOW)

    deploy(failing, "dep-unproven", post_deploy_status="not_run", finished_at=NOW + timedelta(minutes=5))

    inventory = inventory_of(failing)
    assert inventory.state == "unverified"  # another state, still in review
    assert (inventory.acknowledged_at, inventory.acknowledged_until) == (None, None)
    assert not inventory.is_snoozed(NOW + timedelta(minutes=6))
    assert EnvironmentInventory.objects.not_snoozed(NOW + timedelta(minutes=6)).filter(pk=failing.pk).exists()


def test_a_snooze_survives_a_record_that_leaves_the_state_as_it_was(failing, hana) -> None:
    until = NOW + timedelta(days=2)
    acknowledge(failing, user=hana, note="seen", until=until, now=NOW)

    recorded = deploy(failing, deploy_status="fail", identity=None, finished_at=NOW + timedelta(minutes=5))

    assert recorded.effect == "retained"
    assert inventory_of(failing).acknowledged_until == until


def test_a_new_acknowledgement_replaces_the_snooze(failing, hana) -> None:
    acknowledge(failing, user=hana, note="seen", until=NOW + timedelta(days=2), now=NOW)

    acknowledge(failing, user=hana, note="looked again: no snooze", now=NOW + timedelta(minutes=1))

    assert inventory_of(failing).acknowledged_until is None


def test_taking_and_acknowledging_leave_each_other_alone(failing, hana, omar) -> None:
    acknowledge(failing, user=hana, note="seen", until=NOW + timedelta(days=1), now=NOW)
    take(failing, user=omar, now=NOW + timedelta(minutes=1))
    inventory = inventory_of(failing)
    assert (inventory.acknowledgement_note, inventory.assignee) == ("seen", omar)

    release(failing, user=omar, now=NOW + timedelta(minutes=2))
    acknowledge(failing, user=hana, note="again", now=NOW + timedelta(minutes=3))
    inventory = inventory_of(failing)
    assert (inventory.acknowledgement_note, inventory.assignee) == ("again", None)
