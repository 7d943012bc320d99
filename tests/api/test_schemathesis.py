"""Schemathesis against /api/v1/schema/: no 5xx, and no response that breaks the schema.

Two runs. The live one (``test_schemathesis_with_every_check_and_phase_...``) is ``st run`` from
outside, as a client team would run it: ``--checks all``, every phase (examples, coverage, fuzzing,
stateful along the document's links: create an environment, deploy to it, read it back; start a
bootstrap, report its result), seeded and bounded (``LIVE_MAX_EXAMPLES``), against pytest-django's live
server, with the hooks in ``tests/api/schemathesis_hooks.py``. What it may report is the one allow-list
``TOLERATED``, each entry matched on the server's answer and explained; anything else fails. The
in-process run below it aims generated requests at seeded records through the WSGI application.

Every operation of the served OpenAPI document gets a bounded, reproducible set of generated requests
(schemathesis' coverage cases plus ``MAX_EXAMPLES`` fuzzed ones, positive and negative), sent through
the WSGI application as an API client scoped to ``cm``, where ``cm/testing`` holds a deployment, a
finished bootstrap and an active one. About half the cases are aimed at those records, so that the
services run and not only the 404 path.

The API has a few known, reported problems. The fuzz test tolerates exactly the responses they explain
(``KNOWN_PROBLEMS``), so that anything new still fails, and each is pinned by a plain ``xfail`` test at
the bottom of this module (or in test_schema.py). When one is fixed, its xfail test starts passing:
delete its ``KNOWN_PROBLEMS`` entry and its marker.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.utils.dateparse import parse_datetime
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from launchplane.api.plumbing import ClientRateThrottle
from launchplane.models import ApiClient

# Django's own WSGI handler: launchplane.wsgi refuses to load with the development SECRET_KEY.
application = get_wsgi_application()
# The document /api/v1/schema/ serves (it needs a token, and there is no database at import time, so it is
# generated here the same way the view does).
schema = schemathesis.openapi.from_dict(
    json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str)),
    # Fixed seed; the bearer token is sent by the test, so no security parameters are generated.
    config=schemathesis.Config.from_dict({"seed": 20261127, "generation": {"with-security-parameters": False}}),
)
schema.app = application

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
MAX_EXAMPLES = 25
PAGINATED_PATHS = {
    "/api/v1/environments/",
    "/api/v1/deployments/",
    "/api/v1/bootstraps/",
    "/api/v1/environments/{context}/{instance}/history/",
}
REPO_ROOT = Path(__file__).resolve().parents[2]
POSTGRES_MAX_UTC_OFFSET = timedelta(hours=15, minutes=59, seconds=59)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _request_strings(case) -> Iterator[str]:
    yield from _strings([case.path_parameters, case.query, case.headers, case.body])


def _carries_nul(case) -> bool:
    return any("\x00" in text for text in _request_strings(case))


def _carries_unstorable_timestamp(case) -> bool:
    """A timestamp Python parses but the database cannot store or compare: one whose UTC value falls
    outside years 1-9999, or (PostgreSQL) one whose offset is beyond +-15:59."""
    for text in _request_strings(case):
        try:
            parsed = parse_datetime(text.strip())
        except ValueError:
            continue
        if parsed is None or parsed.tzinfo is None:
            continue
        try:
            parsed.astimezone(UTC)
        except OverflowError:
            return True
        if connection.vendor == "postgresql" and abs(parsed.utcoffset()) > POSTGRES_MAX_UTC_OFFSET:
            return True
    return False


def _content_type(response) -> str:
    return (response.headers.get("content-type") or [""])[0]


@dataclass(frozen=True)
class KnownProblem:
    """A reported API problem, and which generated responses it explains."""

    description: str
    pinned_by: str
    explains: Callable[[Any, Any], bool]


KNOWN_PROBLEMS: list[KnownProblem] = []  # every problem schemathesis found is fixed; add new ones here


def seed_context() -> tuple[str, dict[str, str]]:
    """cm/testing with a passing deployment, a finished bootstrap and an active one, all made over the
    API. Returns a read-write token scoped to ``cm`` and the ids to aim at."""
    _, token = ApiClient.issue("schemathesis", contexts=["cm"])
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def post(path: str, body: dict, key: str | None = None) -> dict:
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        response = http.post(path, body, format="json", **headers)
        assert response.status_code == 201, response.content
        return response.json()

    post("/api/v1/environments/", {"context": "cm", "instance": "testing"})
    identity = {
        "context": "cm",
        "instance": "testing",
        "deployment_record_id": "dep-1",
        "artifact_id": "artifact-1",
        "source_git_ref": "refs/heads/main",
    }
    post(
        "/api/v1/deployments/",
        {
            "context": "cm",
            "instance": "testing",
            "record_id": "dep-1",
            "artifact_id": "artifact-1",
            "source_git_ref": "refs/heads/main",
            "deploy_status": "pass",
            "post_deploy_status": "pass",
            "health_status": "pass",
            "started_at": "2026-11-27T12:00:00Z",
            "finished_at": "2026-11-27T12:04:00Z",
            "observed_runtime_identity": identity,
        },
    )
    failed = {"bootstrap_run_status": "fail", "data_mutated": False}
    post(
        "/api/v1/bootstraps/", {"context": "cm", "instance": "testing", "data_source": "empty", "result": failed}, "s1"
    )
    active = post("/api/v1/bootstraps/", {"context": "cm", "instance": "testing", "data_source": "empty"}, "s2")
    ids = {"context": "cm", "instance": "testing", "record_id": "dep-1", "operation_id": active["operation_id"]}
    return token, ids


@pytest.fixture
def seeded(transactional_db, monkeypatch) -> tuple[str, dict[str, str]]:
    # Real commits (a 500 on PostgreSQL must not poison a wrapping test transaction), and hundreds of
    # requests a minute from one client: keep the throttle out of what is being tested.
    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "1000000/minute"})
    return seed_context()


def _aim_at_seeded_records(case, ids: dict[str, str]) -> None:
    """Point about half the cases at the seeded records, chosen by a stable hash of the case so that a
    run is reproducible."""
    if zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode()) % 2:
        return
    for name, value in (case.path_parameters or {}).items():
        case.path_parameters[name] = ids.get(name, value)
    if isinstance(case.body, dict) and "context" in case.body:
        case.body["context"], case.body["instance"] = "cm", "testing"


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_without_5xx_and_within_its_schema(case, seeded):
    token, ids = seeded
    _aim_at_seeded_records(case, ids)
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup:
        if not any(problem.explains(case, response) for problem in KNOWN_PROBLEMS):
            raise


# --- Known problems, one plain request each --------------------------------------------------------

ON_POSTGRESQL = connection.vendor == "postgresql"


def http_for(token: str) -> APIClient:
    # Django's test client skips CSRF checks unless asked; real clients (and schemathesis) do not.
    http = APIClient(enforce_csrf_checks=True)
    http.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return http


@pytest.fixture
def scoped_http(db) -> APIClient:
    """For requests that fail before any query: a test transaction is safe."""
    _, token = ApiClient.issue("known-problems", contexts=["cm"])
    return http_for(token)


@pytest.fixture
def seeded_http(seeded) -> APIClient:
    """For requests that fail in the database: real commits, and cm/testing seeded."""
    token, _ = seeded
    return http_for(token)


def assert_error_body(response, status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == code


def test_a_post_to_an_unrouted_api_path_answers_404_in_the_error_body(scoped_http):
    for path in ["/api/v1/bootstraps/%C2%84/result/", "/api/v1/bootstraps/null,null/cancel/", "/api/v1/nothing-here/"]:
        assert_error_body(scoped_http.post(path, {}, format="json"), 404, "not_found")


@pytest.mark.parametrize(
    "timestamp",
    [
        # Its UTC value is in year 0: Python overflows (500); PostgreSQL even stores it, and every
        # later read of it answers 500.
        "0001-01-01T00:00:00+05:00",
        # Its UTC value is in year 10000: Python overflows (500).
        "9999-12-31T23:00:00-05:00",
        # PostgreSQL refuses offsets beyond +-15:59 (500); SQLite stores the UTC value.
        "2026-11-27T12:00:00-20:00",
    ],
)
def test_a_timestamp_the_database_cannot_store_is_a_validation_error(seeded_http, timestamp):
    seeded_http.post("/api/v1/environments/", {"context": "cm", "instance": "fresh"}, format="json")
    observation = {"source": "prober", "observed_at": timestamp, "runtime_identity_status": "unverifiable"}
    answers = {}
    # cm/testing has a current deployment (the observation is superseded); cm/fresh has none (it applies).
    for instance in ("testing", "fresh"):
        path = f"/api/v1/environments/cm/{instance}/observations/"
        answers[f"POST {path}"] = seeded_http.post(path, observation, format="json").status_code
    for path, name in [
        ("/api/v1/deployments/", "finished_after"),
        ("/api/v1/bootstraps/", "started_before"),
        ("/api/v1/environments/cm/testing/history/", "occurred_after"),
    ]:
        answers[f"GET {path}?{name}="] = seeded_http.get(path, {name: timestamp}).status_code
    for path in ["/api/v1/environments/", "/api/v1/environments/cm/fresh/", "/api/v1/environments/cm/fresh/history/"]:
        answers[f"GET {path} afterwards"] = seeded_http.get(path).status_code
    assert all(status < 500 for status in answers.values()), answers


def test_a_nul_character_never_answers_500(seeded_http):
    identity = {"context": "cm\x00", "instance": "testing"}
    observation = {"source": "prober", "observed_at": "2026-11-27T12:30:00Z", "observed_runtime_identity": identity}
    answers = {
        "identity value": seeded_http.post(
            "/api/v1/environments/cm/testing/observations/", observation, format="json"
        ).status_code,
        "path segment": seeded_http.get("/api/v1/environments/cm/test%00ing/").status_code,
        "Idempotency-Key": seeded_http.post(
            "/api/v1/environments/",
            {"context": "cm", "instance": "nul-key"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="key\x00",
        ).status_code,
    }
    assert all(status < 500 for status in answers.values()), answers


def test_a_deeply_nested_body_is_a_validation_error(seeded_http):
    depth = 5000  # about 10 KB, far below API_MAX_BODY_BYTES
    body = '{"source": "p", "observed_at": "2026-11-27T12:30:00Z", "observed_runtime_identity": '
    body += "[" * depth + "]" * depth + "}"
    response = seeded_http.post("/api/v1/environments/cm/testing/observations/", body, content_type="application/json")
    assert_error_body(response, 400, "validation_error")


def test_every_known_problem_is_pinned_by_a_test():
    for problem in KNOWN_PROBLEMS:
        module, _, name = problem.pinned_by.rpartition("::")
        source = (REPO_ROOT / module if module else Path(__file__)).read_text()
        assert f"def {name}(" in source, problem


# --- schemathesis from outside: every check, every phase, against a live server -------------------

LIVE_SEED = 20261203
LIVE_MAX_EXAMPLES = 5  # per operation and phase: under two minutes per database on CI's two cores
LIVE_HOOKS = "tests.api.schemathesis_hooks"


@dataclass(frozen=True)
class Tolerated:
    """A failure the document cannot prevent, and why. ``operation`` is the report's label (``METHOD
    /path``, or ``Stateful tests`` for a failure inside a chain of linked calls); ``answer`` is text the
    server's answer must contain (its error code or message), so that only this cause is tolerated:
    another failure of the same check on the same operation still fails the test."""

    code: str
    operation: str
    answer: str
    reason: str


KEY_REUSE = (
    "Stateful: schemathesis generates few distinct Idempotency-Keys ('0' again and again), and a key the "
    "same client already used with another body answers 422 idempotency_key_reused (PRODUCT.md, "
    "Idempotency). Which keys a client used before is state no schema can carry."
)
IN_THE_FUTURE = (
    "Temporal: evidence timestamps later than the server's clock (beyond the allowed skew) are refused as "
    "'in the future'. The bound moves with the clock; OpenAPI can only state fixed bounds (the 1970-8999 "
    "year range is in the document as a pattern)."
)
OUT_OF_ORDER = (
    "Across fields: a finish before its start (a deployment's finished_at before its started_at, a "
    "result's before its operation's or result.started_at) is refused. JSON Schema compares no two "
    "values, so the rule is described on the operations and in docs/api.md."
)
CONTRADICTION = (
    "Across fields: a result or deployment that contradicts itself (`unverifiable` with a non-null "
    "identity, run `pass` with data_mutated false, ...) answers 400 contradictory_result. Said in the "
    "document as a oneOf it breaks clients generated by openapi-python-client (a branch with "
    "`enum: [null]`), so it is described on the operations and in docs/api.md; the observation's rule, "
    "which generators do understand, is a oneOf."
)
COMPAT_ACROSS_FIELDS = (
    "Across fields (the existing service's own rules, /v1/): a record with neither a deploy pass/fail nor an "
    "attempted bootstrap has nothing to record; a bootstrap's or post-deploy update's statuses follow from "
    "`attempted`; a verified destination health names URLs, timeout and outcome. Each ties one field's "
    "allowed values to another's; said as oneOf they would need a branch per combination of a body that "
    "existing clients already send, so they are described on the operation and in docs/compat.md."
)
COMPAT = "POST /v1/evidence/deployments"
COMPAT_RULE_ANSWERS = [
    "there is nothing to record",
    "was not attempted is skipped",
    "An attempted bootstrap is not skipped",
    "A verified destination health",
]
WRITES = [
    "POST /api/v1/environments/",
    "POST /api/v1/deployments/",
    "POST /api/v1/bootstraps/",
    "POST /api/v1/bootstraps/{operation_id}/result/",
    "POST /api/v1/bootstraps/{operation_id}/cancel/",
    "POST /api/v1/bootstraps/{operation_id}/events/",
    "POST /api/v1/environments/{context}/{instance}/observations/",
    "POST /api/v1/environments/{context}/{instance}/verify/",
    "Stateful tests",
]
TIMED = [
    "POST /api/v1/deployments/",
    "POST /api/v1/bootstraps/",
    "POST /api/v1/bootstraps/{operation_id}/result/",
    "POST /api/v1/environments/{context}/{instance}/observations/",
    "Stateful tests",
]
# The one allow-list of the live run. Anything else schemathesis reports fails the test.
TOLERATED: list[Tolerated] = [
    *(Tolerated("ST202", operation, '"code":"idempotency_key_reused"', KEY_REUSE) for operation in WRITES),
    *(Tolerated("ST202", operation, "is in the future", IN_THE_FUTURE) for operation in TIMED),
    *(Tolerated("ST202", operation, "is before started_at", OUT_OF_ORDER) for operation in TIMED),
    *(Tolerated("ST202", operation, "is before the operation started", OUT_OF_ORDER) for operation in TIMED),
    *(Tolerated("ST202", operation, '"code":"contradictory_result"', CONTRADICTION) for operation in TIMED),
    *(Tolerated("ST202", operation, answer, COMPAT_ACROSS_FIELDS) for operation in (COMPAT, "Stateful tests")
      for answer in COMPAT_RULE_ANSWERS),
    *(Tolerated("ST202", operation, '"code":"idempotency_key_reused"', KEY_REUSE) for operation in (COMPAT,)),
    *(Tolerated("ST202", COMPAT, answer, reason) for answer, reason in (
        ("is in the future", IN_THE_FUTURE), ("is before", OUT_OF_ORDER))),
]  # fmt: skip

BLOCK = re.compile(r"^_{3,} (.+?) _{3,}$", re.MULTILINE)
FAILURE = re.compile(r"^- (ST\d{3}) ", re.MULTILINE)


def reported_failures(output: str) -> list[tuple[str, str, str]]:
    """Each failure in the run's FAILURES section: (check code, operation label, its text)."""
    section = output.partition("= FAILURES =")[2].partition("= WARNINGS =")[0].partition("= SUMMARY =")[0]
    found = []
    parts = BLOCK.split(section)
    for label, body in zip(parts[1::2], parts[2::2], strict=True):
        pieces = FAILURE.split(body)
        for code, text in zip(pieces[1::2], pieces[2::2], strict=True):
            found.append((code, label.strip(), text))
    return found


