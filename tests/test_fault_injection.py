"""Fault injection at every write step (PRODUCT.md rules 11-13, and the REST contract's idempotency).

For each write endpoint of the API and each service, a first run counts the data-changing statements
(INSERT, UPDATE, DELETE) the request makes when nothing fails: N. Then, for every k in 1..N, the same
starting state is restored (a savepoint rolled back), write k fails with an injected
``OperationalError`` (before it reaches the database, as a lost connection or a serialisation failure
would), and the test proves that:

- the API answers 5xx in the one error body (a service call raises);
- no row of the request remains: every table counts what it counted before;
- the environment's inventory row (every field), its history, its operations and its records are as
  they were;
- the idempotency key the request used is released, so that the same request retried with the same
  key succeeds exactly once (the same new rows as a request that never failed, the same history), and
  a second retry replays it with ``Idempotent-Replayed: true``.

The one step deliberately committed on its own is the expiry of overdue operations, which the services
run before their guarded write, in its own transaction (``bootstraps/services.py``, rule 9). The main
matrices start with nothing overdue; the last tests start with an overdue operation and say exactly
what may remain: the whole expiry, or nothing of it, and never anything of the request after it.

The pytest-django ``db`` fixture is faithful for every write made inside a transaction of the code:
each ``transaction.atomic()`` becomes a savepoint inside the test's transaction and rolls back the same
way, the injected fault is raised before the statement runs (so PostgreSQL never aborts the test's
transaction), and the code uses no ``on_commit`` hook, no ``durable`` block and no second connection.
It is not faithful for a write made in autocommit (authentication's ``last_used_at`` stamp): under
``db`` that write runs inside the test's transaction, and Django marks a transaction whose write failed
for rollback (``mark_for_rollback_on_error``), which production never does. Those writes are failed
under ``transactional_db`` instead, with the starting state rebuilt for each.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Model
from django.db.utils import OperationalError
from django.utils import timezone

from bootstraps.models import BootstrapOperation
from bootstraps.services import (
    cancel_bootstrap,
    expire_overdue,
    record_bootstrap_result,
    record_progress,
    run_bootstrap_once,
    start_bootstrap,
)
from inventory.models import (
    DeploymentRecord,
    Environment,
    EnvironmentInventory,
    InventoryTransition,
    RuntimeObservation,
)
from inventory.rules import IdentityInput
from inventory.services import acknowledge, create_environment, record_deployment, record_observation
from launchplane.models import ApiClient, IdempotencyKey
from tests.api.conftest import Caller, make_caller
from tests.api.support import (
    GIT_REF,
    bootstrap_url,
    deployed_env,
    post,
    prepare_bootstrap_cancel,
    prepare_bootstrap_one_shot,
    prepare_bootstrap_result,
    prepare_bootstrap_start,
    prepare_deployment_create,
    prepare_environment_create,
    prepare_observation,
    result_body,
    result_url,
)
from tests.factories import next_moment, passing_result, runtime_identity, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def automation(db) -> Caller:
    """The read-write client scoped to ``cm`` of tests/api/conftest.py (this module sits outside
    tests/api/, where that fixture lives)."""
    cache.clear()  # throttle history is keyed by client pk, and pks are reused after a rollback
    return make_caller("ci-cm", ["cm"])


# ---------------------------------------------------------------------------------------------------
# The fault
# ---------------------------------------------------------------------------------------------------

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
TARGET = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+[`"\[]?([\w.]+)', re.IGNORECASE)


def describe(sql: str) -> str:
    """``UPDATE inventory_environmentinventory``: enough to name a write in a failure message."""
    verb = WRITE.match(sql)
    target = TARGET.match(sql)
    return f"{verb.group(1).upper() if verb else '?'} {target.group(1) if target else sql[:60]}"


@dataclass(frozen=True)
class Write:
    """One data-changing statement: what it writes, and whether it ran inside a transaction of the
    code under test (``False``: in production it runs in autocommit)."""

    statement: str
    in_transaction: bool

    def __str__(self) -> str:
        return self.statement if self.in_transaction else f"{self.statement}, outside any transaction"


class WriteFault:
    """An ``execute_wrapper`` that counts data-changing statements and fails the ``at``-th one, once.

    SAVEPOINT, RELEASE, SELECT (``FOR UPDATE`` included) and the like pass uncounted: only statements
    that change data are write steps. The fault is raised before the statement reaches the database.
    """

    def __init__(self, at: int | None = None) -> None:
        self.at = at
        self.writes: list[Write] = []
        self.failed: Write | None = None
        # The atomic blocks open around the code under test: the test's own, under ``db``.
        self.depth = len(connection.atomic_blocks)

    def __call__(self, execute, sql, params, many, context):
        if WRITE.match(sql):
            self.writes.append(Write(describe(sql), len(connection.atomic_blocks) > self.depth))
            if self.failed is None and len(self.writes) == self.at:
                self.failed = self.writes[-1]
                raise OperationalError(f"injected fault at write {self.at}: {self.failed}")
        return execute(sql, params, many, context)


@contextmanager
def fault_at(k: int | None) -> Iterator[WriteFault]:
    """Fail the k-th write statement run inside the block (``None``: only count them)."""
    fault = WriteFault(k)
    with connection.execute_wrapper(fault):
        yield fault


@contextmanager
def counting_writes() -> Iterator[WriteFault]:
    with fault_at(None) as fault:
        yield fault


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run the block, then put the database back as it was (the next k starts from the same state)."""
    sid = transaction.savepoint()
    cache.clear()  # throttle history
    try:
        yield
    finally:
        transaction.savepoint_rollback(sid)


