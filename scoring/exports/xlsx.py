"""Excel workbook: one sheet per report table (scores, gaps, decisions, improvement plan),
every cell written as inert text by scenarios/formats/cells.py."""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font

from scenarios.formats.cells import append_xlsx_row
from scoring.exports.tables import SHEETS
from scoring.report import Report


def render(report: Report) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows_of in SHEETS.items():
        sheet = book.create_sheet(title.title())
        for row in rows_of(report):
            append_xlsx_row(sheet, row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    out = BytesIO()
    book.save(out)
    return out.getvalue()
