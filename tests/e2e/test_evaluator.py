"""The evaluator console by keyboard, and the evaluator's own log corrected in place."""

from __future__ import annotations

import pytest
from django.urls import reverse

from exercises import engine
from exercises.models import Observation
from tests import factories
from tests.e2e.conftest import htmx_idle, login
from tests.factories import PASSWORD


@pytest.mark.django_db(transaction=True)
def test_an_evaluator_rates_by_keyboard_and_corrects_the_log(
    new_live_context, alice, bob, carol, org_a, org_b
):
    exercise = factories.make_exercise(facilitator=alice)
    factories.add_player(exercise, factories.make_team(exercise, "cloud", org_a), bob)
    factories.add_player(exercise, factories.make_team(exercise, "hospital", org_b), carol)
    erin = factories.add_participant(exercise, "evaluator", factories.make_user("erin")).user
    engine.exercise_start(exercise=exercise, actor=alice)
    page = login(new_live_context(width=1366, height=768), "erin", PASSWORD)
    page.goto(reverse("exercises:evaluate", args=[exercise.code]))
    page.wait_for_selector('#connection[data-state="connected"]')
    assert page.locator("table").count() == 0  # no ratings grid
    second = exercise.teams.order_by("pk")[1]

    page.keyboard.press("2")  # the second card
    page.keyboard.press("n")
    page.keyboard.type("Called the regulator early")  # typed into the note: no shortcut fires
    page.keyboard.press("Escape")
    page.keyboard.press("s")
    page.get_by_role("status").filter(has_text="Recorded S").wait_for()
    recorded = Observation.objects.get(evaluator=erin)
    assert (recorded.team, recorded.rating) == (second, "S")
    assert recorded.note == "Called the regulator early"
    page.keyboard.press("u")  # the same card stays selected after the redraw
    page.get_by_role("status").filter(has_text="Recorded U").wait_for()
    assert Observation.objects.filter(evaluator=erin, team=second).count() == 2

    log = page.locator("#my-observations")
    entry = log.locator(f"#obs-{recorded.code}")
    entry.locator("summary").click()
    entry.get_by_label("Rating").select_option("P")
    entry.get_by_role("button", name="Save").click()
    log.locator(f"#obs-{recorded.code} .rating-P").wait_for()
    htmx_idle(page)
    assert Observation.objects.get(pk=recorded.pk).rating == "P"
    entry = log.locator(f"#obs-{recorded.code}")
    entry.locator("summary").click()
    entry.get_by_role("button", name="Delete this observation").click()
    entry.wait_for(state="detached")
    assert not Observation.objects.filter(pk=recorded.pk).exists()
