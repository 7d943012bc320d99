"""The examples in docs/compat.md, sent in order as the documented workflow sends them (over the test
client: the bodies, headers and answers as written), and the answers compared with the ones shown."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.factories import make_environment

DOC = Path(settings.BASE_DIR) / "docs" / "compat.md"
pytestmark = pytest.mark.django_db


def examples() -> list[tuple[str, dict[str, Any]]]:
    """Each ```sh block with the ```json block that follows it."""
    blocks = re.findall(r"```(sh|json)\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    found = []
    for (kind, script), (next_kind, answer) in itertools.pairwise(blocks):
        if kind == "sh" and next_kind == "json":
            found.append((script, json.loads(answer)))
    return found


def matches(shown: Any, got: Any, where: str = "") -> None:
    """``…`` stands for a value that changes from run to run; a shown object may leave fields out."""
    if isinstance(shown, str) and "…" in shown:
        assert isinstance(got, str) and got.startswith(shown.split("…")[0]), (where, got)
    elif isinstance(shown, dict):
        for key, value in shown.items():
            assert key in got, (where, key, got)
            matches(value, got[key], f"{where}.{key}")
    else:
        assert shown == got, (where, shown, got)


def test_the_documented_examples_answer_as_shown(automation):
    make_environment("cm", "testing")
    found = examples()
    assert len(found) == 3, found
    for script, shown in found:
        headers = (
            {"HTTP_IDEMPOTENCY_KEY": key.group(1)} if (key := re.search(r"Idempotency-Key: (\S+)\"", script)) else {}
        )
        if "-X POST" in script:
            body = json.loads(re.search(r"-d '(.*)'", script, flags=re.DOTALL).group(1))
            response = automation.http.post("/v1/evidence/deployments", body, format="json", **headers)
        else:
            url = re.findall(r'"\$LAUNCHPLANE_URL(/v1/[^"]+)"', script)[0]
            response = automation.http.get(url)
        assert response.status_code in (200, 202), response.content[:2000]
        matches(shown, response.json())