def test_the_fault_helper_counts_only_data_changing_statements_and_fails_the_chosen_one_once() -> None:
    now = timezone.now()
    with fault_at(2) as fault:
        IdempotencyKey.objects.filter(owner="helper").exists()  # a SELECT: not a write
        with transaction.atomic():  # SAVEPOINT and RELEASE: not writes either
            IdempotencyKey.objects.create(owner="helper", key="a", fingerprint="f", created_at=now, expires_at=now)
        with pytest.raises(OperationalError, match="injected fault at write 2"), transaction.atomic():
            IdempotencyKey.objects.filter(owner="helper").update(state="completed")
        IdempotencyKey.objects.filter(owner="helper").delete()  # once: the next write goes through

    assert [write.statement for write in fault.writes] == [
        "INSERT launchplane_idempotencykey",
        "UPDATE launchplane_idempotencykey",
        "DELETE launchplane_idempotencykey",
    ]
    assert fault.failed == fault.writes[1]
    assert not IdempotencyKey.objects.filter(owner="helper").exists()


# ---------------------------------------------------------------------------------------------------
# What the database holds
# ---------------------------------------------------------------------------------------------------


def table_counts() -> dict[str, int]:
    """Rows in every table of the database, models or not."""
    with connection.cursor() as cursor:
        counts = {}
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    return {table: after.get(table, 0) - count for table, count in before.items() if after.get(table, 0) != count}


def rows_of(models: Mapping[type[Model], int]) -> dict[str, int]:
    return {model._meta.db_table: count for model, count in models.items()}


Pair = tuple[str, str]


def evidence(pairs: tuple[Pair, ...]) -> dict[Pair, dict[str, Any]]:
    """Every field of every row that belongs to these environments, ordered."""
    found: dict[Pair, dict[str, Any]] = {}
    for context, instance in pairs:
        environment = Environment.objects.filter(context=context, instance=instance).first()
        if environment is None:
            found[(context, instance)] = {"environment": None}
            continue
        mine = {"environment": environment}
        found[(context, instance)] = {
            "environment": list(Environment.objects.filter(pk=environment.pk).values()),
            "inventory": list(EnvironmentInventory.objects.filter(**mine).values()),
            "history": list(InventoryTransition.objects.filter(**mine).order_by("sequence").values()),
            "operations": list(BootstrapOperation.objects.filter(**mine).order_by("pk").values()),
            "deployments": list(DeploymentRecord.objects.filter(**mine).order_by("pk").values()),
            "observations": list(RuntimeObservation.objects.filter(**mine).order_by("pk").values()),
        }
    return found


