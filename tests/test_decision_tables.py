"""The decision tables in docs/provenance.md are rendered from the rule rows and stay in step with them."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from bootstraps.rules import RESULT_ROWS
from bootstraps.rules.reconciliation import RECONCILIATION_ROWS
from bootstraps.tables import (
    DEPLOYMENT_FIRST_COLUMN,
    END_MARKER,
    OBSERVATION_FIRST_COLUMN,
    RECONCILIATION_FIRST_COLUMN,
    RESULT_FIRST_COLUMN,
    START_MARKER,
    cell,
    render_tables,
)
from inventory.rules import DEPLOYMENT_ROWS, OBSERVATION_ROWS, SEVERITY

PROVENANCE = Path(settings.BASE_DIR) / "docs" / "provenance.md"
RULE_TABLES = {
    DEPLOYMENT_FIRST_COLUMN: DEPLOYMENT_ROWS,
    RESULT_FIRST_COLUMN: RESULT_ROWS,
    OBSERVATION_FIRST_COLUMN: OBSERVATION_ROWS,
    RECONCILIATION_FIRST_COLUMN: RECONCILIATION_ROWS,
}


def markdown_tables(text: str) -> dict[str, list[str]]:
    """Each Markdown table in ``text``, keyed by its first header cell, as its body lines."""
    tables: dict[str, list[str]] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        if lines[index].startswith("|") and index + 1 < len(lines) and lines[index + 1].startswith("|---"):
            first_header = lines[index].split("|")[1].strip()
            body_start = index = index + 2
            while index < len(lines) and lines[index].startswith("|"):
                index += 1
            tables[first_header] = lines[body_start:index]
        else:
            index += 1
    return tables


def header_of(text: str, first_column: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| {first_column} |"))
    return [part.strip() for part in line.strip("|").split("|")]


def doc_with(block: str) -> str:
    return f"# Provenance\n\nBefore.\n\n{START_MARKER}\n{block}\n{END_MARKER}\n\nAfter.\n"


def test_the_provenance_doc_matches_the_rules() -> None:
    out = StringIO()
    call_command("decision_tables", "--check", str(PROVENANCE), stdout=out)
    assert "up to date" in out.getvalue()


def test_the_provenance_doc_holds_the_rendered_tables_between_its_markers() -> None:
    document = PROVENANCE.read_text(encoding="utf-8")
    block = document.split(START_MARKER, 1)[1].split(END_MARKER, 1)[0]
    assert block.strip("\n") == render_tables()


@pytest.mark.parametrize("first_column", list(RULE_TABLES))
def test_each_rendered_table_has_exactly_one_line_per_rule_row(first_column: str) -> None:
    tables = markdown_tables(render_tables())
    assert len(tables[first_column]) == len(RULE_TABLES[first_column])


@pytest.mark.parametrize("first_column", list(RULE_TABLES))
def test_each_rendered_table_lists_the_rows_in_order_with_their_when_first(first_column: str) -> None:
    body = markdown_tables(render_tables())[first_column]
    rows = RULE_TABLES[first_column]
    for line, row in zip(body, rows, strict=True):
        assert line.startswith(f"| {cell(row.when)} |")
        for value in row.then.values():
            assert f"| {cell(value)} |" in line


@pytest.mark.parametrize("first_column", list(RULE_TABLES))
def test_columns_follow_the_order_of_the_rows_then_mapping(first_column: str) -> None:
    rows = RULE_TABLES[first_column]
    assert header_of(render_tables(), first_column) == [first_column, *rows[0].then]


def test_every_when_text_appears_in_the_rendered_tables() -> None:
    rendered = render_tables()
    for row in (*DEPLOYMENT_ROWS, *RESULT_ROWS, *OBSERVATION_ROWS, *RECONCILIATION_ROWS):
        assert cell(row.when) in rendered


def test_the_severity_order_is_rendered_from_the_rules() -> None:
    assert " > ".join(f"`{state}`" for state in SEVERITY) in render_tables()


def test_bootstrap_steps_one_and_two_and_the_contradictions_are_rendered() -> None:
    rendered = render_tables()
    assert "**Superseded**" in rendered
    assert "**No result**" in rendered
    no_result = markdown_tables(rendered)["data_mutated known"]
    assert [line.split("|")[1].strip() for line in no_result] == ["false", "null", "true"]
    assert "before the start" in no_result[0]
    assert "`unknown`" in no_result[1].split("|")[4]
    assert "names `data_mutated`: A passing bootstrap changes data" in rendered


def test_the_command_prints_the_tables() -> None:
    out = StringIO()
    call_command("decision_tables", stdout=out)
    assert out.getvalue().rstrip("\n") == render_tables()


def test_write_replaces_only_the_generated_block(tmp_path: Path) -> None:
    doc = tmp_path / "provenance.md"
    doc.write_text(doc_with("an old table"), encoding="utf-8")
    call_command("decision_tables", "--write", str(doc), stdout=StringIO())
    assert doc.read_text(encoding="utf-8") == doc_with(render_tables())
    call_command("decision_tables", "--check", str(doc), stdout=StringIO())


def test_check_fails_and_says_how_to_fix_when_the_doc_is_out_of_date(tmp_path: Path) -> None:
    doc = tmp_path / "provenance.md"
    doc.write_text(doc_with("an old table"), encoding="utf-8")
    with pytest.raises(CommandError, match=r"out of date.*decision_tables --write"):
        call_command("decision_tables", "--check", str(doc), stdout=StringIO())
    assert doc.read_text(encoding="utf-8") == doc_with("an old table")


@pytest.mark.parametrize("option", ["--write", "--check"])
@pytest.mark.parametrize(
    "text",
    [
        "# Provenance\n\nNo markers here.\n",
        f"# Provenance\n\n{START_MARKER}\nonly a start\n",
        f"# Provenance\n\n{END_MARKER}\nold\n{START_MARKER}\n",
        doc_with("one") + doc_with("two"),
    ],
    ids=["none", "start-only", "reversed", "twice"],
)
def test_missing_or_misplaced_markers_raise_a_command_error(tmp_path: Path, option: str, text: str) -> None:
    doc = tmp_path / "provenance.md"
    doc.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError, match="decision-tables:start"):
        call_command("decision_tables", option, str(doc), stdout=StringIO())
    assert doc.read_text(encoding="utf-8") == text


def test_a_missing_document_raises_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("decision_tables", "--check", str(tmp_path / "absent.md"), stdout=StringIO())
