"""The bad-input corpus (rule 13): every API write endpoint, every field of its body (nested ``result.*``
and evidence items included), and a table of named mutations applied to a valid body.

Each mutation answers a 4xx in the one error body with a stable code, names the offending dotted path
where it is a field error, writes no row in any table and never answers 5xx. Identifiers are taken
exactly as sent or refused: padding and control characters are never trimmed away. An observed
runtime identity is evidence, so odd but well-formed JSON there may also be accepted, stored exactly.

Every body is sent as ASCII JSON text (a lone surrogate travels as its ``\\udXXX`` escape, as JSON
allows), always with an ``Idempotency-Key``, so that a kept key would show up as a row. The records
the requests need are made once for the module (see ``world``), so thousands of cases stay fast.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from bootstraps.models import BootstrapOperation
from inventory.models import DeploymentRecord, RuntimeObservation
from tests.api.conftest import Caller, make_caller
from tests.api.support import (
    BOOTSTRAPS,
    DEPLOYMENTS,
    ENVIRONMENTS,
    OBSERVED_MINUTE,
    at,
    bootstrap_url,
    cancel_url,
    deployed_env,
    deployment_body,
    environment_body,
    error_of,
    iso,
    new_key,
    observations_url,
    result_body,
    result_url,
    start_body,
)
from tests.factories import row_counts, runtime_identity, start

pytestmark = pytest.mark.django_db

# ---------------------------------------------------------------------------------------------------
# The world every case starts from, and each endpoint's valid body in it
# ---------------------------------------------------------------------------------------------------

PROBE = {
    "probe": "health",
    "url": "https://cm.example.com/web/health",
    "status": "pass",
    "status_code": 200,
    "failure_class": None,
    "detail": "answered 200",
}


@dataclass(frozen=True)
class World:
    """cm/testing with a current deployment ``dep-1`` and nothing active; cm/result, cm/cancel and
    cm/events each with a current deployment and a running bootstrap, for the requests addressing one."""

    operations: dict[str, str]  # instance -> the running operation's id
    automation: Caller  # read-write client scoped to cm (the conftest's, made once here)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """Made once for the module (thousands of cases start from it) inside a transaction rolled back at
    the end; each test runs in a savepoint inside it, so whatever a test writes is undone."""
    with django_db_blocker.unblock(), transaction.atomic():
        deployed_env()
        operations = {
            instance: start(deployed_env("cm", instance, f"dep-{instance}")).operation_id
            for instance in ("result", "cancel", "events")
        }
        automation = make_caller("ci-cm", ["cm"])
        automation.http.raise_request_exception = False  # a 500 is an answer to assert on, not a crash
        yield World(operations, automation)
        transaction.set_rollback(True)


def send(world: World, url: str, raw: bytes, content_type: str = "application/json"):
    return world.automation.http.post(url, raw, content_type=content_type, HTTP_IDEMPOTENCY_KEY=new_key())


def events_url(operation_id: str) -> str:
    return f"{bootstrap_url(operation_id)}events/"


def result_extras(now: datetime) -> dict[str, Any]:
    """The optional result fields a result body leaves out, so that every field has a valid value."""
    return {"verification_evidence": [dict(PROBE)], "finished_at": iso(now), "error_message": ""}


def environment_create(world: World) -> tuple[str, dict[str, Any]]:
    return ENVIRONMENTS, environment_body(instance="fresh", required_checks=["health"])


def deployment_create(world: World) -> tuple[str, dict[str, Any]]:
    return DEPLOYMENTS, deployment_body(record_id="dep-2")


def observation(world: World) -> tuple[str, dict[str, Any]]:
    body = {
        "observed_runtime_identity": runtime_identity("dep-1"),
        "source": "prober",
        "observed_at": at(OBSERVED_MINUTE),
    }
    return observations_url(), body


def bootstrap_start(world: World) -> tuple[str, dict[str, Any]]:
    return BOOTSTRAPS, start_body()


def bootstrap_one_shot(world: World) -> tuple[str, dict[str, Any]]:
    now = timezone.now()
    result = result_body(runtime_identity("dep-1"), **result_extras(now - timedelta(minutes=1)))
    return BOOTSTRAPS, start_body(result={**result, "started_at": iso(now - timedelta(minutes=2))})


def bootstrap_result(world: World) -> tuple[str, dict[str, Any]]:
    expected = runtime_identity("dep-result", instance="result")
    return result_url(world.operations["result"]), result_body(expected, **result_extras(timezone.now()))


def bootstrap_cancel(world: World) -> tuple[str, dict[str, Any]]:
    return cancel_url(world.operations["cancel"]), {"reason": "wrong source", "data_mutated": False}


def bootstrap_events(world: World) -> tuple[str, dict[str, Any]]:
    body = {"phase": "bootstrap", "data_mutated": False, "extend_deadline_seconds": 600}
    return events_url(world.operations["events"]), body


ENDPOINTS: dict[str, Callable[[World], tuple[str, dict[str, Any]]]] = {
    "environments": environment_create,
    "deployments": deployment_create,
    "observations": observation,
    "bootstrap-start": bootstrap_start,
    "bootstrap-one-shot": bootstrap_one_shot,
    "bootstrap-result": bootstrap_result,
    "bootstrap-cancel": bootstrap_cancel,
    "bootstrap-events": bootstrap_events,
}

# Kinds of field: what a valid value looks like decides which mutations are bad for it.
SLUG = "slug"  # context, instance: identifiers
IDENT = "identifier"  # record_id, artifact_id, source_git_ref, image_digest: identifiers
TEXT = "text"  # free text
NTEXT = "nullable-text"
CHOICE = "choice"
INT = "int"
NINT = "nullable-int"
BOOL = "bool"
NBOOL = "nullable-bool"
TIME = "timestamp"
CHECKS = "checks"  # a list of check names
EVIDENCE = "evidence"  # a list of probe objects
OBJECT = "object"  # the one-shot's nested result
IDENTITY = "identity"  # observed_runtime_identity: any JSON value is evidence

IDENTIFIERS = {SLUG, IDENT}
STRINGS = {SLUG, IDENT, TEXT, NTEXT, CHOICE, TIME}
NULLABLE = {NTEXT, NINT, NBOOL}

# A valid value for a field the valid body leaves out or sends as null (padding, control characters
# and case changes start from it).
SAMPLES = {
    "runtime_identity_status": "unverifiable",
    "base_url": "https://cm.example.com",
    "failure_class": "http",
    "health_path": "/web/health",
    "preview_marker": "preview",
}


def result_fields(prefix: str) -> dict[str, str]:
    evidence = f"{prefix}verification_evidence"
    return {
        f"{prefix}bootstrap_run_status": CHOICE,
        f"{prefix}data_mutated": NBOOL,
        f"{prefix}post_deploy_status": CHOICE,
        f"{prefix}health_status": CHOICE,
        f"{prefix}canonical_status": CHOICE,
        f"{prefix}logo_status": CHOICE,
        f"{prefix}observed_runtime_identity": IDENTITY,
        f"{prefix}runtime_identity_status": CHOICE,
        evidence: EVIDENCE,
        f"{evidence}.0.probe": TEXT,
        f"{evidence}.0.url": TEXT,
        f"{evidence}.0.status": CHOICE,
        f"{evidence}.0.status_code": NINT,
        f"{evidence}.0.failure_class": NTEXT,
        f"{evidence}.0.detail": TEXT,
        f"{prefix}finished_at": TIME,
        f"{prefix}error_message": TEXT,
    }


START_FIELDS = {"context": SLUG, "instance": SLUG, "data_source": CHOICE, "reason": TEXT, "timeout_seconds": INT}

FIELDS: dict[str, dict[str, str]] = {
    "environments": {
        "context": SLUG,
        "instance": SLUG,
        "base_url": TEXT,
        "required_checks": CHECKS,
        "requires_runtime_identity": BOOL,
        "verification_ttl_seconds": INT,
        # The verification settings PRODUCT.md lets a create carry; a null interval means "half the TTL".
        "health_path": TEXT,
        "verification_interval_seconds": NINT,
        "verification_timeout_seconds": INT,
        "preview_marker": TEXT,
        "verify_tls": BOOL,
        "verify_after_records": BOOL,
    },
    "deployments": {
        "context": SLUG,
        "instance": SLUG,
        "record_id": IDENT,
        "artifact_id": IDENT,
        "source_git_ref": IDENT,
        "image_digest": IDENT,
        "deploy_status": CHOICE,
        "post_deploy_status": CHOICE,
        "health_status": CHOICE,
        "started_at": TIME,
        "finished_at": TIME,
        "observed_runtime_identity": IDENTITY,
        "runtime_identity_status": CHOICE,
    },
    "observations": {
        "observed_runtime_identity": IDENTITY,
        "runtime_identity_status": CHOICE,
        "source": TEXT,
        "observed_at": TIME,
    },
    "bootstrap-start": START_FIELDS,
    "bootstrap-one-shot": {
        **START_FIELDS,
        "result": OBJECT,
        **result_fields("result."),
        "result.started_at": TIME,
    },
    "bootstrap-result": result_fields(""),
    "bootstrap-cancel": {"reason": TEXT, "data_mutated": NBOOL},
    "bootstrap-events": {"phase": CHOICE, "data_mutated": NBOOL, "extend_deadline_seconds": NINT},
}

# ---------------------------------------------------------------------------------------------------
# What an answer must be
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """The answer a case must get. ``paths``: one of them (or a path below it) is named in ``fields``.
    ``body_level``: a refusal of the body as a whole (the JSON parser's) may name no field.
    ``may_accept``: the input is evidence PRODUCT.md lets through; if accepted, nothing else is
    asserted, and if refused it is refused cleanly."""

    status: int = 400
    code: str = "validation_error"
    paths: tuple[str, ...] = ()
    body_level: bool = False
    may_accept: bool = False


def refused(*paths: str, body_level: bool = False) -> Expect:
    return Expect(paths=paths, body_level=body_level)


BODY_REFUSED = Expect(body_level=True)
TOO_LARGE = Expect(413, "payload_too_large", body_level=True)
NOT_JSON = Expect(415, "unsupported_media_type", body_level=True)


def evidence(path: str, *, body_level: bool = False) -> Expect:
    return Expect(paths=(path,), body_level=body_level, may_accept=True)


def assert_answer(response, expect: Expect, before: dict[str, int]) -> None:
    content = response.content[:600]
    assert response.status_code < 500, (response.status_code, content)
    if expect.may_accept and 200 <= response.status_code < 300:
        return
    error = error_of(response, expect.status, expect.code)
    if expect.paths:
        named = [
            path
            for path in error["fields"]
            if any(path == want or path.startswith(f"{want}.") for want in expect.paths)
        ]
        assert named or (expect.body_level and not error["fields"]), (expect.paths, error)
    assert row_counts() == before


# ---------------------------------------------------------------------------------------------------
# Building bodies: values spliced in as JSON text where json.dumps cannot make them
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text put where a value goes: nested too deep for ``json.dumps``, or not valid JSON at all."""

    text: str


PLACEHOLDER = "@@raw-json-value@@"
DEPTHS = (10, 100, 400, 900, 5000)
# From this depth on, the parser (which bounds how deeply any body nests) may refuse the body as a
# whole, naming no field; at depth 10 a scalar field's own check must name it.
PARSER_DEPTH = 100
WIDE = 10_000
KB10 = "x" * 10 * 1024
MB2 = "x" * 2 * 1024 * 1024


def deep_list(depth: int) -> Raw:
    return Raw("[" * depth + "]" * depth)


def deep_object(depth: int) -> Raw:
    return Raw('{"a":' * (depth - 1) + "{}" + "}" * (depth - 1))


def _key(part: str) -> str | int:
    return int(part) if part.isdigit() else part


def get_path(body: Any, path: str, default: Any = None) -> Any:
    for part in path.split("."):
        try:
            body = body[_key(part)]
        except (KeyError, IndexError, TypeError):
            return default
    return body


def set_path(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``body`` with ``value`` at the dotted ``path`` (list items by index)."""
    body = copy.deepcopy(body)
    *parents, last = [_key(part) for part in path.split(".")]
    target: Any = body
    for part in parents:
        target = target[part]
    target[last] = value
    return body


def encode(body: Any) -> bytes:
    return json.dumps(body).encode()  # ASCII: NUL and lone surrogates travel as escapes


def with_value(body: dict[str, Any], path: str, value: Any) -> bytes:
    """``body`` encoded with ``value`` at ``path``; a ``Raw`` value is spliced in as the text it is."""
    if not isinstance(value, Raw):
        return encode(set_path(body, path, value))
    return encode(set_path(body, path, PLACEHOLDER)).replace(encode(PLACEHOLDER), value.text.encode())


# ---------------------------------------------------------------------------------------------------
# The mutations, per kind of field
# ---------------------------------------------------------------------------------------------------

Make = Callable[[Any], Any]  # the field's valid value -> the bad one


@dataclass(frozen=True)
class Mutation:
    name: str
    make: Make
    expect: Expect


def const(value: Any) -> Make:
    return lambda _valid: value


def inside(char: str) -> Make:
    return lambda valid: f"{valid[:1]}{char}{valid[1:]}"


PADDINGS = {
    "space-leading": " {}",
    "space-trailing": "{} ",
    "spaces-both": "  {}  ",
    "tab-leading": "\t{}",
    "tab-trailing": "{}\t",
    "newline-leading": "\n{}",
    "newline-trailing": "{}\n",
    "crlf-trailing": "{}\r\n",
    "nbsp-trailing": "{}\u00a0",
}
MAX_LENGTHS = {
    "context": 63,
    "instance": 63,
    "record_id": 128,
    "artifact_id": 512,
    "source_git_ref": 255,
    "image_digest": 255,
}
CONTROLS = {"00": "\x00", "01": "\x01", "1f": "\x1f", "7f": "\x7f", "9f": "\x9f", "tab": "\t", "newline": "\n"}
TEXT_CONTROLS = {"01": "\x01", "1f": "\x1f", "7f": "\x7f"}  # in free text: allowed or refused, never 5xx
TIMESTAMPS = {
    "year-0001": "0001-01-01T00:00:00Z",
    "before-1970": "1969-12-31T23:59:59Z",
    "year-9999": "9999-12-31T23:59:59Z",
    "year-3000": "3000-01-01T00:00:00Z",
    "naive": "2026-11-27T12:00:00",
    "date-only": "2026-11-27",
    "garbage": "yesterday at noon",
    "empty": "",
}
FINISHES = {"deployments": "finished_at", "bootstrap-result": "finished_at", "bootstrap-one-shot": "result.finished_at"}


def mutations_for(endpoint: str, path: str, kind: str) -> list[Mutation]:
    """Every bad variant of one field."""
    out: list[Mutation] = []
    json_valued = kind == IDENTITY

    def bad(name: str, make: Make, **kwargs: Any) -> None:
        body_level = kwargs.pop("body_level", False)
        expect = evidence(path, body_level=body_level) if json_valued else refused(path, body_level=body_level)
        out.append(Mutation(name, make, kwargs.pop("expect", expect)))

    # deep, wide: in place of any value (an identity may hold them as evidence)
    for depth in DEPTHS:
        bad(f"deep-list-{depth}", const(deep_list(depth)), body_level=depth >= PARSER_DEPTH)
        bad(f"deep-object-{depth}", const(deep_object(depth)), body_level=depth >= PARSER_DEPTH)
    bad("wide-object", const({f"k{index}": index for index in range(WIDE)}))
    bad("wide-list", const(list(range(WIDE))))

    if json_valued:
        bad("huge-10kb", const(KB10))
        bad("huge-10kb-value", const({"context": KB10}))
        for name, value in {
            "nul-value": {"context": "cm\x00"},
            "nul-key": {"context\x00": "cm"},
            "nul-nested": {"a": [{"b": ["\x00"]}]},
            "surrogate-value": {"context": "cm\ud800"},
            "surrogate-key": {"\udfff": "cm"},
            "surrogate-nested": [["\ud800"]],
        }.items():
            bad(name, const(value), expect=refused(path))
        for name, text in {"nan": "NaN", "infinity": '{"context": Infinity}', "minus-infinity": "[-Infinity]"}.items():
            bad(name, const(Raw(text)), expect=BODY_REFUSED)
        return out

    # wrongly typed
    types: dict[str, Any] = {
        "number": 42,
        "float": 4.5,
        "true": True,
        "false": False,
        "null": None,
        "list": ["x"],
        "object": {"value": "x"},
    }
    if kind in {INT, NINT}:
        types = {
            "numeric-string": "60",
            "float-whole": 60.0,
            "float-fraction": 60.5,
            "true": True,
            "null": None,
            "list": [60],
            "object": {"value": 60},
            "negative": -1,
            "out-of-range": 10**30,
        }
        bad("integer-5000-digits", const(Raw("9" * 5000)), expect=BODY_REFUSED)
    elif kind in {BOOL, NBOOL}:
        types = {"string": "true", "one": 1, "zero": 0, "null": None, "list": [True], "object": {"value": True}}
    elif kind == CHECKS:
        types = {
            "string": "health",
            "number": 1,
            "true": True,
            "null": None,
            "object": {"health": True},
            "empty-list": [],
            "unknown-check": ["dns"],
            "duplicate": ["health", "health"],
            "item-number": [1],
        }
    elif kind == EVIDENCE:
        types = {
            "string": "health",
            "number": 1,
            "true": True,
            "null": None,
            "object": dict(PROBE),
            "item-string": ["health"],
            "over-100-items": [dict(PROBE)] * 101,
        }
    elif kind == OBJECT:
        types = {"string": "pass", "number": 1, "true": True, "null": None, "list": [], "list-of-strings": ["pass"]}
    for name, value in types.items():
        if name == "null" and kind in NULLABLE:
            continue  # null is a valid value here
        bad(f"type-{name}", const(value))

    if kind in STRINGS:
        bad("huge-10kb", const(KB10))
        bad("nul", inside("\x00"))
        bad("lone-surrogate", inside("\ud800"))
    if kind in IDENTIFIERS:
        limit = MAX_LENGTHS[path]
        bad("one-over-max-length", lambda valid, limit=limit: (valid * (limit + 1))[: limit + 1])
        for name, pattern in PADDINGS.items():
            bad(f"padded-{name}", lambda valid, pattern=pattern: pattern.format(valid))
        for name, char in CONTROLS.items():
            bad(f"control-{name}-inside", inside(char))
            bad(f"control-{name}-trailing", lambda valid, char=char: f"{valid}{char}")
    if kind in {TEXT, NTEXT}:
        for name, char in TEXT_CONTROLS.items():
            bad(f"control-{name}-inside", inside(char), expect=evidence(path))
    if kind == CHOICE:
        bad("uppercase", lambda valid: valid.upper())
        bad("padded", lambda valid: f" {valid} ")
        bad("empty", const(""))
        bad("not-a-choice", const("maybe"))
    if kind == TIME:
        for name, stamp in TIMESTAMPS.items():
            # A start after the finish may be refused under either name.
            paths = (path, "finished_at") if endpoint == "deployments" and path == "started_at" else (path,)
            bad(f"time-{name}", const(stamp), expect=refused(*paths))
        if FINISHES.get(endpoint) == path:
            bad("time-before-the-start", const("2000-01-01T00:00:00Z"))
        bad("time-epoch-seconds", const(1764244800))
    if path.endswith("bootstrap_run_status"):
        for status in ("pending", "running"):
            bad(f"run-{status}", const(status), expect=Expect(code="contradictory_result", paths=(path,)))
    return out


@dataclass(frozen=True)
class Case:
    endpoint: str
    build: Callable[[dict[str, Any]], bytes]
    expect: Expect
    content_type: str = "application/json"


def field_case(endpoint: str, path: str, mutation: Mutation) -> Case:
    def build(body: dict[str, Any]) -> bytes:
        valid = get_path(body, path)
        if valid is None:
            valid = SAMPLES.get(path.rsplit(".", 1)[-1], "x")
        return with_value(body, path, mutation.make(valid))

    return Case(endpoint, build, mutation.expect)


def body_cases(endpoint: str) -> dict[str, Case]:
    """Bodies that are wrong as a whole."""

    def as_is(raw: bytes) -> Callable[[dict[str, Any]], bytes]:
        return lambda _body: raw

    return {
        "not-an-object-list": Case(endpoint, lambda body: encode([body]), BODY_REFUSED),
        "not-an-object-string": Case(endpoint, as_is(b'"cm"'), BODY_REFUSED),
        "not-an-object-number": Case(endpoint, as_is(b"42"), BODY_REFUSED),
        "not-an-object-true": Case(endpoint, as_is(b"true"), BODY_REFUSED),
        "not-an-object-null": Case(endpoint, as_is(b"null"), BODY_REFUSED),
        "invalid-json-truncated": Case(endpoint, lambda body: encode(body)[:-1], BODY_REFUSED),
        "invalid-json-trailing-comma": Case(endpoint, lambda body: encode(body)[:-1] + b",}", BODY_REFUSED),
        "invalid-json-single-quotes": Case(endpoint, lambda body: encode(body).replace(b'"', b"'"), BODY_REFUSED),
        "invalid-json-nan": Case(endpoint, as_is(b"NaN"), BODY_REFUSED),
        "invalid-json-bom": Case(endpoint, lambda body: b"\xef\xbb\xbf" + encode(body), BODY_REFUSED),
        "invalid-utf8": Case(endpoint, lambda body: encode(body)[:-1] + b',"\xff\xfe":1}', BODY_REFUSED),
        "utf8-encoded-surrogate": Case(endpoint, lambda body: encode(body)[:-1] + b',"\xed\xa0\x80":1}', BODY_REFUSED),
        "empty": Case(endpoint, as_is(b""), BODY_REFUSED),
        "whitespace-only": Case(endpoint, as_is(b" \n\t "), BODY_REFUSED),
        "deep-list-5000": Case(endpoint, as_is(("[" * 5000 + "]" * 5000).encode()), BODY_REFUSED),
        "deep-object-900": Case(endpoint, as_is(deep_object(900).text.encode()), BODY_REFUSED),
        "wide-unknown-keys": Case(
            endpoint, lambda body: encode({**body, **{f"k{i}": i for i in range(WIDE)}}), refused("k0")
        ),
        "unknown-key-nul": Case(endpoint, lambda body: encode({**body, "colour\x00": 1}), BODY_REFUSED),
        "unknown-key-surrogate": Case(endpoint, lambda body: encode({**body, "\ud800": 1}), BODY_REFUSED),
        "content-type-xml": Case(endpoint, encode, NOT_JSON, content_type="application/xml"),
        "content-type-missing-subtype": Case(endpoint, encode, NOT_JSON, content_type="application/"),
    }


# Too large (413): one 2 MB string per endpoint, plus a 2 MB identity; cheap, since the size guard
# answers from Content-Length before anything reads the body.
TOO_LARGE_FIELDS = {
    "environments": ["context"],
    "deployments": ["artifact_id", "observed_runtime_identity"],
    "observations": ["source", "observed_runtime_identity"],
    "bootstrap-start": ["reason"],
    "bootstrap-one-shot": ["result.error_message", "result.observed_runtime_identity"],
    "bootstrap-result": ["error_message"],
    "bootstrap-cancel": ["reason"],
    "bootstrap-events": ["phase"],
}


def all_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for endpoint, fields in FIELDS.items():
        for path, kind in fields.items():
            for mutation in mutations_for(endpoint, path, kind):
                cases[f"{endpoint}-{path}-{mutation.name}"] = field_case(endpoint, path, mutation)
        for path in TOO_LARGE_FIELDS[endpoint]:
            cases[f"{endpoint}-{path}-huge-2mb"] = field_case(
                endpoint, path, Mutation("huge-2mb", const(MB2), TOO_LARGE)
            )
        for name, case in body_cases(endpoint).items():
            cases[f"{endpoint}-body-{name}"] = case
    return cases


CASES = all_cases()


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_answers_4xx_in_the_error_body_and_writes_nothing(world: World, case: Case) -> None:
    url, body = ENDPOINTS[case.endpoint](world)
    raw = case.build(body)
    before = row_counts()

    response = send(world, url, raw, case.content_type)

    assert_answer(response, case.expect, before)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_valid_body_each_mutation_starts_from_is_accepted(world: World, endpoint: str) -> None:
    url, body = ENDPOINTS[endpoint](world)

    response = send(world, url, encode(body))

    assert response.status_code in (200, 201), response.json()


# ---------------------------------------------------------------------------------------------------
# Identifiers in the URL address a record; padded or strange ones address nothing
# ---------------------------------------------------------------------------------------------------

URL_PARTS = {
    "space-trailing": "{}%20",
    "space-leading": "%20{}",
    "tab-trailing": "{}%09",
    "newline-trailing": "{}%0A",
    "nul-trailing": "{}%00",
    "control-01-inside": "{}%01x",
    "utf8-surrogate": "{}%ED%A0%80",
}


URL_PARTS_BY_ENDPOINT = {
    "observations": ("context", "instance"),
    "bootstrap-result": ("operation_id",),
    "bootstrap-cancel": ("operation_id",),
    "bootstrap-events": ("operation_id",),
}
ADDRESSED = {"bootstrap-result": result_url, "bootstrap-cancel": cancel_url, "bootstrap-events": events_url}


def misaddressed(world: World, endpoint: str, part: str, pattern: str) -> str:
    """The endpoint's URL with ``part`` of it (context, instance or operation id) bent by ``pattern``."""
    if endpoint == "observations":
        context = pattern.format("cm") if part == "context" else "cm"
        instance = pattern.format("testing") if part == "instance" else "testing"
        return observations_url(context, instance)
    return ADDRESSED[endpoint](pattern.format(world.operations[endpoint.removeprefix("bootstrap-")]))


@pytest.mark.parametrize(
    ("endpoint", "part", "pattern"),
    [
        pytest.param(endpoint, part, pattern, id=f"{endpoint}-{part}-{name}")
        for endpoint, parts in URL_PARTS_BY_ENDPOINT.items()
        for part in parts
        for name, pattern in URL_PARTS.items()
    ],
)
def test_a_padded_or_strange_identifier_in_the_url_addresses_nothing(
    world: World, endpoint: str, part: str, pattern: str
) -> None:
    _url, body = ENDPOINTS[endpoint](world)
    url = misaddressed(world, endpoint, part, pattern)
    before = row_counts()

    response = send(world, url, encode(body))

    assert response.status_code in (400, 404), (response.status_code, response.content[:600])
    error_of(response, response.status_code, "not_found" if response.status_code == 404 else "validation_error")
    assert row_counts() == before


# ---------------------------------------------------------------------------------------------------
# The other side of rule 13: an observed identity is evidence, stored exactly as reported
# ---------------------------------------------------------------------------------------------------

ODD_IDENTITIES = {
    "padded-values": {"context": " cm", "instance": "testing\n", "artifact_id": "\tartifact-dep-1  "},
    "control-characters": {"context": "c\x01m", "source_git_ref": "refs/heads/main\x7f", "x": "\x1f"},
    "padded-keys": {" context": "cm", "instance\t": "testing"},
}
IDENTITY_PATHS = {
    "deployments": "observed_runtime_identity",
    "observations": "observed_runtime_identity",
    "bootstrap-result": "observed_runtime_identity",
    "bootstrap-one-shot": "result.observed_runtime_identity",
}


def stored_identity(endpoint: str, answer: dict[str, Any]) -> Any:
    if endpoint == "deployments":
        return DeploymentRecord.objects.get(record_id=answer["record_id"]).observed_runtime_identity
    if endpoint == "observations":
        return RuntimeObservation.objects.get(pk=answer["observation_id"]).observed_runtime_identity
    return BootstrapOperation.objects.get(operation_id=answer["operation_id"]).observed_runtime_identity


@pytest.mark.parametrize(
    ("endpoint", "value"),
    [
        pytest.param(endpoint, value, id=f"{endpoint}-{name}")
        for endpoint in IDENTITY_PATHS
        for name, value in ODD_IDENTITIES.items()
    ],
)
def test_an_odd_observed_identity_is_stored_exactly_as_reported(world: World, endpoint: str, value: Any) -> None:
    url, body = ENDPOINTS[endpoint](world)
    body = set_path(body, IDENTITY_PATHS[endpoint], value)

    response = send(world, url, encode(body))

    assert response.status_code in (200, 201), response.json()
    assert stored_identity(endpoint, response.json()) == value
    assert response.json()["runtime_identity_status"] == "mismatch"