VOLATILE = {"id", "recorded_at", "updated_at"}  # differ between two runs of the same write


def comparable(found: dict[Pair, dict[str, Any]]) -> dict[Pair, dict[str, Any]]:
    """Evidence without the row ids and clock stamps that two runs of the same write never share."""
    return {
        pair: {
            name: [{k: v for k, v in row.items() if k not in VOLATILE} for row in rows] if rows else rows
            for name, rows in kinds.items()
        }
        for pair, kinds in found.items()
    }


def shape(found: dict[Pair, dict[str, Any]]) -> dict[Pair, Any]:
    """What a retry must reproduce of a run that never failed: the states and the history's steps
    (ids, which are random for operations, and clock stamps aside)."""
    out: dict[Pair, Any] = {}
    for pair, kinds in found.items():
        if kinds["environment"] is None:
            out[pair] = None
            continue
        (inventory,) = kinds["inventory"]
        out[pair] = {
            "state": (inventory["state"], inventory["deployment_state"], inventory["data_state"]),
            "history": [
                (t["cause_type"], t["effect"], t["from_state"], t["to_state"], t["deployment_state"], t["data_state"])
                for t in kinds["history"]
            ],
            "operations": [(o["status"], o["readiness_status"], o["inventory_effect"]) for o in kinds["operations"]],
            "deployments": [(d["record_id"], d["inventory_effect"]) for d in kinds["deployments"]],
            "observations": [(o["source"], o["inventory_effect"]) for o in kinds["observations"]],
        }
    return out


def differences(label: str, expected: Any, actual: Any) -> str:
    if isinstance(expected, dict) and isinstance(actual, dict):
        changed = {
            key: (expected.get(key), actual.get(key))
            for key in expected.keys() | actual.keys()
            if expected.get(key) != actual.get(key)
        }
        return f"{label} changed (expected, found): {changed}"
    return f"{label} changed: expected {expected!r}, found {actual!r}"


def check_same(label: str, expected: Any, actual: Any) -> None:
    assert actual == expected, differences(label, expected, actual)


def run_every_k(
    name: str, writes: list[Write], attempt: Callable[[int], None], *, only: Callable[[Write], bool]
) -> int:
    """Run ``attempt(k)`` for every write k that ``only`` selects, each from the same state (a savepoint
    rolled back); report every k that failed, naming it. Returns how many k were run."""
    failures = []
    ran = 0
    for k, write in enumerate(writes, start=1):
        if not only(write):
            continue
        ran += 1
        with rolled_back():
            try:
                attempt(k)
            except AssertionError as exc:
                failures.append(f"{name}, fault at write {k} of {len(writes)} ({write}): {exc}")
    assert not failures, "\n".join(failures)
    return ran


# ---------------------------------------------------------------------------------------------------
# The API's write endpoints
# ---------------------------------------------------------------------------------------------------


def events_url(operation_id: str) -> str:
    return f"{bootstrap_url(operation_id)}events/"


def prepare_environment_create_beside_a_neighbour() -> tuple[str, dict[str, Any]]:
    deployed_env()  # a neighbour, so that there is inventory and history to leave alone
    return prepare_environment_create()


def prepare_bootstrap_events() -> tuple[str, dict[str, Any]]:
    operation = start(deployed_env())
    return events_url(operation.operation_id), {
        "phase": "post_deploy",
        "data_mutated": True,
        "extend_deadline_seconds": 7200,
    }


@dataclass(frozen=True)
class Endpoint:
    """One API write: the state it starts from, what it answers and the rows a success adds (besides
    its idempotency key)."""

    label: str
    prepare: Callable[[], tuple[str, dict[str, Any]]]
    status: int
    new_rows: Mapping[type[Model], int]
    environments: tuple[Pair, ...] = (("cm", "testing"),)


