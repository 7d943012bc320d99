"""The verification REST contract: queueing a run, reading runs, the read model's additions and the
environment settings (create and PATCH), with scope and roles as for every record.

Runs are executed with a fake prober (no traffic); the probes themselves are proved in
tests/inventory/test_probes.py and end to end in tests/test_verification_live.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Environment, EnvironmentInventory, VerificationRun
from inventory.services import create_environment
from inventory.services.verification import execute_run
from tests.inventory.test_verification_services import BASE_URL, deployed, prober_for

pytestmark = pytest.mark.django_db

API = "/api/v1"


def verify_url(context: str = "cm", instance: str = "testing") -> str:
    return f"{API}/environments/{context}/{instance}/verify/"


def environment_url(context: str = "cm", instance: str = "testing") -> str:
    return f"{API}/environments/{context}/{instance}/"


def error_code(response) -> str:
    return response.json()["error"]["code"]


# ---------------------------------------------------------------------------------------------------
# POST /verify/
# ---------------------------------------------------------------------------------------------------


def test_verify_queues_a_run_and_answers_202_then_200_with_the_same_run(automation) -> None:
    deployed()

    first = automation.http.post(verify_url(), format="json")
    again = automation.http.post(verify_url(), format="json")

    assert first.status_code == 202, first.json()
    body = first.json()
    assert (body["status"], body["trigger"], body["requested_by"]) == ("queued", "api", "api:ci-cm")
    assert body["run_id"].startswith("ver-")
    assert body["environment"] is None  # not finished yet
    assert again.status_code == 200
    assert again.json()["run_id"] == body["run_id"]
    assert VerificationRun.objects.count() == 1


def test_verify_without_a_base_url_answers_409_not_verifiable(automation) -> None:
    create_environment(context="cm", instance="testing")

    response = automation.http.post(verify_url(), format="json")

    assert response.status_code == 409
    assert error_code(response) == "not_verifiable"
    assert not VerificationRun.objects.exists()


def test_verify_while_a_bootstrap_is_active_answers_409_bootstrap_active(automation) -> None:
    from bootstraps.services import start_bootstrap

    environment = deployed()
    start_bootstrap(environment, data_source="empty", actor="driver")

    response = automation.http.post(verify_url(), format="json")

    assert response.status_code == 409
    assert error_code(response) == "bootstrap_active"


def test_verify_refuses_a_body(automation) -> None:
    deployed()

    response = automation.http.post(verify_url(), {"force": True}, format="json")

    assert response.status_code == 400
    assert error_code(response) == "validation_error"
    assert not VerificationRun.objects.exists()


def test_verify_with_an_idempotency_key_replays_the_first_answer(automation) -> None:
    deployed()

    first = automation.http.post(verify_url(), format="json", HTTP_IDEMPOTENCY_KEY="verify-1")
    replay = automation.http.post(verify_url(), format="json", HTTP_IDEMPOTENCY_KEY="verify-1")

    assert (first.status_code, replay.status_code) == (202, 202)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["run_id"] == first.json()["run_id"]


def test_verify_of_an_unknown_environment_is_404(automation) -> None:
    response = automation.http.post(verify_url("cm", "nowhere"), format="json")

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("who", "status"),
    [("reader", 403), ("outsider", 403), ("anonymous", 401)],
)
def test_verify_is_refused_to_read_only_out_of_scope_and_anonymous_clients(request, who, status) -> None:
    deployed()
    caller = request.getfixturevalue(who)
    http = caller if who == "anonymous" else caller.http

    response = http.post(verify_url(), format="json")

    assert response.status_code == status
    assert not VerificationRun.objects.exists()
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


# ---------------------------------------------------------------------------------------------------
# Reading runs
# ---------------------------------------------------------------------------------------------------


def finished_run(instance: str = "testing", context_environment=None) -> VerificationRun:
    environment = context_environment or deployed(instance)
    run = VerificationRun.objects.create(
        environment=environment,
        trigger="api",
        requested_by="ci",
        queued_at=timezone.now(),
        timeout_seconds=30,
        deadline=timezone.now() + timedelta(minutes=1),
    )
    return execute_run(run.run_id, prober=prober_for(environment))


def test_a_finished_run_reads_with_its_probes_and_the_environment_read_model(automation) -> None:
    run = finished_run()

    body = automation.http.get(f"{API}/verifications/{run.run_id}/").json()

    assert (body["status"], body["inventory_effect"]) == ("finished", "advanced")
    assert (body["health_status"], body["canonical_status"], body["logo_status"]) == ("pass", "pass", "pass")
    assert body["runtime_identity_status"] == "match"
    assert [probe["probe"] for probe in body["probes"]] == ["health", "canonical", "logo"]
    assert set(body["probes"][0]) == {
        "probe",
        "url",
        "status",
        "status_code",
        "content_type",
        "failure_class",
        "detail",
        "elapsed_ms",
    }
    assert body["environment"]["state"] == "current"
    assert body["environment"]["last_verification"]["run_id"] == run.run_id


def test_the_read_model_carries_last_verification_and_the_settings(automation) -> None:
    run = finished_run()

    body = automation.http.get(environment_url()).json()

    last = body["last_verification"]
    assert (last["run_id"], last["status"], last["trigger"], last["inventory_effect"]) == (
        run.run_id,
        "finished",
        "api",
        "advanced",
    )
    assert last["finished_at"]
    assert body["freshness"] == "verified"
    assert body["base_url"] == BASE_URL
    assert body["health_path"] == "/web/health"
    assert body["verification_interval_seconds"] == 43200  # half the default TTL
    assert (body["verification_timeout_seconds"], body["preview_marker"]) == (30, "")
    assert (body["verify_tls"], body["verify_after_records"]) == (True, False)


def test_the_list_is_scoped_filtered_and_newest_first(automation) -> None:
    first = finished_run("one")
    second = finished_run("two")
    acme = create_environment(context="acme", instance="prod", base_url=BASE_URL)
    VerificationRun.objects.create(
        environment=acme,
        trigger="schedule",
        requested_by="schedule",
        queued_at=timezone.now(),
        timeout_seconds=30,
        deadline=timezone.now() + timedelta(minutes=1),
    )

    listed = automation.http.get(f"{API}/verifications/").json()
    filtered = automation.http.get(f"{API}/verifications/", {"instance": "one", "status": "finished"}).json()

    assert [run["run_id"] for run in listed["results"]] == [second.run_id, first.run_id]
    assert all(run["environment"]["context"] == "cm" for run in listed["results"])
    assert [run["run_id"] for run in filtered["results"]] == [first.run_id]


def test_a_list_page_costs_the_same_queries_for_one_and_many_runs(automation, django_assert_max_num_queries) -> None:
    finished_run("one")
    with django_assert_max_num_queries(20) as one:
        automation.http.get(f"{API}/verifications/")
    for number in range(2, 7):
        finished_run(f"env-{number}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert automation.http.get(f"{API}/verifications/").json()["count"] == 6


def test_a_bad_filter_value_answers_400(automation) -> None:
    response = automation.http.get(f"{API}/verifications/", {"status": "done"})

    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]


def test_runs_outside_the_scope_are_404_by_id_and_403_by_context(outsider, automation) -> None:
    run = finished_run()

    assert outsider.http.get(f"{API}/verifications/{run.run_id}/").status_code == 404
    assert outsider.http.get(f"{API}/verifications/", {"context": "cm"}).status_code == 403
    assert outsider.http.get(f"{API}/verifications/").json()["count"] == 0
    assert automation.http.get(f"{API}/verifications/ver-unknown/").status_code == 404


def test_a_read_only_client_reads_runs(reader) -> None:
    run = finished_run()

    assert reader.http.get(f"{API}/verifications/{run.run_id}/").status_code == 200


# ---------------------------------------------------------------------------------------------------
# Settings: create and PATCH
# ---------------------------------------------------------------------------------------------------


def test_create_accepts_the_verification_settings(automation) -> None:
    response = automation.http.post(
        f"{API}/environments/",
        {
            "context": "cm",
            "instance": "probed",
            "base_url": "https://probed.example.com",
            "health_path": "/status",
            "verification_interval_seconds": 2,
            "verification_ttl_seconds": 6,
            "verification_timeout_seconds": 5,
            "preview_marker": "PREVIEW",
            "verify_tls": False,
            "verify_after_records": False,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    environment = Environment.objects.get(instance="probed")
    assert (environment.health_path, environment.verification_interval_seconds) == ("/status", 2)
    assert (environment.verification_timeout_seconds, environment.preview_marker) == (5, "PREVIEW")
    assert (environment.verify_tls, environment.verify_after_records) == (False, False)


def test_patch_changes_settings_only_and_answers_the_read_model(automation) -> None:
    deployed()

    response = automation.http.patch(
        environment_url(), {"verification_timeout_seconds": 10, "preview_marker": "STAGING"}, format="json"
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["verification_timeout_seconds"], body["preview_marker"]) == (10, "STAGING")
    assert body["state"] == "unverified"
    environment = Environment.objects.get(instance="testing")
    assert environment.verification_timeout_seconds == 10


@pytest.mark.parametrize(
    "body",
    [
        {"state": "current"},
        {"deployment_state": "current"},
        {"context": "acme"},
        {"instance": "other"},
        {"verification_timeout_seconds": 0},
        {"verification_timeout_seconds": 301},
        {"verification_interval_seconds": -1},
        {"health_path": "web/health"},
        {"health_path": "/web health"},
        {"base_url": "ftp://runtime.example.com"},
        {"verify_tls": "yes"},
        {"required_checks": []},
    ],
    ids=lambda body: "-".join(f"{k}={v}" for k, v in body.items()),
)
def test_patch_refuses_state_fields_names_and_bad_settings(automation, body) -> None:
    deployed()
    before = EnvironmentInventory.objects.get(environment__instance="testing")
    settings_before = Environment.objects.values().get(instance="testing")

    response = automation.http.patch(environment_url(), body, format="json")

    assert response.status_code == 400, response.json()
    assert error_code(response) == "validation_error"
    assert set(body) <= set(response.json()["error"]["fields"])
    assert Environment.objects.values().get(instance="testing") == settings_before
    assert EnvironmentInventory.objects.get(pk=before.pk).state == before.state


def test_patch_with_null_interval_goes_back_to_half_the_ttl(automation) -> None:
    deployed(verification_interval_seconds=60)

    body = automation.http.patch(environment_url(), {"verification_interval_seconds": None}, format="json").json()

    assert body["verification_interval_seconds"] == 43200


@pytest.mark.parametrize(("who", "status"), [("reader", 403), ("outsider", 403), ("anonymous", 401)])
def test_patch_is_refused_to_read_only_out_of_scope_and_anonymous_clients(request, who, status) -> None:
    deployed()
    caller = request.getfixturevalue(who)
    http = caller if who == "anonymous" else caller.http

    response = http.patch(environment_url(), {"preview_marker": "X"}, format="json")

    assert response.status_code == status
    assert Environment.objects.get(instance="testing").preview_marker == ""


def test_patch_of_an_unknown_environment_is_404(automation) -> None:
    assert automation.http.patch(environment_url("cm", "nowhere"), {}, format="json").status_code == 404
