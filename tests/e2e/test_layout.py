"""Layouts measured in the browser: the control console's essentials on one 1366×768
laptop screen, and the team room on a 390 px phone. Set CASCADE_DOC_SHOTS to a folder to
keep the screenshots docs/live-pages.md shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse

from demo.exercises import seed_demo_exercise
from demo.people import DEMO_PASSWORD, seed_demo_people
from exercises import engine
from scenarios.formats.fixtures import load_fixtures
from tests.e2e.conftest import login

SHOTS = os.environ.get("CASCADE_DOC_SHOTS", "")

BOX = "(el) => { const r = el.getBoundingClientRect(); return [r.top, r.bottom, r.left, r.right]; }"


def shoot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / name))


@pytest.fixture
def demo_running(transactional_db):
    """The demo exercise started: four teams, the shipped cloud-ransomware scenario."""
    list(load_fixtures())
    people = seed_demo_people()
    exercise = seed_demo_exercise(people)
    facilitator = people.staff["facilitator"]
    engine.exercise_start(exercise=exercise, actor=facilitator)
    for prompt in exercise.scenario.prompts.filter(stage=exercise.current_stage):
        engine.prompt_open(exercise=exercise, prompt=prompt, actor=facilitator)
    return exercise


def box(page, selector: str) -> list[float]:
    return page.locator(selector).first.evaluate(BOX)


# What a control cell needs in view at all times (issue 17).
ESSENTIALS = {
    "status and clock": "#status-bar",
    "stage controls": "#control-panel .button-row",
    "current stage": "#control-panel .stage-card",
    "advance": "#control-panel .advance-form button",
    "decision grid": "#control-panel .prompt-status:last-of-type",
    "what is due next": "#due-next h2",
    "branch preview": "#branch-preview",
    "presence": "#presence",
}


@pytest.mark.django_db(transaction=True)
def test_the_consoles_essentials_fit_a_laptop_screen(new_live_context, demo_running):
    page = login(new_live_context(width=1366, height=768), "facilitator", DEMO_PASSWORD)
    page.goto(reverse("exercises:control", args=[demo_running.code]))
    page.wait_for_selector('#connection[data-state="connected"]')
    assert page.evaluate("window.scrollY") == 0
    below = {
        name: bottom
        for name, selector in ESSENTIALS.items()
        if (bottom := box(page, selector)[1]) > 768
    }
    assert below == {}, f"below the fold at 1366x768: {below}"
    # The timeline and the shares sit beside them, not under them.
    essentials_right = max(box(page, s)[3] for s in ("#control-panel", "#due-next", "#presence"))
    assert box(page, "#feed")[2] >= essentials_right - 1
    assert box(page, "#control-shares")[2] >= essentials_right - 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    shoot(page, "console.png")


@pytest.mark.django_db(transaction=True)
def test_the_team_room_puts_the_prompt_and_feed_first_on_a_phone(new_live_context, demo_running):
    page = login(new_live_context(width=390, height=844), "nimbus1", DEMO_PASSWORD)
    page.goto(reverse("exercises:room", args=[demo_running.code]))
    page.wait_for_selector('#connection[data-state="connected"]')
    header = box(page, ".live-header")
    assert header[1] - header[0] < 100, header
    prompt, feed = box(page, "#prompts .prompt-card"), box(page, "#feed")
    briefing = box(page, "#briefing")
    assert prompt[0] < 844  # the first decision starts on the first screen
    assert prompt[0] < feed[0] < box(page, "#shares-received")[0]
    assert briefing[0] > feed[0]  # the briefing (folded) comes after them
    # One rationale box per prompt.
    card = page.locator("#prompts .prompt-card").first
    assert card.locator("textarea").count() == 1
    shoot(page, "room-phone.png")
    # The shares are a tap away: a link near the top jumps to them.
    page.get_by_role("link", name="Shared with your team").click()
    received = box(page, "#shares-received")
    assert 0 <= received[0] < 844
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.django_db(transaction=True)
def test_the_evaluators_team_cards_fit_a_laptop_screen(new_live_context, demo_running):
    evaluator = demo_running.participants.get(kind="evaluator").user
    engine.observation_record(
        exercise=demo_running,
        team=demo_running.teams.order_by("pk").first(),
        criterion=demo_running.scenario.rubric.criteria.first(),
        evaluator=evaluator,
        rating="S",
        note="Isolated quickly, told customers late",
    )
    page = login(new_live_context(width=1366, height=768), "evaluator", DEMO_PASSWORD)
    page.goto(reverse("exercises:evaluate", args=[demo_running.code]))
    page.wait_for_selector('#connection[data-state="connected"]')
    cards = page.locator(".team-card")
    assert cards.count() == 4
    assert max(card.evaluate(BOX)[1] for card in cards.all()) <= 768
    assert box(page, ".shortcuts")[1] <= 768
    assert box(page, "#my-observations li")[0] < 768  # the own log starts on screen too
    shoot(page, "evaluator.png")
