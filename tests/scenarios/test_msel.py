"""MSEL (CSV and XLSX) export and import."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from scenarios.formats import ScenarioFormatError, export_document, import_scenario
from scenarios.formats.msel import COLUMNS, guess_sector, msel_export, msel_import, read_msel
from scenarios.models import Inject, Scenario, Stage
from scenarios.rubrics import load_rubric
from tests.factories import make_scenario

FIXTURES = Path(settings.BASE_DIR) / "fixtures"

HEADER = ",".join(COLUMNS)
NATIVE_ROWS = [
    list(COLUMNS),
    ["1", "0:00:00", "Detection", "Cloud SOC", "Cloud provider", "SIEM alert",
     "Mass encryption\n\nHosts are encrypting.", "Declare an incident", "de-ae; rs-ma", "",
     "high", "AMBER"],
    ["2", "0:05:00", "Detection", "Service desk", "Regional hospital; Savings bank",
     "Phone call", "EHR is slow", "Call the provider", "", "", "medium", "GREEN"],
    ["3", "manual", "Detection", "Reporter", "Cloud provider", "News report",
     "A reporter calls", "Use the holding statement", "public-communication",
     "Release at 10 minutes", "low", "CLEAR"],
    ["4", "0:00:00", "Escalation", "Regulator", "All players", "Regulator",
     "Report within 24 hours", "Notify", "rs-co", "", "medium", "AMBER"],
    ["5", "0:10:00", "Escalation", "Water control room", "Sector: Water", "Email",
     "Telemetry lost", "", "", "", "medium", "GREEN"],
    ["6", "manual", "Recovery", "Facilitator", "Control", "Email", "Control note", "", "", "",
     "info", "RED"],
]  # fmt: skip


def as_csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


NATIVE = as_csv(NATIVE_ROWS)


@pytest.fixture
def rubric(db):
    return load_rubric(FIXTURES / "rubric" / "cascade-resilience.yaml")


def to_xlsx(rows: list[list[str]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(
            [ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in row]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_it_exports_one_row_per_inject_with_the_hseep_columns(db):
    scenario = make_scenario()
    rows = read_msel(msel_export(scenario, "csv"), "csv")
    assert rows[0] == list(COLUMNS)
    assert len(rows) == 1 + Inject.objects.filter(scenario=scenario).count()
    assert rows[1] == [
        "1",
        "0:00:00",
        "Ransomware detected",
        "",
        "Cloud provider",
        "SIEM alert",
        "SIEM: mass encryption\n\nHosts encrypting.",
        "",
        "",
        "",
        "high",
        "AMBER",
    ]
    assert [row[1] for row in rows[1:]] == ["0:00:00", "manual", "on decision"]
    assert rows[2][4] == "All players"


def test_it_imports_an_msel_as_a_linear_draft(rubric):
    scenario = msel_import(
        NATIVE.encode(), fmt="csv", title="Native MSEL", key="native", rubric_key=rubric.key
    )
    assert scenario.status == Scenario.Status.DRAFT
    assert scenario.rubric == rubric
    stages = list(Stage.objects.filter(scenario=scenario))
    assert [stage.title for stage in stages] == ["Detection", "Escalation", "Recovery"]
    assert scenario.start_stage == stages[0]
    doc = export_document(scenario)
    assert [s.get("transitions") for s in doc["stages"]] == [
        [{"to": "escalation", "default": True}],
        [{"to": "recovery", "default": True}],
        None,
    ]
    roles = {role["key"]: role["sector"] for role in doc["roles"]}
    assert roles == {"cloud-provider": "cloud_it", "regional-hospital": "healthcare",
                     "savings-bank": "finance"}  # fmt: skip
    first = doc["stages"][0]["injects"][0]
    assert first == {
        "key": "mass-encryption",
        "title": "Mass encryption",
        "body": "Hosts are encrypting.",
        "from": "Cloud SOC",
        "channel": "siem",
        "severity": "high",
        "tlp": "AMBER",
        "audience": {"roles": ["cloud-provider"]},
        "release": "0s",
        "expected_action": "Declare an incident",
        "criteria": ["de-ae", "rs-ma"],
    }
    escalation = doc["stages"][1]["injects"]
    assert escalation[1]["audience"] == {"sectors": ["water"]}
    assert escalation[1]["release"] == "10m"
    assert doc["stages"][2]["injects"][0]["audience"] == "control"


def test_it_round_trips_an_msel_through_csv_and_xlsx(rubric):
    scenario = msel_import(
        NATIVE.encode(), fmt="csv", title="Native", key="native", rubric_key=rubric.key
    )
    exported = read_msel(msel_export(scenario, "csv"), "csv")
    assert exported == NATIVE_ROWS
    from_xlsx = msel_import(
        msel_export(scenario, "xlsx"),
        fmt="xlsx",
        title="Native",
        key="native",
        rubric_key=rubric.key,
    )
    assert from_xlsx.version == 2
    assert read_msel(msel_export(from_xlsx, "xlsx"), "xlsx") == exported
    assert export_document(from_xlsx) == export_document(scenario)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_it_reaches_a_fixed_point_from_a_shipped_scenario(rubric, fmt):
    shipped = import_scenario((FIXTURES / "scenarios" / "cloud-ransomware.yaml").read_text())
    first = msel_import(
        msel_export(shipped, fmt), fmt=fmt, title="CR", key="cr", rubric_key=rubric.key
    )
    second = msel_import(
        msel_export(first, fmt), fmt=fmt, title="CR", key="cr", rubric_key=rubric.key
    )
    assert export_document(second) == export_document(first)
    assert Inject.objects.filter(scenario=first).count() == shipped.injects.count()


def test_it_reads_semicolon_separated_csv_and_header_aliases(db):
    text = "Event #;Time;Phase;Sender;Recipient;Channel;Inject Text;Expected Player Action\n"
    text += "1;00:15;Start;Ops;Harbor Bank;e-mail;Card outage;Switch to stand-in\n"
    scenario = msel_import(text.encode(), fmt="csv", title="T", key="aliases")
    inject = Inject.objects.get(scenario=scenario)
    assert (inject.channel, inject.offset_seconds, inject.expected_action) == (
        "email",
        900,
        "Switch to stand-in",
    )
    assert scenario.roles.get().sector == "finance"


@pytest.mark.parametrize(
    ("label", "sector"),
    [
        ("Metro Water Utility", "water"),
        ("St. Mary's Hospital", "healthcare"),
        ("Regional card processor", "finance"),
        ("Grid operator", "energy"),
        ("Mobile carrier", "telecom"),
        ("Airport operator", "transport"),
        ("Managed cloud provider", "cloud_it"),
        ("City council", "government"),
    ],
)
def test_it_guesses_sectors_from_role_names(label, sector):
    assert guess_sector(label) == sector


MALFORMED = [
    (
        "long-method",
        f"1,0:00:00,S,From,Bank,{'Carrier pigeon ' * 5},Title,,,,,",
        "row 2, column 'Method': is longer than 60 characters",
    ),
    (
        "bad-time",
        "1,soonish,S,From,Bank,Email,Title,,,,,",
        "row 2, column 'Time into Stage': 'soonish' is not a time",
    ),
    ("empty-stage", "1,0:00:00,,From,Bank,Email,Title,,,,,", "row 2, column 'Stage': is empty"),
    ("empty-inject", "1,0:00:00,S,From,Bank,Email,,,,,,", "row 2, column 'Inject': is empty"),
    (
        "unknown-criterion",
        "1,0:00:00,S,From,Bank,Email,Title,,DE.XX,,,",
        "row 2, column 'Criteria': unknown criterion 'DE.XX'",
    ),
    (
        "bad-severity",
        "1,0:00:00,S,From,Bank,Email,Title,,,,urgent,",
        "row 2, column 'Severity': 'urgent' is not one of",
    ),
    (
        "bad-tlp",
        "1,0:00:00,S,From,Bank,Email,Title,,,,,TLP:PURPLE",
        "row 2, column 'TLP': 'PURPLE' is not one of",
    ),
    (
        "sectors-and-roles",
        "1,0:00:00,S,From,Sector: Water; Bank,Email,Title,,,,,",
        "row 2, column 'To': mixes sectors and roles",
    ),
    ("no-roles", "1,0:00:00,S,From,All players,Email,Title,,,,,", "file: no row names a player"),
]


@pytest.mark.parametrize(
    ("row", "message"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED]
)
def test_it_names_row_and_column_of_malformed_msel_rows(rubric, row, message):
    data = f"{HEADER}\n{row}\n".encode()
    with pytest.raises(ScenarioFormatError) as caught:
        msel_import(data, fmt="csv", title="Bad", key="bad", rubric_key=rubric.key)
    assert any(str(error).startswith(message) for error in caught.value.errors), caught.value
    assert not Scenario.objects.filter(key="bad").exists()


def test_it_reports_repeated_event_numbers(db):
    data = f"{HEADER}\n1,,S,F,Bank,Email,A,,,,,\n1,,S,F,Bank,Email,B,,,,,\n".encode()
    with pytest.raises(ScenarioFormatError) as caught:
        msel_import(data, fmt="csv", title="T", key="t")
    assert [str(e) for e in caught.value.errors] == [
        "row 3, column 'Event No.': event number 1 repeats row 2"
    ]


def test_it_needs_a_rubric_for_objectives(db):
    data = f"{HEADER}\n1,,S,F,Bank,Email,A,,rs-ma,,,\n".encode()
    with pytest.raises(ScenarioFormatError) as caught:
        msel_import(data, fmt="csv", title="T", key="t")
    assert "criteria need a rubric" in str(caught.value)


def test_it_needs_a_header_row_with_an_inject_column(db):
    with pytest.raises(ScenarioFormatError) as caught:
        msel_import(b"Event No.,Notes\n1,x\n", fmt="csv", title="T", key="t")
    assert str(caught.value).startswith("file: no header row in the first 20 rows")


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b"PK\x03\x04 not really a zip", "xlsx", "file: not an XLSX workbook"),
        (b"\x81\x8d\x90 \xc3", "csv", "file: not text in UTF-8, UTF-16 or cp1252"),
        (b"\n\n", "csv", "file: the MSEL is empty"),
    ],
)
def test_it_refuses_unreadable_files(db, data, fmt, message):
    with pytest.raises(ScenarioFormatError) as caught:
        msel_import(data, fmt=fmt, title="T", key="t")
    assert str(caught.value).startswith(message)


def test_it_reads_xlsx_time_cells(db):
    data = to_xlsx(
        [list(COLUMNS[:7]), [1, dt.time(0, 20), "Start", "Ops", "Savings bank", "Email", "Go"]]
    )
    scenario = msel_import(data, fmt="xlsx", title="T", key="xlsx-times")
    assert Inject.objects.get(scenario=scenario).offset_seconds == 1200


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_it_never_exports_text_as_a_spreadsheet_formula(db, fmt):
    scenario = make_scenario()
    Inject.objects.filter(scenario=scenario, key="news").update(
        title='=HYPERLINK("http://evil.example","x")', sender="+31 555 0100"
    )
    data = msel_export(scenario, fmt)
    if fmt == "csv":
        assert "'=HYPERLINK(" in data.decode("utf-8-sig")
        assert "'+31 555 0100" in data.decode("utf-8-sig")
    else:
        sheet = load_workbook(io.BytesIO(data)).active
        assert "f" not in {cell.data_type for row in sheet.iter_rows() for cell in row}
    row = read_msel(data, fmt)[2]
    assert (row[3], row[6]) == ("+31 555 0100", '=HYPERLINK("http://evil.example","x")')


def test_it_refuses_oversized_msels(db):
    data = (HEADER + "\n" + "1,,S,F,Bank,Email,A,,,,,\n" * 5001).encode()
    with pytest.raises(ScenarioFormatError, match="more than 5000 rows"):
        msel_import(data, fmt="csv", title="T", key="t")


def test_it_refuses_a_workbook_with_a_broken_sheet(db):
    good = to_xlsx([list(COLUMNS[:7]), ["1", "", "S", "F", "Bank", "Email", "A"]])
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]
            target.writestr(item, content)
    with pytest.raises(ScenarioFormatError) as caught:
        msel_import(broken.getvalue(), fmt="xlsx", title="T", key="t")
    assert str(caught.value).startswith("file: unreadable XLSX")


@hypothesis_settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(NATIVE_ROWS) - 1),
            st.integers(min_value=0, max_value=len(COLUMNS) - 1),
            st.text(max_size=40),
        ),
        min_size=1,
        max_size=5,
    ),
    fmt=st.sampled_from(["csv", "xlsx"]),
)
def test_it_only_ever_raises_format_errors_on_damaged_msels(rubric, edits, fmt):
    rows = [list(row) for row in NATIVE_ROWS]
    for row, column, text in edits:
        rows[row][column] = text
    data = as_csv(rows).encode() if fmt == "csv" else to_xlsx(rows)
    try:
        scenario = msel_import(data, fmt=fmt, title="T", key="damaged", rubric_key=rubric.key)
    except ScenarioFormatError as error:
        refusal = error
    else:
        refusal = None
        assert scenario.status == Scenario.Status.DRAFT
    assert refusal is None or refusal.errors


def test_it_exports_xlsx_even_with_control_characters_in_text(db):
    scenario = make_scenario()
    Inject.objects.filter(scenario=scenario, key="news").update(title="News\x08 flash\x1b")
    assert read_msel(msel_export(scenario, "xlsx"), "xlsx")[2][6] == "News flash"


@pytest.mark.parametrize(
    ("header", "shown"), [("Own\x00er", "'Own\\x00er'"), ("O" * 201, "'OOOOOOOOOO")]
)
def test_it_refuses_a_header_it_keeps_as_text_that_names_no_column(rubric, header, shown):
    # Found by the fuzzer above on PostgreSQL: a NUL in a header became a key of the
    # inject's kept columns and the INSERT failed ("\u0000 cannot be converted to text").
    # A CSV carries a NUL; a workbook cannot.
    rows = [[*COLUMNS, header], *([*row, "x"] for row in NATIVE_ROWS[1:])]
    with pytest.raises(ScenarioFormatError) as caught:
        msel_import(as_csv(rows).encode(), fmt="csv", title="T", key="nul", rubric_key=rubric.key)
    # Named where the header is, once; not at each inject's row.
    assert len(COLUMNS) == 12  # the header's 13th column, M
    where = f"row 1, column M: {shown}"
    assert str(caught.value).count("is not a column name") == 1
    assert where in str(caught.value)
    assert not Scenario.objects.filter(key="nul").exists()