ENDPOINTS = {
    "environments": Endpoint(
        "POST /api/v1/environments/",
        prepare_environment_create_beside_a_neighbour,
        201,
        {Environment: 1, EnvironmentInventory: 1, InventoryTransition: 0},
        (("cm", "testing"), ("cm", "fresh")),
    ),
    "deployments": Endpoint(
        "POST /api/v1/deployments/", prepare_deployment_create, 201, {DeploymentRecord: 1, InventoryTransition: 1}
    ),
    "observations": Endpoint(
        "POST /api/v1/environments/{c}/{i}/observations/",
        prepare_observation,
        201,
        {RuntimeObservation: 1, InventoryTransition: 1},
    ),
    "bootstrap-start": Endpoint(
        "POST /api/v1/bootstraps/ (start)",
        prepare_bootstrap_start,
        201,
        {BootstrapOperation: 1, InventoryTransition: 1},
    ),
    "bootstrap-one-shot": Endpoint(
        "POST /api/v1/bootstraps/ (one-shot, with result)",
        prepare_bootstrap_one_shot,
        201,
        {BootstrapOperation: 1, InventoryTransition: 1},
    ),
    "bootstrap-result": Endpoint(
        "POST /api/v1/bootstraps/{id}/result/",
        prepare_bootstrap_result,
        200,
        {BootstrapOperation: 0, InventoryTransition: 1},
    ),
    "bootstrap-cancel": Endpoint(
        "POST /api/v1/bootstraps/{id}/cancel/",
        prepare_bootstrap_cancel,
        200,
        {BootstrapOperation: 0, InventoryTransition: 1},
    ),
    "bootstrap-events": Endpoint(
        "POST /api/v1/bootstraps/{id}/events/",
        prepare_bootstrap_events,
        200,
        {BootstrapOperation: 0, InventoryTransition: 0},
    ),
}


def assert_error_body(response) -> None:
    assert 500 <= response.status_code < 600, f"answered {response.status_code}: {response.content[:300]!r}"
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"], body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    assert isinstance(body["error"]["fields"], dict), body


def key_rows(owner: str, key: str) -> list[dict[str, Any]]:
    return list(IdempotencyKey.objects.filter(owner=owner, key=key).values("state", "response_status"))


@dataclass(frozen=True)
class Unfailed:
    """What a request does when nothing fails: its writes, the rows it adds, and where it leaves the
    environments (their ``shape``)."""

    writes: list[Write]
    added: dict[str, int]
    finished: dict[Pair, Any]


