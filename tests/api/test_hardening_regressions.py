"""The defects an adversarial pass over the API found, each proved fixed as a client would notice it.

One test (or a few) per defect, over HTTP: what was answered before the fix is what these refuse.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from bootstraps.models import BootstrapOperation
from inventory.models import DeploymentRecord, Environment, InventoryTransition
from tests.api.support import (
    BOOTSTRAPS,
    DEPLOYMENTS,
    ENVIRONMENTS,
    OMIT,
    deployed_env,
    deployment_body,
    environment_url,
    error_of,
    iso,
    new_key,
    observations_url,
    post,
    result_body,
    result_url,
    start_body,
)
from tests.factories import T0, deploy, make_environment, report_progress, row_counts, runtime_identity, start

pytestmark = pytest.mark.django_db


DEEP = "<deep>"


def nested(depth: int) -> object:
    value: object = {"context": "cm"}
    for _ in range(depth):
        value = {"deeper": value}
    return value


def send_with_deep_identity(http, url: str, body: dict, depth: int):
    """POST ``body`` with ``DEEP`` replaced by an identity nested ``depth`` levels, encoded by hand:
    Python's own JSON encoder gives up long before the server may."""
    deep = '{"deeper":' * depth + '{"context":"cm"}' + "}" * depth
    raw = json.dumps(body).replace(json.dumps(DEEP), deep)
    return http.post(url, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=new_key())


# ---------------------------------------------------------------------------------------------------
# 1. A result cannot un-mutate data a progress event reported changed
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("run", ["fail", "not_run", "unknown"])
def test_a_result_saying_data_unchanged_after_an_event_said_it_changed_is_a_contradiction(automation, run) -> None:
    operation = start(deployed_env())
    events = post(
        automation.http, f"{BOOTSTRAPS}{operation.operation_id}/events/", {"phase": "bootstrap", "data_mutated": True}
    )
    assert events.status_code == 200, events.json()
    before = row_counts()

    response = post(
        automation.http,
        result_url(operation.operation_id),
        result_body(bootstrap_run_status=run, data_mutated=False, post_deploy_status="not_run"),
        key=new_key(),
    )

    error = error_of(response, 400, "contradictory_result")
    assert "data_mutated" in error["fields"]
    operation.refresh_from_db()
    assert (operation.status, operation.data_mutated) == ("running", True)
    assert row_counts() == before  # nothing stored, the idempotency key included


# ---------------------------------------------------------------------------------------------------
# 2. Deep JSON is a 400, everywhere a body is read
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [40, 315, 600, 950, 5000])
@pytest.mark.parametrize("endpoint", ["deployment", "observation", "result", "one-shot"])
def test_an_identity_nested_too_deeply_answers_400_validation_error_and_stores_nothing(
    automation, endpoint, depth
) -> None:
    operation = start(deployed_env())
    deep = DEEP
    url, body = {
        "deployment": (DEPLOYMENTS, deployment_body(record_id="dep-2", identity_value=deep)),
        "observation": (
            observations_url(),
            {"observed_runtime_identity": deep, "source": "prober", "observed_at": iso(timezone.now())},
        ),
        "result": (result_url(operation.operation_id), result_body(observed_runtime_identity=deep)),
        "one-shot": (BOOTSTRAPS, start_body(instance="other", result=result_body(observed_runtime_identity=deep))),
    }[endpoint]
    before = row_counts()

    response = send_with_deep_identity(automation.http, url, body, depth)

    error = error_of(response, 400, "validation_error")
    assert "deeper than" in error["message"]
    assert row_counts() == before


def test_a_body_nested_within_the_bound_is_accepted(automation) -> None:
    deployed_env()
    body = deployment_body(record_id="dep-2", identity_value=None)
    body["observed_runtime_identity"] = nested(25)
    assert post(automation.http, DEPLOYMENTS, body).status_code == 201


