"""The decision tables as Markdown, rendered from the rule rows themselves (PRODUCT.md rules 6, 7, 8, 15 and 16).

``docs/provenance.md`` carries this output between two HTML comment markers, and
``manage.py decision_tables --check`` fails when the doc and the rules disagree, so the doc cannot
drift from the code. It lives in ``bootstraps`` because it needs both apps' rules (imports run
``bootstraps`` → ``inventory``). Pure: no ORM, no clock, no files.

Where a step has no row table (bootstrap step 2, the contradictions, the severity order), the text
is produced by asking the rule functions themselves, so it changes when they do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bootstraps.rules import RESULT_ROWS, contradictions, decide_without_result, unmutating_contradiction
from bootstraps.rules.reconciliation import RECONCILIATION_ROWS
from inventory.choices import DataState, DeploymentState, InventoryEffect
from inventory.rules import (
    DEPLOYMENT_ROWS,
    NOT_SENT,
    OBSERVATION_ROWS,
    SEVERITY,
    VERIFICATION_ROWS,
    IdentityInput,
    Row,
    severity,
    state_reason,
)

START_MARKER = "<!-- decision-tables:start -->"
END_MARKER = "<!-- decision-tables:end -->"

# The first column's header: what the row's ``when`` describes (PRODUCT.md's wording).
DEPLOYMENT_FIRST_COLUMN = "deployment"
RESULT_FIRST_COLUMN = "result"
OBSERVATION_FIRST_COLUMN = "observation"
VERIFICATION_FIRST_COLUMN = "verification run"
RECONCILIATION_FIRST_COLUMN = "reconciliation"


class MarkersMissing(ValueError):
    """The document has no single, well-ordered pair of decision-table markers."""


# ---------------------------------------------------------------------------------------------------
# Markdown pieces
# ---------------------------------------------------------------------------------------------------


def cell(text: str) -> str:
    """One Markdown table cell: pipes escaped, kept on one line."""
    return " ".join(text.replace("|", "\\|").split())


def table_line(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cell(text) for text in cells) + " |"


def markdown_table(header: Sequence[str], body: Iterable[Sequence[str]]) -> str:
    lines = [table_line(header), "|" + "---|" * len(header)]
    lines += [table_line(cells) for cells in body]
    return "\n".join(lines)


def rule_table(first_column: str, rows: Sequence[Row[Any, Any]]) -> str:
    """A decision table: the row's ``when`` first, then its ``then`` columns in their own order."""
    columns = list(rows[0].then)
    for row in rows:
        if list(row.then) != columns:
            raise ValueError(f"Row {row.when!r} has columns {list(row.then)}; the table's first row has {columns}.")
    return markdown_table([first_column, *columns], ([row.when, *row.then.values()] for row in rows))


def code(value: object) -> str:
    return f"`{value}`"


# ---------------------------------------------------------------------------------------------------
# State severity (the board's ``state``)
# ---------------------------------------------------------------------------------------------------


def severity_section() -> str:
    """The order ``combine`` uses, and the sentence ``state_reason`` gives for each side's state."""
    ranked_equal = [
        (value, SEVERITY[severity(value)])
        for value in (*DeploymentState.values, *DataState.values)
        if value not in SEVERITY
    ]
    body = []
    for state in SEVERITY:
        if state == DeploymentState.CURRENT:
            body.append([code(state), "both", state_reason(DeploymentState.CURRENT, DataState.CURRENT)])
            continue
        if state in DeploymentState.values:
            body.append([code(state), "deployment", state_reason(state, DataState.CURRENT)])
        if state in DataState.values:
            body.append([code(state), "data", state_reason(DeploymentState.CURRENT, state)])
    for value, same in ranked_equal:
        side = "data" if value in DataState.values else "deployment"
        sentence = (
            state_reason(DeploymentState.CURRENT, value) if side == "data" else state_reason(value, DataState.CURRENT)
        )
        body.append([f"{code(value)} (counts as {code(same)})", side, sentence])
    return "\n".join(
        [
            "### State and its severity",
            "",
            "The board's `state` is the more severe of `deployment_state` and `data_state`, most severe first:",
            "",
            " > ".join(code(state) for state in SEVERITY),
            "",
            "`state_reason` is one sentence with a clause for each side that is not current (the data side "
            "first), each followed in brackets by what is known about why, then any notes (such as a failed "
            "check that is not required). Each side's clause, with the other side current:",
            "",
            markdown_table(["state", "side", "`state_reason`"], body),
        ]
    )


