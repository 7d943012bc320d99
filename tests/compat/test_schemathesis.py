"""Schemathesis against the /v1/ operations only: no 5xx, and every answer within the documented schema
(the whole document is fuzzed by tests/api/test_schemathesis.py; this is the compat slice of it, with
cases aimed at a seeded environment and at payloads in the existing shape)."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import HealthCheck, settings

from launchplane.api.plumbing import ClientRateThrottle
from tests.api.test_schemathesis import CHECKS, MAX_EXAMPLES, schema, seed_context

compat = schema.include(path_regex="^/v1/")


@pytest.fixture
def seeded(transactional_db, monkeypatch):
    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "1000000/minute"})
    return seed_context()


def aim(case, ids) -> None:
    if zlib.crc32(repr((case.path_parameters, case.body)).encode()) % 2:
        return
    for name, value in (case.path_parameters or {}).items():
        case.path_parameters[name] = ids.get(name, value)
    record = case.body.get("deployment") if isinstance(case.body, dict) else None
    if isinstance(record, dict) and "context" in record:
        record["context"], record["instance"] = "cm", "testing"


@pytest.mark.slow
@compat.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_compat_routes_answer_without_5xx_and_within_their_schema(case, seeded):
    token, ids = seeded
    aim(case, ids)
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    case.validate_response(response, checks=CHECKS)
