"""The bad-input corpus for ``POST /v1/evidence/deployments`` (rule 13): every field of a valid payload,
at every depth, replaced by each strange value. Each answer is a 202 or a 4xx in the existing envelope —
never a 5xx — and a 4xx writes no row in any table (the ``Idempotency-Key`` sent with each would show)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.compat.support import EVIDENCE, changed, payload, rejected
from tests.factories import make_environment, next_number, row_counts

pytestmark = pytest.mark.django_db

STRANGE: dict[str, Any] = {
    "object": {"x": 1},
    "list": [1],
    "null": None,
    "true": True,
    "negative": -1,
    "huge number": 1e308,
    "NUL": "a\u0000b",
    "lone surrogate": "\ud800",
    "padded": " padded ",
    "long": "x" * 5000,
    "control": "line\nbreak",
    "deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
}


def leaves(value: Any, prefix: str = "") -> Iterator[str]:
    """Every dotted path to a field of the payload (objects and their members; lists as a whole)."""
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            yield path
            yield from leaves(item, path)


FIELDS = sorted(set(leaves(payload(bootstrap="pass"))))


@pytest.mark.parametrize("mutation", sorted(STRANGE))
@pytest.mark.parametrize("path", FIELDS)
def test_no_field_answers_5xx_whatever_it_holds(path, mutation, automation):
    make_environment()
    body = changed(payload(bootstrap="pass"), path, STRANGE[mutation])
    before = row_counts()

    # As ASCII JSON text: a lone surrogate travels as its \\udXXX escape, as JSON allows.
    response = automation.http.post(
        EVIDENCE, json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"corpus-{next_number()}"
    )

    assert response.status_code < 500, (response.status_code, response.content[:2000])
    if response.status_code == 202:
        return
    rejected(response, response.status_code, response.json()["error"]["code"])
    assert response.status_code in (400, 404, 409), response.json()
    assert row_counts() == before