# ---------------------------------------------------------------------------------------------------
# Bootstraps: step 1, step 2, contradictions
# ---------------------------------------------------------------------------------------------------


def step_one_text() -> str:
    return (
        "1. **Superseded** — another bootstrap was started on the environment after this operation: the "
        "result is stored whole, the operation reads `finished` with the `readiness_status` step 3's table "
        f"gives, effect {code(InventoryEffect.SUPERSEDED)}; inventory is untouched and no transition is "
        "appended."
    )


def step_two_table() -> str:
    """What ``decide_without_result`` does for each value of ``data_mutated``, asked of the function."""
    before = DataState.UNTOUCHED  # a state the outcome can be told apart from `unknown`
    deployment_state = DeploymentState.CURRENT
    body = []
    for data_mutated, label in ((False, "false"), (None, "null"), (True, "true")):
        outcome = decide_without_result(
            data_mutated=data_mutated,
            data_state_before=before,
            data_detail_before="",
            deployment_state=deployment_state,
            why="",
        )
        body.append(
            [
                label,
                code(outcome.bootstrap_run_status),
                code(outcome.readiness_status),
                "before the start" if outcome.data_state == before else code(outcome.data_state),
                "unchanged" if outcome.deployment_state == deployment_state else code(outcome.deployment_state),
                code(outcome.effect),
            ]
        )
    return markdown_table(
        ["data_mutated known", "bootstrap_run_status", "readiness_status", "data_state", "deployment_state", "effect"],
        body,
    )


@dataclass(frozen=True)
class Contradiction:
    """One kind of contradictory result (PRODUCT.md rule 7), with inputs that must all be refused."""

    when: str
    examples: tuple[Mapping[str, Any], ...]


_UNVERIFIABLE_WITH_IDENTITY = IdentityInput(sent=True, value={"context": "cm"}, unverifiable=True)

CONTRADICTIONS: tuple[Contradiction, ...] = (
    Contradiction(
        "run `pending` or `running` in a result",
        ({"bootstrap_run_status": "pending"}, {"bootstrap_run_status": "running"}),
    ),
    Contradiction(
        "run `not_run` with data_mutated other than false",
        ({"bootstrap_run_status": "not_run", "data_mutated": True}, {"bootstrap_run_status": "not_run"}),
    ),
    Contradiction("run `pass` with data_mutated false", ({"bootstrap_run_status": "pass", "data_mutated": False},)),
    Contradiction(
        "run `fail` or `not_run` with post-deploy `pass` or `fail`",
        tuple(
            {"bootstrap_run_status": run, "data_mutated": False, "post_deploy_status": post}
            for run in ("fail", "not_run")
            for post in ("pass", "fail")
        ),
    ),
    Contradiction(
        "`runtime_identity_status` `unverifiable` with a non-null identity",
        ({"identity": _UNVERIFIABLE_WITH_IDENTITY},),
    ),
)


def _contradictions_of(example: Mapping[str, Any]) -> dict[str, str]:
    """``contradictions`` for a coherent passing result changed only by ``example``."""
    coherent: dict[str, Any] = {
        "bootstrap_run_status": "pass",
        "data_mutated": None,
        "post_deploy_status": "not_run",
        "identity": NOT_SENT,
    }
    return contradictions(**{**coherent, **example})


def contradiction_lines() -> list[str]:
    """One line per kind: the fields ``contradictions`` names and the message it gives.

    Raises when an example is accepted, or when examples of one kind name different fields: the
    listed contradictions would then no longer be what the code refuses.
    """
    if _contradictions_of({}):
        raise AssertionError("the baseline result used to probe contradictions is itself contradictory")
    lines = []
    for kind in CONTRADICTIONS:
        found = [_contradictions_of(example) for example in kind.examples]
        fields = [sorted(each) for each in found]
        if not all(fields) or any(names != fields[0] for names in fields):
            raise AssertionError(f"contradictions() no longer refuses {kind.when!r} as listed: {found}")
        first = found[0]
        lines.append(
            f"- {kind.when} → names {', '.join(code(name) for name in fields[0])}: "
            + " ".join(dict.fromkeys(first.values()))
        )
    return lines


