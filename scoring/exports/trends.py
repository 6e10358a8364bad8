"""Trends across exercises as CSV, XLSX or JSON: the same series the trends page shows,
every CSV and XLSX cell written as inert text by scenarios/formats/cells.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font

from scenarios.formats.cells import append_xlsx_row, csv_text
from scoring.trends import ItemIn, Point, Step
from scoring.trends_collect import TrendView

SCHEMA_VERSION = "1"

HEADER = [
    "Follow",
    "Subject",
    "Per",
    "Measure",
    "Exercise",
    "Exercise code",
    "Ended",
    "Score",
    "Confidence",
    "Evidence items",
    "Low confidence",
    "Change since previous",
    "Change claimed",
    "Items due since previous",
    "Summary",
]


def _items_text(items: tuple[ItemIn, ...]) -> str:
    return "; ".join(f"{i.title} ({i.status_label}, due {i.due.isoformat()})" for i in items)


def trend_rows(view: TrendView) -> list[list]:
    """One row per point of every series; the step into a point sits on its row."""
    rows = [HEADER]
    for series in view.series:
        steps: list[Step | None] = [None, *series.steps]
        for point, step in zip(series.points, steps, strict=True):
            rows.append(
                [
                    series.by,
                    series.subject,
                    series.per,
                    series.measure,
                    point.exercise_name,
                    point.exercise,
                    point.held_at.date().isoformat(),
                    point.value,
                    point.confidence,
                    point.evidence_count,
                    "yes" if point.low else "no",
                    step.change if step else None,
                    ("yes" if step.claimed else "no") if step else "",
                    _items_text(step.items) if step else "",
                    step.summary if step else "",
                ]
            )
    return rows


def item_rows(view: TrendView) -> list[list]:
    header = ["Code", "Organization", "Criterion", "Corrective action", "Due", "Status"]
    return [header] + [
        [i.code, i.organization, i.criterion, i.title, i.due.isoformat() if i.due else "", i.status]
        for i in view.data.items
    ]


def render_csv(view: TrendView) -> bytes:
    return csv_text(trend_rows(view)).encode()


def render_xlsx(view: TrendView) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in (("Trends", trend_rows(view)), ("Improvement items", item_rows(view))):
        sheet = book.create_sheet(title)
        for row in rows:
            append_xlsx_row(sheet, row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _point(point: Point) -> dict:
    return {
        "exercise": point.exercise,
        "ended_at": point.held_at.isoformat(),
        "value": point.value,
        "confidence": point.confidence,
        "evidence_count": point.evidence_count,
        "low_confidence": point.low,
    }


def _item(item: ItemIn) -> dict:
    return {
        "code": item.code,
        "exercise": item.exercise,
        "corrective_action": item.title,
        "due": item.due.isoformat() if item.due else None,
        "status": item.status,
    }


def render_json(view: TrendView) -> bytes:
    chosen = view.chosen
    document = {
        "schema_version": SCHEMA_VERSION,
        "rubric": {"key": chosen.rubric.key, "title": chosen.rubric.title},
        "by": view.by,
        "per": view.per,
        "filters": {
            "organization": chosen.organization.name if chosen.organization else None,
            "sector": chosen.sector or None,
            "group": chosen.group or None,
        },
        "exercises": [
            {"code": e.code, "name": e.name, "scenario": e.scenario.key}
            for e in view.data.exercises
        ],
        "series": [
            {
                "subject": s.subject,
                "measure": s.measure,
                "points": [_point(p) for p in s.points],
                "steps": [
                    {
                        "from": step.before.exercise,
                        "to": step.after.exercise,
                        "change": step.change,
                        "claimed": step.claimed,
                        "summary": step.summary,
                        "items": [_item(i) for i in step.items],
                    }
                    for step in s.steps
                ],
            }
            for s in view.series
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False).encode()


@dataclass(frozen=True)
class Format:
    render: Callable[[TrendView], bytes]
    content_type: str


FORMATS = {
    "csv": Format(render_csv, "text/csv; charset=utf-8"),
    "xlsx": Format(
        render_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ),
    "json": Format(render_json, "application/json"),
}


def filename(view: TrendView, fmt: str) -> str:
    return f"trends-{view.chosen.rubric.key}-{view.by}-{view.per}.{fmt}"
