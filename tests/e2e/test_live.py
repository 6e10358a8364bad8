"""A live exercise in real browsers: a facilitator and three organizations' players.

Plays the factory scenario through a cascade (the cloud provider pays the ransom, its
dependents get the data-leak inject) and a branch (the hospital isolates, so the
decisions lead to "Contained"), while the hospital player's socket drops, misses the
cascade, reconnects and catches up without showing anything twice.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories
from tests.e2e.conftest import login
from tests.factories import PASSWORD

PHONE = {"width": 390, "height": 844}
LEAK = "Your data is on a leak site"


# Dispatches a frame with an old seq the way the ws extension does; True if live.js drops it.
REPLAYED_FRAME_IS_DROPPED = """() => {
  const root = document.querySelector('[data-live-root]');
  const frame = new CustomEvent('htmx:wsBeforeMessage', {
    cancelable: true, detail: {message: '<!--seq:1--><div hx-swap-oob="beforeend:#feed"></div>'}
  });
  root.dispatchEvent(frame);
  return frame.defaultPrevented;
}"""


def feed_seqs(page) -> list[int]:
    return page.eval_on_selector_all("#feed li[data-seq]", "els => els.map(e => +e.dataset.seq)")


def wait_live(page) -> None:
    page.wait_for_selector('#connection[data-state="connected"]')


def decide(page, option: str) -> None:
    page.get_by_label(option).check()
    page.get_by_role("button", name="Submit decision").click()
    page.locator(".decision-status", has_text=option).wait_for()


@pytest.mark.django_db(transaction=True)
def test_it_plays_a_branch_and_a_cascade_and_catches_up_after_a_dropped_socket(
    new_live_context, alice, bob, carol, org_a, org_b
):
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    hospital = factories.make_team(exercise, "hospital", org_b)
    bank = factories.make_team(exercise, "bank")
    factories.add_player(exercise, cloud, bob)
    dave = factories.make_user("dave", display_name="Dave Bank")
    factories.add_player(exercise, bank, dave)
    room = reverse("exercises:room", args=[exercise.code])

    # Carol joins her organization's team through the join link.
    carol_page = login(new_live_context(**PHONE), "carol", PASSWORD)
    carol_page.goto(reverse("exercises:join", args=[hospital.join_code]))
    carol_page.get_by_role("button", name="Join the St. Mary's Hospital team").click()
    carol_page.wait_for_url(f"**{room}")

    # Dave waits in his team room before the start: the stage and prompt arrive live.
    dave_page = login(new_live_context(), "dave", PASSWORD)
    dave_page.goto(room)
    wait_live(dave_page)
    dave_page.locator("#briefing", has_text="Waiting for the start").wait_for()

    facilitator = login(new_live_context(), "alice", PASSWORD)
    facilitator.goto(reverse("exercises:lobby", args=[exercise.code]))
    facilitator.get_by_role("button", name="Start the exercise").click()
    facilitator.wait_for_url("**/control/")
    wait_live(facilitator)

    dave_page.locator("#prompts", has_text="What do you do first?").wait_for()
    # A form pushed over the socket gets its own idempotency token in the browser.
    assert dave_page.locator('input[name="first-move-client_token"]').input_value()

    bob_page = login(new_live_context(), "bob", PASSWORD)
    players = [bob_page, carol_page, dave_page]
    for page in [bob_page, carol_page]:
        page.goto(room)
        wait_live(page)
    for page in players:
        page.locator("#briefing", has_text="Ransomware detected").wait_for()

    # A manual inject reaches every team live.
    facilitator.get_by_role("button", name="Release News: outage").click()
    for page in players:
        page.locator("#feed", has_text="News: outage").wait_for()

    # Carol's connection drops; the cascade happens while she is away.
    carol_page.context.set_offline(True)
    carol_page.evaluate("window.cascadeLive.socket.close()")
    carol_page.wait_for_selector('#connection:not([data-state="connected"])')
    decide(bob_page, "Pay the ransom")
    dave_page.locator("#feed", has_text=LEAK).wait_for()  # cascade to a dependent
    facilitator.locator("#control-panel", has_text="Pay the ransom").wait_for()
    assert bob_page.locator("#feed", has_text=LEAK).count() == 0  # not to the chooser
    assert carol_page.locator("#feed", has_text=LEAK).count() == 0

    # Back online: she reconnects and catches up, once.
    carol_page.context.set_offline(False)
    carol_page.locator("#feed", has_text=LEAK).wait_for(timeout=20_000)
    wait_live(carol_page)
    decide(carol_page, "Isolate affected systems")

    # The hospital isolated: the decisions branch to "Contained".
    facilitator.locator("#control-panel", has_text="Isolate affected systems").wait_for()
    # The console's branch preview followed the decisions live: the branch it shows is
    # the one the engine takes.
    facilitator.locator(".preview-target", has_text="Contained").wait_for()
    facilitator.get_by_role("button", name="Advance").click()
    facilitator.get_by_role("dialog").get_by_role("button", name="Advance now").click()
    for page in players:
        page.locator("#briefing", has_text="Contained").wait_for()
    facilitator.locator("#status-bar", has_text="Contained").wait_for()

    for page in players:
        seqs = feed_seqs(page)
        assert seqs == sorted(set(seqs), reverse=True), "an event shown twice or out of order"
    # The page remembers the last seq it showed and refuses an older frame.
    stored = carol_page.evaluate(f"sessionStorage.getItem('cascade:last-seq:{exercise.code}')")
    assert int(stored) == max(feed_seqs(carol_page))
    assert carol_page.evaluate(REPLAYED_FRAME_IS_DROPPED)
    assert carol_page.locator("#feed li", has_text=LEAK).count() == 1
    assert carol_page.locator("#feed li", has_text="News: outage").count() == 1
    assert bob_page.locator("#feed li", has_text="SIEM: mass encryption").count() == 1
    assert carol_page.locator("#feed li", has_text="SIEM: mass encryption").count() == 0

    # The phone layout: one column, no sideways scrolling, the feed before the briefing
    # (measured in detail in test_layout.py).
    assert carol_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    briefing = carol_page.locator("#briefing").bounding_box()
    feed = carol_page.locator("#feed").bounding_box()
    assert feed["y"] < briefing["y"]
