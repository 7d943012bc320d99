"""Safe retries: every POST accepts an Idempotency-Key; the same key and body replay the first response,
another body is refused, a duplicate in flight is refused, a rejected request keeps no key, and keys
belong to one client."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from bootstraps.models import BootstrapOperation
from inventory.models import DeploymentRecord, InventoryTransition
from launchplane.api.idempotency import fingerprint
from launchplane.models import IdempotencyKey
from tests.api.conftest import Caller, make_caller
from tests.api.support import (
    BOOTSTRAPS,
    CREATED,
    DEPLOYMENTS,
    ENVIRONMENTS,
    POST_ENDPOINTS,
    cancel_url,
    deployed_env,
    deployment_body,
    environment_body,
    error_of,
    new_key,
    post,
    start_body,
)
from tests.factories import finish, make_environment, passing_result, row_counts, start

pytestmark = pytest.mark.django_db

# A field each endpoint accepts with another value, to make "the same key with another body".
VARIED_FIELD = {
    "environments": ("base_url", "https://elsewhere.example.com"),
    "deployments": ("artifact_id", "artifact-other"),
    "observations": ("source", "another-prober"),
    "bootstrap-start": ("reason", "another reason"),
    "bootstrap-one-shot": ("reason", "another reason"),
    "bootstrap-result": ("error_message", "another message"),
    "bootstrap-cancel": ("reason", "another reason"),
}


def succeeded(name: str) -> int:
    return CREATED.get(name, 201)


def owner_of(caller: Caller) -> str:
    return f"client:{caller.model.pk}"


@pytest.mark.parametrize("name", POST_ENDPOINTS)
def test_the_same_key_and_body_replay_the_first_response_and_create_nothing(automation, name) -> None:
    url, body = POST_ENDPOINTS[name]()
    key = new_key()
    first = post(automation.http, url, body, key=key)
    assert first.status_code == succeeded(name), first.json()
    assert "Idempotent-Replayed" not in first.headers
    after_first = row_counts()

    again = post(automation.http, url, body, key=key)

    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert row_counts() == after_first


@pytest.mark.parametrize("name", POST_ENDPOINTS)
def test_the_same_key_with_another_body_answers_422_idempotency_key_reused(automation, name) -> None:
    url, body = POST_ENDPOINTS[name]()
    key = new_key()
    assert post(automation.http, url, body, key=key).status_code == succeeded(name)
    after_first = row_counts()
    field, value = VARIED_FIELD[name]

    response = post(automation.http, url, {**body, field: value}, key=key)

    error_of(response, 422, "idempotency_key_reused")
    assert row_counts() == after_first


@pytest.mark.parametrize("name", POST_ENDPOINTS)
def test_a_duplicate_while_the_first_is_in_flight_answers_409_idempotency_in_flight(automation, name) -> None:
    url, body = POST_ENDPOINTS[name]()
    key, now = new_key(), timezone.now()
    IdempotencyKey.objects.create(
        owner=owner_of(automation),
        key=key,
        fingerprint=fingerprint("POST", url, body),
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )
    before = row_counts()

    response = post(automation.http, url, body, key=key)

    error_of(response, 409, "idempotency_in_flight")
    assert response.headers.get("Retry-After")
    assert row_counts() == before
    assert IdempotencyKey.objects.get(key=key).state == "in_flight"  # the first request still owns it


@pytest.mark.parametrize("name", POST_ENDPOINTS)
def test_a_rejected_request_stores_no_key_and_the_corrected_body_then_succeeds(automation, name) -> None:
    url, body = POST_ENDPOINTS[name]()
    key = new_key()

    rejected = post(automation.http, url, {**body, "colour": "blue"}, key=key)

    error_of(rejected, 400, "validation_error")
    assert not IdempotencyKey.objects.filter(key=key).exists()
    corrected = post(automation.http, url, body, key=key)
    assert corrected.status_code == succeeded(name), corrected.json()
    assert "Idempotent-Replayed" not in corrected.headers


def test_a_request_a_service_refuses_stores_no_key(automation) -> None:
    active = start(deployed_env())
    key = new_key()

    error_of(post(automation.http, BOOTSTRAPS, start_body(), key=key), 409, "bootstrap_active")
    assert not IdempotencyKey.objects.filter(key=key).exists()

    post(automation.http, cancel_url(active.operation_id), {"reason": "make way", "data_mutated": False})
    assert post(automation.http, BOOTSTRAPS, start_body(), key=key).status_code == 201


@pytest.mark.parametrize(
    ("status", "code", "send"),
    [
        (403, "permission_denied", lambda http, key: post(http, ENVIRONMENTS, environment_body("acme"), key=key)),
        (404, "not_found", lambda http, key: post(http, DEPLOYMENTS, deployment_body(instance="nowhere"), key=key)),
        (409, "conflict", lambda http, key: post(http, ENVIRONMENTS, environment_body(), key=key)),
    ],
    ids=["403", "404", "409"],
)
def test_no_refused_request_keeps_its_key(automation, status, code, send) -> None:
    deployed_env()
    key = new_key()

    error_of(send(automation.http, key), status, code)

    assert not IdempotencyKey.objects.filter(key=key).exists()


def test_keys_belong_to_one_client(automation) -> None:
    deployed_env()
    colleague = make_caller("ci-cm-2", ["cm"])
    body = deployment_body(record_id=None)
    del body["record_id"], body["observed_runtime_identity"]  # the server assigns each record its id

    mine = post(automation.http, DEPLOYMENTS, body, key="shared-key")
    theirs = post(colleague.http, DEPLOYMENTS, body, key="shared-key")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["record_id"] != theirs.json()["record_id"]
    assert DeploymentRecord.objects.count() == 3


def test_a_key_from_another_client_with_another_body_is_not_reused(automation) -> None:
    colleague = make_caller("ci-cm-2", ["cm"])

    assert post(automation.http, ENVIRONMENTS, environment_body(instance="one"), key="k").status_code == 201
    assert post(colleague.http, ENVIRONMENTS, environment_body(instance="two"), key="k").status_code == 201


def test_the_fingerprint_is_the_canonical_json_not_the_bytes(automation) -> None:
    url, body = POST_ENDPOINTS["deployments"]()
    key = new_key()
    first = post(automation.http, url, body, key=key)

    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    again = automation.http.post(url, reordered, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)

    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


def test_the_same_key_on_another_path_answers_422(automation) -> None:
    deployed_env()
    key = new_key()
    assert post(automation.http, ENVIRONMENTS, environment_body(instance="prod"), key=key).status_code == 201

    error_of(post(automation.http, BOOTSTRAPS, start_body(), key=key), 422, "idempotency_key_reused")
    assert BootstrapOperation.objects.count() == 0


def test_a_replayed_start_answers_as_it_first_did_even_after_the_operation_finished(automation) -> None:
    deployed_env()
    key = new_key()
    first = post(automation.http, BOOTSTRAPS, start_body(), key=key).json()
    operation = BootstrapOperation.objects.get()
    finish(operation, passing_result(operation.environment))

    again = post(automation.http, BOOTSTRAPS, start_body(), key=key)

    assert again.json() == first and again.json()["status"] == "running"
    assert BootstrapOperation.objects.count() == 1


def test_a_start_remembers_its_key_and_fingerprint(automation) -> None:
    deployed_env()
    body = start_body()

    post(automation.http, BOOTSTRAPS, body, key="start-1")

    operation = BootstrapOperation.objects.get()
    assert operation.idempotency_key == "start-1"
    assert operation.request_fingerprint == fingerprint("POST", BOOTSTRAPS, body)


def test_a_key_longer_than_255_characters_answers_400(automation) -> None:
    url, body = POST_ENDPOINTS["deployments"]()
    before = row_counts()

    error = error_of(post(automation.http, url, body, key="k" * 256), 400, "validation_error")

    assert "Idempotency-Key" in error["fields"]
    assert row_counts() == before


@pytest.mark.parametrize("key", ["has space", "tab\tinside", "caf\u00e9"])
def test_a_key_that_is_not_visible_ascii_answers_400(automation, key) -> None:
    url, body = POST_ENDPOINTS["deployments"]()
    before = row_counts()

    error = error_of(post(automation.http, url, body, key=key), 400, "validation_error")

    assert "Idempotency-Key" in error["fields"]
    assert row_counts() == before


def test_a_key_left_in_flight_by_a_worker_that_died_is_taken_over_by_the_retry(automation, settings) -> None:
    url, body = POST_ENDPOINTS["deployments"]()
    claimed = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_LEASE_SECONDS + 1)
    IdempotencyKey.objects.create(
        owner=owner_of(automation),
        key="orphan",
        fingerprint=fingerprint("POST", url, body),
        created_at=claimed,
        expires_at=claimed + timedelta(hours=24),
    )

    response = post(automation.http, url, body, key="orphan")

    assert response.status_code == 201, response.json()
    assert IdempotencyKey.objects.get(key="orphan").state == "completed"


def test_a_request_whose_key_a_retry_took_over_answers_in_flight_and_records_nothing(automation, monkeypatch) -> None:
    """A request still running after the in-flight lease may lose its key to a retry: it must not
    complete the retry's row with its own answer, and its work is rolled back (the retry's counts)."""
    import inventory.api.views as views

    url, body = POST_ENDPOINTS["deployments"]()
    records = DeploymentRecord.objects.count()
    real = views.record_deployment

    def slow_while_a_retry_takes_the_key(*args, **kwargs):
        mine = IdempotencyKey.objects.get(key="slow")
        mine.delete()  # what a retry after the lease does, then it claims the key itself
        IdempotencyKey.objects.create(
            owner=mine.owner,
            key="slow",
            fingerprint=mine.fingerprint,
            created_at=timezone.now(),
            expires_at=mine.expires_at,
        )
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "record_deployment", slow_while_a_retry_takes_the_key)
    response = post(automation.http, url, body, key="slow")

    error_of(response, 409, "idempotency_in_flight")
    assert DeploymentRecord.objects.count() == records
    assert [row.state for row in IdempotencyKey.objects.filter(key="slow")] == ["in_flight"]  # never completed


def test_an_expired_key_may_be_used_again(automation) -> None:
    url, body = POST_ENDPOINTS["deployments"]()
    key = new_key()
    post(automation.http, url, body, key=key)
    IdempotencyKey.objects.filter(key=key).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = post(automation.http, url, {**body, "record_id": "dep-3"}, key=key)

    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers


# ---------------------------------------------------------------------------------------------------
# Real concurrency (PostgreSQL: SQLite serialises writers, so nothing would overlap)
# ---------------------------------------------------------------------------------------------------


def race(callers: list[Caller], url: str, bodies: list[dict[str, Any]], keys: list[str]) -> list[Any]:
    """Send the requests at the same moment from threads, each on its own connection."""
    barrier = threading.Barrier(len(callers))
    responses: list[Any] = [None] * len(callers)

    def send(index: int) -> None:
        try:
            barrier.wait()
            responses[index] = post(callers[index].http, url, bodies[index], key=keys[index])
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(callers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def slowly(target: str):
    """Patch a service as the view sees it so that it holds its request open a moment."""
    import importlib
    from unittest import mock

    module_name, name = target.rsplit(".", 1)
    real = getattr(importlib.import_module(module_name), name)

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)
        return real(*args, **kwargs)

    return mock.patch(target, side_effect=slow)


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_deployment_is_recorded_once(on_postgres, automation) -> None:
    url, body = POST_ENDPOINTS["deployments"]()

    with slowly("inventory.api.views.record_deployment"):
        responses = race([automation, automation], url, [body, body], ["same", "same"])

    statuses = sorted(response.status_code for response in responses)
    assert statuses[0] == 201 and statuses[1] in (201, 409), [r.json() for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "idempotency_in_flight"
    assert DeploymentRecord.objects.filter(record_id=body["record_id"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_start_starts_one_operation(on_postgres, automation) -> None:
    url, body = POST_ENDPOINTS["bootstrap-start"]()

    with slowly("bootstraps.api.views.start_bootstrap"):
        responses = race([automation, automation], url, [body, body], ["same", "same"])

    codes = sorted((r.status_code, r.json().get("error", {}).get("code", "")) for r in responses)
    assert codes in ([(201, ""), (201, "")], [(201, ""), (409, "idempotency_in_flight")]), codes
    assert BootstrapOperation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_with_different_keys_leave_one_active_and_name_it(on_postgres, automation) -> None:
    url, body = POST_ENDPOINTS["bootstrap-start"]()

    responses = race([automation, automation], url, [body, body], ["first", "second"])

    by_status = {response.status_code: response.json() for response in responses}
    assert set(by_status) == {201, 409}, [r.json() for r in responses]
    assert by_status[409]["error"]["code"] == "bootstrap_active"
    assert BootstrapOperation.objects.get().operation_id == by_status[201]["operation_id"]
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_environment_is_created_once(on_postgres, automation) -> None:
    body = environment_body(instance="race")
    colleague = make_caller("ci-cm-2", ["cm"])

    responses = race([automation, colleague], ENVIRONMENTS, [body, body], ["a", "b"])

    assert sorted(response.status_code for response in responses) == [201, 409]
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_results_for_one_operation_apply_one(on_postgres, automation) -> None:
    url, body = POST_ENDPOINTS["bootstrap-result"]()

    responses = race([automation, automation], url, [body, {**body, "health_status": "fail"}], ["first", "second"])

    codes = sorted((r.status_code, r.json().get("error", {}).get("code", "")) for r in responses)
    assert codes == [(200, ""), (409, "operation_finished")], codes
    assert InventoryTransition.objects.filter(cause_type="bootstrap").count() == 2  # the start and one result


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_result_is_applied_once(on_postgres, automation) -> None:
    url, body = POST_ENDPOINTS["bootstrap-result"]()

    with slowly("bootstraps.api.views.record_bootstrap_result"):
        responses = race([automation, automation], url, [body, body], ["same", "same"])

    codes = sorted((r.status_code, r.json().get("error", {}).get("code", "")) for r in responses)
    assert codes in ([(200, ""), (200, "")], [(200, ""), (409, "idempotency_in_flight")]), codes
    assert InventoryTransition.objects.filter(cause_type="bootstrap").count() == 2


def test_a_body_naming_an_out_of_scope_context_answers_403_before_its_other_faults(automation) -> None:
    no_key = automation.http.post(
        "/api/v1/bootstraps/", {"context": "acme", "instance": "prod", "data_source": "empty"}, format="json"
    )
    invalid = automation.http.post(
        "/api/v1/deployments/", {"context": "acme", "instance": "prod", "deploy_status": "maybe"}, format="json"
    )

    assert no_key.status_code == 403 and no_key.json()["error"]["code"] == "permission_denied"
    assert invalid.status_code == 403 and invalid.json()["error"]["code"] == "permission_denied"


def test_the_work_and_the_key_commit_together(automation, monkeypatch) -> None:
    """If the key cannot be completed, the recorded work is rolled back with it: a retry after the
    in-flight lease then records it once, not twice."""
    import launchplane.api.idempotency as idempotency
    from inventory.models import DeploymentRecord
    from launchplane.models import IdempotencyKey
    from tests.api.support import deployment_body

    make_environment()

    class DyingJson:
        """The module's json, except that storing a successful response fails."""

        loads = staticmethod(json.loads)

        @staticmethod
        def dumps(value, **kwargs):
            if isinstance(value, dict) and "record_id" in value:
                raise RuntimeError("worker died while completing the key")
            return json.dumps(value, **kwargs)

    monkeypatch.setattr(idempotency, "json", DyingJson)
    automation.http.raise_request_exception = False
    response = automation.http.post(
        "/api/v1/deployments/", deployment_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert response.status_code == 500
    assert not DeploymentRecord.objects.exists()
    assert not IdempotencyKey.objects.exists()
