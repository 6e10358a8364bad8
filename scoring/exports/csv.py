"""A zip of CSV files, one per report table."""

from __future__ import annotations

import csv
import io
import zipfile

from scoring.exports.tables import SHEETS
from scoring.report import Report


def render(report: Report) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for title, rows_of in SHEETS.items():
            text = io.StringIO()
            writer = csv.writer(text)
            for row in rows_of(report):
                writer.writerow(["" if v is None else v for v in row])
            archive.writestr(f"{title.replace(' ', '-')}.csv", text.getvalue())
    return out.getvalue()
