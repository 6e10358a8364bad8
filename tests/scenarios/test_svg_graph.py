"""The server-side SVG of the stage graph."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from scenarios.svg_graph import Edge, graph_svg, scenario_graph_svg
from tests import factories

SVG = "{http://www.w3.org/2000/svg}"


def _stage_classes(svg: str) -> dict[str, str]:
    root = ET.fromstring(svg)
    return {
        g.get("data-stage"): g.get("class") for g in root.iter(f"{SVG}g") if g.get("data-stage")
    }


def test_it_draws_every_stage_and_transition():
    svg = graph_svg(
        [("a", "Start"), ("b", "Middle"), ("c", "End")],
        [
            Edge("a", "b", "isolated", False),
            Edge("a", "c", "otherwise", True),
            Edge("b", "c", "", True),
        ],
        "a",
    )
    classes = _stage_classes(svg)
    assert set(classes) == {"a", "b", "c"}
    assert "stage-start" in classes["a"]
    assert "stage-terminal" in classes["c"]
    assert svg.count('class="edge ') == 3
    assert svg.count('stroke-dasharray="6 4"') == 2 + 1  # two default edges + the legend sample
    assert ">isolated</text>" in svg
    assert "unreachable" not in " ".join(classes.values())


def test_it_places_stages_in_columns_by_distance_from_the_start():
    svg = graph_svg(
        [("a", "A"), ("b", "B"), ("c", "C")], [Edge("a", "b", ""), Edge("b", "c", "")], "a"
    )
    xs = [int(x) for x in re.findall(r'<rect x="(\d+)"', svg)]
    assert xs == sorted(xs)
    assert len(set(xs)) == 3


def test_it_highlights_unreachable_stages_and_stages_that_cannot_end_in_red():
    svg = graph_svg(
        [("a", "Start"), ("loop", "Loop"), ("island", "Island"), ("end", "End")],
        [Edge("a", "loop", "", False), Edge("loop", "loop", "", True), Edge("a", "end", "", True)],
        "a",
    )
    classes = _stage_classes(svg)
    assert "stage-unreachable" in classes["island"]
    assert "stage-cannot-end" in classes["loop"]
    assert "stage-unreachable" not in classes["end"]
    root = ET.fromstring(svg)
    red = {
        g.get("data-stage")
        for g in root.iter(f"{SVG}g")
        if g.get("data-stage") and g.find(f"{SVG}rect").get("stroke") == "#c62828"
    }
    assert red == {"island", "loop"}
    assert "Problems: island, loop" in svg
    assert "Unreachable: island. Cannot end: loop." in svg


def test_it_escapes_titles_keys_and_labels():
    evil = '<script>alert("x")</script>&'
    svg = graph_svg([("a", evil), ("b", "B")], [Edge("a", "b", evil)], "a")
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    ET.fromstring(svg)  # still well-formed XML


def test_it_draws_an_empty_scenario():
    svg = graph_svg([], [], None)
    assert "0 stages, 0 transitions." in svg
    ET.fromstring(svg)


def test_it_labels_stored_transitions_with_their_condition(db):
    scenario = factories.make_scenario(published=False)
    svg = scenario_graph_svg(scenario)
    assert "any of teams chose isolate on first-move" in svg
    assert set(_stage_classes(svg)) == {"start", "contained", "spread", "end"}
