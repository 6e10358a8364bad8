"""Requests for information: asking control or another team, answering (control with an
inject), who reads them, their age and time to answer, the pages and POSTs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from config.limits import RFI_BURST, TEXT_MESSAGE
from exercises import access, clock, collab_state, engine, events
from exercises.engine import EngineError
from exercises.models import Event, InjectRelease, Participant, Rfi
from exercises.visibility import Viewer
from scenarios.models import Inject
from tests import factories
from tests.event_schemas import stored_event_errors

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(alice, bob, carol, org_a, org_b):
    """Running on a manual clock: bob plays the cloud, carol the hospital, dave the bank."""
    with clock.use(clock.ManualClock(START)) as manual:
        exercise, cloud, hospital, bank, dave = factories.make_three_team_exercise(
            facilitator=alice,
            cloud_player=bob,
            hospital_player=carol,
            cloud_org=org_a,
            hospital_org=org_b,
        )
        engine.exercise_start(exercise=exercise, actor=alice)
        exercise.refresh_from_db()
        yield {
            "exercise": exercise,
            "cloud": cloud,
            "hospital": hospital,
            "bank": bank,
            "dave": dave,
            "clock": manual,
        }


def ask(world, author, *, to=None, team="cloud", question="Is the vendor patch out?", token="q"):
    return engine.rfi_ask(
        exercise=world["exercise"],
        team=world[team],
        author=author,
        question=question,
        tlp="AMBER",
        to_team=world[to] if to else None,
        client_token=token,
    )


@pytest.mark.django_db
def test_control_answers_with_an_inject_for_the_asking_team_only(world, alice, bob):
    rfi = ask(world, bob)
    asked = Event.objects.get(kind=events.RFI_ASKED)
    assert (asked.visibility, asked.team_ids) == ("some", [world["cloud"].id])
    world["clock"].advance(150)
    news = Inject.objects.get(scenario=world["exercise"].scenario, key="news")
    engine.rfi_answer(
        exercise=world["exercise"], rfi=rfi, author=alice, answer="Yes, see this.", inject=news
    )
    rfi.refresh_from_db()
    assert (rfi.answer, rfi.answered_by, rfi.answer_inject) == ("Yes, see this.", alice, news)
    assert rfi.seconds_to_answer == pytest.approx(150)
    answered = Event.objects.get(kind=events.RFI_ANSWERED)
    assert answered.payload["seconds_to_answer"] == pytest.approx(150)
    release = InjectRelease.objects.get(release_key=f"rfi:{rfi.code}:news")
    assert release.team_ids == [world["cloud"].id]
    assert stored_event_errors() == []


@pytest.mark.django_db
def test_a_team_answers_what_it_was_asked_and_nobody_else_does(world, alice, bob, carol):
    rfi = ask(world, bob, to="hospital")
    assert Event.objects.get(kind=events.RFI_ASKED).team_ids == sorted(
        [world["cloud"].id, world["hospital"].id]
    )
    answer = {"exercise": world["exercise"], "rfi": rfi, "answer": "No impact here."}
    for intruder, why in ((bob, "addressed team"), (world["dave"], "addressed team")):
        with pytest.raises(EngineError, match=why):
            engine.rfi_answer(**answer, author=intruder)
    news = Inject.objects.get(scenario=world["exercise"].scenario, key="news")
    with pytest.raises(EngineError, match="Only the control cell answers with an inject"):
        engine.rfi_answer(**answer, author=carol, inject=news)
    engine.rfi_answer(**answer, author=carol)
    with pytest.raises(EngineError, match="already answered"):
        engine.rfi_answer(**answer, author=carol)
    with pytest.raises(EngineError, match="facilitator answers for the control cell"):
        engine.rfi_answer(
            exercise=world["exercise"], rfi=ask(world, bob, token="2"), author=carol, answer="x"
        )


@pytest.mark.django_db
def test_it_refuses_bad_questions_and_too_many(world, bob):
    with pytest.raises(EngineError, match="your own team"):
        ask(world, bob, to="cloud")
    with pytest.raises(EngineError, match="Write the question"):
        ask(world, bob, question="  ")
    too_long = rf"The question is longer than {TEXT_MESSAGE} characters \({TEXT_MESSAGE + 1}\)"
    with pytest.raises(EngineError, match=too_long):
        ask(world, bob, question="x" * (TEXT_MESSAGE + 1))
    for n in range(RFI_BURST):
        ask(world, bob, token=f"t{n}")
    with pytest.raises(EngineError, match="sending requests for information too fast"):
        ask(world, bob, token="over")
    assert ask(world, bob, token="t0").pk == Rfi.objects.get(client_token="t0").pk  # idempotent


@pytest.mark.django_db
def test_the_console_lists_open_rfis_first_with_their_age(world, alice, bob):
    answered = ask(world, bob, token="a")
    engine.rfi_answer(exercise=world["exercise"], rfi=answered, author=alice, answer="Done")
    world["clock"].advance(60)
    ask(world, bob, token="b")
    world["clock"].advance(30)
    world["exercise"].refresh_from_db()
    facilitator = Viewer(kind=Participant.Kind.FACILITATOR)
    items = collab_state.control_rfis(world["exercise"], reader=facilitator)["control_rfi_items"]
    assert [(i.rfi.is_open, i.can_answer, round(i.age)) for i in items] == [
        (True, True, 30),
        (False, False, 90),
    ]
    # The evaluator console lists the same RFIs, without the form its reader may not use.
    evaluator = Viewer(kind=Participant.Kind.EVALUATOR, evaluating=True)
    items = collab_state.control_rfis(world["exercise"], reader=evaluator)["control_rfi_items"]
    assert [i.can_answer for i in items] == [False, False]


@pytest.mark.django_db
def test_one_rule_says_who_answers_an_rfi(world, bob):
    to_control, to_bank = ask(world, bob, token="c"), ask(world, bob, to="bank", token="b")
    cloud, bank = world["cloud"].pk, world["bank"].pk
    Kind = Participant.Kind
    readers = {
        "facilitator": Viewer(kind=Kind.FACILITATOR),
        "evaluator": Viewer(kind=Kind.EVALUATOR),
        "asking player": Viewer(kind=Kind.PLAYER, team_id=cloud),
        "addressed player": Viewer(kind=Kind.PLAYER, team_id=bank),
        "observer": Viewer(kind=Kind.OBSERVER),
    }
    answers = {
        name: (access.may_answer_rfi(v, to_control), access.may_answer_rfi(v, to_bank))
        for name, v in readers.items()
    }
    assert answers == {
        "facilitator": (True, False),
        "evaluator": (False, False),
        "asking player": (False, False),
        "addressed player": (False, True),
        "observer": (False, False),
    }
    engine.rfi_answer(exercise=world["exercise"], rfi=to_bank, author=world["dave"], answer="Yes")
    to_bank.refresh_from_db()
    assert not access.may_answer_rfi(readers["addressed player"], to_bank)  # answered once


# ---------------------------------------------------------------- pages


def url(name, world, *args):
    return reverse(f"exercises:{name}", args=[world["exercise"].code, *args])


@pytest.mark.django_db
def test_a_player_asks_from_the_room_and_control_answers_from_the_console(
    client, world, alice, bob, carol
):
    client.force_login(bob)
    data = {
        "to": "control",
        "tlp": "GREEN",
        "question": "rfizq: who owns DNS?",
        "client_token": "x",
    }
    response = client.post(url("rfi_ask", world), data, HTTP_HX_REQUEST="true")
    assert "Asked the control cell." in response.text
    rfi = Rfi.objects.get()
    client.force_login(alice)
    console = client.get(url("control", world)).text
    assert "rfizq" in console
    assert 'id="answer-' in console
    answer = {"answer": "answerzq: the vendor", "inject": ""}
    item = client.post(url("rfi_answer", world, rfi.code), answer, HTTP_HX_REQUEST="true")
    assert "answerzq" in item.text
    client.force_login(bob)
    assert "answerzq" in client.get(url("room", world)).text
    client.force_login(carol)  # another team never sees it
    room = client.get(url("room", world)).text
    assert "rfizq" not in room
    assert client.post(url("rfi_answer", world, rfi.code), answer).status_code == 404


@pytest.mark.django_db
def test_the_evaluator_console_shows_no_answer_form_to_an_evaluator(client, world, alice, bob):
    ask(world, bob, question="Is the backup clean?")
    evaluator = factories.add_participant(world["exercise"], Participant.Kind.EVALUATOR).user
    client.force_login(evaluator)
    page = client.get(url("evaluate", world)).text
    assert "Is the backup clean?" in page
    assert "Your answer" not in page
    client.force_login(alice)  # a facilitator on the same console may answer
    assert "Your answer" in client.get(url("evaluate", world)).text
