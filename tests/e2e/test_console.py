"""The control cell's trust in its pages: one clock truth, the connection badge.

Clocks are compared with the server's exercise clock read in this process (Daphne serves
from a thread of it, on the same database) just before and after the page's own reading,
so the checks hold however fast the machine is; the short waits only let real time pass.
"""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from exercises import engine
from exercises.clock import exercise_clock
from exercises.models import Exercise, PromptWindow
from tests import factories
from tests.e2e.conftest import login
from tests.factories import PASSWORD

PAGE_CLOCK = "() => window.cascadeLive.clock()"
COUNTDOWN = "#prompt-first-move [data-deadline], #prompt-status-first-move [data-deadline]"


def server_clock(exercise: Exercise) -> float:
    return exercise_clock(Exercise.objects.get(pk=exercise.pk))


def assert_in_step(page, exercise: Exercise) -> None:
    """The page's clock and its prompt countdown agree with the server within 1 s. The
    server's clock is read just before and just after the page's, so the time the test
    itself takes between readings (long on a loaded machine) is not counted as an error."""
    deadline = PromptWindow.objects.get(exercise=exercise, prompt__key="first-move").deadline_clock
    before = server_clock(exercise)
    shown = page.evaluate(PAGE_CLOCK)
    minutes, seconds = page.locator(COUNTDOWN).inner_text().split(":")
    after = server_clock(exercise)
    assert before - 1.0 < shown < after + 1.0, (before, shown, after)
    left = int(minutes) * 60 + int(seconds)
    assert deadline - after - 1.5 <= left <= deadline - before + 1.5  # shown in whole seconds


@pytest.mark.django_db(transaction=True)
def test_every_open_page_keeps_the_servers_clock_across_pause_and_resume(
    new_live_context, alice, bob, org_a
):
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    factories.add_player(exercise, cloud, bob)
    engine.exercise_start(exercise=exercise, actor=alice)

    console = login(new_live_context(), "alice", PASSWORD)
    console.goto(reverse("exercises:control", args=[exercise.code]))
    room = login(new_live_context(), "bob", PASSWORD)
    room.goto(reverse("exercises:room", args=[exercise.code]))
    for page in (console, room):
        page.wait_for_selector('#connection[data-state="connected"]')
    time.sleep(1.2)
    assert_in_step(room, exercise)

    console.get_by_role("button", name="Pause").click()
    room.locator("#status-bar", has_text="Paused").wait_for()
    frozen = room.evaluate(PAGE_CLOCK)
    time.sleep(1.5)  # a paused clock shows the same time however long the pause
    assert room.evaluate(PAGE_CLOCK) == frozen
    assert_in_step(room, exercise)
    assert_in_step(console, exercise)

    console.get_by_role("button", name="Resume").click()
    room.locator("#status-bar", has_text="Running").wait_for()
    time.sleep(1.5)
    assert room.evaluate(PAGE_CLOCK) > frozen + 1.0
    assert_in_step(room, exercise)
    assert_in_step(console, exercise)


@pytest.mark.django_db(transaction=True)
def test_the_offline_badge_clears_when_the_network_returns(new_live_context, alice, bob, org_a):
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    factories.add_player(exercise, cloud, bob)
    room = login(new_live_context(), "bob", PASSWORD)
    room.goto(reverse("exercises:room", args=[exercise.code]))
    room.wait_for_selector('#connection[data-state="connected"]')

    room.evaluate("window.dispatchEvent(new Event('offline'))")
    room.wait_for_selector('#connection[data-state="offline"]')
    room.evaluate("window.dispatchEvent(new Event('online'))")
    room.wait_for_selector('#connection[data-state="connected"]')
    assert room.locator("#connection").inner_text().strip() == "Live"


