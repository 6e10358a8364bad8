"""The report as PDF: the print template rendered by WeasyPrint, charts as inline SVG.

A PDF is read by people, and WeasyPrint lays out long tables slowly, so the print
version caps each long table at ``ROW_LIMIT`` rows (most severe gaps first; the
page says how many were left out) and draws per-team charts only for up to
``TEAM_CHART_LIMIT`` teams (the heatmap always shows every team). The XLSX, CSV
and JSON exports always hold everything.
"""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from scoring.report import Report

ROW_LIMIT = 30
TEAM_CHART_LIMIT = 12
CAPPED = ("gaps", "items", "decisions", "observations", "timeline", "chains")


def printable(report: Report) -> tuple[Report, dict[str, int]]:
    """The report cut for print, and how many rows each capped table left out."""
    omitted = {name: max(0, len(getattr(report, name)) - ROW_LIMIT) for name in CAPPED}
    cut = replace(report, **{name: getattr(report, name)[:ROW_LIMIT] for name in CAPPED})
    charts = dict(report.charts)
    if len(charts.get("teams", [])) > TEAM_CHART_LIMIT:
        omitted["team_charts"] = len(charts["teams"])
        charts["teams"] = []
    cut.charts = charts
    metrics = dict(report.metrics)
    omitted["metrics"] = max(0, len(metrics["teams"]) - ROW_LIMIT)
    metrics["teams"] = metrics["teams"][:ROW_LIMIT]
    cut.metrics = metrics
    return cut, omitted


def render(report: Report) -> bytes:
    from weasyprint import CSS, HTML  # heavy import: only where a PDF is made

    cut, omitted = printable(report)
    html = render_to_string("scoring/report_pdf.html", {"report": cut, "omitted": omitted})
    stylesheet = finders.find("css/report.css")
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(
        stylesheets=[CSS(filename=stylesheet)] if stylesheet else None
    )