class Api:
    """One endpoint, ready to send from its starting state as the ``cm`` automation client."""

    def __init__(self, endpoint: Endpoint, caller: Caller) -> None:
        self.name = endpoint.label
        # Where the database may stand after a fault beside where it started: the whole of a step
        # committed on its own (``allow_committed``).
        self.committed: tuple[dict[str, int], dict[Pair, Any]] | None = None
        self.endpoint = endpoint
        self.url, self.body = endpoint.prepare()
        # Authentication stamps the client's last use at most once a minute: make it a write of every
        # request here, so that it is one of the steps a fault is injected at.
        ApiClient.objects.filter(pk=caller.model.pk).update(last_used_at=None)
        self.http = caller.http
        self.owner = f"client:{caller.model.pk}"

    def send(self, key: str):
        return post(self.http, self.url, self.body, key=key)

    def unfailed(self) -> Unfailed:
        before = table_counts()
        with counting_writes() as counted:
            response = self.send("unfailed")
        assert response.status_code == self.endpoint.status, response.json()
        added = delta(before, table_counts())
        expected = {**rows_of(self.endpoint.new_rows), IdempotencyKey._meta.db_table: 1}
        assert {table: added.get(table, 0) for table in expected} == expected, f"{self.name} added {added}"
        assert counted.writes, f"{self.name} wrote nothing"
        return Unfailed(counted.writes, added, shape(evidence(self.endpoint.environments)))

    def allow_committed(self, step: Callable[[], object]) -> None:
        """Accept, after a fault, the database as ``step`` alone leaves it (run and rolled back here)."""
        with rolled_back():
            step()
            self.committed = (table_counts(), comparable(evidence(self.endpoint.environments)))

    def attempt(self, k: int, unfailed: Unfailed) -> None:
        """Fail write k; nothing of the request remains, its key is released, and the same request
        with the same key then succeeds once and replays."""
        key = f"fault-{k}"
        pairs = self.endpoint.environments
        before = table_counts()
        found = evidence(pairs)
        with fault_at(k) as fault:
            try:
                response = self.send(key)
            except Exception as exc:  # escaped the view: Django would answer its own 500 page
                raise AssertionError(f"the fault escaped the API's error handling: {exc!r}") from exc
        assert fault.failed, f"only {len(fault.writes)} writes happened"
        assert_error_body(response)
        if self.committed is None or (table_counts(), comparable(evidence(pairs))) != self.committed:
            check_same("row counts", before, table_counts())
            check_same("the environment's rows", found, evidence(pairs))
        assert key_rows(self.owner, key) == [], f"the idempotency key remains: {key_rows(self.owner, key)}"

        retry = self.send(key)
        assert retry.status_code == self.endpoint.status, f"the retry answered {retry.status_code}: {retry.json()}"
        assert "Idempotent-Replayed" not in retry.headers, "the retry was a replay"
        check_same("rows added by the retry", unfailed.added, delta(before, table_counts()))
        check_same("the retry's outcome", unfailed.finished, shape(evidence(pairs)))
        assert key_rows(self.owner, key) == [{"state": "completed", "response_status": self.endpoint.status}]

        after_retry = table_counts()
        replay = self.send(key)
        assert (replay.status_code, replay.headers.get("Idempotent-Replayed")) == (self.endpoint.status, "true")
        assert replay.json() == retry.json(), "the replay is not the retry's answer"
        check_same("rows added by the replay", after_retry, table_counts())


def check_endpoint(endpoint: Endpoint, caller: Caller, *, committed_first: Callable[[], object] | None = None) -> None:
    """Count the request's writes, then fail each in turn (those made inside a transaction: see
    ``test_a_fault_at_a_write_made_outside_any_transaction_...`` for the others)."""
    api = Api(endpoint, caller)
    if committed_first is not None:
        api.allow_committed(committed_first)
    with rolled_back():
        unfailed = api.unfailed()
    ran = run_every_k(
        endpoint.label, unfailed.writes, lambda k: api.attempt(k, unfailed), only=lambda w: w.in_transaction
    )
    assert ran, f"{endpoint.label} wrote nothing inside a transaction"


@pytest.mark.parametrize("name", ENDPOINTS)
def test_a_fault_at_any_write_of_an_api_request_answers_5xx_leaves_nothing_and_the_retry_succeeds_once(
    automation: Caller, name: str
) -> None:
    check_endpoint(ENDPOINTS[name], automation)


def fresh_database() -> None:
    """Empty every table, as ``transactional_db`` does between tests (no savepoint to roll back to)."""
    call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
    cache.clear()