# ---------------------------------------------------------------------------------------------------
# 3. A failed result that reports another identity marks the artifact side stale
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "data_mutated", "data_state"),
    [
        ("fail", False, "untouched"),  # restores the data state from before the start
        ("not_run", False, "untouched"),
        ("unknown", False, "untouched"),
        ("fail", True, "partially_bootstrapped"),
        ("fail", None, "unknown"),
    ],
)
def test_a_failed_result_reporting_another_identity_reads_stale_inventory_not_current(
    automation, run, data_mutated, data_state
) -> None:
    environment = make_environment()
    deploy(environment, "dep-1")
    operation = start(environment)

    response = post(
        automation.http,
        result_url(operation.operation_id),
        result_body(
            runtime_identity("dep-1", artifact_id="artifact-something-else"),
            bootstrap_run_status=run,
            data_mutated=data_mutated,
            post_deploy_status="not_run",
        ),
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["inventory_effect"] == "marked"
    environment_read = body["environment"]
    assert environment_read["runtime_identity_status"] == "mismatch"
    assert environment_read["runtime_identity_mismatches"] == ["artifact_id"]
    assert environment_read["deployment_state"] == "stale_inventory"
    assert environment_read["data_state"] == data_state
    assert environment_read["state"] != "current"
    assert "identity" in environment_read["state_reason"]


# ---------------------------------------------------------------------------------------------------
# 4. A one-shot never finishes before it started; "since" is server time
# ---------------------------------------------------------------------------------------------------


def test_a_one_shot_finished_long_before_its_arrival_is_refused(automation) -> None:
    deployed_env()
    before = row_counts()

    response = post(
        automation.http, BOOTSTRAPS, start_body(result=result_body(finished_at="2001-01-01T00:00:00Z")), key=new_key()
    )

    error = error_of(response, 400, "validation_error")
    assert "result.finished_at" in error["fields"]
    assert row_counts() == before


def test_a_one_shot_finished_before_its_own_started_at_is_refused(automation) -> None:
    deployed_env()
    now = timezone.now()
    body = result_body(started_at=iso(now - timedelta(minutes=5)), finished_at=iso(now - timedelta(minutes=10)))

    response = post(automation.http, BOOTSTRAPS, start_body(result=body), key=new_key())

    error = error_of(response, 400, "validation_error")
    assert "result.finished_at" in error["fields"]


def test_a_one_shot_may_send_the_runs_own_start_and_keeps_it_as_evidence(automation) -> None:
    deployed_env()
    now = timezone.now().replace(microsecond=0)
    started, finished = now - timedelta(hours=2), now - timedelta(hours=1)
    body = result_body(runtime_identity("dep-1"), started_at=iso(started), finished_at=iso(finished))

    response = post(automation.http, BOOTSTRAPS, start_body(result=body), key=new_key())

    assert response.status_code == 201, response.json()
    operation = response.json()
    assert operation["started_at"] == iso(started)
    assert operation["finished_at"] == iso(finished)
    assert operation["environment"]["state"] == "current"


def test_a_two_step_result_does_not_take_started_at(automation) -> None:
    operation = start(deployed_env())
    response = post(automation.http, result_url(operation.operation_id), result_body(started_at=iso(timezone.now())))
    assert "started_at" in error_of(response, 400, "validation_error")["fields"]


def test_state_changed_at_is_when_launchplane_recorded_the_change_not_the_clients_finish(automation) -> None:
    make_environment()
    arrival = timezone.now()
    body = deployment_body(record_id="dep-1")
    body["started_at"], body["finished_at"] = "2020-01-01T00:00:00Z", "2020-01-01T00:05:00Z"

    response = post(automation.http, DEPLOYMENTS, body)

    assert response.status_code == 201, response.json()
    environment = response.json()["environment"]
    assert environment["state"] == "current"
    changed_at = InventoryTransition.objects.get(cause_id="dep-1")
    assert changed_at.occurred_at.year == 2020  # the client's time, kept as evidence
    assert changed_at.recorded_at >= arrival
    assert environment["state_changed_at"] == iso(changed_at.recorded_at)


def test_the_banner_says_for_how_long_by_server_time(client: Client, django_user_model) -> None:
    environment = make_environment()
    # Finished "five years ago" by the client's clock, recorded now by the server's.
    deploy(environment, "dep-1", finished_at=T0 - timedelta(days=5 * 365), now=timezone.now())
    client.force_login(django_user_model.objects.create_user(username="ops", is_staff=True))
    page = client.get(f"/environments/{environment.context}/{environment.instance}/").content.decode()
    assert "Current for less than a minute" in page
    assert "Current for 5 years" not in page


# ---------------------------------------------------------------------------------------------------
# 5. A failed deployment attempt keeps the remark about the current deployment
# ---------------------------------------------------------------------------------------------------


def test_a_failed_attempt_keeps_the_remark_that_the_current_deployments_health_failed_unrequired(automation) -> None:
    post(automation.http, ENVIRONMENTS, {"context": "cm", "instance": "testing", "required_checks": ["canonical"]})
    first = post(automation.http, DEPLOYMENTS, deployment_body(record_id="dep-1", health_status="fail"))
    assert "health check failed but is not required" in first.json()["environment"]["state_reason"]

    failed = post(
        automation.http, DEPLOYMENTS, deployment_body(record_id="dep-2", deploy_status="fail", identity_value=OMIT)
    )

    environment = failed.json()["environment"]
    assert environment["current_deployment"]["record_id"] == "dep-1"
    assert environment["state"] == "current"
    assert "health check failed but is not required" in environment["state_reason"]


# ---------------------------------------------------------------------------------------------------
# 6. Filters: empty means no filter, a value outside the choices is a 400 naming the filter
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"{ENVIRONMENTS}?context=",
        f"{ENVIRONMENTS}?context=&state=",
        f"{DEPLOYMENTS}?context=&deploy_status=",
        f"{BOOTSTRAPS}?context=&status=&late=",
    ],
)
def test_an_empty_filter_value_means_no_filter(automation, url) -> None:
    deployed_env()
    response = automation.http.get(url)
    assert response.status_code == 200, response.json()
    assert response.json()["count"] >= (1 if "bootstraps" not in url else 0)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (f"{ENVIRONMENTS}?state=bogus", "state"),
        (f"{ENVIRONMENTS}?freshness=bogus", "freshness"),
        (f"{BOOTSTRAPS}?status=bogus", "status"),
        (f"{DEPLOYMENTS}?deploy_status=bogus", "deploy_status"),
        (f"{BOOTSTRAPS}?late=maybe", "late"),
        (f"{environment_url()}history/?effect=bogus", "effect"),
    ],
)
def test_a_filter_value_outside_its_choices_answers_400_naming_the_filter(automation, url, name) -> None:
    deployed_env()
    assert name in error_of(automation.http.get(url), 400, "validation_error")["fields"]