def untolerated(output: str, report: dict) -> list[tuple[str, str, str]]:
    failures = reported_failures(output)
    # Every failure the JSON report counts must have been read from the output: nothing slips past.
    summary = {(failure["code"], operation) for failure in report["failures"] for operation in failure["operations"]}
    assert summary == {(code, label) for code, label, _ in failures}, (summary, failures)
    return [
        (code, label, text[:2000])
        for code, label, text in failures
        if not any((entry.code, entry.operation) == (code, label) and entry.answer in text for entry in TOLERATED)
    ]


def run_schemathesis(base_url: str, token: str, folder: Path) -> tuple[dict, str]:
    """``st run`` as a client team would run it, against ``base_url``; returns its JSON report and output."""
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{base_url}/api/v1/schema/?format=json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(LIVE_MAX_EXAMPLES),
        "--seed",
        str(LIVE_SEED),
        "--workers",
        "1",
        "--report",
        "json",
        "--report-dir",
        str(folder),
        "--no-color",
        "--output-truncate",
        "false",
    ]
    # Run in the temporary folder: schemathesis keeps a cache of past failures in its working directory,
    # which would make one run depend on the last (and leave files in the repository).
    env = {**os.environ, "SCHEMATHESIS_HOOKS": LIVE_HOOKS, "PYTHONPATH": str(REPO_ROOT)}
    completed = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=600, check=False)
    output = completed.stdout + completed.stderr
    reports = sorted(folder.glob("*.json"))
    assert reports, output[-5000:]
    return json.loads(reports[-1].read_text()), output


