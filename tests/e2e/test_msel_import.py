"""A planner imports an HSEEP MSEL in the browser: preview first, then the draft."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from scenarios.models import Scenario
from tests import factories
from tests.e2e.conftest import htmx_idle, login
from tests.factories import PASSWORD

HSEEP = Path(settings.BASE_DIR) / "tests" / "data" / "hseep-title-rows.xlsx"
# Set to a folder to keep the screenshots the docs show (docs/images).
SHOTS = os.environ.get("CASCADE_DOC_SHOTS", "")


@pytest.mark.django_db(transaction=True)
def test_a_planner_previews_and_then_imports_an_hseep_msel(new_context, alice):
    factories.grant_authoring(alice)
    page = login(new_context(width=1366, height=900), "alice", PASSWORD)
    page.goto(page.url.split("/", 3)[0] + "/" + "scenarios/import/")
    page.get_by_label("File").set_input_files(str(HSEEP))
    page.get_by_label("Title").fill("Riverside cascade")
    page.get_by_label("Key").fill("riverside")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("section.import-preview")
    preview.get_by_role("heading", name="Preview: nothing is saved yet").wait_for()
    assert not Scenario.objects.filter(key="riverside").exists()
    report = page.locator("section.import-report")
    assert report.get_by_text("header: row 5 (rows 1-3 above it skipped)").is_visible()
    assert preview.get_by_text("3 roles").is_visible()
    assert (
        preview.locator("tr", has_text="Patient portal defaced").locator("td").nth(4).inner_text()
        == "AMBER"
    )
    assert preview.get_by_text("row 10: Only if the credit union chose").is_visible()
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "import-preview.png"), full_page=True)
    preview.get_by_role("button", name="Import as a draft").click()
    page.get_by_text("Imported “Riverside cascade” (v1).").wait_for()
    htmx_idle(page)
    scenario = Scenario.objects.get(key="riverside")
    assert scenario.injects.count() == 7
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "editor-imported-msel.png"), full_page=False)

    # The grid: the hot wash moves to 1:45, edited in place.
    page.get_by_role("button", name="MSEL grid").click()
    row = page.locator("#grid-hot-wash")
    row.get_by_role("link", name="Edit").click()
    offset = page.locator("#grid-hot-wash.editing").get_by_label("Offset (mm:ss)")
    assert offset.input_value() == "2:00:00"
    offset.fill("1:45:00")
    offset.press("Enter")
    page.locator("#grid-hot-wash:not(.editing)", has_text="+1:45:00").wait_for()
    assert scenario.injects.get(key="hot-wash").offset_seconds == 105 * 60
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "msel-grid.png"), full_page=True)

    # Back in the editor: the hot wash one place up, then the stage duplicated.
    page.get_by_role("link", name="← Back to the editor").click()
    page.get_by_role("button", name="Move inject Hot wash up").click()
    htmx_idle(page)
    keys = list(scenario.injects.values_list("key", flat=True))
    assert keys.index("hot-wash") == keys.index("local-news-water-safety-questioned") - 1
    page.get_by_role("button", name="Duplicate stage Exercise play").click()
    page.locator("#stage-exercise-play-copy").wait_for()
    assert scenario.stages.count() == 2