def test_the_late_filter_takes_true_and_false(automation) -> None:
    operation = start(deployed_env())
    assert automation.http.get(f"{BOOTSTRAPS}?late=false").json()["count"] == 1
    assert automation.http.get(f"{BOOTSTRAPS}?late=true").json()["count"] == 0
    assert operation.late is False


def test_the_board_answers_400_naming_a_filter_it_did_not_understand(client: Client, django_user_model) -> None:
    deployed_env()
    client.force_login(django_user_model.objects.create_user(username="ops", is_staff=True))
    response = client.get("/?state=bogus")
    assert response.status_code == 400
    page = response.content.decode()
    assert "state:" in page and "not understood" in page
    assert "cm/testing" not in page.split("environments-heading", 1)[1]


# ---------------------------------------------------------------------------------------------------
# 7. Identifiers are taken exactly as sent, or refused
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["artifact_id", "source_git_ref", "image_digest", "record_id", "context", "instance"])
@pytest.mark.parametrize("value", ["  padded  ", "trailing\n", "\tleading", "in\x01side", "abc\n"])
def test_a_deployment_identifier_with_whitespace_or_control_characters_is_refused_not_trimmed(
    automation, field, value
) -> None:
    deployed_env()
    before = row_counts()
    body = deployment_body(record_id="dep-2")
    body[field] = value
    response = post(automation.http, DEPLOYMENTS, body)
    assert field in error_of(response, 400, "validation_error")["fields"]
    assert row_counts() == before


@pytest.mark.parametrize("field", ["context", "instance"])
def test_an_environment_slug_with_a_trailing_newline_is_refused_not_trimmed(automation, field) -> None:
    body = {"context": "cm", "instance": "abc", field: ("cm" if field == "context" else "abc") + "\n"}
    assert field in error_of(post(automation.http, ENVIRONMENTS, body), 400, "validation_error")["fields"]
    assert not Environment.objects.exists()


