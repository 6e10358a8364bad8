"""Issue 13 in real browsers: a long share arrives whole, once, in the other team's room;
logging out in one tab turns the live pages of that user's other tabs offline."""

from __future__ import annotations

import pytest
from django.urls import reverse

from config.limits import TEXT_SHARE
from exercises import engine
from tests import factories
from tests.e2e.conftest import login
from tests.e2e.test_live import wait_live
from tests.factories import PASSWORD

LONG_BODY = ("Indicator 203.0.113.7 seen on the VPN gateway. " * 250)[: TEXT_SHARE - 8] + "THE-END!"


@pytest.fixture
def running(alice, bob, carol, org_a, org_b):
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    hospital = factories.make_team(exercise, "hospital", org_b)
    factories.add_player(exercise, cloud, bob)
    factories.add_player(exercise, hospital, carol)
    engine.exercise_start(exercise=exercise, actor=alice)
    return exercise


@pytest.mark.django_db(transaction=True)
def test_a_maximal_share_arrives_live_with_its_body_once(new_live_context, running):
    room = reverse("exercises:room", args=[running.code])
    carol = login(new_live_context(), "carol", PASSWORD)
    carol.goto(room)
    wait_live(carol)
    bob = login(new_live_context(), "bob", PASSWORD)
    bob.goto(room)
    bob.locator('input[name="tlp"][value="CLEAR"]').check()
    bob.get_by_label("Title").fill("VPN indicators")
    bob.get_by_label("What you know").fill(LONG_BODY)
    bob.get_by_role("button", name="Share").click()
    bob.locator("#share-form", has_text="Shared “VPN indicators”").wait_for()
    carol.locator("#shares-received", has_text="THE-END!").wait_for()
    carol.locator("#feed", has_text="VPN indicators").wait_for()
    assert carol.locator("#feed", has_text="THE-END!").count() == 0  # a preview there
    assert carol.locator('#connection[data-state="connected"]').count() == 1


@pytest.mark.django_db(transaction=True)
def test_logging_out_in_one_tab_turns_the_other_tabs_offline(new_live_context, running):
    context = new_live_context()
    room = login(context, "bob", PASSWORD)
    room.goto(reverse("exercises:room", args=[running.code]))
    wait_live(room)
    other = context.new_page()
    other.goto("/")
    other.locator("details.dropdown summary").click()
    other.get_by_role("button", name="Log out").click()
    room.wait_for_selector('#connection[data-state="offline"]')
    assert "reload the page" in room.locator("#connection").inner_text()
