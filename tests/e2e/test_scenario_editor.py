"""A facilitator builds a small branching scenario from nothing in the browser."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from scenarios import services as svc
from scenarios.formats.fixtures import load_fixtures
from scenarios.models import Scenario
from tests import factories
from tests.e2e.conftest import htmx_idle, login
from tests.e2e.test_accessibility import violations
from tests.factories import PASSWORD

# Set to a folder to keep the screenshots the docs show (docs/images).
SHOTS = os.environ.get("CASCADE_DOC_SHOTS", "")


def _add_form(scope, summary: str):
    """The "add" form under ``summary``, opened (it may stay open after a previous add)."""
    htmx_idle(scope.page)
    details = scope.locator("details.add-form").filter(
        has=scope.page.locator("summary", has_text=summary)
    )
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    details.locator("form button[type=submit]").wait_for()
    htmx_idle(scope.page)
    return details


@pytest.mark.django_db(transaction=True)
def test_it_builds_publishes_and_exports_a_branching_scenario(new_context, alice):
    factories.grant_authoring(alice)
    factories.make_rubric("csf")
    page = login(new_context(), "alice", PASSWORD)
    page.get_by_role("link", name="Scenarios").click()
    page.get_by_role("button", name="New scenario").click()
    page.get_by_label("Title").fill("Cloud outage")
    page.get_by_label("Key").fill("cloud-outage")
    page.get_by_label("Rubric").select_option(label="Test rubric")
    page.get_by_role("button", name="Create draft").click()
    page.get_by_role("heading", name="Cloud outage").wait_for()

    roles = page.locator("#section-roles")
    for key, label, sector, depends in [
        ("cloud", "Cloud provider", "cloud_it", None),
        ("hospital", "Hospital", "healthcare", "Cloud provider"),
    ]:
        form = _add_form(roles, "Add a role")
        form.get_by_label("Key").fill(key)
        form.get_by_label("Label").fill(label)
        form.get_by_label("Sector").select_option(sector)
        if depends:
            form.get_by_label(depends).check()
        form.get_by_role("button", name="Add role").click()
        page.locator(f"#role-{key}").wait_for()

    stages = page.locator("#section-stages")
    for key, title in [("detect", "Detection"), ("contained", "Contained"), ("spread", "Spread")]:
        form = _add_form(stages, "Add a stage")
        form.get_by_label("Key").fill(key)
        form.get_by_label("Title").fill(title)
        form.get_by_label("Briefing").fill(f"**{title}** happens.")
        form.get_by_role("button", name="Add stage").click()
        page.locator(f"#stage-{key}").wait_for()

    detect = page.locator("#stage-detect")
    form = _add_form(detect, "Add an inject to Detection")
    form.get_by_label("Key", exact=False).first.fill("siem")
    form.get_by_label("Title").fill("SIEM: encryption spike")
    form.get_by_label("Channel").select_option("siem")
    form.get_by_role("button", name="Add inject").click()
    page.locator("#inject-siem").wait_for()

    form = _add_form(detect, "Add a prompt to Detection")
    form.get_by_label("Key").first.fill("first-move")
    form.get_by_label("Question").fill("What do you do first?")
    options = [("isolate", "Isolate the cluster"), ("wait", "Wait and see")]
    for number, (key, label) in enumerate(options, 1):
        row = form.get_by_role("group", name=f"Option {number}")
        row.get_by_role("textbox", name=f"Option {number}").fill(label)
        row.get_by_label("Key").fill(key)
    form.get_by_role("button", name="Add prompt").click()
    for key in ("isolate", "wait"):
        page.locator(f"#option-first-move-{key}").wait_for()

    form = _add_form(detect, "Add a transition from Detection")
    form.get_by_label("Go to stage").select_option(label="Contained")
    form.get_by_label("Label").fill("Isolated in time")
    form.get_by_label("Mode").select_option("any")
    form.get_by_label("Decision on prompt").select_option("first-move")
    form.get_by_label("first-move: Isolate the cluster (isolate)").check()
    form.get_by_role("button", name="Add transition").click()
    detect.locator("ol.transitions li", has_text="Isolated in time").wait_for()
    form = _add_form(detect, "Add a transition from Detection")
    form.get_by_label("Go to stage").select_option(label="Spread")
    form.get_by_label("Default (otherwise) transition").check()
    form.get_by_role("button", name="Add transition").click()
    detect.locator("ol.transitions li .badge", has_text="default").wait_for()

    panel = page.locator("#validation-panel")
    panel.get_by_text("Ready to publish.").wait_for()
    graph = page.locator("#graph-panel svg")
    assert graph.locator("g[data-stage]").count() == 3
    assert graph.locator("g.edge-default").count() == 1
    assert graph.locator("text", has_text="Isolated in time").count() == 1

    panel.get_by_label("publishing cannot be undone", exact=False).check()
    panel.get_by_role("button", name="Publish").click()
    page.get_by_role("button", name="Edit (new draft version)").wait_for()
    assert page.get_by_text("Published “Cloud outage” v1.").is_visible()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="YAML").click()
    download = download_info.value
    assert download.suggested_filename == "cloud-outage-v1.yaml"
    with open(download.path(), encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    assert doc["key"] == "cloud-outage"
    assert doc["rubric"] == "csf"
    assert doc["start"] == "detect"
    assert [(r["key"], r.get("depends_on", [])) for r in doc["roles"]] == [
        ("cloud", []),
        ("hospital", ["cloud"]),
    ]
    first = doc["stages"][0]
    assert [i["key"] for i in first["injects"]] == ["siem"]
    assert [o["key"] for o in first["prompts"][0]["options"]] == ["isolate", "wait"]
    assert first["transitions"][0]["to"] == "contained"
    assert first["transitions"][0]["when"]["options"] == ["isolate"]
    assert first["transitions"][1] == {"to": "spread", "default": True}


class Counted:
    """Drives the page and counts what a person would do: clicks (buttons, links, boxes,
    opening a form), dropdowns chosen, fields typed in, keys pressed and drags."""

    def __init__(self, page):
        self.page = page
        self.clicks = self.dropdowns = self.fields = self.keys = self.drags = 0

    def click(self, locator):
        locator.click()
        self.clicks += 1

    def check(self, locator):
        locator.check()
        self.clicks += 1

    def select(self, locator, **choice):
        locator.select_option(**choice)
        self.dropdowns += 1

    def fill(self, locator, text: str):
        locator.fill(text)
        self.fields += 1

    def press(self, locator, key: str):
        locator.press(key)
        self.keys += 1

    def drag(self, source, target):
        source.drag_to(target)
        self.drags += 1

    def open(self, scope, summary: str):
        """An "add" form, opened with a click unless it stayed open after the last add."""
        htmx_idle(self.page)
        details = scope.locator("details.add-form").filter(
            has=self.page.locator("summary", has_text=summary)
        )
        if details.get_attribute("open") is None:
            self.click(details.locator("summary"))
        details.locator("form button[type=submit]").wait_for()
        htmx_idle(self.page)
        return details

    def add(self, form, name: str, wait_for: str):
        self.click(form.get_by_role("button", name=name))
        self.page.locator(wait_for).wait_for()
        htmx_idle(self.page)

    def summary(self) -> str:
        return (
            f"{self.clicks} clicks, {self.dropdowns} dropdowns, {self.fields} fields, "
            f"{self.keys} keys, {self.drags} drags"
        )


def _keys_in(page, selector: str) -> list[str]:
    return page.locator(selector).evaluate_all("nodes => nodes.map(n => n.dataset.sortKey)")


@pytest.mark.django_db(transaction=True)
def test_a_planner_builds_a_branching_scenario_with_few_clicks(new_context, alice):
    """The issue's 3-stage branching scenario (two roles, an inject, a prompt with options
    and a cascade, a conditional and a default way out), then duplicate, reorder (drag and
    keyboard), undo, the grid (arrow keys, edit, add row) and publish after confirming.
    The counts are printed (-s) and bounded: the issue measured ~34 clicks, ~18 dropdowns
    and ~30 fields for the build alone."""
    factories.grant_authoring(alice)
    factories.make_rubric("csf")
    page = login(new_context(width=1366, height=900), "alice", PASSWORD)
    do = Counted(page)
    do.click(page.get_by_role("link", name="Scenarios"))
    do.click(page.get_by_role("button", name="New scenario"))
    do.fill(page.get_by_label("Title"), "Cloud outage")  # key and the only rubric: defaults
    do.click(page.get_by_role("button", name="Create draft"))
    page.get_by_role("heading", name="Cloud outage").wait_for()

    roles = page.locator("#section-roles")
    form = do.open(roles, "Add a role")
    new_roles = [("Cloud provider", "cloud_it", None), ("Hospital", "healthcare", "Cloud provider")]
    for label, sector, depends in new_roles:
        do.fill(form.get_by_label("Label"), label)
        do.select(form.get_by_label("Sector"), value=sector)
        if depends:
            do.check(form.get_by_label(depends))
        do.add(form, "Add role", f"#role-{label.lower().replace(' ', '-')}")

    stages = page.locator("#section-stages")
    form = do.open(stages, "Add a stage")
    for title in ["Detection", "Contained", "Spread"]:
        do.fill(form.get_by_label("Title"), title)
        if title == "Detection":
            do.fill(form.get_by_label("Briefing"), "**Encryption** spreads across the cluster.")
            do.add(form, "Add stage", f"#stage-{title.lower()}")
        else:  # the form stays open, its title focused: type, Enter, type, Enter
            do.press(form.get_by_label("Title"), "Enter")
            page.locator(f"#stage-{title.lower()}").wait_for()
            htmx_idle(page)

    detect = page.locator("#stage-detection")
    form = do.open(detect, "Add an inject to Detection")
    do.fill(form.get_by_label("Title"), "SIEM: encryption spike")
    do.select(form.get_by_label("Channel"), value="siem")
    do.add(form, "Add inject", "#inject-siem-encryption-spike")

    # The prompt, its options with their effects, and a cascade, in one form.
    form = do.open(detect, "Add a prompt to Detection")
    do.fill(form.get_by_label("Question"), "What do you do first?")
    criteria_filter = form.get_by_label("Filter criteria")
    do.fill(criteria_filter, "resp")
    do.press(criteria_filter, "Enter")  # picks the first match, does not submit
    for number, label, effects, consequence in [
        (1, "Isolate the cluster", "respond:20", ""),
        (2, "Wait and see", "respond:-10, detect 5", "Hospital EHR unreachable"),
        (3, "Pay the ransom", "", ""),
    ]:
        # Two rows are there; typing in the last one brings the next, without a page load.
        row = form.get_by_role("group", name=f"Option {number}")
        do.fill(row.get_by_role("textbox", name=f"Option {number}"), label)
        if effects:
            do.fill(row.get_by_label("Rubric effects"), effects)
        if consequence:
            do.fill(row.get_by_label("Consequence inject"), consequence)
    if SHOTS:
        form.screenshot(path=str(Path(SHOTS) / "editor-prompt-with-options.png"))
    do.add(form, "Add prompt", "#prompt-what-do-you-do-first")
    prompt = page.locator("#prompt-what-do-you-do-first")
    assert prompt.locator("li[id^=option-]").count() == 3
    prompt.get_by_text("→ releases “Hospital EHR unreachable” to teams that depend").wait_for()

    form = do.open(detect, "Add a transition from Detection")
    do.select(form.get_by_label("Go to stage"), label="Contained")
    do.fill(form.get_by_label("Label"), "Isolated in time")
    do.select(form.get_by_label("Decision on prompt"), value="what-do-you-do-first")
    do.check(form.get_by_label("Isolate the cluster (isolate-the-cluster)", exact=False))
    do.add(form, "Add transition", "#stage-detection ol.transitions li")
    do.select(form.get_by_label("Go to stage"), label="Spread")  # no condition: the default
    do.add(form, "Add transition", "#stage-detection ol.transitions li .badge")
    panel = page.locator("#validation-panel")
    panel.get_by_text("Ready to publish", exact=False).wait_for()
    build = do.summary()
    built = (do.clicks, do.dropdowns, do.fields)

    # Duplicate a stage; reorder the Detection injects by drag, then by keyboard; undo.
    do.click(page.get_by_role("button", name="Duplicate stage Contained"))
    page.locator("#stage-contained-copy").wait_for()
    injects = "#stage-detection [data-sort-group=injects-detection]"
    before = _keys_in(page, injects)
    assert before == ["siem-encryption-spike", "what-do-you-do-first-wait-and-see"]
    do.drag(page.locator(f"#inject-{before[1]} .drag-handle"), page.locator(f"#inject-{before[0]}"))
    page.wait_for_function(
        f"() => document.querySelector('{injects}').dataset.sortKey === '{before[1]}'"
    )
    htmx_idle(page)
    dragged = _keys_in(page, injects)
    assert dragged == before[::-1]
    move = page.get_by_role("button", name="Move inject SIEM: encryption spike up")
    move.focus()
    do.press(move, "Enter")
    page.wait_for_function(
        f"() => document.querySelector('{injects}').dataset.sortKey === '{before[0]}'"
    )
    htmx_idle(page)
    do.click(page.get_by_role("button", name="Undo: move"))
    page.wait_for_function(
        f"() => document.querySelector('{injects}').dataset.sortKey === '{before[1]}'"
    )
    htmx_idle(page)
    page.get_by_role("button", name="Undo: reorder").wait_for()
    # The copy becomes the branch for paying the ransom (unreachable until then).
    page.locator("#validation-panel", has_text="unreachable").wait_for()
    form = do.open(detect, "Add a transition from Detection")
    do.select(form.get_by_label("Go to stage"), label="Contained (copy)")
    do.select(form.get_by_label("Decision on prompt"), value="what-do-you-do-first")
    do.check(form.get_by_label("Pay the ransom (pay-the-ransom)", exact=False))
    do.add(form, "Add transition", "#stage-detection li:has-text('Contained (copy)')")
    if SHOTS:
        page.locator("#stage-detection").screenshot(path=str(Path(SHOTS) / "editor-stage.png"))

    # The grid: arrow keys to the SIEM row, Enter edits it, Enter saves; then a new row.
    do.click(page.get_by_role("button", name="MSEL grid"))
    first = page.locator(".msel-grid td[tabindex='0']")
    do.click(first)
    do.press(first, "ArrowDown")
    siem_cell = page.locator("#grid-siem-encryption-spike td").first
    assert siem_cell.evaluate("cell => cell === document.activeElement")
    do.press(siem_cell, "ArrowRight")
    do.press(page.locator("#grid-siem-encryption-spike td").nth(1), "Enter")
    row = page.locator("#grid-siem-encryption-spike.editing")
    do.select(row.get_by_label("Release"), value="timed")
    offset = row.get_by_label("Offset (mm:ss)")
    do.fill(offset, "2:30")
    do.press(offset, "Enter")
    page.locator("#grid-siem-encryption-spike:not(.editing)", has_text="+2:30").wait_for()
    add = page.locator("#new-grid-row")
    do.select(add.locator("select[name=new-stage]"), label="Spread")
    do.fill(add.get_by_label("Title"), "Hospital diverts ambulances")
    do.fill(add.get_by_label("Offset (mm:ss)"), "5:00")
    do.click(add.get_by_role("button", name="Add row"))
    page.locator("#grid-hospital-diverts-ambulances", has_text="+5:00").wait_for()
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "msel-grid-add-row.png"), full_page=True)
    # Escape puts a row being edited back as saved; the grid's Undo takes back the new row.
    assert page.get_by_role("button", name="Undo", exact=False).count() == 1  # replaced, oob
    ambulances = page.locator("#grid-hospital-diverts-ambulances td").first
    do.click(ambulances)
    do.press(ambulances, "Enter")
    title = page.locator("#grid-hospital-diverts-ambulances.editing").get_by_label("Title")
    do.fill(title, "A typo")
    do.press(title, "Escape")
    restored = page.locator("#grid-hospital-diverts-ambulances:not(.editing)")
    restored.get_by_role("cell", name="Hospital diverts ambulances", exact=True).wait_for()
    assert restored.locator("td").first.evaluate("cell => cell === document.activeElement")
    do.click(page.get_by_role("button", name="Undo: add inject"))
    page.get_by_text("Undone: add inject.").wait_for()
    assert page.locator("#grid-hospital-diverts-ambulances").count() == 0
    assert page.locator("#grid-siem-encryption-spike", has_text="+2:30").is_visible()

    do.click(page.get_by_role("link", name="← Back to the editor"))
    panel = page.locator("#validation-panel")
    do.check(panel.get_by_label("publishing cannot be undone", exact=False))
    do.click(panel.get_by_role("button", name="Publish"))
    page.get_by_role("button", name="Edit (new draft version)").wait_for()
    scenario = Scenario.objects.get(key="cloud-outage")
    assert scenario.is_published
    stage = scenario.stages.get(key="detection")
    assert list(stage.injects.values_list("key", flat=True)) == dragged
    assert scenario.injects.get(key="siem-encryption-spike").offset_seconds == 150
    wait = scenario.prompts.get().options.get(key="wait-and-see")
    assert wait.effects == {"respond": -10, "detect": 5}
    assert scenario.prompts.get().criteria == ["respond"]
    print(f"\nBuild: {build}. Whole test: {do.summary()}.")
    # The baseline for the build: ~34 clicks, ~18 dropdowns, ~30 fields.
    assert built[0] <= 17, build
    assert built[1] <= 8, build
    assert built[2] <= 18, build


@pytest.mark.django_db(transaction=True)
def test_the_graph_of_a_ten_stage_scenario_fits_1366_px_and_opens_stages(new_context, alice):
    """Full titles, no horizontal scrolling at 1366 px, nodes open their stage, zoom and
    pan, and the cascade between roles drawn."""
    factories.grant_authoring(alice)
    list(load_fixtures())
    published = Scenario.objects.get(key="payment-flood")
    draft = svc.scenario_new_draft(scenario=published, created_by=alice)
    assert draft.stages.count() == 10
    page = login(new_context(width=1366, height=900), "alice", PASSWORD)
    page.goto(f"/scenarios/{draft.code}/")
    panel = page.locator("#graph-panel")
    graph = panel.locator("svg.stage-graph")
    assert graph.locator("g[data-stage]").count() == 10
    for scroller in panel.locator(".graph-scroll").all():
        assert scroller.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    longest = max(draft.stages.all(), key=lambda s: len(s.title))
    lines = graph.locator(f"g[data-stage='{longest.key}'] text").first.locator("tspan")
    assert " ".join(lines.all_text_contents()) == longest.title
    assert panel.locator("svg.cascade-graph g.cascade-carries").count() >= 1
    if SHOTS:
        panel.screenshot(path=str(Path(SHOTS) / "editor-graph-10-stages.png"))
    assert violations(page) == []  # axe: no serious or critical WCAG violation

    before = graph.get_attribute("viewBox")
    panel.get_by_role("button", name="Zoom in").click()
    zoomed = graph.get_attribute("viewBox")
    assert zoomed != before
    box = graph.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)  # the margin: not a stage (those are links)
    page.mouse.down()
    page.mouse.move(box["x"] + 60, box["y"] + 60)
    page.mouse.up()
    assert graph.get_attribute("viewBox").split()[:2] != zoomed.split()[:2]  # panned
    panel.get_by_role("button", name="Fit").click()
    assert graph.get_attribute("viewBox") == before

    page.goto(f"/scenarios/{draft.code}/grid/")
    assert violations(page) == []
    page.goto(f"/scenarios/{draft.code}/")
    last = list(draft.stages.all())[-1]
    graph.locator(f"a[href='#stage-{last.key}']").click()
    page.wait_for_url(f"**#stage-{last.key}")
    assert page.locator(f"#stage-{last.key}").is_visible()


@pytest.mark.django_db(transaction=True)
def test_a_prompt_and_its_options_are_edited_in_one_form(new_context, alice):
    """An existing prompt's options, their effects and consequence, edited and added in the
    prompt's own form; the stage shows the result."""
    factories.grant_authoring(alice)
    draft = factories.make_scenario(published=False, key="tiny")
    page = login(new_context(width=1366, height=900), "alice", PASSWORD)
    page.goto(f"/scenarios/{draft.code}/")
    page.locator(f"a[href='/scenarios/{draft.code}/prompt/first-move/edit/']").click()
    page.get_by_role("heading", name="Edit prompt", exact=False).wait_for()
    pay = page.get_by_role("group", name="Option 2")
    assert (
        pay.get_by_label("Consequence inject", exact=False).input_value()
        == "Your data is on a leak site"
    )
    pay.get_by_label("Rubric effects").fill("respond:-30, detect 5")
    new = page.get_by_role("group", name="Option 4")
    new.get_by_role("textbox", name="Option 4").fill("Call the national CERT")
    new.get_by_label("Consequence inject", exact=False).fill("CERT asks for logs")
    if SHOTS:
        page.locator("fieldset.option-rows").screenshot(
            path=str(Path(SHOTS) / "editor-prompt-edit-options.png")
        )
    page.get_by_role("button", name="Save").click()
    prompt = page.locator("#prompt-first-move")
    prompt.locator("#option-first-move-call-the-national-cert").wait_for()
    prompt.get_by_text("→ releases “CERT asks for logs”", exact=False).wait_for()
    pay_option = draft.prompts.get().options.get(key="pay")
    assert pay_option.effects == {"respond": -30, "detect": 5}
