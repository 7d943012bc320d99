"""An operation's lifecycle over HTTP, as a bootstrap driver lives it: progress events and heartbeats,
a deadline that passes with no sweeper running, late, duplicate and superseded results, and cancels
(rules 4, 7, 9 and the REST contract).

The clock is ``django.utils.timezone.now``, patched for the whole test and moved by hand: no sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from bootstraps.models import BootstrapOperation
from inventory.models import DeploymentRecord, InventoryTransition
from tests.api.support import BOOTSTRAPS, ENVIRONMENTS, environment_url, error_of, history_url, post, result_body
from tests.factories import deploy, make_environment, row_counts

pytestmark = pytest.mark.django_db

ENVIRONMENT = environment_url()
HISTORY = history_url()
BOARD = "/"
ADMIN_OPERATIONS = "/admin/bootstraps/bootstrapoperation/"


@pytest.fixture
def wall(clock) -> Iterator[Any]:
    """The one clock every view, service and the auth layer read (``tests.conftest.Clock``), set to
    now in whole seconds and moved only by hand."""
    clock.now = timezone.now().replace(microsecond=0)
    with mock.patch("django.utils.timezone.now", new=clock):
        yield clock


@pytest.fixture
def deployment(wall: Any) -> DeploymentRecord:
    """cm/testing with a current deployment ``dep-1`` and no bootstrap yet (data untouched)."""
    environment = make_environment()
    finished_at = wall.now - timedelta(minutes=10)
    return deploy(environment, record_id="dep-1", finished_at=finished_at, now=finished_at).record


@pytest.fixture
def staff(db) -> Client:
    """An operator with a session for the board and the admin."""
    user = get_user_model().objects.create_user(username="opal", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def operation_url(operation_id: str, action: str = "") -> str:
    return f"{BOOTSTRAPS}{operation_id}/" + (f"{action}/" if action else "")


def start_over_http(http: APIClient, timeout_seconds: int = 60, key: str = "start-1") -> dict[str, Any]:
    response = post(
        http,
        BOOTSTRAPS,
        {"context": "cm", "instance": "testing", "data_source": "upstream_restore", "timeout_seconds": timeout_seconds},
        key=key,
    )
    assert response.status_code == 201, response.json()
    return response.json()


def history(http: APIClient) -> list[dict[str, Any]]:
    return http.get(HISTORY).json()["results"]


def stored(operation: dict[str, Any]) -> BootstrapOperation:
    return BootstrapOperation.objects.get(operation_id=operation["operation_id"])


def board_row(html: str, environment: str) -> str:
    match = re.search(rf'<tr data-environment="{re.escape(environment)}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no board row for {environment}"
    return match.group(0)


def board_count(html: str, state: str) -> int:
    chip = re.search(rf'data-value="{state}".*?lp-chip__count">(\d+)<', html, re.S)
    assert chip, f"no count for {state}"
    return int(chip.group(1))


# ---------------------------------------------------------------------------------------------------
# A one-second deadline that passes while nobody sweeps
# ---------------------------------------------------------------------------------------------------


def read_operation(http: APIClient, staff: Client, operation_id: str) -> None:
    http.get(operation_url(operation_id))


def read_environment(http: APIClient, staff: Client, operation_id: str) -> None:
    http.get(ENVIRONMENT)


def read_timed_out_list(http: APIClient, staff: Client, operation_id: str) -> None:
    http.get(BOOTSTRAPS, {"status": "timed_out"})


def read_board(http: APIClient, staff: Client, operation_id: str) -> None:
    staff.get(BOARD)


def read_admin(http: APIClient, staff: Client, operation_id: str) -> None:
    staff.get(ADMIN_OPERATIONS)


@pytest.mark.parametrize(
    "first_reader",
    [read_operation, read_environment, read_timed_out_list, read_board, read_admin],
    ids=["operation", "environment", "filtered-list", "board", "admin"],
)
def test_a_one_second_bootstrap_reads_timed_out_everywhere_without_the_sweeper_until_its_late_result_lands(
    automation, wall, deployment, staff, first_reader
) -> None:
    http = automation.http
    started = start_over_http(http, timeout_seconds=1)
    operation_id, deadline = started["operation_id"], parse(started["deadline"])
    assert deadline == wall.now + timedelta(seconds=1)
    assert http.get(operation_url(operation_id)).json()["status"] == "running"

    wall.advance(seconds=3)
    first_reader(http, staff, operation_id)  # whichever reader comes first expires it, stamped with the deadline
    assert stored(started).status == "timed_out"

    operation = http.get(operation_url(operation_id)).json()
    assert (operation["status"], operation["readiness_status"]) == ("timed_out", "unknown")
    assert (operation["bootstrap_run_status"], operation["inventory_effect"], operation["late"]) == (
        "unknown",
        "marked",
        False,
    )
    environment = http.get(ENVIRONMENT).json()
    assert (environment["data_state"], environment["state"]) == ("unknown", "unknown")
    assert environment["deployment_state"] == "current"
    assert (environment["last_bootstrap"]["operation_id"], environment["last_bootstrap"]["status"]) == (
        operation_id,
        "timed_out",
    )
    timed_out = http.get(BOOTSTRAPS, {"status": "timed_out"}).json()
    assert (timed_out["count"], [row["operation_id"] for row in timed_out["results"]]) == (1, [operation_id])
    assert http.get(BOOTSTRAPS, {"status": "running"}).json()["count"] == 0
    assert http.get(BOOTSTRAPS, {"readiness_status": "pending"}).json()["count"] == 0
    assert http.get(ENVIRONMENTS, {"state": "unknown"}).json()["count"] == 1
    assert http.get(ENVIRONMENTS, {"state": "bootstrap_in_progress"}).json()["count"] == 0

    board = staff.get(BOARD)
    assert board.status_code == 200
    html = board.content.decode()
    assert 'data-state="unknown"' in board_row(html, "cm/testing")
    assert (board_count(html, "unknown"), board_count(html, "bootstrap_in_progress")) == (1, 0)
    admin = staff.get(ADMIN_OPERATIONS)
    assert admin.status_code == 200
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{operation_id}.*?</tr>", admin.content.decode(), re.S)
    assert row, "the operation is not on the admin changelist"
    status_cell = re.search(r'class="field-status_badge">(.*?)</td>', row.group(0), re.S)
    assert status_cell and 'data-value="timed_out"' in status_cell.group(1)
    assert "timed out</span>" in status_cell.group(1)
    assert InventoryTransition.objects.filter(cause_type="deadline").count() == 1  # every reader, one expiry

    wall.advance(seconds=2)
    late = post(http, operation_url(operation_id, "result"), result_body(deployment.own_identity))

    assert late.status_code == 200, late.json()
    answered = late.json()
    assert (answered["status"], answered["late"]) == ("finished", True)
    assert (answered["readiness_status"], answered["inventory_effect"]) == ("ready", "advanced")
    assert parse(answered["result_received_at"]) == wall.now
    assert (answered["environment"]["state"], answered["environment"]["data_state"]) == ("current", "current")
    assert answered["environment"]["last_known_good"]["bootstrap_operation_id"] == operation_id
    assert http.get(BOOTSTRAPS, {"status": "finished"}).json()["count"] == 1
    assert http.get(BOOTSTRAPS, {"status": "timed_out"}).json()["count"] == 0
    transitions = history(http)
    assert [(t["cause_type"], t["cause_id"], t["effect"]) for t in transitions] == [
        ("bootstrap", operation_id, "advanced"),
        ("deadline", operation_id, "marked"),
        ("bootstrap", operation_id, "pending"),
        ("deployment", "dep-1", "advanced"),
    ]
    result, expiry, start = transitions[:3]
    assert (start["data_state"], start["to_state"]) == ("bootstrap_in_progress", "bootstrap_in_progress")
    assert (expiry["data_state"], expiry["to_state"]) == ("unknown", "unknown")
    assert parse(expiry["occurred_at"]) == deadline
    assert parse(start["occurred_at"]) == deadline - timedelta(seconds=1)
    assert (result["from_state"], result["to_state"]) == ("unknown", "current")


# ---------------------------------------------------------------------------------------------------
# Late results
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        pytest.param(False, ("untouched", "current", "retained"), id="before-mutation-restores"),
        pytest.param(True, ("unknown", "unknown", "marked"), id="after-mutation-is-unknown"),
    ],
)
def test_a_deadline_restores_the_data_side_only_when_an_event_said_data_unchanged(
    automation, wall, deployment, reported, expected
) -> None:
    started = start_over_http(automation.http, timeout_seconds=60)
    wall.advance(seconds=30)
    event = {"phase": "bootstrap", "data_mutated": reported}
    assert post(automation.http, operation_url(started["operation_id"], "events"), event).status_code == 200
    wall.advance(seconds=40)

    operation = automation.http.get(operation_url(started["operation_id"])).json()

    data_state, state, effect = expected
    assert (operation["status"], operation["readiness_status"], operation["inventory_effect"]) == (
        "timed_out",
        "unknown",
        effect,
    )
    assert operation["data_mutated"] is reported
    environment = automation.http.get(ENVIRONMENT).json()
    assert (environment["data_state"], environment["state"]) == (data_state, state)
    expiry = history(automation.http)[0]
    assert (expiry["cause_type"], expiry["effect"], parse(expiry["occurred_at"])) == (
        "deadline",
        effect,
        parse(started["deadline"]),
    )


def test_a_late_failure_is_accepted_and_judged_by_the_table(automation, wall, deployment) -> None:
    started = start_over_http(automation.http, timeout_seconds=60)
    wall.advance(seconds=90)

    response = post(
        automation.http,
        operation_url(started["operation_id"], "result"),
        {"bootstrap_run_status": "fail", "data_mutated": True, "error_message": "restore died half way"},
    )

    assert response.status_code == 200
    answered = response.json()
    assert (answered["status"], answered["late"]) == ("finished", True)
    assert (answered["readiness_status"], answered["inventory_effect"]) == ("partially_bootstrapped", "marked")
    assert answered["environment"]["data_state"] == "partially_bootstrapped"
    assert [t["cause_type"] for t in history(automation.http)[:2]] == ["bootstrap", "deadline"]


def test_a_duplicate_late_result_with_the_same_idempotency_key_replays_the_first_answer_and_writes_nothing(
    automation, wall, deployment
) -> None:
    started = start_over_http(automation.http, timeout_seconds=60)
    url = operation_url(started["operation_id"], "result")
    wall.advance(seconds=90)
    first = post(automation.http, url, result_body(deployment.own_identity), key="result-1")
    assert (first.status_code, first.json()["late"]) == (200, True)
    assert "Idempotent-Replayed" not in first
    counts = row_counts()
    wall.advance(seconds=30)

    replay = post(automation.http, url, result_body(deployment.own_identity), key="result-1")

    assert replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert row_counts() == counts

    unkeyed = post(automation.http, url, result_body(deployment.own_identity))

    error_of(unkeyed, 409, "operation_finished")
    assert row_counts() == counts


def test_a_late_result_after_a_newer_bootstrap_is_stored_superseded_and_changes_nothing(
    automation, wall, deployment
) -> None:
    http = automation.http
    old = start_over_http(http, timeout_seconds=60, key="start-old")
    wall.advance(seconds=90)
    newer = start_over_http(http, key="start-new")  # the old one expires first
    assert stored(old).status == "timed_out"
    wall.advance(seconds=10)
    assert (
        post(http, operation_url(newer["operation_id"], "result"), result_body(deployment.own_identity)).status_code
        == 200
    )
    environment_before = http.get(ENVIRONMENT).json()
    transitions_before = history(http)
    wall.advance(seconds=10)

    response = post(http, operation_url(old["operation_id"], "result"), result_body(deployment.own_identity))

    assert response.status_code == 200
    answered = response.json()
    assert (answered["status"], answered["late"]) == ("finished", True)
    assert (answered["readiness_status"], answered["inventory_effect"]) == ("ready", "superseded")
    assert answered["environment"] == environment_before
    assert http.get(ENVIRONMENT).json() == environment_before
    assert history(http) == transitions_before
    assert [(t["cause_id"], t["effect"]) for t in transitions_before[:3]] == [
        (newer["operation_id"], "advanced"),
        (newer["operation_id"], "pending"),
        (old["operation_id"], "marked"),
    ]


def test_a_late_result_after_a_newer_deployment_is_compared_with_that_deployment(automation, wall, deployment) -> None:
    started = start_over_http(automation.http, timeout_seconds=60)
    wall.advance(seconds=90)
    newer = deploy(deployment.environment, record_id="dep-2", finished_at=wall.now, now=wall.now).record
    wall.advance(seconds=10)

    # The runtime still reports dep-1: against the new current deployment, that is a mismatch.
    response = post(
        automation.http, operation_url(started["operation_id"], "result"), result_body(deployment.own_identity)
    )

    assert response.status_code == 200
    answered = response.json()
    assert answered["late"] is True
    assert answered["expected_runtime_identity"] == newer.own_identity
    assert answered["runtime_identity_status"] == "mismatch"
    assert set(answered["runtime_identity_mismatches"]) == {"deployment_record_id", "artifact_id"}
    assert (answered["readiness_status"], answered["inventory_effect"]) == ("verification_failed", "marked")
    environment = answered["environment"]
    assert (environment["deployment_state"], environment["data_state"]) == ("stale_inventory", "verification_failed")
    assert environment["current_deployment"]["record_id"] == "dep-2"


# ---------------------------------------------------------------------------------------------------
# Nothing more after the end
# ---------------------------------------------------------------------------------------------------


def _finish(http: APIClient, wall: Any, deployment: DeploymentRecord, operation_id: str) -> None:
    assert post(http, operation_url(operation_id, "result"), result_body(deployment.own_identity)).status_code == 200


def _cancel(http: APIClient, wall: Any, deployment: DeploymentRecord, operation_id: str) -> None:
    assert post(http, operation_url(operation_id, "cancel"), {"reason": "stop"}).status_code == 200


def _time_out(http: APIClient, wall: Any, deployment: DeploymentRecord, operation_id: str) -> None:
    wall.advance(seconds=61)
    assert http.get(operation_url(operation_id)).json()["status"] == "timed_out"


EVENT = {"phase": "verification", "data_mutated": True, "extend_deadline_seconds": 600}


@pytest.mark.parametrize(
    ("end", "action", "accepted"),
    [
        pytest.param(_finish, "events", False, id="event-after-finished"),
        pytest.param(_cancel, "events", False, id="event-after-cancelled"),
        pytest.param(_time_out, "events", False, id="event-after-timed-out"),
        pytest.param(_finish, "result", False, id="result-after-finished"),
        pytest.param(_cancel, "result", False, id="result-after-cancelled"),
        pytest.param(_time_out, "result", True, id="result-after-timed-out-is-late"),
        pytest.param(_finish, "cancel", False, id="cancel-after-finished"),
        pytest.param(_cancel, "cancel", False, id="cancel-after-cancelled"),
        pytest.param(_time_out, "cancel", False, id="cancel-after-timed-out"),
    ],
)
def test_after_the_end_only_a_late_result_for_a_timed_out_operation_is_accepted(
    automation, wall, deployment, end, action, accepted
) -> None:
    operation_id = start_over_http(automation.http)["operation_id"]
    end(automation.http, wall, deployment, operation_id)
    body = {
        "events": EVENT,
        "result": result_body(deployment.own_identity),
        "cancel": {"reason": "again", "data_mutated": False},
    }[action]
    counts = row_counts()
    operation_before = automation.http.get(operation_url(operation_id)).json()
    wall.advance(seconds=5)

    response = post(automation.http, operation_url(operation_id, action), body, key=f"{action}-after-end")

    if accepted:
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["late"]) == ("finished", True)
        return
    error = error_of(response, 409, "operation_finished")
    assert operation_id in error["message"]
    assert row_counts() == counts  # no transition, no idempotency key for a 4xx
    assert automation.http.get(operation_url(operation_id)).json() == operation_before


# ---------------------------------------------------------------------------------------------------
# Progress events
# ---------------------------------------------------------------------------------------------------


def test_an_event_records_phase_and_data_mutated_and_appends_no_transition(automation, wall, deployment) -> None:
    operation_id = start_over_http(automation.http)["operation_id"]
    transitions = InventoryTransition.objects.count()
    wall.advance(seconds=5)

    response = post(
        automation.http, operation_url(operation_id, "events"), {"phase": "post_deploy", "data_mutated": True}
    )

    assert response.status_code == 200
    answered = response.json()
    assert (answered["status"], answered["phase"], answered["data_mutated"]) == ("running", "post_deploy", True)
    assert answered["environment"]["data_state"] == "bootstrap_in_progress"
    assert InventoryTransition.objects.count() == transitions


def test_a_heartbeat_keeps_an_operation_running_past_its_first_deadline(automation, wall, deployment) -> None:
    started = start_over_http(automation.http, timeout_seconds=60)
    operation_id, started_at = started["operation_id"], parse(started["started_at"])
    wall.advance(seconds=50)

    beat = post(
        automation.http, operation_url(operation_id, "events"), {"phase": "bootstrap", "extend_deadline_seconds": 120}
    )

    assert beat.status_code == 200
    extended = started_at + timedelta(seconds=170)
    assert parse(beat.json()["deadline"]) == extended
    wall.advance(seconds=50)  # 100 s after the start: overdue by the first deadline, not by the new one
    assert automation.http.get(operation_url(operation_id)).json()["status"] == "running"
    assert automation.http.get(ENVIRONMENT).json()["data_state"] == "bootstrap_in_progress"
    assert automation.http.get(BOOTSTRAPS, {"status": "running"}).json()["count"] == 1
    wall.advance(seconds=71)
    assert automation.http.get(operation_url(operation_id)).json()["status"] == "timed_out"
    expiry = history(automation.http)[0]
    assert (expiry["cause_type"], parse(expiry["occurred_at"])) == ("deadline", extended)


def test_an_event_taking_data_mutated_back_to_false_answers_400_contradictory_result(
    automation, wall, deployment
) -> None:
    operation_id = start_over_http(automation.http)["operation_id"]
    url = operation_url(operation_id, "events")
    assert post(automation.http, url, {"phase": "bootstrap", "data_mutated": True}).status_code == 200
    counts = row_counts()

    response = post(automation.http, url, {"phase": "verification", "data_mutated": False}, key="event-2")

    error = error_of(response, 400, "contradictory_result")
    assert "data_mutated" in error["fields"]
    assert row_counts() == counts
    operation = automation.http.get(operation_url(operation_id)).json()
    assert (operation["phase"], operation["data_mutated"]) == ("bootstrap", True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"phase": "restore"}, "phase", id="unknown-phase"),
        pytest.param({}, "phase", id="no-phase"),
        pytest.param({"phase": "bootstrap", "extend_deadline_seconds": 0}, "extend_deadline_seconds", id="zero"),
        pytest.param({"phase": "bootstrap", "progress": 50}, "progress", id="unknown-field"),
    ],
)
def test_an_invalid_event_answers_400_naming_the_field(automation, wall, deployment, body, field) -> None:
    operation_id = start_over_http(automation.http)["operation_id"]
    counts = row_counts()

    response = post(automation.http, operation_url(operation_id, "events"), body)

    error = error_of(response, 400, "validation_error")
    assert field in error["fields"]
    assert row_counts() == counts


def test_an_event_for_an_overdue_operation_expires_it_first_and_answers_409(automation, wall, deployment) -> None:
    started = start_over_http(automation.http, timeout_seconds=60)
    wall.advance(seconds=61)

    response = post(
        automation.http,
        operation_url(started["operation_id"], "events"),
        {"phase": "verification", "extend_deadline_seconds": 600},
    )

    error_of(response, 409, "operation_finished")
    operation = stored(started)
    assert (operation.status, operation.deadline) == ("timed_out", parse(started["deadline"]))
    expiry = InventoryTransition.objects.filter(cause_type="deadline").get()
    assert (expiry.cause_id, expiry.occurred_at) == (started["operation_id"], operation.deadline)


# ---------------------------------------------------------------------------------------------------
# Cancel before and after mutation
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reported", "cancel", "expected"),
    [
        pytest.param(False, {}, ("untouched", "retained"), id="reported-unchanged-restores"),
        pytest.param(None, {"data_mutated": False}, ("untouched", "retained"), id="cancel-says-unchanged-restores"),
        pytest.param(True, {}, ("unknown", "marked"), id="reported-changed-is-unknown"),
        pytest.param(None, {"data_mutated": None}, ("unknown", "marked"), id="not-known-is-unknown"),
        pytest.param(False, {"data_mutated": True}, ("unknown", "marked"), id="cancel-says-changed-is-unknown"),
    ],
)
def test_a_cancel_restores_the_data_side_only_when_data_is_known_unchanged(
    automation, wall, deployment, reported, cancel, expected
) -> None:
    operation_id = start_over_http(automation.http)["operation_id"]
    if reported is not None:
        event = {"phase": "bootstrap", "data_mutated": reported}
        assert post(automation.http, operation_url(operation_id, "events"), event).status_code == 200
    wall.advance(seconds=20)

    response = post(automation.http, operation_url(operation_id, "cancel"), {"reason": "wrong source", **cancel})

    assert response.status_code == 200
    data_state, effect = expected
    answered = response.json()
    assert (answered["status"], answered["readiness_status"], answered["inventory_effect"]) == (
        "cancelled",
        "unknown",
        effect,
    )
    assert answered["environment"]["data_state"] == data_state
    newest = history(automation.http)[0]
    assert (newest["cause_type"], newest["effect"], parse(newest["occurred_at"])) == ("cancel", effect, wall.now)


def test_a_cancel_saying_data_unchanged_after_an_event_said_changed_answers_400(automation, wall, deployment) -> None:
    operation_id = start_over_http(automation.http)["operation_id"]
    post(automation.http, operation_url(operation_id, "events"), {"phase": "bootstrap", "data_mutated": True})
    counts = row_counts()

    response = post(automation.http, operation_url(operation_id, "cancel"), {"reason": "stop", "data_mutated": False})

    assert "data_mutated" in error_of(response, 400, "contradictory_result")["fields"]
    assert row_counts() == counts
    assert automation.http.get(operation_url(operation_id)).json()["status"] == "running"