def bootstrap_section() -> str:
    return "\n".join(
        [
            "### Bootstraps (rule 7)",
            "",
            "A start sets `data_state` to `bootstrap_in_progress` and remembers the data state before it. "
            "An outcome is found in three steps:",
            "",
            step_one_text(),
            "2. **No result** — the deadline passed (`timed_out`) or the operation was `cancelled`. What "
            "happens depends on `data_mutated` as last known on the operation:",
            "",
            step_two_table(),
            "",
            "3. **A result**, on time or late, is judged on its own fields; first matching row wins:",
            "",
            rule_table(RESULT_FIRST_COLUMN, RESULT_ROWS),
            "",
            "Identity is judged on every applied result, not only on `pass` rows: whatever row decides the "
            "data side, a result whose identity is `mismatch` or `malformed` also sets `deployment_state` "
            "`stale_inventory`, and its effect is `marked`.",
            "",
            "A result that contradicts itself answers 400 `contradictory_result`, naming the fields, and "
            "stores nothing:",
            "",
            *contradiction_lines(),
            unmutating_line(),
        ]
    )


def unmutating_line() -> str:
    """The one contradiction that needs the operation: data it already knows changed cannot un-change."""
    fields = sorted(unmutating_contradiction(known=True, reported=False))
    if not fields or unmutating_contradiction(known=None, reported=False):
        raise AssertionError("unmutating_contradiction() no longer refuses what the docs say")
    return (
        "- `data_mutated` `false` when the operation already knows it is `true` (a progress event said so) → "
        f"names {', '.join(code(name) for name in fields)}: data that changed cannot un-change "
        "(progress events and cancels refuse it too)."
    )


# ---------------------------------------------------------------------------------------------------
# The whole block
# ---------------------------------------------------------------------------------------------------


def render_tables() -> str:
    """Every decision table and its surrounding rules, as Markdown (no trailing newline)."""
    return "\n".join(
        [
            "<!-- Generated by `python manage.py decision_tables --write docs/provenance.md`; do not edit by hand. -->",
            "",
            severity_section(),
            "",
            "### Deployments (rule 6)",
            "",
            "A deployment changes `deployment_state` only; first matching row wins:",
            "",
            rule_table(DEPLOYMENT_FIRST_COLUMN, DEPLOYMENT_ROWS),
            "",
            bootstrap_section(),
            "",
            "### Observations (rule 8)",
            "",
            "An observation changes `deployment_state` only and never moves last known good; first matching row wins:",
            "",
            rule_table(OBSERVATION_FIRST_COLUMN, OBSERVATION_ROWS),
            "",
            "### Verification runs (rule 15)",
            "",
            "A verification run (Launchplane's own probes) changes both sides, judged against the inventory "
            "when the run is applied; first matching row wins. It never clears `partially_bootstrapped` or "
            "`unknown` data, and a check that failed but is not required never blocks (`state_reason` names it):",
            "",
            rule_table(VERIFICATION_FIRST_COLUMN, VERIFICATION_ROWS),
            "",
            "### Reconciliation (rule 16)",
            "",
            "A reviewer with the reconcile permission records what they found by inspecting the provider about "
            "the environment's latest bootstrap. It changes `data_state` only; the artifact side and last known "
            "good never move, the transition's cause type is `reconciliation` with the reviewer as actor, and a "
            "refused one records nothing. A newer bootstrap than the one it settles, an `inspected_at` in the "
            "future or before that bootstrap started, or a missing `evidence_reference` is refused too. First "
            "matching row wins:",
            "",
            rule_table(RECONCILIATION_FIRST_COLUMN, RECONCILIATION_ROWS),
        ]
    )


def replace_block(document: str, rendered: str) -> str:
    """``document`` with the text between the markers replaced by ``rendered``.

    Raises ``MarkersMissing`` unless the document holds exactly one start marker followed by exactly
    one end marker.
    """
    starts, ends = document.count(START_MARKER), document.count(END_MARKER)
    start, end = document.find(START_MARKER), document.find(END_MARKER)
    if starts != 1 or ends != 1 or end < start:
        raise MarkersMissing(
            f"The document needs exactly one {START_MARKER} line followed by one {END_MARKER} line "
            f"(found {starts} start and {ends} end marker{'s' if ends != 1 else ''}"
            + (", in the wrong order" if starts == ends == 1 else "")
            + ")."
        )
    head = document[: start + len(START_MARKER)]
    return head + "\n" + rendered.strip("\n") + "\n" + document[end:]