def test_an_identifier_is_stored_exactly_as_sent(automation) -> None:
    deployed_env()
    body = deployment_body(record_id="dep-2", artifact_id="ghcr.io/x:1 (rebuilt)")
    assert post(automation.http, DEPLOYMENTS, body).status_code == 201
    assert DeploymentRecord.objects.get(record_id="dep-2").artifact_id == "ghcr.io/x:1 (rebuilt)"


# ---------------------------------------------------------------------------------------------------
# 8. Freshness: an environment that holds an observation is "recorded", not "missing"
# ---------------------------------------------------------------------------------------------------


def test_an_environment_with_only_an_observation_reads_recorded_not_missing(automation) -> None:
    make_environment()
    assert automation.http.get(environment_url()).json()["freshness"] == "missing"

    response = post(
        automation.http,
        observations_url(),
        {
            "observed_runtime_identity": runtime_identity("dep-1"),
            "source": "prober",
            "observed_at": iso(timezone.now()),
        },
    )

    assert response.status_code == 201, response.json()
    assert response.json()["environment"]["freshness"] == "recorded"
    assert automation.http.get(f"{ENVIRONMENTS}?freshness=recorded").json()["count"] == 1
    assert automation.http.get(f"{ENVIRONMENTS}?freshness=missing").json()["count"] == 0


def test_a_data_unchanged_progress_report_still_lets_a_cancel_restore(automation) -> None:
    """Guard for defect 1's fix: a progress event saying data is unchanged is not a contradiction."""
    operation = start(deployed_env())
    report_progress(operation, data_mutated=False, now=timezone.now())
    response = post(automation.http, f"{BOOTSTRAPS}{operation.operation_id}/cancel/", {"reason": "wrong source"})
    assert response.status_code == 200, response.json()
    assert BootstrapOperation.objects.get(pk=operation.pk).status == "cancelled"


# ---------------------------------------------------------------------------------------------------
# Found by the access matrix: the schema and docs routes answer their errors in the error body too
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/schema/", "/api/v1/docs/"])
def test_the_schema_and_docs_answer_401_in_the_json_error_body(anonymous, url) -> None:
    response = anonymous.get(url)
    assert response["Content-Type"].startswith("application/json")
    error_of(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("url", "accept"), [("/api/v1/schema/", "text/html"), ("/api/v1/docs/", "application/json")])
def test_the_schema_and_docs_answer_406_in_the_json_error_body(automation, url, accept) -> None:
    response = automation.http.get(url, HTTP_ACCEPT=accept)
    assert response["Content-Type"].startswith("application/json")
    error_of(response, 406, "not_acceptable")


# ---------------------------------------------------------------------------------------------------
# Found by fault injection: an expiry stays committed when the write after it is refused, with a key too
# ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_refused_cancel_with_an_idempotency_key_still_leaves_the_overdue_operation_timed_out(automation) -> None:
    operation = start(deployed_env(), timeout_seconds=60, now=timezone.now() - timedelta(hours=1))

    response = post(automation.http, f"{BOOTSTRAPS}{operation.operation_id}/cancel/", {"reason": "x"}, key=new_key())

    error_of(response, 409, "operation_finished")
    operation.refresh_from_db()
    assert operation.status == "timed_out"
    assert InventoryTransition.objects.filter(cause_type="deadline", cause_id=operation.operation_id).count() == 1


# ---------------------------------------------------------------------------------------------------
# Found by a hostile-client review
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["text/html,application/xhtml+xml,*/*;q=0.8", "*/*", "application/json"])
def test_the_api_answers_json_to_a_browser_and_to_a_client(automation, accept) -> None:
    deployed_env()
    history = automation.http.get(f"{environment_url()}history/", HTTP_ACCEPT=accept)
    assert history.status_code == 200 and history["Content-Type"].startswith("application/json")
    refused = automation.http.get(f"{ENVIRONMENTS}?state=bogus", HTTP_ACCEPT=accept)
    assert refused["Content-Type"].startswith("application/json")
    error_of(refused, 400, "validation_error")


def test_a_client_that_accepts_only_html_gets_406_in_the_json_error_body(automation) -> None:
    deployed_env()
    response = automation.http.get(f"{environment_url()}history/", HTTP_ACCEPT="text/html")
    assert response["Content-Type"].startswith("application/json")
    error_of(response, 406, "not_acceptable")


