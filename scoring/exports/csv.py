"""A zip of CSV files, one per report table, every cell defused (scenarios/formats/cells.py)."""

from __future__ import annotations

import io
import zipfile

from scenarios.formats.cells import csv_text
from scoring.exports.tables import SHEETS
from scoring.report import Report


def render(report: Report) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for title, rows_of in SHEETS.items():
            archive.writestr(f"{title.replace(' ', '-')}.csv", csv_text(rows_of(report)))
    return out.getvalue()
