"""MSELs as planners write them (tests/data/, made by make_msels.py) import with no hand edit."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from openpyxl import Workbook

from scenarios.formats import ScenarioFormatError
from scenarios.formats.msel import msel_export, msel_import, msel_reading, read_msel
from scenarios.formats.msel_read import HEADERS, normalise_header
from scenarios.models import Channel, Inject, Scenario
from scenarios.rubrics import load_rubric

DATA = Path(settings.BASE_DIR) / "tests" / "data"
FIXTURES = Path(settings.BASE_DIR) / "fixtures"
PLANNER_FILES = [
    ("hseep-title-rows.xlsx", None),
    ("ctep-moves.xlsx", None),
    ("clock-time.xlsx", "clock"),
    ("cp1252-semicolons.csv", None),
]


@pytest.fixture
def rubric(db):
    return load_rubric(FIXTURES / "rubric" / "cascade-resilience.yaml")


def read(name: str, **options):
    data = (DATA / name).read_bytes()
    fmt = name.rsplit(".", 1)[1]
    return msel_reading(data, fmt=fmt, title="Drill", key="drill", **options)


def imported(name: str, **options) -> Scenario:
    data = (DATA / name).read_bytes()
    fmt = name.rsplit(".", 1)[1]
    return msel_import(data, fmt=fmt, title="Drill", key="drill", **options)


def injects(scenario: Scenario) -> dict[str, Inject]:
    return {inject.title: inject for inject in scenario.injects.all()}


@pytest.mark.parametrize(("name", "model"), PLANNER_FILES)
def test_every_planner_msel_imports_without_a_hand_edit(rubric, name, model):
    reading = read(name, rubric_key=rubric.key, time_model=model)
    assert reading.errors == []
    scenario = imported(name, rubric_key=rubric.key, time_model=model)
    assert scenario.injects.count() == sum(len(s["injects"]) for s in reading.doc["stages"])


def test_the_hseep_sheet_keeps_what_it_says(rubric):
    reading = read("hseep-title-rows.xlsx", rubric_key=rubric.key)
    assert "header: row 5 (rows 1-3 above it skipped)" in reading.report
    assert "times: offset from the exercise start (as HSEEP MSELs count)" in reading.report
    assert reading.conditional == [
        "row 10: Only if the credit union chose to switch its payment processor"
    ]
    by_title = injects(imported("hseep-title-rows.xlsx", rubric_key=rubric.key))
    briefing = by_title["StartEx: situation briefing"]
    assert (briefing.channel, briefing.channel_text) == (Channel.OTHER, "Briefing")
    assert briefing.columns["Core Capability"] == "Situational Assessment"
    assert briefing.columns["Objective"] == "Objective 1: Assess the threat"
    portal = by_title["Patient portal defaced"]
    assert (portal.tlp, portal.severity) == ("AMBER", "high")  # read from the row's text
    payments = by_title["Card payments failing at the hospital pharmacy"]
    assert payments.criteria == ["rs-co"]  # only the part that names a criterion
    assert payments.columns["Core Capability"] == "Economic Recovery; RS.CO"
    conditional = by_title["Only if the credit union chose to switch its payment processor"]
    assert conditional.release == Inject.Release.MANUAL
    assert conditional.notes.startswith("Conditional in the MSEL (MSEL time 1:00)")
    hot_wash = by_title["Hot wash"]
    assert (hot_wash.release, hot_wash.offset_seconds) == ("timed", 2 * 3600)


def test_the_ctep_sheet_makes_stages_from_moves(db):
    reading = read("ctep-moves.xlsx")
    assert [stage["title"] for stage in reading.doc["stages"]] == ["Move 1", "Move 2", "Move 3"]
    assert "kept as text: Status" in reading.report
    by_title = injects(imported("ctep-moves.xlsx"))
    supervisor = by_title["Supervisor requests a preliminary incident report within 4 hours"]
    # Move 2 starts at its first time (0:45): the 1:05 inject is 20 minutes into it.
    assert by_title["Customers post screenshots of failed transfers"].offset_seconds == 20 * 60
    assert supervisor.columns == {
        "Core Capability": "Operational Coordination",
        "Status": "Draft",
        "Event No.": "2-1",
    }
    assert by_title["Root cause found: compromised support credentials"].channel_text == "Radio"


def test_clock_times_warn_under_the_default_and_import_under_the_clock_model(db):
    default = read("clock-time.xlsx")
    assert any("look like clock times" in warning for warning in default.warnings)
    clock = read("clock-time.xlsx", time_model="clock")
    assert clock.warnings == []
    assert "exercise start: 09:00" in clock.report
    stages = clock.doc["stages"]
    assert [i["release"] for i in stages[0]["injects"]] == ["0s", "20m"]
    assert [i["release"] for i in stages[1]["injects"]] == ["0s", "25m"]
    late = read("clock-time.xlsx", time_model="clock", start="09:10")
    assert "row 2, column 'Time': 9:00:00 is before the start" in map(str, late.errors)


def test_the_cp1252_csv_is_decoded_and_named(db):
    reading = read("cp1252-semicolons.csv")
    assert "encoding: cp1252 (Windows Western European)" in reading.report
    scenario = imported("cp1252-semicolons.csv")
    assert sorted(scenario.roles.values_list("label", flat=True)) == [
        "Bank Süd",
        "Stadtwerke Café-Süd",
    ]
    assert "50.000 €" in scenario.injects.get(key__startswith="kartenzahlungen").title


def test_a_utf16_csv_is_decoded_and_named(db):
    text = "Stage\tTo\tInject\nOne\tBank\tCafé closed\n"
    reading = msel_reading(text.encode("utf-16"), fmt="csv", title="T", key="t")
    assert reading.errors == []
    assert "encoding: UTF-16" in reading.report


@pytest.mark.parametrize(("name", "model"), PLANNER_FILES)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_round_trip_keeps_every_column(rubric, name, model, fmt):
    original = read(name, rubric_key=rubric.key, time_model=model)
    scenario = imported(name, rubric_key=rubric.key, time_model=model)
    exported = msel_export(scenario, fmt)
    header = read_msel(exported, fmt)[0]
    canonical = {alias for aliases in HEADERS.values() for alias in aliases}
    source = read_msel((DATA / name).read_bytes(), name.rsplit(".", 1)[1])
    source_header = next(row for row in source if "To" in row or "Recipient" in row)
    for column in filter(None, source_header):
        assert column in header or normalise_header(column) in canonical, column
    again = msel_reading(exported, fmt=fmt, title="Drill", key="drill", rubric_key=rubric.key)
    assert again.errors == []
    assert unordered_audiences(again.doc) == unordered_audiences(original.doc)


def unordered_audiences(doc: dict) -> dict:
    """The document with role audiences as sets: the export lists them in role order."""
    for stage in doc["stages"]:
        for inject in stage["injects"]:
            if isinstance(inject["audience"], dict) and "roles" in inject["audience"]:
                inject["audience"] = {"roles": set(inject["audience"]["roles"])}
    return doc


def test_a_formula_without_a_saved_value_is_reported_as_a_formula(db):
    workbook = Workbook()
    for row in (["Stage", "To", "Inject", "Time"], ["One", "Bank", "Go", "=D1+1"]):
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(ScenarioFormatError) as caught:
        msel_import(buffer.getvalue(), fmt="xlsx", title="T", key="t")
    assert [str(error) for error in caught.value.errors] == [
        "row 2, column 'Time': holds the formula =D1+1 with no saved value; "
        "open and save it in Excel, or paste it as values"
    ]


def test_every_problem_of_a_file_is_reported_at_once(db):
    rows = [
        ["Title of the drill"],
        ["Stage", "Time", "To", "Inject", "Severity", "TLP"],
        ["One", "soon", "Bank", "First", "urgent", ""],
        ["One", "0:10", "Bank", "", "", ""],
        ["One", "0:20", "Bank", "Third", "", "TLP:PURPLE"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    with pytest.raises(ScenarioFormatError) as caught:
        msel_import(buffer.getvalue().encode(), fmt="csv", title="T", key="t")
    assert [str(error) for error in caught.value.errors] == [
        "row 3, column 'Time': 'soon' is not a time (H:MM, H:MM:SS, 15m) or 'manual'",
        "row 3, column 'Severity': 'urgent' is not one of: info, low, medium, high, critical",
        "row 4, column 'Inject': is empty: the first line is the inject's title",
        "row 5, column 'TLP': 'PURPLE' is not one of: CLEAR, GREEN, AMBER, AMBER+STRICT, RED",
    ]


def test_section_rows_make_stages_when_there_is_no_stage_column(db):
    rows = [["Time", "To", "Inject"], ["MOVE 1 - Detection"], ["0:00", "Bank", "A"],
            ["MOVE 2 - Response"], ["0:30", "Bank", "B"], ["0:50", "Bank", "C"]]  # fmt: skip
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    reading = msel_reading(buffer.getvalue().encode(), fmt="csv", title="T", key="t")
    assert reading.errors == []
    stages = reading.doc["stages"]
    assert [s["title"] for s in stages] == ["MOVE 1 - Detection", "MOVE 2 - Response"]
    assert [i["release"] for i in stages[1]["injects"]] == ["0s", "20m"]


def test_times_that_go_back_at_a_stage_warn_of_the_stage_model(db):
    rows = [["Stage", "Time", "To", "Inject"], ["A", "0:00", "Bank", "a"],
            ["A", "0:30", "Bank", "b"], ["B", "0:05", "Bank", "c"]]  # fmt: skip
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    reading = msel_reading(buffer.getvalue().encode(), fmt="csv", title="T", key="t")
    assert reading.warnings == [
        "row 4: times go back at this stage: they look like offsets into each stage "
        "(the stage time model)"
    ]
    staged = msel_reading(
        buffer.getvalue().encode(), fmt="csv", title="T", key="t", time_model="stage"
    )
    assert staged.warnings == []
    assert staged.doc["stages"][1]["injects"][0]["release"] == "5m"