def test_the_browsable_api_format_is_not_served(automation) -> None:
    deployed_env()
    error_of(automation.http.get(f"{environment_url()}history/?format=api"), 404, "not_found")


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/schema/"])
def test_options_on_the_schema_and_docs_answers_405_in_the_error_body(automation, url) -> None:
    error_of(automation.http.options(url), 405, "method_not_allowed")


@pytest.mark.parametrize("value", ["testing ", "testing%0A", "%09testing", "testing%C2%A0", "test%E2%80%8Bing"])
@pytest.mark.parametrize("base", [ENVIRONMENTS, DEPLOYMENTS, BOOTSTRAPS])
def test_an_identifier_filter_is_never_trimmed_a_padded_value_answers_400(automation, base, value) -> None:
    deployed_env()
    response = automation.http.get(f"{base}?instance={value}")
    assert "instance" in error_of(response, 400, "validation_error")["fields"]


def test_a_padded_context_filter_is_a_400_not_a_403(automation) -> None:
    deployed_env()
    assert (
        "context" in error_of(automation.http.get(f"{ENVIRONMENTS}?context=cm%20"), 400, "validation_error")["fields"]
    )


def test_a_padded_artifact_id_filter_answers_400(automation) -> None:
    deployed_env()
    response = automation.http.get(f"{DEPLOYMENTS}?artifact_id=%20artifact-dep-1")
    assert "artifact_id" in error_of(response, 400, "validation_error")["fields"]


@pytest.mark.parametrize(
    "query",
    [
        "post_deploy_status=pass&post_deploy_status=",
        "deploy_status=bogus&deploy_status=pass",
        "deploy_status=pass&deploy_status=fail",
        "instance=testing&instance=prod",
    ],
)
def test_a_single_valued_filter_given_twice_answers_400_naming_it(automation, query) -> None:
    deployed_env()
    name = query.split("=", 1)[0]
    assert name in error_of(automation.http.get(f"{DEPLOYMENTS}?{query}"), 400, "validation_error")["fields"]


def test_a_choice_filter_may_still_repeat_to_mean_any_of(automation) -> None:
    deployed_env()
    response = automation.http.get(f"{ENVIRONMENTS}?state=current&state=unverified")
    assert response.status_code == 200 and response.json()["count"] == 1


@pytest.mark.parametrize(
    ("query", "name"),
    [("page=abc", "page"), ("page=0", "page"), ("page=-1", "page"), ("page=1.5", "page")]
    + [(f"page_size={size}", "page_size") for size in ("abc", "0", "-5", "1e3", "100000")],
)
def test_a_page_or_page_size_that_is_not_a_whole_number_in_range_answers_400_naming_it(automation, query, name) -> None:
    deployed_env()
    assert name in error_of(automation.http.get(f"{ENVIRONMENTS}?{query}"), 400, "validation_error")["fields"]


def test_a_page_past_the_end_still_answers_404(automation) -> None:
    deployed_env()
    error_of(automation.http.get(f"{ENVIRONMENTS}?page=9"), 404, "not_found")
    assert automation.http.get(f"{ENVIRONMENTS}?page=last&page_size=500").status_code == 200


