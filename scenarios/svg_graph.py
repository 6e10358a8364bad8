"""Server-side SVG of a scenario's stage graph, for the editor (no JavaScript needed).

Stages are boxes in rows by distance from the start (``scenarios.graph.layers``), top
to bottom, at most ``PER_ROW`` side by side (a wide layer wraps), so a long scenario
grows down, never sideways; titles are wrapped in full; each box links to its stage
card. Transitions are arrows labelled with their label or condition summary, default
ones dashed. Stages that cannot be reached, or from which the exercise can never end, are
drawn red and named in a legend. Colours are presentation attributes, not inline
``style``, so a strict Content-Security-Policy does not strip them. All text is escaped.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from html import escape

from scenarios.graph import GraphReport, analyse, layers
from scenarios.models import Consequence, Scenario
from scenarios.services import addressed_to, condition_summary

BOX_W, LINE_H, PER_ROW = 200, 16, 4
COL_GAP, ROW_GAP, MARGIN, LOOP = 40, 64, 20, 60  # LOOP: room right of the boxes for back edges
TITLE_CHARS, TITLE_LINES = 22, 4  # about what 13 px text fits in a box; longer titles wrap
RED, INK, MUTED, START = "#c62828", "#1f2937", "#6b7280", "#1565c0"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    is_default: bool = False


def scenario_graph_svg(scenario: Scenario) -> str:
    """The SVG for a scenario as stored (see ``graph_svg``)."""
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
    titles = {key: _lines(title) for key, title in stages}
    pairs = [(e.source, e.target) for e in edges]
    report = analyse(keys, pairs, start)
    boxes = _boxes(layers(keys, pairs, start), titles)
    width = max((x for x, _, _ in boxes.values()), default=0) + BOX_W + MARGIN + LOOP
    width = max(width, 2 * MARGIN + PER_ROW * (BOX_W + COL_GAP) - COL_GAP + LOOP)
    height = max((y + h for _, y, h in boxes.values()), default=0) + 2 * MARGIN + 100
    bad = set(report.unreachable) | set(report.cannot_end)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="stage-graph" role="group" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="graph-title graph-desc">',
        '<title id="graph-title">Stage graph</title>',
        f'<desc id="graph-desc">{escape(_describe(stages, edges, report))}</desc>',
        _defs(),
    ]
    drawn = [_edge(e, boxes) for e in edges if e.source in boxes and e.target in boxes]
    parts += [path for path, _ in drawn]
    names = dict(stages)
    for key in keys:
        parts.append(_box(key, names[key], titles[key], boxes[key], key == start, report))
    parts += [label for _, label in drawn]  # labels last: above boxes and arrows
    parts.append(_legend(height - 100 + MARGIN // 2, bad))
    parts.append("</svg>")
    return "\n".join(parts)


def _lines(title: str) -> list[str]:
    lines = textwrap.wrap(title, TITLE_CHARS, break_long_words=True) or [""]
    if len(lines) > TITLE_LINES:  # a paragraph, not a title: the box's tooltip has it all
        lines = [*lines[: TITLE_LINES - 1], _short(" ".join(lines[TITLE_LINES - 1 :]), 26)]
    return lines


def _boxes(
    layered: list[list[str]], titles: dict[str, list[str]]
) -> dict[str, tuple[int, int, int]]:
    """(x, y, height) of each stage: a layer per row, wrapped at ``PER_ROW``, centred."""
    rows = [layer[i : i + PER_ROW] for layer in layered for i in range(0, len(layer), PER_ROW)]
    full = PER_ROW * (BOX_W + COL_GAP) - COL_GAP
    boxes, y = {}, MARGIN
    for row in rows:
        height = 30 + LINE_H * max(len(titles[key]) for key in row)
        x = MARGIN + (full - (len(row) * (BOX_W + COL_GAP) - COL_GAP)) // 2
        for key in row:
            boxes[key] = (x, y, height)
            x += BOX_W + COL_GAP
        y += height + ROW_GAP
    return boxes


def _defs() -> str:
    marker = (
        '<marker id="{id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="{fill}"/></marker>'
    )
    return f"<defs>{marker.format(id='arrow', fill=INK)}</defs>"


def _edge(edge: Edge, boxes: dict[str, tuple[int, int, int]]) -> tuple[str, str]:
    """The arrow and, separately, its label (drawn later so nothing covers it)."""
    (sx, sy, sh), (tx, ty, th) = boxes[edge.source], boxes[edge.target]
    if ty > sy:  # down a row: bottom middle to top middle, labelled near the target
        x1, y1, x2, y2 = sx + BOX_W // 2, sy + sh, tx + BOX_W // 2, ty
        path = f"M{x1},{y1} C{x1},{y1 + 40} {x2},{y2 - 40} {x2},{y2}"
        lx, ly = x1 + 3 * (x2 - x1) // 4, y1 + 3 * (y2 - y1) // 4
    elif ty == sy and tx != sx:  # beside it in the row: side to facing side
        x1 = sx + BOX_W if tx > sx else sx
        x2 = tx if tx > sx else tx + BOX_W
        y1 = y2 = sy + sh // 2
        path = f"M{x1},{y1} L{x2},{y2}"
        lx, ly = (x1 + x2) // 2, y1 - 6
    else:  # back up, or to itself: out of the right side and round
        x1, y1, x2, y2 = sx + BOX_W, sy + sh // 2, tx + BOX_W, ty + th // 3
        bulge = max(x1, x2) + LOOP - 10
        path = f"M{x1},{y1} C{bulge},{y1} {bulge},{y2} {x2},{y2}"
        lx, ly = bulge - 20, (y1 + y2) // 2
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
        f"<title>{escape(edge.label)}</title>{escape(_short(edge.label, 24))}</text>"
    )
    return arrow, label


def _box(
    key: str,
    name: str,
    lines: list[str],
    box: tuple[int, int, int],
    is_start: bool,
    report: GraphReport,
) -> str:
    x, y, height = box
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
    title = "".join(
        f'<tspan x="{x + 10}" dy="{0 if i == 0 else LINE_H}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return (
        f'<a href="#stage-{escape(key)}" class="stage-link"><g class="{classes}" '
        f'data-stage="{escape(key)}"><title>{escape(name)} ({escape(key)}): '
        f"open the stage</title>"
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{height}" rx="8" fill="{fill}" '
        f'stroke="{colour}" stroke-width="{width}"/>'
        f'<text x="{x + 10}" y="{y + 20}" font-size="13" font-weight="600" fill="{INK}">'
        f"{title}</text>"
        f'<text x="{x + 10}" y="{y + height - 10}" font-size="11" fill="{colour}">'
        f"{escape(_short(key, 24))}{' · ' + note if note else ''}</text></g></a>"
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


# --- the cascade: who depends on whom, and which consequences travel along it -----------

ORANGE = "#c2410c"


@dataclass
class Link:
    """Provider → dependent (``depends``), and the consequence injects that flow along it."""

    source: str
    target: str
    depends: bool = False
    injects: list[str] | None = None


def scenario_cascade_svg(scenario: Scenario) -> str:
    """The roles' cascade as stored (see ``cascade_svg``): dependencies, and consequences
    released to the chooser's dependents or to named roles."""
    roles = list(scenario.roles.prefetch_related("depends_on"))
    links: dict[tuple[str, str], Link] = {}
    for role in roles:
        for provider in role.depends_on.all():
            links[(provider.key, role.key)] = Link(provider.key, role.key, depends=True)
    prompts = scenario.prompts.prefetch_related(
        "audience_roles", "options__consequences__inject", "options__consequences__target_roles"
    )
    for prompt in prompts:
        choosers = [role for role in roles if addressed_to(prompt, role)]
        for option in prompt.options.all():
            for consequence in option.consequences.all():
                for source, target in _reached(consequence, choosers, roles):
                    link = links.setdefault((source, target), Link(source, target))
                    link.injects = [*(link.injects or []), consequence.inject.title]
    return cascade_svg([(r.key, r.label) for r in roles], list(links.values()))


