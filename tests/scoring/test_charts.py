"""Server-side SVG charts: well-formed, escaped, accessible, values printed."""

from __future__ import annotations

from xml.etree import ElementTree

from scoring import charts

SVG = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script> & Co'


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # raises on malformed markup


def texts(root: ElementTree.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_it_draws_a_heatmap_with_every_value_and_escaped_labels():
    columns = [charts.Column("detect", "Detect", 60), charts.Column("respond", EVIL, 60)]
    root = parse(charts.heatmap_svg([(EVIL, [55.0, None]), ("Bank", [90.0, 61.2])], columns))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text
    shown = texts(root)
    assert {"55", "–", "90", "61"} <= set(shown)
    assert any("<script>" in t for t in shown)  # kept as text, never as markup
    assert root.find(f".//{SVG}script") is None
    fills = {r.get("fill") for r in root.iter(f"{SVG}rect")}
    assert charts.score_colour(55.0, 60) in fills  # below threshold: red
    assert charts.score_colour(90.0, 60) in fills


def test_it_draws_bars_with_mean_and_threshold():
    root = parse(
        charts.bars_svg([("Detect", 40.0, 70.0, 60), ("Respond", None, None, 60)], title="T")
    )
    shown = texts(root)
    assert "40 (mean 70)" in shown
    assert "no evidence" in shown
    assert len(list(root.iter(f"{SVG}line"))) == 2  # a threshold line per criterion


def test_it_draws_a_cascade_chain():
    chain = charts.ChainView("Cloud", "Pay the ransom", ["Leak"], [("Hospital", "Respond: 80")])
    shown = texts(parse(charts.cascade_svg([chain])))
    for label in ("Cloud", "Pay the ransom", "Leak", "Hospital", "Respond: 80"):
        assert label in shown


def test_it_draws_a_sparkline_across_gaps():
    root = parse(charts.sparkline_svg([50.0, None, 80.0], title="trend"))
    assert len(list(root.iter(f"{SVG}circle"))) == 2
    assert root.find(f"{SVG}polyline") is not None


def test_it_draws_a_trend_with_low_points_hollow_and_their_segments_dashed():
    svg = charts.trend_svg(
        [("2026-03-10", 48.0, False), ("2026-09-20", 70.0, False), ("2026-12-01", 90.0, True)],
        [(1, True), (0, False)],
        title=EVIL,
    )
    root = parse(svg)
    assert root.find(f"{SVG}title").text == EVIL
    circles = list(root.iter(f"{SVG}circle"))
    assert [c.get("fill") for c in circles] == [charts.ACCENT, charts.ACCENT, "#ffffff"]
    lines = [line for line in root.iter(f"{SVG}line") if line.get("stroke") == charts.ACCENT]
    assert [line.get("stroke-dasharray") for line in lines] == [None, "5 4"]
    shown = texts(root)
    assert {"48", "70", "90 (low)", "1 item", "2026-12-01"} <= set(shown)


def test_it_draws_no_line_to_a_run_without_evidence():
    root = parse(charts.trend_svg([("a", None, True), ("b", 60.0, False)], [(0, False)], title="t"))
    assert [line for line in root.iter(f"{SVG}line") if line.get("stroke") == charts.ACCENT] == []
    assert "no evidence" in texts(root)
