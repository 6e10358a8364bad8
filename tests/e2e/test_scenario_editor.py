"""A facilitator builds a small branching scenario from nothing in the browser."""

from __future__ import annotations

import pytest
import yaml

from tests import factories
from tests.e2e.conftest import htmx_idle, login
from tests.factories import PASSWORD


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
    form.get_by_label("Key").fill("first-move")
    form.get_by_label("Question").fill("What do you do first?")
    form.get_by_role("button", name="Add prompt").click()
    prompt = page.locator("#prompt-first-move")
    prompt.wait_for()
    for key, label in [("isolate", "Isolate the cluster"), ("wait", "Wait and see")]:
        form = _add_form(prompt, "Add an option to first-move")
        form.get_by_label("Key").fill(key)
        form.get_by_label("Label").fill(label)
        form.get_by_role("button", name="Add option").click()
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
