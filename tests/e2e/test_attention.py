"""Players notice what arrives without watching the screen: unread markers on the feed,
the chime (off until asked for, remembered), browser notifications once permitted, and a
new prompt scrolled into view on a phone. The tab title's count: test_console.py."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.urls import reverse

from exercises import engine
from scenarios.models import Inject, Option, Prompt
from tests import factories
from tests.e2e.conftest import login
from tests.e2e.test_console import HIDE_TAB, SHOW_TAB
from tests.factories import PASSWORD

# Records what the page plays and the notifications it shows (no sound device and no
# notification centre in headless Chromium).
RECORD = """
window.cascadeTest = {chimes: 0, notifications: []};
HTMLMediaElement.prototype.play = function () {
  window.cascadeTest.chimes += 1;
  return Promise.resolve();
};
if (window.Notification) {
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options) {
      super(title, options);
      window.cascadeTest.notifications.push(options.body);
    }
  };
}
"""


def running_exercise(alice, bob, org_a):
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    factories.add_player(exercise, cloud, bob)
    engine.exercise_start(exercise=exercise, actor=alice)
    return exercise


def open_room(context, exercise):
    context.add_init_script(RECORD)
    room = login(context, "bob", PASSWORD)
    room.goto(reverse("exercises:room", args=[exercise.code]))
    room.wait_for_selector('#connection[data-state="connected"]')
    return room


def in_thread(action) -> None:
    """Run an engine verb in a thread of its own: Playwright's event loop runs in the
    test's thread, and publishing from there cannot reach the channel layer."""

    def run() -> None:
        action()
        connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()


def release(exercise, alice, key: str) -> None:
    inject = Inject.objects.get(scenario=exercise.scenario, key=key)
    in_thread(lambda: engine.inject_release(exercise=exercise, inject=inject, actor=alice))


@pytest.mark.django_db(transaction=True)
def test_new_feed_items_stay_marked_unread_until_seen(new_live_context, alice, bob, org_a):
    exercise = running_exercise(alice, bob, org_a)
    factories.add_timed_inject(exercise, "later", 3000, title="Regulator asks for a report")
    room = open_room(new_live_context(), exercise)
    assert room.locator("#feed .feed-item.unread").count() == 0  # the page's own render

    room.evaluate(HIDE_TAB)
    release(exercise, alice, "news")
    room.locator("#feed .feed-item.unread", has_text="News: outage").wait_for()
    assert room.locator("#feed-unread").inner_text() == "1 new · mark read"
    time.sleep(2)  # longer than it takes to read one on screen: hidden tabs read nothing
    assert room.locator("#feed .feed-item.unread").count() == 1

    room.evaluate(SHOW_TAB)  # on screen in a visible tab: read after a moment
    room.wait_for_selector("#feed .feed-item.unread", state="detached")
    assert room.locator("#feed-unread").is_hidden()

    room.evaluate(HIDE_TAB)
    release(exercise, alice, "later")
    room.locator("#feed .feed-item.unread", has_text="Regulator").wait_for()
    room.get_by_role("button", name="1 new · mark read").click()
    assert room.locator("#feed .feed-item.unread").count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_chime_is_off_until_switched_on_and_remembered(new_live_context, alice, bob, org_a):
    exercise = running_exercise(alice, bob, org_a)
    factories.add_timed_inject(exercise, "later", 3000, title="Regulator asks for a report")
    context = new_live_context()
    room = open_room(context, exercise)
    sound = room.get_by_label("Sound on new injects")
    assert not sound.is_checked()
    release(exercise, alice, "news")
    room.locator("#feed", has_text="News: outage").wait_for()
    assert room.evaluate("window.cascadeTest.chimes") == 0

    sound.check()  # plays once so the player hears it
    assert room.evaluate("window.cascadeTest.chimes") == 1
    room.reload()
    room.wait_for_selector('#connection[data-state="connected"]')
    assert room.get_by_label("Sound on new injects").is_checked()
    release(exercise, alice, "later")
    room.locator("#feed", has_text="Regulator").wait_for()
    room.wait_for_function("() => window.cascadeTest.chimes === 1")  # a new page: counted from 0


@pytest.mark.django_db(transaction=True)
def test_notifications_are_asked_for_on_a_click_and_shown_while_the_tab_is_hidden(
    new_live_context, alice, bob, org_a
):
    exercise = running_exercise(alice, bob, org_a)
    context = new_live_context()
    context.grant_permissions(["notifications"])
    room = open_room(context, exercise)
    notify = room.get_by_role("button", name="Notify me")
    assert notify.get_attribute("aria-pressed") == "false"
    notify.click()
    room.get_by_role("button", name="Notifications on").wait_for()

    room.evaluate(HIDE_TAB)
    release(exercise, alice, "news")
    room.wait_for_function("() => window.cascadeTest.notifications.length === 1")
    assert room.evaluate("window.cascadeTest.notifications") == ["New inject: News: outage"]


@pytest.mark.django_db(transaction=True)
def test_a_new_prompt_scrolls_into_view_on_a_phone(new_live_context, alice, bob, org_a):
    exercise = running_exercise(alice, bob, org_a)
    prompt = Prompt.objects.create(
        scenario=exercise.scenario,
        stage=exercise.scenario.start_stage,
        key="regulator",
        question="Do you notify the regulator now?",
        open_offset_seconds=3000,
        deadline_seconds=600,
        order=5,
    )
    Option.objects.create(prompt=prompt, key="yes", label="Notify now")
    room = open_room(new_live_context(width=390, height=844), exercise)
    room.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    card = room.locator("#prompt-regulator")
    assert room.evaluate("window.scrollY") > 0

    in_thread(lambda: engine.prompt_open(exercise=exercise, prompt=prompt, actor=alice))
    card.wait_for()
    room.wait_for_function(
        """() => {
          const box = document.getElementById('prompt-regulator').getBoundingClientRect();
          return box.top >= 0 && box.top < window.innerHeight / 2;
        }"""
    )
