"""Issue 13, findings 2 and 9: hostile MSEL workbooks are refused while they are read, with
memory bounded, and malformed XML inside them is a clear import error, never a 500."""

from __future__ import annotations

import contextlib
import io
import zipfile

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import Workbook

from config.limits import MSEL_MAX_COLUMNS, XLSX_MAX_SHARED_STRINGS
from scenarios.formats import ScenarioFormatError
from scenarios.formats.msel import COLUMNS, msel_import

SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
# What one refused workbook may add to a running server's peak RSS.
SERVER_GROWTH_KIB = 30 * 1024


def workbook(**parts: bytes) -> bytes:
    """A valid MSEL workbook with some parts replaced (keys: ``sheet``, ``strings``)."""
    book = Workbook()
    book.active.append(list(COLUMNS[:7]))
    book.active.append(["1", "", "S", "F", "Bank", "Email", "A"])
    source = io.BytesIO()
    book.save(source)
    names = {"sheet": SHEET, "strings": STRINGS}
    replaced = {names[key]: value for key, value in parts.items()}
    out = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            new.writestr(item.filename, replaced.pop(item.filename, None) or old.read(item))
        for name, content in replaced.items():
            new.writestr(name, content)
    return out.getvalue()


def sheet(rows: str, dimension: str = "A1:G2") -> bytes:
    return (
        f'<worksheet {NS}><dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
    ).encode()


def one_wide_row(cells: int) -> bytes:
    return sheet('<row r="1">' + '<c t="n"><v>1</v></c>' * cells + "</row>")


def claimed_dimension() -> bytes:
    """The reported 30 KB file: a dimension of 16,384 columns × 5,000 rows, few cells."""
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="n"><v>{n}</v></c></row>' for n in range(1, 4))
    return sheet(rows, dimension="A1:XFD5000")


def strings(count: int) -> bytes:
    return f'<sst {NS} count="{count}">{"<si><t>x</t></si>" * count}</sst>'.encode()


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "lol">'
    + b"".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(9)
    )
    + f"]><sst {NS}><si><t>&j;</t></si></sst>".encode()
)
EXTERNAL = (
    f'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    f"<sst {NS}><si><t>&e;</t></si></sst>"
).encode()


def _refusal(data: bytes) -> str:
    with pytest.raises(ScenarioFormatError) as caught:
        msel_import(data, fmt="xlsx", title="T", key="t")
    return str(caught.value)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (workbook(sheet=one_wide_row(1_000_000)), f"more than {MSEL_MAX_COLUMNS} columns"),
        (workbook(sheet=one_wide_row(MSEL_MAX_COLUMNS + 1)), "more than 64 columns"),
        (
            workbook(sheet=sheet('<row r="1"><c r="XFD1" t="n"><v>1</v></c></row>')),
            "more than 64 columns",
        ),
        (workbook(sheet=sheet('<row r="1048576"/>')), "more than 5000 rows"),
        (
            workbook(strings=strings(XLSX_MAX_SHARED_STRINGS + 1)),
            f"more than {XLSX_MAX_SHARED_STRINGS} shared strings",
        ),
        (workbook(strings=LAUGHS), "forbidden XML (DTD or entities) in xl/sharedStrings.xml"),
        (workbook(strings=EXTERNAL), "forbidden XML (DTD or entities) in xl/sharedStrings.xml"),
        (workbook(strings=b"<sst><si><t>broken"), "malformed XML in xl/sharedStrings.xml"),
        (
            workbook(sheet=sheet('<row r="1"><c r="A1" t="s"><v>99</v></c></row>')),
            "unreadable XLSX sheet (IndexError)",
        ),
        (b"PK\x05\x06" + b"\x00" * 18, "not an XLSX workbook"),
        (b"plain text, not a zip", "not an XLSX workbook"),
    ],
    ids=[
        "million-cell-row",
        "wide-row",
        "far-column",
        "far-row",
        "shared-strings",
        "billion-laughs",
        "external-entity",
        "broken-shared-strings",
        "missing-shared-string",
        "empty-zip",
        "not-a-zip",
    ],
)
def test_it_refuses_hostile_workbooks_with_a_clear_error(data: bytes, message: str) -> None:
    assert message in _refusal(data)


@pytest.mark.django_db
def test_it_ignores_a_claimed_dimension() -> None:
    # Rows are read as long as their cells: three numbered rows, no header row.
    assert "no header row in the first 20 rows" in _refusal(workbook(sheet=claimed_dimension()))


@pytest.mark.django_db
def test_it_stops_at_the_declared_size_of_a_part() -> None:
    data = bytearray(workbook(sheet=one_wide_row(10)))
    # Claim 1 GiB unpacked for every member in the central directory.
    start = data.rfind(b"PK\x05\x06")
    offset = data.find(b"PK\x01\x02")
    while 0 <= offset < start:
        data[offset + 24 : offset + 28] = (1 << 30).to_bytes(4, "little")
        offset = data.find(b"PK\x01\x02", offset + 4)
    assert "unpacks to more than 32 MiB" in _refusal(bytes(data))


@pytest.mark.django_db
@hypothesis_settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([SHEET, STRINGS, "xl/workbook.xml"]))
def test_it_never_raises_anything_but_a_format_error(noise: bytes, part: str) -> None:
    key = {SHEET: "sheet", STRINGS: "strings"}.get(part)
    data = workbook(**{key: noise}) if key else _replace_workbook_part(noise)
    with contextlib.suppress(ScenarioFormatError):
        msel_import(data, fmt="xlsx", title="T", key="t")


def _replace_workbook_part(noise: bytes) -> bytes:
    source, out = io.BytesIO(workbook()), io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out, "w") as new:
        for item in old.infolist():
            new.writestr(
                item.filename, noise if item.filename == "xl/workbook.xml" else old.read(item)
            )
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [workbook(sheet=one_wide_row(1_000_000)), workbook(sheet=claimed_dimension())],
    ids=["million-cell-row", "claimed-dimension"],
)
def test_the_server_survives_workbook_bombs_with_bounded_memory(server_process, data) -> None:
    server_process.reset_peak()
    before = server_process.memory_kib("VmRSS")
    fields = {"title": "Bomb", "key": "bomb"}
    answer = server_process.upload("/scenarios/import/", fields, "bomb.xlsx", data)
    assert answer.status == 400
    assert "Traceback" not in answer.text
    assert server_process.is_answering()
    assert server_process.memory_kib("VmHWM") - before < SERVER_GROWTH_KIB


def test_openpyxl_reads_xml_through_defusedxml() -> None:
    from openpyxl.xml import functions

    assert functions.iterparse.__module__.startswith("defusedxml")