@pytest.mark.parametrize("name", ENDPOINTS)
def test_a_fault_at_a_write_made_outside_any_transaction_answers_5xx_leaves_nothing_and_the_retry_succeeds_once(
    transactional_db: None, name: str
) -> None:
    """Authentication stamps the client's ``last_used_at`` in autocommit, before the request's
    transaction begins. Under ``db`` that statement would run inside the test's transaction, and a
    failing write there makes Django mark the whole test transaction for rollback
    (``mark_for_rollback_on_error``), which production never sees; so these writes are failed here,
    with real transactions, rebuilding the starting state for each."""
    endpoint = ENDPOINTS[name]

    def world() -> Api:
        fresh_database()
        return Api(endpoint, make_caller("ci-cm", ["cm"]))

    unfailed = world().unfailed()
    outside = [k for k, write in enumerate(unfailed.writes, start=1) if not write.in_transaction]
    if not outside:
        pytest.skip(f"every write of {endpoint.label} runs inside a transaction: the db matrix covers them all")
    failures = []
    for k in outside:
        try:
            world().attempt(k, unfailed)
        except AssertionError as exc:
            failures.append(
                f"{endpoint.label}, fault at write {k} of {len(unfailed.writes)} ({unfailed.writes[k - 1]}): {exc}"
            )
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------------------------------
# The services, called directly
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A service call ready to run from its starting state. ``committed_first`` is the step the call
    deliberately commits on its own before its guarded write (the expiry of overdue operations)."""

    call: Callable[[], object]
    committed_first: Callable[[], object] | None = None


@dataclass(frozen=True)
class Service:
    """A service call: the state it starts from, and the rows a success adds."""

    prepare: Callable[[datetime, Any], Prepared]
    new_rows: Mapping[type[Model], int]
    environments: tuple[Pair, ...] = (("cm", "testing"),)


def deployment_call(environment: Environment, now: datetime) -> Callable[[], object]:
    finished_at = next_moment()
    return lambda: record_deployment(
        environment,
        record_id="dep-2",
        artifact_id="artifact-dep-2",
        source_git_ref=GIT_REF,
        deploy_status="pass",
        post_deploy_status="pass",
        health_status="pass",
        started_at=finished_at - timedelta(seconds=30),
        finished_at=finished_at,
        identity=IdentityInput(sent=True, value=runtime_identity("dep-2")),
        actor="api:ci",
        now=now,
    )


def result_call(operation: BootstrapOperation, now: datetime) -> Callable[[], object]:
    result = passing_result(operation.environment)
    return lambda: record_bootstrap_result(
        BootstrapOperation.objects.get(pk=operation.pk), result, actor="api:ci", now=now
    )


def service_create_environment(now: datetime, user: Any) -> Prepared:
    deployed_env()
    return Prepared(lambda: create_environment(context="cm", instance="fresh", required_checks=["health"], now=now))


def service_record_deployment(now: datetime, user: Any) -> Prepared:
    return Prepared(deployment_call(deployed_env(), now))


def service_record_observation(now: datetime, user: Any) -> Prepared:
    environment = deployed_env()
    return Prepared(
        lambda: record_observation(
            environment,
            identity=IdentityInput(sent=True, value=runtime_identity("dep-1")),
            source="prober",
            observed_at=now - timedelta(minutes=5),
            actor="api:ci",
            now=now,
        )
    )


def service_acknowledge(now: datetime, user: Any) -> Prepared:
    environment = deployed_env()
    return Prepared(lambda: acknowledge(environment, user=user, note="seen, on it", now=now))


def service_start_bootstrap(now: datetime, user: Any) -> Prepared:
    environment = deployed_env()
    return Prepared(
        lambda: start_bootstrap(
            environment, data_source="upstream_restore", actor="api:ci", idempotency_key="svc", now=now
        )
    )


def service_record_bootstrap_result(now: datetime, user: Any) -> Prepared:
    return Prepared(result_call(start(deployed_env(), now=now - timedelta(minutes=5)), now))


def service_run_bootstrap_once(now: datetime, user: Any) -> Prepared:
    environment = deployed_env()
    result = passing_result(environment)
    return Prepared(lambda: run_bootstrap_once(environment, result, data_source="empty", actor="api:ci", now=now))


def service_cancel_bootstrap(now: datetime, user: Any) -> Prepared:
    operation = start(deployed_env(), now=now - timedelta(minutes=5))
    return Prepared(
        lambda: cancel_bootstrap(
            BootstrapOperation.objects.get(pk=operation.pk),
            reason="wrong source",
            actor="api:ci",
            data_mutated=False,
            now=now,
        )
    )


def service_record_progress(now: datetime, user: Any) -> Prepared:
    operation = start(deployed_env(), now=now - timedelta(minutes=5))
    return Prepared(
        lambda: record_progress(
            BootstrapOperation.objects.get(pk=operation.pk),
            phase="post_deploy",
            actor="api:ci",
            data_mutated=True,
            extend_deadline_seconds=7200,
            now=now,
        )
    )


def service_expire_overdue(now: datetime, user: Any) -> Prepared:
    start(deployed_env(), timeout_seconds=60, now=now - timedelta(hours=1))
    return Prepared(lambda: expire_overdue(now))


SERVICES = {
    "inventory.services.create_environment": Service(
        service_create_environment,
        {Environment: 1, EnvironmentInventory: 1, InventoryTransition: 0},
        (("cm", "testing"), ("cm", "fresh")),
    ),
    "inventory.services.record_deployment": Service(
        service_record_deployment, {DeploymentRecord: 1, InventoryTransition: 1}
    ),
    "inventory.services.record_observation": Service(
        service_record_observation, {RuntimeObservation: 1, InventoryTransition: 1}
    ),
    "inventory.services.acknowledge": Service(service_acknowledge, {InventoryTransition: 1}),
    "bootstraps.services.start_bootstrap": Service(
        service_start_bootstrap, {BootstrapOperation: 1, InventoryTransition: 1}
    ),
    "bootstraps.services.record_bootstrap_result": Service(
        service_record_bootstrap_result, {BootstrapOperation: 0, InventoryTransition: 1}
    ),
    "bootstraps.services.run_bootstrap_once": Service(
        service_run_bootstrap_once, {BootstrapOperation: 1, InventoryTransition: 1}
    ),
    "bootstraps.services.cancel_bootstrap": Service(
        service_cancel_bootstrap, {BootstrapOperation: 0, InventoryTransition: 1}
    ),
    "bootstraps.services.record_progress": Service(
        service_record_progress, {BootstrapOperation: 0, InventoryTransition: 0}
    ),
    "bootstraps.services.expire_overdue": Service(
        service_expire_overdue, {BootstrapOperation: 0, InventoryTransition: 1}
    ),
}


def check_service(name: str, service: Service, reviewer: Any) -> None:
    """Count the call's writes, then fail each in turn (see the module docstring)."""
    now = timezone.now()
    prepared = service.prepare(now, reviewer)
    pairs = service.environments

    with rolled_back():
        before = table_counts()
        with counting_writes() as counted:
            prepared.call()
        added = delta(before, table_counts())
        finished = shape(evidence(pairs))
    expected = rows_of(service.new_rows)
    assert {table: added.get(table, 0) for table in expected} == expected, f"{name} added {added}"
    writes = counted.writes
    assert writes, f"{name} wrote nothing"
    # A service is its own transaction (STYLE.md): a write outside one could not be undone.
    assert all(write.in_transaction for write in writes), [str(write) for write in writes]

    committed: list[Write] = []  # the writes of the step committed on its own, which come first
    after_committed: tuple[dict[str, int], dict[Pair, Any]] | None = None
    if prepared.committed_first is not None:
        with rolled_back():
            with counting_writes() as first_step:
                prepared.committed_first()
            committed = first_step.writes
            after_committed = (table_counts(), comparable(evidence(pairs)))
        assert committed, f"{name}: the step committed first wrote nothing (nothing overdue?)"
        assert writes[: len(committed)] == committed, (writes, committed)

    def attempt(k: int) -> None:
        before = table_counts()
        found = evidence(pairs)
        raised: Exception | None = None
        with fault_at(k) as fault:
            try:
                prepared.call()
            except Exception as exc:
                raised = exc
        assert fault.failed, f"only {len(fault.writes)} writes happened"
        assert isinstance(raised, OperationalError) and "injected fault" in str(raised), (
            f"the call did not raise the fault: {raised!r}"
        )
        if after_committed is None or k <= len(committed):
            check_same("row counts", before, table_counts())
            check_same("the environment's rows", found, evidence(pairs))
        else:  # the step committed on its own stays, whole, and nothing after it
            counts, rows = after_committed
            check_same("row counts (beside the expiry committed first)", counts, table_counts())
            check_same("the environment's rows (beside the expiry committed first)", rows, comparable(evidence(pairs)))

        prepared.call()
        check_same("rows added by the retry", added, delta(before, table_counts()))
        check_same("the retry's outcome", finished, shape(evidence(pairs)))

    run_every_k(name, writes, attempt, only=lambda write: True)


