"""Schemathesis hooks for the live run (``SCHEMATHESIS_HOOKS=tests.api.schemathesis_hooks``): loaded by
the ``st`` command that tests/api/test_schemathesis.py starts, never imported by the app.

- The ``identifier`` format (rule 13: exact strings, nothing invisible) gets a generator: OpenAPI's
  pattern says the whitespace and control part of the rule, the format names the rest (format,
  private-use and unassigned code points), which no generator knows of itself.
- The token is scoped to ``cm``. A context generated as a valid slug is swapped for ``cm`` (a valid
  slug for a valid slug: a positive case stays positive, a negative one keeps the fault it was built
  with), so that writes reach the services and the stateful chains (create an environment, deploy to it,
  read it back) get past the scope gate instead of answering 403 every time.
"""

from __future__ import annotations

import re
import unicodedata

import schemathesis
from hypothesis import strategies as st

SCOPED_CONTEXT = "cm"
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
VISIBLE = st.characters(
    exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"),
    max_codepoint=0x2FFFF,
)


def _identifier(text: str) -> bool:
    return bool(text) and not text[0].isspace() and not text[-1].isspace()


schemathesis.openapi.format(
    "identifier",
    st.text(VISIBLE, min_size=1, max_size=40).filter(_identifier).map(lambda text: unicodedata.normalize("NFC", text)),
)


def _in_scope(value: object) -> object:
    if isinstance(value, str) and SLUG.fullmatch(value):
        return SCOPED_CONTEXT
    return value


@schemathesis.hook
def map_body(context, body):
    if isinstance(body, dict) and "context" in body:
        body["context"] = _in_scope(body["context"])
    return body


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    if path_parameters and "context" in path_parameters:
        path_parameters["context"] = _in_scope(path_parameters["context"])
    return path_parameters
