"""The report as PDF: the print template rendered by WeasyPrint, charts as inline SVG.

A4 portrait (``PAGE_SIZES`` offers Letter), page numbers and a table of contents from
``static/css/report.css``. Long tables continue across pages with their header row
repeated, never cut. The per-team bar charts stay on the web page: the heatmaps show
every team's scores, and the demo's report keeps to 12 pages.
"""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from scoring.report import Report

PAGE_SIZES = {"a4": "A4", "letter": "letter"}


def printable(report: Report) -> Report:
    """The report for print: without the per-team bar charts."""
    return replace(report, charts={**report.charts, "teams": []})


def render(report: Report, *, page: str = "a4") -> bytes:
    from weasyprint import CSS, HTML  # heavy import: only where a PDF is made

    html = render_to_string("scoring/report_pdf.html", {"report": printable(report)})
    stylesheet = finders.find("css/report.css")
    sheets = [CSS(filename=stylesheet)] if stylesheet else []
    sheets.append(CSS(string=f"@page {{ size: {PAGE_SIZES[page]} portrait; }}"))
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(stylesheets=sheets)