@pytest.mark.slow
def test_schemathesis_with_every_check_and_phase_finds_nothing_outside_the_allow_list(
    live_server, tmp_path, monkeypatch
):
    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "1000000/minute"})
    _, token = ApiClient.issue("schemathesis-live", contexts=["cm"])
    report, output = run_schemathesis(live_server.url, token, tmp_path)
    assert not report["errors"], output[-8000:]
    assert {name for name, phase in report["phases"].items() if phase["status"] != "skip"} >= {
        "coverage",
        "fuzzing",
        "stateful",
    }, report["phases"]
    assert not untolerated(output, report), output[-20000:]


def test_every_tolerated_failure_says_why():
    for entry in TOLERATED:
        assert entry.code.startswith("ST") and entry.operation and entry.answer and len(entry.reason) > 80, entry


def test_the_allow_list_reads_failures_from_schemathesis_output():
    output = (
        "==== FAILURES ====\n____ POST /api/v1/deployments/ ____\n1. Test Case ID: x\n\n- ST202 Schema-valid request "
        'rejected\n[400] Bad Request:\n    `{"error":{"message":"finished_at is in the future"}}`\n\n'
        "- ST201 Schema-violating request accepted\n[201] Created\n==== SUMMARY ====\n"
    )
    report = {
        "failures": [
            {"code": "ST202", "operations": ["POST /api/v1/deployments/"]},
            {"code": "ST201", "operations": ["POST /api/v1/deployments/"]},
        ]
    }
    assert [(code, label) for code, label, _ in untolerated(output, report)] == [("ST201", "POST /api/v1/deployments/")]