@pytest.mark.parametrize("name", SERVICES)
def test_a_fault_at_any_write_of_a_service_raises_leaves_nothing_and_the_retry_succeeds_once(
    reviewer: Any, name: str
) -> None:
    check_service(name, SERVICES[name], reviewer)


# ---------------------------------------------------------------------------------------------------
# With an overdue operation: the expiry is committed on its own, before the guarded write
# ---------------------------------------------------------------------------------------------------


def overdue_operation(now: datetime) -> BootstrapOperation:
    """cm/testing with a current deployment and an operation whose deadline passed an hour ago."""
    return start(deployed_env(), timeout_seconds=60, now=now - timedelta(hours=2))


def overdue_late_result(now: datetime, user: Any) -> Prepared:
    operation = overdue_operation(now)
    return Prepared(result_call(operation, now), lambda: expire_overdue(now, environment=operation.environment))


def overdue_deployment(now: datetime, user: Any) -> Prepared:
    # A record expires the overdue operation under its own lock, in its own transaction (lock_inventory):
    # a fault after the expiry rolls both back, and the retry does both.
    return Prepared(deployment_call(overdue_operation(now).environment, now))


def overdue_in_two_environments(now: datetime, user: Any) -> Prepared:
    for instance in ("testing", "prod"):
        start(
            deployed_env("cm", instance, record_id=f"dep-{instance}"), timeout_seconds=60, now=now - timedelta(hours=2)
        )

    def first_environment() -> int:
        # Each environment expires in its own transaction, in the order the sweep query finds them.
        overdue = BootstrapOperation.objects.overdue(now).order_by().values_list("environment_id", flat=True)
        return expire_overdue(now, environment=Environment.objects.get(pk=overdue.distinct()[0]))

    return Prepared(lambda: expire_overdue(now), first_environment)