def _reached(consequence: Consequence, choosers: list, roles: list) -> list[tuple[str, str]]:
    if consequence.target == Consequence.Target.DEPENDENTS:
        return [
            (c.key, r.key)
            for c in choosers
            for r in roles
            if any(d.pk == c.pk for d in r.depends_on.all())
        ]
    if consequence.target == Consequence.Target.ROLES:
        named = list(consequence.target_roles.all())
        return [(c.key, r.key) for c in choosers for r in named if r.pk != c.pk]
    return []  # to the chooser itself, or broadcast to all: no edge between roles


def cascade_svg(roles: list[tuple[str, str]], links: list[Link]) -> str:
    """An arc diagram: roles in a row; an arc from provider to dependent above the row
    when it runs right, below when it runs left; orange when consequences travel it."""
    count = max(len(roles), 1)
    full = PER_ROW * (BOX_W + COL_GAP) - COL_GAP + LOOP
    gap = 12
    box_w = min(170, (full - (count - 1) * gap) // count)
    chars = max(8, box_w // 7)
    lines = {key: textwrap.wrap(label, chars)[:3] or [""] for key, label in roles}
    box_h = 24 + LINE_H * max((len(v) for v in lines.values()), default=1)
    centre = {key: MARGIN + i * (box_w + gap) + box_w // 2 for i, (key, _) in enumerate(roles)}
    drawn = [k for k in links if k.source in centre and k.target in centre]
    # Room for the arcs: rightward ones rise above the row, leftward ones hang below.
    above = [_rise(centre, k) for k in drawn if centre[k.target] > centre[k.source]]
    below = [_rise(centre, k) for k in drawn if centre[k.target] < centre[k.source]]
    top = MARGIN + max(above, default=0) + (16 if above else 0)
    height = top + box_h + max(below, default=0) + (16 if below else 0) + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cascade-graph" role="img" '
        f'viewBox="0 0 {full + 2 * MARGIN} {height}" width="{full + 2 * MARGIN}" '
        f'height="{height}" aria-labelledby="cascade-title cascade-desc">',
        '<title id="cascade-title">Cascade between roles</title>',
        f'<desc id="cascade-desc">{escape(_cascade_text(roles, links))}</desc>',
        '<defs><marker id="cascade-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{ORANGE}"/></marker></defs>',
    ]
    parts += [_arc(link, centre, top, box_h) for link in drawn]
    for key, _ in roles:
        x = centre[key] - box_w // 2
        text = "".join(
            f'<tspan x="{x + 8}" dy="{0 if i == 0 else LINE_H}">{escape(line)}</tspan>'
            for i, line in enumerate(lines[key])
        )
        parts.append(
            f'<g class="role" data-role="{escape(key)}"><rect x="{x}" y="{top}" width="{box_w}" '
            f'height="{box_h}" rx="6" fill="#fff" stroke="{INK}" stroke-width="1.5"/>'
            f'<text x="{x + 8}" y="{top + 18}" font-size="12" font-weight="600" fill="{INK}">'
            f"{text}</text></g>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _rise(centre: dict[str, int], link: Link) -> int:
    return min(110, 30 + abs(centre[link.target] - centre[link.source]) // 5)


def _arc(link: Link, centre: dict[str, int], top: int, box_h: int) -> str:
    x1, x2 = centre[link.source], centre[link.target]
    rise = _rise(centre, link)
    if x2 > x1:  # rightwards: over the row
        y, apex = top, top - rise
    else:
        y, apex = top + box_h, top + box_h + rise
    colour, dash = (ORANGE, "") if link.injects else (MUTED, ' stroke-dasharray="4 4"')
    what = (
        f"{len(link.injects)} cascade{'s' if len(link.injects) > 1 else ''}"
        if link.injects
        else "depends"
    )
    tip = (
        f"{link.target} depends on {link.source}"
        if link.depends
        else f"{link.source} → {link.target}"
    )
    if link.injects:
        tip += ": " + "; ".join(link.injects)
    # Labelled three quarters along the arc (the curve's point at t = 3/4), so the labels
    # of arcs leaving one role spread out towards their targets.
    mid = int(0.15625 * x1 + 0.84375 * x2)
    label_y = int(0.4375 * y + 0.5625 * apex) + (-3 if x2 > x1 else 11)
    return (
        f'<g class="cascade-link{" cascade-carries" if link.injects else ""}" '
        f'data-from="{escape(link.source)}" data-to="{escape(link.target)}">'
        f"<title>{escape(tip)}</title>"
        f'<path d="M{x1},{y} C{x1},{apex} {x2},{apex} {x2},{y}" fill="none" stroke="{colour}" '
        f'stroke-width="{2 if link.injects else 1.2}"{dash} marker-end="url(#cascade-arrow)"/>'
        f'<text x="{mid}" y="{label_y}" text-anchor="middle" font-size="11" fill="{colour}" '
        f'stroke="#fff" stroke-width="3" paint-order="stroke">{escape(what)}</text></g>'
    )


def _cascade_text(roles: list[tuple[str, str]], links: list[Link]) -> str:
    carrying = [f"{k.source} → {k.target} ({len(k.injects)})" for k in links if k.injects]
    text = f"{len(roles)} roles, {sum(k.depends for k in links)} dependencies."
    if carrying:
        text += " Consequences cascade: " + ", ".join(carrying) + "."
    return text
