"""Server-side SVG of a scenario's stage graph, for the editor (no JavaScript needed).

Stages are boxes in columns by distance from the start (``scenarios.graph.layers``);
transitions are arrows labelled with their label or condition summary, default ones
dashed. Stages that cannot be reached, or from which the exercise can never end, are
drawn red and named in a legend. Colours are presentation attributes, not inline
``style``, so a strict Content-Security-Policy does not strip them. All text is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from scenarios.graph import GraphReport, analyse, layers
from scenarios.models import Scenario

BOX_W, BOX_H = 190, 58
COL_GAP, ROW_GAP, MARGIN = 170, 34, 20
RED, INK, MUTED, START = "#c62828", "#1f2937", "#6b7280", "#1565c0"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    is_default: bool = False


def scenario_graph_svg(scenario: Scenario) -> str:
    """The SVG for a scenario as stored (see ``graph_svg``)."""
    from scenarios.services import condition_summary

    stages = [(s.key, s.title) for s in scenario.stages.all()]
    edges = [
        Edge(t.from_stage.key, t.to_stage.key, t.label or condition_summary(t), t.is_default)
        for t in scenario.transitions.select_related("from_stage", "to_stage")
    ]
    start = scenario.start_stage.key if scenario.start_stage else None
    return graph_svg(stages, edges, start)


def graph_svg(stages: list[tuple[str, str]], edges: list[Edge], start: str | None) -> str:
    """An accessible inline SVG of ``stages`` ((key, title) in display order) and ``edges``."""
    keys = [key for key, _ in stages]
    pairs = [(e.source, e.target) for e in edges]
    report = analyse(keys, pairs, start)
    position = _positions(layers(keys, pairs, start))
    width = max((x for x, _ in position.values()), default=0) + BOX_W + 2 * MARGIN
    height = max((y for _, y in position.values()), default=0) + BOX_H + 2 * MARGIN + 110
    bad = set(report.unreachable) | set(report.cannot_end)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="stage-graph" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="graph-title graph-desc">',
        '<title id="graph-title">Stage graph</title>',
        f'<desc id="graph-desc">{escape(_describe(stages, edges, report))}</desc>',
        _defs(),
    ]
    drawn = [_edge(e, position) for e in edges if e.source in position and e.target in position]
    parts += [path for path, _ in drawn]
    titles = dict(stages)
    for key in keys:
        parts.append(_box(key, titles[key], position[key], key == start, report))
    parts += [label for _, label in drawn]  # labels last: above boxes and arrows
    parts.append(_legend(height - 100 + MARGIN // 2, bad))
    parts.append("</svg>")
    return "\n".join(parts)


def _positions(columns: list[list[str]]) -> dict[str, tuple[int, int]]:
    return {
        key: (MARGIN + col * (BOX_W + COL_GAP), MARGIN + row * (BOX_H + ROW_GAP))
        for col, column in enumerate(columns)
        for row, key in enumerate(column)
    }


def _defs() -> str:
    marker = (
        '<marker id="{id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="{fill}"/></marker>'
    )
    return f"<defs>{marker.format(id='arrow', fill=INK)}</defs>"


def _edge(edge: Edge, position: dict[str, tuple[int, int]]) -> tuple[str, str]:
    """The arrow and, separately, its label (drawn later so nothing covers it)."""
    (sx, sy), (tx, ty) = position[edge.source], position[edge.target]
    if tx > sx:  # forward: right side to left side
        x1, y1, x2, y2 = sx + BOX_W, sy + BOX_H // 2, tx, ty + BOX_H // 2
        path = f"M{x1},{y1} C{x1 + 50},{y1} {x2 - 50},{y2} {x2},{y2}"
        lx, ly = (x1 + x2) // 2, (y1 + y2) // 2 - 6
    else:  # back edge or same column: loop under the boxes
        x1, y1, x2, y2 = sx + BOX_W // 2, sy + BOX_H, tx + BOX_W // 3, ty + BOX_H
        drop = max(y1, y2) + 40
        path = f"M{x1},{y1} C{x1},{drop} {x2},{drop} {x2},{y2}"
        lx, ly = (x1 + x2) // 2, drop - 6
    dash = ' stroke-dasharray="6 4"' if edge.is_default else ""
    kind = "edge-default" if edge.is_default else "edge-conditional"
    arrow = (
        f'<g class="edge {kind}" data-from="{escape(edge.source)}" data-to="{escape(edge.target)}">'
        f"<title>{escape(edge.source)} → {escape(edge.target)}: {escape(edge.label)}</title>"
        f'<path d="{path}" fill="none" stroke="{INK}" stroke-width="1.5"{dash} '
        f'marker-end="url(#arrow)"/></g>'
    )
    label = (
        f'<text class="edge-label" x="{lx}" y="{ly}" text-anchor="middle" font-size="11" '
        f'fill="{MUTED}" stroke="#fff" stroke-width="3" paint-order="stroke">'
        f"{escape(_short(edge.label, 26))}</text>"
    )
    return arrow, label


def _box(key: str, title: str, xy: tuple[int, int], is_start: bool, report: GraphReport) -> str:
    x, y = xy
    unreachable, cannot_end = key in report.unreachable, key in report.cannot_end
    colour = RED if unreachable or cannot_end else (START if is_start else INK)
    fill = "#fdecea" if unreachable or cannot_end else "#ffffff"
    classes = " ".join(
        c
        for c, on in [
            ("stage", True),
            ("stage-start", is_start),
            ("stage-unreachable", unreachable),
            ("stage-cannot-end", cannot_end),
            ("stage-terminal", key in report.terminal),
        ]
        if on
    )
    note = "start" if is_start else ("ends the exercise" if key in report.terminal else "")
    if unreachable:
        note = "unreachable"
    elif cannot_end:
        note = "cannot end"
    width = 3 if is_start or unreachable or cannot_end else 1.5
    return (
        f'<g class="{classes}" data-stage="{escape(key)}"><title>{escape(title)} ({escape(key)})'
        f"</title>"
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" '
        f'stroke="{colour}" stroke-width="{width}"/>'
        f'<text x="{x + 10}" y="{y + 22}" font-size="13" font-weight="600" fill="{INK}">'
        f"{escape(_short(title, 21))}</text>"
        f'<text x="{x + 10}" y="{y + 42}" font-size="11" fill="{colour}">'
        f"{escape(_short(key, 20))}{' · ' + note if note else ''}</text></g>"
    )


def _legend(y: int, bad: set[str]) -> str:
    rows = [
        (INK, "", "stage (blue border: start)"),
        (INK, ' stroke-dasharray="6 4"', "default transition (dashed)"),
        (RED, "", "unreachable from start, or no way to end"),
    ]
    items = []
    for index, (colour, dash, text) in enumerate(rows):
        ly = y + index * 20
        items.append(
            f'<line x1="{MARGIN}" y1="{ly}" x2="{MARGIN + 30}" y2="{ly}" stroke="{colour}" '
            f'stroke-width="3"{dash}/><text x="{MARGIN + 40}" y="{ly + 4}" font-size="12" '
            f'fill="{INK}">{escape(text)}</text>'
        )
    if bad:
        names = ", ".join(sorted(bad))
        items.append(
            f'<text x="{MARGIN}" y="{y + 64}" font-size="12" fill="{RED}" class="legend-problems">'
            f"Problems: {escape(_short(names, 90))}</text>"
        )
    return f'<g class="legend">{"".join(items)}</g>'


def _describe(stages: list[tuple[str, str]], edges: list[Edge], report: GraphReport) -> str:
    text = f"{len(stages)} stages, {len(edges)} transitions."
    if report.unreachable:
        text += f" Unreachable: {', '.join(report.unreachable)}."
    if report.cannot_end:
        text += f" Cannot end: {', '.join(report.cannot_end)}."
    return text


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
