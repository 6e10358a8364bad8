"""The server-side SVG of the stage graph."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from scenarios.svg_graph import (
    Edge,
    Link,
    cascade_svg,
    graph_svg,
    scenario_cascade_svg,
    scenario_graph_svg,
)
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


def test_it_places_stages_in_rows_by_distance_from_the_start():
    svg = graph_svg(
        [("a", "A"), ("b", "B"), ("c", "C")], [Edge("a", "b", ""), Edge("b", "c", "")], "a"
    )
    ys = [int(y) for y in re.findall(r'<rect x="\d+" y="(\d+)"', svg)]
    assert ys == sorted(ys)
    assert len(set(ys)) == 3


def _width(svg: str) -> int:
    return int(ET.fromstring(svg).get("width"))


def test_ten_stages_grow_down_and_wide_layers_wrap_within_the_same_width():
    linear = [
        (f"s{i}", f"Stage {i}: a long title that planners really do write") for i in range(10)
    ]
    chain = [Edge(f"s{i}", f"s{i + 1}", "", True) for i in range(9)]
    fan = [Edge("s0", f"s{i}", f"to {i}") for i in range(1, 10)]
    widths = {_width(graph_svg(linear, chain, "s0")), _width(graph_svg(linear, fan, "s0"))}
    assert widths == {_width(graph_svg([("a", "A")], [], "a"))}  # one width, whatever the shape
    assert widths.pop() <= 1100  # scaled into the editor's panel at 1366 px, not scrolled
    root = ET.fromstring(graph_svg(linear, chain, "s0"))
    for key, title in linear:  # every title whole, over several lines
        box = next(g for g in root.iter(f"{SVG}g") if g.get("data-stage") == key)
        lines = [span.text for span in box.find(f"{SVG}text").iter(f"{SVG}tspan")]
        assert len(lines) > 1
        assert " ".join(lines) == title


def test_stage_boxes_link_to_their_stage_cards():
    svg = graph_svg([("a", "Start"), ("b", "Next")], [Edge("a", "b", "")], "a")
    root = ET.fromstring(svg)
    links = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert links == ["#stage-a", "#stage-b"]


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


def test_the_cascade_draws_dependencies_and_the_consequences_that_travel_them(db):
    scenario = factories.make_scenario(published=False)
    scenario.prompts.update(audience="roles")
    scenario.prompts.get().audience_roles.set([scenario.roles.get(key="cloud")])
    root = ET.fromstring(scenario_cascade_svg(scenario))
    links = {
        (g.get("data-from"), g.get("data-to")): g.get("class")
        for g in root.iter(f"{SVG}g")
        if g.get("data-from")
    }
    # Hospital and bank depend on the cloud; paying the ransom leaks to its dependents.
    assert links == {
        ("cloud", "hospital"): "cascade-link cascade-carries",
        ("cloud", "bank"): "cascade-link cascade-carries",
    }
    assert "Your data is on a leak site" in scenario_cascade_svg(scenario)
    assert {g.get("data-role") for g in root.iter(f"{SVG}g") if g.get("data-role")} == {
        "cloud",
        "hospital",
        "bank",
    }


def test_the_cascade_draws_a_plain_dependency_and_escapes_labels():
    svg = cascade_svg(
        [("a", "<b>A</b>"), ("b", "B")],
        [Link("a", "b", depends=True), Link("b", "a", injects=["x"])],
    )
    root = ET.fromstring(svg)
    classes = [g.get("class") for g in root.iter(f"{SVG}g") if g.get("data-from")]
    assert classes == ["cascade-link", "cascade-link cascade-carries"]
    assert "&lt;b&gt;A&lt;/b&gt;" in svg
