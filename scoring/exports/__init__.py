"""Report exports: each module renders a ``scoring.report.Report`` to bytes."""

from __future__ import annotations

from collections.abc import Callable

from scoring.models import ReportExport
from scoring.report import Report


def exporter(fmt: str) -> tuple[Callable[[Report], bytes], str]:
    """The render function and file extension of an export format."""
    from scoring.exports import csv, json, pdf, xlsx

    return {
        ReportExport.Format.PDF: (pdf.render, "pdf"),
        ReportExport.Format.XLSX: (xlsx.render, "xlsx"),
        ReportExport.Format.CSV: (csv.render, "zip"),
        ReportExport.Format.JSON: (json.render, "json"),
    }[fmt]
