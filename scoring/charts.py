"""Server-side SVG charts for the after-action report (HTML pages and WeasyPrint PDFs).

No JavaScript, no inline ``style``: colours are presentation attributes, so a strict
Content-Security-Policy keeps them and WeasyPrint renders them. Every chart has a
``<title>`` and ``role="img"``; every value is also printed as text. Text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

INK, MUTED, GRID, EMPTY = "#1f2937", "#6b7280", "#d1d5db", "#e5e7eb"
ACCENT, RED = "#1565c0", "#c62828"
FONT = 'font-family="system-ui, sans-serif"'


def score_colour(value: float | None, threshold: float) -> str:
    """Red below the threshold, amber up to 15 points above it, green beyond."""
    if value is None:
        return EMPTY
    if value < threshold:
        return "#f4a6a6" if value >= threshold - 20 else "#e57373"
    return "#ffe08a" if value < threshold + 15 else "#9ad3a0"


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" class="chart">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _text(x, y, label, *, size=12, anchor="start", fill=INK, weight="normal", extra="") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}" font-weight="{weight}" {FONT} {extra}>{escape(str(label))}</text>'
    )


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    threshold: float


HEATMAP_COLUMNS = 7


def heatmap_svg(
    rows: Sequence[tuple[str, Sequence[float | None]]],
    columns: Sequence[Column],
    *,
    title: str = "Scores per team and criterion",
) -> str:
    """Teams (rows: label, values in column order) × criteria (columns)."""
    # Sized so that a heatmap of HEATMAP_COLUMNS criteria printed across an A4 portrait
    # page keeps its smallest text (13 px) at 8 pt or more.
    cell_w, cell_h, left, top = 64, 28, 200, 120
    width = left + cell_w * len(columns) + 120  # room for the slanted last header
    height = top + cell_h * len(rows) + 10
    body = []
    for j, column in enumerate(columns):
        x = left + j * cell_w + cell_w / 2
        body.append(
            _text(
                x,
                top - 8,
                _short(column.title, 22),
                size=13,
                extra=f'transform="rotate(-40 {x:.1f} {top - 8})"',
            )
        )
    cells, numbers = [], []
    for i, (label, values) in enumerate(rows):
        y = top + i * cell_h
        body.append(_text(left - 8, y + cell_h / 2 + 4, _short(label, 24), size=13, anchor="end"))
        for j, (value, column) in enumerate(zip(values, columns, strict=True)):
            x = left + j * cell_w
            fill = score_colour(value, column.threshold)
            cells.append(
                f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{fill}"/>'
            )
            shown = "–" if value is None else f"{value:.0f}"
            numbers.append(
                f'<text x="{x + cell_w / 2 - 1:.0f}" y="{y + cell_h / 2 + 4:.0f}">{shown}</text>'
            )
    # Shared text attributes on a group: hundreds of cells stay light to parse and draw.
    body += cells
    body.append(f'<g font-size="13" text-anchor="middle" fill="{INK}" {FONT}>')
    body += numbers
    body.append("</g>")
    return _svg(width, height, title, body)


def bars_svg(
    bars: Sequence[tuple[str, float | None, float | None, float]],
    *,
    title: str,
) -> str:
    """Horizontal bars: (criterion, team value, mean of all teams, threshold).

    The team's value is the bar, the mean a dark tick, the threshold a red dashed line.
    """
    # Compact rows, and no text under 11 px (8 pt printed at natural size): three
    # charts of a dozen criteria fit an A4 page.
    left, bar_h, gap, scale = 200, 14, 6, 3.0
    width = left + 100 * scale + 60
    height = 30 + len(bars) * (bar_h + gap) + 20
    body = [_text(left, 16, "0", size=11, fill=MUTED, anchor="middle")]
    body.append(_text(left + 100 * scale, 16, "100", size=11, fill=MUTED, anchor="middle"))
    for i, (label, value, mean, threshold) in enumerate(bars):
        y = 26 + i * (bar_h + gap)
        body.append(_text(left - 8, y + bar_h - 2, _short(label, 28), anchor="end"))
        body.append(
            f'<rect x="{left}" y="{y}" width="{100 * scale}" height="{bar_h}" fill="{EMPTY}"/>'
        )
        if value is not None:
            body.append(
                f'<rect x="{left}" y="{y}" width="{value * scale:.1f}" height="{bar_h}" '
                f'fill="{score_colour(value, threshold)}"/>'
            )
        tx = left + threshold * scale
        body.append(
            f'<line x1="{tx:.1f}" y1="{y - 2}" x2="{tx:.1f}" y2="{y + bar_h + 2}" '
            f'stroke="{RED}" stroke-dasharray="3 2"/>'
        )
        if mean is not None:
            mx = left + mean * scale
            body.append(
                f'<rect x="{mx - 1.5:.1f}" y="{y - 3}" width="3" '
                f'height="{bar_h + 6}" fill="{INK}"/>'
            )
        shown = "no evidence" if value is None else f"{value:g}"
        if mean is not None:
            shown += f" (mean {mean:g})"
        body.append(_text(left + 100 * scale + 6, y + bar_h - 2, shown, size=11, fill=MUTED))
    return _svg(width + 70, height, title, body)


@dataclass(frozen=True)
class ChainView:
    team: str
    decision: str
    injects: Sequence[str]
    dependents: Sequence[tuple[str, str]]  # (team label, score text)


def _box(x, y, w, h, lines: Sequence[str], *, fill="#ffffff", stroke=INK) -> list[str]:
    out = [
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="1.5"/>'
    ]
    for k, line in enumerate(lines):
        out.append(
            _text(x + w / 2, y + 18 + 15 * k, line, anchor="middle", size=12 if k == 0 else 11)
        )
    return out


def _arrow(x1, y1, x2, y2) -> str:
    return (
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{MUTED}" stroke-width="1.5" '
        f'marker-end="url(#cascade-arrow)"/>'
    )


def cascade_svg(chains: Sequence[ChainView], *, title: str = "Cascade chains") -> str:
    """One row per chain: upstream team → decision → inject(s) → dependent teams."""
    box_w, box_h, col_gap, row_gap = 180, 52, 50, 18
    xs = [10 + k * (box_w + col_gap) for k in range(4)]
    body = [
        '<defs><marker id="cascade-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{MUTED}"/></marker></defs>'
    ]
    y = 10
    for chain in chains:
        rows = max(1, len(chain.dependents))
        height = rows * box_h + (rows - 1) * row_gap
        mid = y + height / 2 - box_h / 2
        body += _box(xs[0], mid, box_w, box_h, [_short(chain.team, 26), "upstream team"])
        body += _box(
            xs[1], mid, box_w, box_h, [_short(chain.decision, 26), "weak decision"], stroke=RED
        )
        injects = ", ".join(chain.injects)
        body += _box(
            xs[2], mid, box_w, box_h, [_short(injects, 26), "consequence inject"], fill="#fff4e5"
        )
        for a, b in ((0, 1), (1, 2)):
            body.append(_arrow(xs[a] + box_w, mid + box_h / 2, xs[b] - 4, mid + box_h / 2))
        for k, (label, score) in enumerate(chain.dependents):
            dy = y + k * (box_h + row_gap)
            body += _box(xs[3], dy, box_w, box_h, [_short(label, 26), score], fill="#fdecea")
            body.append(_arrow(xs[2] + box_w, mid + box_h / 2, xs[3] - 4, dy + box_h / 2))
        y += height + 2 * row_gap
    return _svg(xs[3] + box_w + 10, max(y, 40), title, body)


def cascade_map_svg(
    links: Sequence[tuple[str, str, int]], *, title: str = "What cascaded between teams"
) -> str:
    """Teams whose decisions released consequences (left) → the teams they reached
    (right), one arrow per pair, marked with how many consequences it carried when more
    than one."""
    sources = list(dict.fromkeys(s for s, _, _ in links))
    targets = list(dict.fromkeys(t for _, t, _ in links))
    box_w, box_h, gap, span = 200, 26, 6, 110
    left, right = 10, 10 + box_w + span

    def y_of(names: list[str], name: str) -> float:
        return 10 + names.index(name) * (box_h + gap)

    body = [
        '<defs><marker id="map-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{ACCENT}"/></marker></defs>'
    ]
    for names, x in ((sources, left), (targets, right)):
        for name in names:
            body += _box(x, y_of(names, name), box_w, box_h, [_short(name, 28)])
    for source, target, count in links:
        y1 = y_of(sources, source) + box_h / 2
        y2 = y_of(targets, target) + box_h / 2
        body.append(
            f'<line x1="{left + box_w}" y1="{y1}" x2="{right - 4}" y2="{y2}" '
            f'stroke="{ACCENT}" stroke-width="1.5" marker-end="url(#map-arrow)"/>'
        )
        if count > 1:  # one consequence is the arrow itself; the list below names each
            body.append(
                _text(left + box_w + span / 2, (y1 + y2) / 2 - 4, f"×{count}", anchor="middle")
            )
    rows = max(len(sources), len(targets))
    return _svg(right + box_w + 10, 14 + rows * (box_h + gap), title, body)


def sparkline_svg(values: Sequence[float | None], *, title: str) -> str:
    """A small line of values 0–100 over successive exercises; gaps where no evidence."""
    width, height, pad = 120, 32, 4
    step = (width - 2 * pad) / max(1, len(values) - 1)
    points = [
        (pad + i * step, height - pad - (v / 100) * (height - 2 * pad))
        for i, v in enumerate(values)
        if v is not None
    ]
    body = [f'<line x1="0" y1="{height - pad}" x2="{width}" y2="{height - pad}" stroke="{GRID}"/>']
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
    for x, y in points:
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{ACCENT}"/>')
    return _svg(width, height, title, body)


def trend_svg(
    points: Sequence[tuple[str, float | None, bool]],
    steps: Sequence[tuple[int, bool]],
    *,
    title: str,
) -> str:
    """One series over successive exercises: points (axis label, value 0–100 or None,
    low confidence) and, between each pair, (number of improvement items due, any done).

    A confident point is a filled dot joined by a solid line; a low-confidence point is a
    hollow dot and its segments are dashed, as the table says no change is claimed there.
    """
    # Room for a date under the first and last points; at least 220 px between the ends
    # so two runs still read as a line, not a dot.
    left, right, top, plot_h = 40, 40, 18, 90
    step_w = max(110, 220 // max(1, len(points) - 1))
    width = left + right + step_w * max(1, len(points) - 1)
    height = top + plot_h + 40
    x_of = [left + i * step_w for i in range(len(points))]

    def y_of(value: float) -> float:
        return top + plot_h - value / 100 * plot_h

    body = []
    for grid in (0, 50, 100):
        y = y_of(grid)
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}"/>'
        )
        body.append(_text(left - 4, y + 4, grid, size=11, fill=MUTED, anchor="end"))
    for i, (count, done) in enumerate(steps):
        if count:
            x = (x_of[i] + x_of[i + 1]) / 2
            colour = "#2e7d32" if done else MUTED
            label = f"{count} item{'s' if count > 1 else ''}"
            body.append(
                f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" '
                f'stroke="{colour}" stroke-dasharray="2 3"/>'
            )
            body.append(_text(x, top - 6, label, size=11, fill=colour, anchor="middle"))
    for i in range(len(points) - 1):
        (_, a, a_low), (_, b, b_low) = points[i], points[i + 1]
        if a is None or b is None:
            continue
        dash = ' stroke-dasharray="5 4"' if a_low or b_low else ""
        body.append(
            f'<line x1="{x_of[i]}" y1="{y_of(a):.1f}" x2="{x_of[i + 1]}" y2="{y_of(b):.1f}" '
            f'stroke="{ACCENT}" stroke-width="2"{dash}/>'
        )
    for x, (label, value, low) in zip(x_of, points, strict=True):
        body.append(_text(x, top + plot_h + 16, _short(label, 14), size=11, anchor="middle"))
        if value is None:
            body.append(
                _text(x, top + plot_h + 30, "no evidence", size=11, fill=MUTED, anchor="middle")
            )
            continue
        fill = "#ffffff" if low else ACCENT
        body.append(
            f'<circle cx="{x}" cy="{y_of(value):.1f}" r="4" fill="{fill}" stroke="{ACCENT}" '
            'stroke-width="2"/>'
        )
        shown = f"{value:g}" + (" (low)" if low else "")
        body.append(_text(x, top + plot_h + 30, shown, size=11, fill=MUTED, anchor="middle"))
    return _svg(width, height, title, body)