def _timed_inject_running(new_live_context, alice, bob, org_a):
    """A running exercise whose first stage has a timed inject due at 15 min, its console
    (alice) and a team's room (bob), both connected: (exercise, console, room)."""
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    factories.add_player(exercise, cloud, bob)
    factories.add_timed_inject(exercise, "manual-ops", 900, title="Water: manual operations")
    engine.exercise_start(exercise=exercise, actor=alice)
    room = login(new_live_context(), "bob", PASSWORD)
    room.goto(reverse("exercises:room", args=[exercise.code]))
    console = login(new_live_context(), "alice", PASSWORD)
    console.goto(reverse("exercises:control", args=[exercise.code]))
    for page in (console, room):
        page.wait_for_selector('#connection[data-state="connected"]')
    return exercise, console, room


@pytest.mark.django_db(transaction=True)
def test_advancing_lists_the_injects_it_would_skip_and_can_release_them_first(
    new_live_context, alice, bob, org_a
):
    exercise, console, room = _timed_inject_running(new_live_context, alice, bob, org_a)

    # Escape closes the confirmation: nothing changes.
    console.get_by_role("button", name="Advance").click()
    dialog = console.get_by_role("dialog")
    dialog.get_by_text("Water: manual operations").wait_for()
    console.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert Exercise.objects.get(pk=exercise.pk).current_stage.key == "start"

    # Asked again, the keyboard confirms the focused choice: release, then advance.
    console.get_by_role("button", name="Advance").click()
    dialog.get_by_text("Water: manual operations").wait_for()
    assert console.evaluate("document.activeElement.textContent") == (
        "Release the injects, then advance"
    )
    console.keyboard.press("Enter")
    room.locator("#feed", has_text="Water: manual operations").wait_for()
    room.locator("#briefing", has_text="Spread").wait_for()
    dialog.wait_for(state="hidden")


@pytest.mark.django_db(transaction=True)
def test_releasing_a_timed_inject_early_keeps_the_console_whole(
    new_live_context, alice, bob, org_a
):
    """The timeline's "release now" answers with the inject list alone: it must replace
    that list, not the panel holding it (the button once swapped the whole panel)."""
    _, console, room = _timed_inject_running(new_live_context, alice, bob, org_a)

    console.get_by_role(
        "button", name="Release now: Timed inject: Water: manual operations"
    ).click()
    room.locator("#feed", has_text="Water: manual operations").wait_for()
    released = console.locator("#control-panel #control-injects .released")
    released.filter(has_text="Water: manual operations").wait_for()
    console.get_by_role("button", name="Advance").wait_for()  # the panel's own controls
    assert console.locator("#control-injects").count() == 1
    # Released, it leaves the timeline (fetched again after the frame).
    console.locator("#due-next", has_text="Timed inject: Water").wait_for(state="detached")


HIDE_TAB = """() => {
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
  document.dispatchEvent(new Event('visibilitychange'));
}"""
SHOW_TAB = """() => {
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


@pytest.mark.django_db(transaction=True)
def test_a_hidden_tab_counts_new_events_in_its_title(new_live_context, alice, bob, org_a):
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    factories.add_player(exercise, cloud, bob)
    engine.exercise_start(exercise=exercise, actor=alice)
    room = login(new_live_context(), "bob", PASSWORD)
    room.goto(reverse("exercises:room", args=[exercise.code]))
    console = login(new_live_context(), "alice", PASSWORD)
    console.goto(reverse("exercises:control", args=[exercise.code]))
    for page in (console, room):
        page.wait_for_selector('#connection[data-state="connected"]')
    title = room.title()

    room.evaluate(HIDE_TAB)
    console.get_by_role("button", name="Release News: outage").click()
    room.locator("#feed", has_text="News: outage").wait_for()
    # The release answers with the inject list alone: marked released, the panel intact.
    console.locator("#control-panel #control-injects .released", has_text="News: outage").wait_for()
    assert room.title() == f"(1) {title}"
    console.get_by_role("button", name="Pause").click()
    room.locator("#status-bar", has_text="Paused").wait_for()
    assert room.title() == f"(2) {title}"

    room.evaluate(SHOW_TAB)
    assert room.title() == title
