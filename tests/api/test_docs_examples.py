"""The curl examples in docs/api.md, run against a live server.

Every ```sh block is run, in order, in one bash session (so that a block can use what an earlier one
captured, such as ``$OPERATION_ID``), with ``LAUNCHPLANE_URL`` and ``LAUNCHPLANE_TOKEN`` pointing at
the live server and a fresh API client. Each must exit 0 and print JSON, and that JSON must contain
what the ```json block after it documents: objects may be abridged (documented keys must be there,
with equal values), lists are shown whole, and a string with ``…`` in it stands for any string that
starts with what comes before the ``…`` and ends with what comes after it (``"…"`` alone: any
value). An ```http block between the two lists response headers that must appear (curl prints them
to stderr with ``--dump-header /dev/stderr``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from launchplane.models import ApiClient

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)
ANY = "…"
END = "@@end-of-example@@"
# The name the docs' create_api_client example uses: responses show it as the actor.
CLIENT_NAME = "github-cm-deploy"


@dataclass(frozen=True)
class Example:
    line: int
    script: str
    headers: list[str]
    expected: Any


def examples(text: str) -> list[Example]:
    fences = [(m["lang"], m["body"], text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]
    found = []
    for index, (lang, body, line) in enumerate(fences):
        if lang != "sh":
            continue
        following = fences[index + 1 : index + 3]
        headers: list[str] = []
        if following and following[0][0] == "http":
            headers = [h.strip() for h in following[0][1].splitlines() if h.strip()]
            following = following[1:]
        assert following and following[0][0] == "json", f"docs/api.md:{line}: no ```json response after the example"
        found.append(Example(line, body, headers, json.loads(following[0][1])))
    return found


def json_documents(output: str) -> list[Any]:
    """Every JSON document printed, in order (a block may print more than one)."""
    decoder, documents, position = json.JSONDecoder(), [], 0
    output = output.strip()
    while position < len(output):
        document, position = decoder.raw_decode(output, position)
        documents.append(document)
        while position < len(output) and output[position].isspace():
            position += 1
    return documents


def mismatches(expected: Any, actual: Any, path: str = "$") -> list[str]:
    if isinstance(expected, str) and ANY in expected:
        head, _, tail = expected.partition(ANY)
        if expected == ANY or (
            isinstance(actual, str)
            and actual.startswith(head)
            and actual.endswith(tail)
            and len(actual) >= len(head) + len(tail)
        ):
            return []
        return [f"{path}: {actual!r} does not match {expected!r}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += mismatches(value, actual[key], f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {actual!r}"]
        return [problem for i, item in enumerate(expected) for problem in mismatches(item, actual[i], f"{path}[{i}]")]
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


def test_every_curl_example_shows_its_response_and_uses_the_documented_variables():
    found = examples(DOC.read_text())
    assert len(found) >= 15
    for example in found:
        assert "$LAUNCHPLANE_URL" in example.script, f"docs/api.md:{example.line}"
        assert "curl -sS" in example.script, f"docs/api.md:{example.line}"
        if "Authorization" in example.script:
            assert '"Authorization: Bearer $LAUNCHPLANE_TOKEN"' in example.script, f"docs/api.md:{example.line}"


def test_the_matcher_reads_abridged_responses():
    assert not mismatches({"id": "op-…", "at": "…"}, {"id": "op-1", "at": None, "more": 1})
    assert mismatches({"id": "op-…"}, {"id": "dep-1"})
    assert mismatches({"items": []}, {"items": [1]})
    assert mismatches({"flag": 1}, {"flag": True})
    assert not mismatches({"next": "…/?page=2"}, {"next": "http://x/?page=2"})


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_curl_examples_run_against_a_live_server(live_server, tmp_path):
    _, token = ApiClient.issue(CLIENT_NAME, contexts=["cm"])
    found = examples(DOC.read_text())
    marker = f"\nprintf '\\n{END}\\n'; printf '\\n{END}\\n' >&2\n"
    script = "set -euo pipefail\n" + "".join(example.script + marker for example in found)
    env = {
        **os.environ,
        "LAUNCHPLANE_URL": live_server.url,
        "LAUNCHPLANE_TOKEN": token,
        "NO_PROXY": "*",
        "no_proxy": "*",
    }
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outputs, errors = result.stdout.split(END), result.stderr.split(END)
    ran = len(outputs) - 1
    assert result.returncode == 0, (
        f"the example at docs/api.md:{found[ran].line} exited {result.returncode}:\n"
        f"{outputs[ran][-2000:]}\n{errors[ran][-2000:]}"
    )
    assert ran == len(found)
    for example, output, error in zip(found, outputs, errors, strict=False):
        where = f"docs/api.md:{example.line}"
        try:
            documents = json_documents(output)
        except json.JSONDecodeError as exc:
            pytest.fail(f"{where} printed something other than JSON ({exc}):\n{output[:2000]}")
        assert documents, f"{where} printed nothing"
        problems = mismatches(example.expected, documents[-1])
        assert not problems, f"{where} answered differently from what the docs show:\n" + "\n".join(problems)
        for header in example.headers:
            assert header.lower() in error.lower(), f"{where}: no {header!r} among the response headers:\n{error}"
