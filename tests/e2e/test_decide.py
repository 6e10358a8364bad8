"""Deciding from the team room: a refused submission shows its reason in the card, an
accepted one answers with the status line only, so what the player chose and wrote stays,
the button keeps the focus and reads "Revise decision", and a teammate's half-written
answer is never wiped by the status line reaching their page."""

from __future__ import annotations

from django.urls import reverse

from exercises import engine
from exercises.models import Decision
from tests import factories
from tests.e2e.conftest import htmx_idle, login
from tests.factories import PASSWORD

STATUS = "#prompt-first-move-status"
ERRORS = "#prompt-first-move-errors"
SUBMIT = "#prompt-first-move-submit"
TOKEN = 'input[name="first-move-client_token"]'


def test_a_decision_keeps_the_form_and_the_focus_and_a_refusal_shows_why(
    new_live_context, alice, bob, org_a
):
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    factories.add_player(exercise, cloud, bob)
    factories.add_player(exercise, cloud, factories.make_user("erin", display_name="Erin Cloud"))
    engine.exercise_start(exercise=exercise, actor=alice)
    room = reverse("exercises:room", args=[exercise.code])
    pages = []
    for name in ("bob", "erin"):
        page = login(new_live_context(), name, PASSWORD)
        page.goto(room)
        page.wait_for_selector('#connection[data-state="connected"]')
        pages.append(page)
    bob_page, erin_page = pages
    erin_page.get_by_label("Rationale").fill("Half a thought")  # Erin is still writing

    # No option chosen: the card comes back with the reason; nothing is recorded.
    bob_page.locator(SUBMIT).click()
    bob_page.locator(ERRORS, has_text="Choose one of the options.").wait_for()
    htmx_idle(bob_page)
    assert not Decision.objects.exists()

    # Chosen and explained, sent from the keyboard: the status line answers.
    bob_page.get_by_label("Isolate affected systems").check()
    bob_page.get_by_label("Rationale").fill("Contain first")
    first_token = bob_page.locator(TOKEN).input_value()
    bob_page.locator(SUBMIT).focus()
    bob_page.keyboard.press("Enter")
    bob_page.locator(STATUS, has_text="Isolate affected systems").wait_for()
    htmx_idle(bob_page)
    assert bob_page.locator(ERRORS).inner_text() == ""
    assert bob_page.locator(SUBMIT).inner_text() == "Revise decision"
    assert bob_page.evaluate("document.activeElement.id") == "prompt-first-move-submit"
    assert bob_page.get_by_label("Isolate affected systems").is_checked()
    assert bob_page.get_by_label("Rationale").input_value() == "Contain first"
    second_token = bob_page.locator(TOKEN).input_value()
    assert second_token
    assert second_token != first_token  # the next press is a revision, not a replay

    # Erin's page gets the status line over the socket; her own draft stays.
    erin_page.locator(STATUS, has_text="Isolate affected systems").wait_for()
    assert erin_page.get_by_label("Rationale").input_value() == "Half a thought"

    # A revision from the same, untouched form.
    bob_page.get_by_label("Wait for more information").check()
    bob_page.keyboard.press("Enter")
    bob_page.locator(STATUS, has_text="revision 2").wait_for()
    decision = Decision.objects.get()
    assert decision.revision == 2
    assert decision.option.key == "wait"
    assert decision.rationale == "Contain first"