def test_a_result_that_does_not_know_whether_data_changed_keeps_what_an_event_reported(automation) -> None:
    operation = start(deployed_env())
    post(automation.http, f"{BOOTSTRAPS}{operation.operation_id}/events/", {"phase": "bootstrap", "data_mutated": True})

    response = post(
        automation.http,
        result_url(operation.operation_id),
        result_body(bootstrap_run_status="fail", data_mutated=None, post_deploy_status="not_run"),
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["data_mutated"] is True
    assert body["readiness_status"] == "partially_bootstrapped"
    assert body["environment"]["data_state"] == "partially_bootstrapped"


def test_a_one_shot_that_finished_just_before_it_arrived_starts_no_later_than_it_finished(automation) -> None:
    deployed_env()
    finished = timezone.now().replace(microsecond=0) - timedelta(seconds=200)  # within the clock skew

    response = post(
        automation.http,
        BOOTSTRAPS,
        start_body(result=result_body(runtime_identity("dep-1"), finished_at=iso(finished))),
        key=new_key(),
    )

    assert response.status_code == 201, response.json()
    operation = BootstrapOperation.objects.get(operation_id=response.json()["operation_id"])
    assert operation.started_at <= operation.finished_at == finished


def test_a_one_shot_starting_after_its_arrival_without_a_finish_is_refused(automation) -> None:
    deployed_env()
    later = iso(timezone.now() + timedelta(seconds=200))
    response = post(automation.http, BOOTSTRAPS, start_body(result=result_body(started_at=later)), key=new_key())
    assert "result.started_at" in error_of(response, 400, "validation_error")["fields"]


def test_a_passing_bootstrap_keeps_the_remark_about_the_current_deployment(automation) -> None:
    post(
        automation.http,
        ENVIRONMENTS,
        {"context": "cm", "instance": "testing", "required_checks": ["canonical", "logo"]},
    )
    post(automation.http, DEPLOYMENTS, deployment_body(record_id="dep-1", health_status="fail"))

    response = post(
        automation.http, BOOTSTRAPS, start_body(result=result_body(runtime_identity("dep-1"))), key=new_key()
    )

    environment = response.json()["environment"]
    assert environment["state"] == "current"
    assert "health check failed but is not required" in environment["state_reason"]


@pytest.mark.parametrize("char", ["\u200b", "\ufeff", "\u2060", "\u00ad", "\u202e", "\u061c", "\U000e0001", "\u00a0"])
@pytest.mark.parametrize("field", ["artifact_id", "source_git_ref", "image_digest"])
def test_an_identifier_hiding_an_invisible_character_is_refused(automation, field, char) -> None:
    deployed_env()
    body = deployment_body(record_id="dep-2")
    body[field] = f"x1{char}"
    assert field in error_of(post(automation.http, DEPLOYMENTS, body), 400, "validation_error")["fields"]


@pytest.mark.parametrize("url", ["ftp://x.example/", "ftps://x.example/", " http://x.example/ ", "http://x.example/\n"])
def test_base_url_is_http_or_https_exactly_as_sent(automation, url) -> None:
    body = {"context": "cm", "instance": "web", "base_url": url}
    assert "base_url" in error_of(post(automation.http, ENVIRONMENTS, body), 400, "validation_error")["fields"]
    assert not Environment.objects.exists()


def test_a_chunked_body_without_a_length_answers_411_instead_of_reading_as_empty() -> None:
    from django.test import RequestFactory

    from launchplane.api.plumbing import ApiBodyLimitMiddleware

    request = RequestFactory().post(DEPLOYMENTS, b"{}", content_type="application/json")
    del request.META["CONTENT_LENGTH"]
    request.META["HTTP_TRANSFER_ENCODING"] = "chunked"
    response = ApiBodyLimitMiddleware(lambda request: None)(request)
    assert response.status_code == 411
    assert json.loads(response.content)["error"]["code"] == "length_required"


# ---------------------------------------------------------------------------------------------------
# Found by a fresh review of the session's commits
# ---------------------------------------------------------------------------------------------------


def test_a_two_step_result_finished_before_its_operation_started_is_refused_even_within_the_skew(automation) -> None:
    operation = start(deployed_env())
    early = iso(operation.started_at - timedelta(seconds=120))
    before = row_counts()

    response = post(automation.http, result_url(operation.operation_id), result_body(finished_at=early), key=new_key())

    assert "finished_at" in error_of(response, 400, "validation_error")["fields"]
    assert row_counts() == before


def test_a_result_for_a_finished_operation_answers_409_whatever_its_finish_says(automation) -> None:
    operation = start(deployed_env())
    assert post(automation.http, result_url(operation.operation_id), result_body()).status_code == 200
    early = iso(operation.started_at - timedelta(seconds=600))
    response = post(automation.http, result_url(operation.operation_id), result_body(finished_at=early))
    error_of(response, 409, "operation_finished")


@pytest.mark.parametrize("base", [ENVIRONMENTS, DEPLOYMENTS, BOOTSTRAPS])
def test_an_over_long_context_filter_answers_400_not_an_empty_list(automation, base) -> None:
    deployed_env()
    response = automation.http.get(f"{base}?context={'a' * 64}")
    assert "context" in error_of(response, 400, "validation_error")["fields"]
