"""The report as PDF: the print template rendered by WeasyPrint, charts as inline SVG.

A4 portrait (``PAGE_SIZES`` offers Letter), page numbers and a table of contents from
``static/css/report.css``. Long tables continue across pages with their header row
repeated, never cut. Per-team charts are drawn only for up to ``TEAM_CHART_LIMIT``
teams (the heatmaps always show every team).
"""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from scoring.report import Report

TEAM_CHART_LIMIT = 12
PAGE_SIZES = {"a4": "A4", "letter": "letter"}


def printable(report: Report) -> tuple[Report, dict[str, int]]:
    """The report for print, and how many per-team charts it leaves out."""
    charts = dict(report.charts)
    omitted = {}
    if len(charts.get("teams", [])) > TEAM_CHART_LIMIT:
        omitted["team_charts"] = len(charts["teams"])
        charts["teams"] = []
    return replace(report, charts=charts), omitted


def render(report: Report, *, page: str = "a4") -> bytes:
    from weasyprint import CSS, HTML  # heavy import: only where a PDF is made

    cut, omitted = printable(report)
    html = render_to_string("scoring/report_pdf.html", {"report": cut, "omitted": omitted})
    stylesheet = finders.find("css/report.css")
    sheets = [CSS(filename=stylesheet)] if stylesheet else []
    sheets.append(CSS(string=f"@page {{ size: {PAGE_SIZES[page]} portrait; }}"))
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(stylesheets=sheets)
