"""Excel workbook: one sheet per report table (scores, gaps, decisions, improvement plan)."""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font

from scoring.exports.tables import SHEETS
from scoring.report import Report


def render(report: Report) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows_of in SHEETS.items():
        sheet = book.create_sheet(title.title())
        for row in rows_of(report):
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    out = BytesIO()
    book.save(out)
    return out.getvalue()
