"""Team discussion: the thread's rules (engine), its pages and POSTs, mentions, limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from config.limits import MESSAGE_BURST, MESSAGE_EVERY_SECONDS, TEXT_MESSAGE
from exercises import clock, engine, events
from exercises.engine import EngineError
from exercises.engine.discussion import mentioned
from exercises.models import Event, Message
from tests import factories
from tests.event_schemas import stored_event_errors


def test_it_finds_mentions_of_teammates_only():
    names = ["bob", "Carol", "dave.k"]
    assert mentioned("@bob and @carol, look. Also @dave.k.", names) == ["bob", "Carol", "dave.k"]
    assert mentioned("mail bob@example.org, ask @mallory", names) == []
    assert mentioned("@@bob is not a mention", names) == []


@pytest.fixture
def world(alice, bob, carol, org_a, org_b):
    """A running exercise: bob and bea play the cloud, carol the hospital; olga observes."""
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    hospital = factories.make_team(exercise, "hospital", org_b)
    factories.add_player(exercise, cloud, bob)
    bea = factories.add_player(exercise, cloud, factories.make_user("bea")).user
    factories.add_player(exercise, hospital, carol)
    olga = factories.add_participant(exercise, "observer", factories.make_user("olga")).user
    engine.exercise_start(exercise=exercise, actor=alice)
    exercise.refresh_from_db()
    return {"exercise": exercise, "cloud": cloud, "hospital": hospital, "bea": bea, "olga": olga}


def post(world, team, author, body):
    return engine.message_post(
        exercise=world["exercise"], team=world[team], author=author, body=body
    )


@pytest.mark.django_db
def test_a_message_is_an_event_for_its_team_and_the_control_cell_only(world, bob):
    message = post(world, "cloud", bob, "  Who calls the regulator? @bea  ")
    event = Event.objects.get(exercise=world["exercise"], seq=message.event_seq)
    assert event.kind == events.DISCUSSION_POSTED
    assert (event.visibility, event.team_ids) == ("some", [world["cloud"].id])
    assert event.payload["body"] == "Who calls the regulator? @bea"
    assert event.payload["mentions"] == ["bea"] == message.mentions
    assert event.payload["from_control"] is False
    assert stored_event_errors() == []


@pytest.mark.django_db
def test_the_control_cell_posts_as_the_simulation_cell(world, alice):
    message = post(world, "hospital", alice, "This is the regulator: report within 24 h.")
    assert message.from_control
    event = Event.objects.get(exercise=world["exercise"], seq=message.event_seq)
    assert event.team_ids == [world["hospital"].id]
    assert events.event_sentence(event.kind, event.payload).startswith("Simulation cell in")


@pytest.mark.django_db
def test_only_the_team_and_control_post_in_a_thread(world, carol):
    with pytest.raises(EngineError, match="Only the team's players"):
        post(world, "cloud", carol, "Let me in")
    with pytest.raises(EngineError, match="Only the team's players"):
        post(world, "cloud", world["olga"], "Observer here")
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_it_refuses_empty_and_too_long_messages(world, bob):
    with pytest.raises(EngineError, match="Write a message"):
        post(world, "cloud", bob, "   ")
    too_long = rf"The message is longer than {TEXT_MESSAGE} characters \({TEXT_MESSAGE + 1}\)"
    with pytest.raises(EngineError, match=too_long):
        post(world, "cloud", bob, "x" * (TEXT_MESSAGE + 1))


@pytest.mark.django_db
def test_it_limits_how_fast_one_person_posts(world, bob):
    manual = clock.ManualClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    with clock.use(manual):
        for n in range(MESSAGE_BURST):
            post(world, "cloud", bob, f"line {n}")
        with pytest.raises(EngineError, match="sending messages too fast"):
            post(world, "cloud", bob, "one too many")
        post(world, "cloud", world["bea"], "bea still may")
        manual.advance(MESSAGE_EVERY_SECONDS)
        post(world, "cloud", bob, "a moment later")
    assert Message.objects.filter(author=bob).count() == MESSAGE_BURST + 1


@pytest.mark.django_db
def test_it_refuses_posts_after_the_end(world, bob, alice):
    engine.exercise_end(exercise=world["exercise"], actor=alice)
    with pytest.raises(EngineError, match="post to a team's thread"):
        post(world, "cloud", bob, "Too late")


# ---------------------------------------------------------------- pages and POSTs


def url(name, world, *args):
    return reverse(f"exercises:{name}", args=[world["exercise"].code, *args])


@pytest.mark.django_db
def test_a_player_posts_with_htmx_and_gets_a_clean_form(client, world, bob):
    client.force_login(bob)
    response = client.post(url("thread_post", world), {"body": "Hi team"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'name="body"' in response.text
    assert "Hi team" not in response.text
    assert Message.objects.get().body == "Hi team"


@pytest.mark.django_db
def test_a_refused_post_says_why_in_the_form(client, world, bob):
    client.force_login(bob)
    too_long = "x" * (TEXT_MESSAGE + 1)
    response = client.post(url("thread_post", world), {"body": too_long}, HTTP_HX_REQUEST="true")
    assert "at most 2000 characters" in response.text
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_the_thread_shows_in_its_team_room_and_on_the_console_only(
    client, world, bob, carol, alice
):
    post(world, "cloud", bob, "cloudsecretzq @bea")
    post(world, "cloud", alice, "regulatorzq here")
    for user, page, shown in (
        (bob, "room", True),
        (world["bea"], "room", True),
        (carol, "room", False),
        (alice, "control", True),
        (world["olga"], "observe", False),
    ):
        client.force_login(user)
        text = client.get(url(page, world)).text
        assert ("cloudsecretzq" in text, "regulatorzq" in text) == (shown, shown), user
    client.force_login(world["bea"])
    text = client.get(url("room", world)).text
    assert "mentions-me" in text
    assert "Simulation cell" in text


@pytest.mark.django_db
def test_the_control_cell_posts_into_a_teams_thread(client, world, alice, carol):
    client.force_login(alice)
    target = url("control_thread_post", world, world["hospital"].code)
    response = client.post(target, {"body": "Vendor: patch ready"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    message = Message.objects.get()
    assert (message.team, message.from_control) == (world["hospital"], True)
    client.force_login(carol)
    assert client.post(target, {"body": "Me too"}).status_code == 403