OVERDUE = {
    "late-bootstrap-result": Service(overdue_late_result, {BootstrapOperation: 0, InventoryTransition: 2}),
    "expire-overdue-in-two-environments": Service(
        overdue_in_two_environments, {InventoryTransition: 2}, (("cm", "testing"), ("cm", "prod"))
    ),
}


@pytest.mark.parametrize("name", OVERDUE)
def test_a_fault_after_an_expiry_committed_on_its_own_keeps_only_the_whole_expiry_and_the_retry_finishes(
    reviewer: Any, name: str
) -> None:
    check_service(name, OVERDUE[name], reviewer)


def test_a_fault_in_a_deployment_beside_an_overdue_bootstrap_leaves_neither_expiry_nor_record_and_the_retry_does_both(
    reviewer: Any,
) -> None:
    check_service(
        "deployment-beside-an-overdue-bootstrap",
        Service(overdue_deployment, {DeploymentRecord: 1, InventoryTransition: 2}),
        reviewer,
    )


def test_a_fault_in_a_late_result_over_the_api_leaves_the_expiry_whole_or_not_at_all_and_nothing_of_the_result(
    automation: Caller,
) -> None:
    """The result view expires the overdue operation before it records the result. Either outcome of
    the expiry is accepted after a fault: committed on its own, whole (as ``record_bootstrap_result``
    intends), or rolled back with the request (today the idempotent request's transaction in
    ``launchplane/api/idempotency.py`` wraps the view, the expiry's own block included, so it rolls
    back; nothing is lost, since the next read or write expires the operation again, stamped with its
    deadline). Never a part of it, and never anything of the result."""
    now = timezone.now()
    operation = overdue_operation(now)
    late = Endpoint(
        "POST /api/v1/bootstraps/{id}/result/ (late: the operation is overdue)",
        lambda: (result_url(operation.operation_id), result_body(runtime_identity("dep-1"))),
        200,
        {BootstrapOperation: 0, InventoryTransition: 2},  # the expiry's and the result's
    )
    check_endpoint(late, automation, committed_first=lambda: expire_overdue(now, environment=operation.environment))
