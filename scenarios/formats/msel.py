"""MSEL (Master Scenario Events List) as CSV or XLSX, both ways. See docs/msel.md.

Export writes one row per inject, stage by stage, with the HSEEP columns and every column
an import kept as text. Import reads an MSEL as planners write it (``msel_read``) into a
*linear* draft scenario document and hands it to the scenario-format importer, so the
same validation and all-or-nothing import apply. Errors name the row and column.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from accounts.models import Sector
from scenarios.formats import (
    FormatError,
    ScenarioFormatError,
    import_scenario,
    validate_document,
)
from scenarios.formats.cells import append_xlsx_row, csv_text
from scenarios.formats.msel_read import (
    DEFAULT_TIME_MODEL,
    TIME_MODELS,
    MselReading,
    cell_text,
    guess_sector,
    read_msel_document,
    table_rows,
)
from scenarios.models import Inject, Scenario
from scenarios.rubrics import rubric_criteria

__all__ = [
    "COLUMNS",
    "DEFAULT_TIME_MODEL",
    "TIME_MODELS",
    "MselReading",
    "guess_sector",
    "msel_export",
    "msel_import",
    "msel_reading",
    "read_msel",
]

COLUMNS = (
    "Event No.",
    "Time into Stage",
    "Stage",
    "From",
    "To",
    "Method",
    "Inject",
    "Expected Action",
    "Criteria",
    "Notes",
    "Severity",
    "TLP",
)


# -- export --------------------------------------------------------------------------------


def msel_export(scenario: Scenario, fmt: str) -> bytes:
    """The scenario's injects as an MSEL: ``fmt`` is ``"csv"`` or ``"xlsx"``."""
    extra = kept_columns(scenario)
    rows = [[*COLUMNS, *extra], *msel_rows(scenario, extra)]
    if fmt == "csv":
        return csv_text(rows).encode("utf-8-sig")  # the BOM makes Excel read UTF-8
    if fmt == "xlsx":
        return _xlsx(rows)
    raise ValueError(f"unknown MSEL format {fmt!r}: csv or xlsx")


def kept_columns(scenario: Scenario) -> list[str]:
    """The headers of columns an import kept as text, in the order first met."""
    headers: dict[str, None] = {}
    for columns in Inject.objects.filter(scenario=scenario).values_list("columns", flat=True):
        headers.update(dict.fromkeys(name for name in columns if name not in COLUMNS))
    return list(headers)


def msel_rows(scenario: Scenario, extra: list[str]) -> list[list[str]]:
    """One row of ``COLUMNS`` and ``extra`` per inject, stage by stage, in release order."""
    roles = list(scenario.roles.all())
    order = {role.pk: position for position, role in enumerate(roles)}
    sectors = dict(Sector.choices)
    injects = (
        Inject.objects.filter(scenario=scenario)
        .select_related("stage")
        .prefetch_related("audience_roles")
        .order_by("stage__order", "stage__key", "order", "offset_seconds", "key")
    )
    rows = []
    for number, inject in enumerate(injects, start=1):
        if inject.audience == "roles":
            audience_roles = sorted(inject.audience_roles.all(), key=lambda r: order[r.pk])
            to = "; ".join(role.label for role in audience_roles)
        elif inject.audience == "sectors":
            to = "; ".join(f"Sector: {sectors.get(s, s)}" for s in inject.audience_sectors)
        else:
            to = "All players" if inject.audience == "all" else "Control"
        text = inject.title + (f"\n\n{inject.body}" if inject.body else "")
        rows.append(
            [
                inject.columns.get("Event No.") or str(number),
                _time_text(inject),
                inject.stage.title,
                inject.sender,
                to,
                inject.channel_text,
                text,
                inject.expected_action,
                "; ".join(inject.criteria),
                inject.notes,
                inject.severity,
                inject.tlp,
                *(inject.columns.get(name, "") for name in extra),
            ]
        )
    return rows


def _time_text(inject: Inject) -> str:
    if inject.release == Inject.Release.TIMED:
        hours, rest = divmod(inject.offset_seconds or 0, 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return "on decision" if inject.release == Inject.Release.CONSEQUENCE else "manual"


def _xlsx(rows: list[list[str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "MSEL"
    for row in rows:
        append_xlsx_row(sheet, row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = (8, 12, 28, 22, 28, 14, 60, 40, 22, 30, 10, 14)
    for index, width in enumerate(widths + (30,) * (len(rows[0]) - len(widths))):
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# -- import --------------------------------------------------------------------------------


def msel_reading(
    data: bytes,
    *,
    fmt: str,
    title: str,
    key: str,
    rubric_key: str | None = None,
    time_model: str | None = None,
    start: str = "",
) -> MselReading:
    """Read and validate an MSEL without writing anything: the preview of an import.

    ``reading.errors`` holds every problem of the file (rows and columns named), the
    document's own validation included; empty means ``import_reading`` will succeed.
    """
    criteria = criterion_tokens(rubric_key) if rubric_key else None
    reading = read_msel_document(
        data,
        fmt=fmt,
        title=title,
        key=key,
        criteria=criteria,
        rubric_key=rubric_key,
        time_model=time_model,
        start=start,
    )
    if rubric_key and criteria is None:
        reading.errors.append(FormatError("rubric", f"unknown rubric '{rubric_key}'"))
    if reading.doc and not reading.errors:
        located = [reading.locate(error) for error in validate_document(reading.doc)]
        reading.errors.extend(located)
    return reading


def msel_import(
    data: bytes,
    *,
    fmt: str,
    title: str,
    key: str,
    rubric_key: str | None = None,
    time_model: str | None = None,
    start: str = "",
    created_by: Any = None,
) -> Scenario:
    """Create a linear draft scenario from an MSEL (``fmt``: ``"csv"`` or ``"xlsx"``).

    All-or-nothing; raises ``ScenarioFormatError`` listing every problem of the file.
    """
    reading = msel_reading(
        data,
        fmt=fmt,
        title=title,
        key=key,
        rubric_key=rubric_key,
        time_model=time_model,
        start=start,
    )
    if reading.errors:
        raise ScenarioFormatError(reading.errors)
    return import_scenario(reading.doc, created_by=created_by, publish=False)


def criterion_tokens(rubric_key: str) -> dict[str, str] | None:
    """Token → criterion key for the rubric (keys and references such as DE.AE); None if
    the rubric is neither loaded nor shipped."""
    criteria = rubric_criteria(rubric_key)
    if criteria is None:
        return None
    tokens: dict[str, str] = {}
    for key, reference in criteria:
        tokens[key.lower()] = key
        if reference:
            tokens[reference.lower()] = key
    return tokens


def read_msel(data: bytes, fmt: str) -> list[list[str]]:
    """The MSEL's non-empty rows as text cells (header first), for tests and previews."""
    reading = MselReading(doc={})
    rows = table_rows(data, fmt, reading)
    if reading.errors:
        raise ScenarioFormatError(reading.errors)
    return [[cell_text(cell) for cell in row] for _, row in rows]
