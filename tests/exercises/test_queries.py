"""The written-out reads of whole rows (``exercises.queries``): the same instances the ORM
would build, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from exercises import engine, queries
from exercises.engine.core import SYSTEM, lock
from exercises.models import Decision, Event, Exercise, Participant, PromptWindow, Team
from scenarios.models import Inject, Option, Prompt
from tests import factories


def test_a_seat_comes_with_its_exercise_team_organization_and_role(running, bob, org_a):
    expected = Participant.objects.select_related(
        "exercise__scenario", "team__organization", "team__role"
    ).get(exercise=running, user=bob)
    seat = queries.seat(code=running.code, user_id=bob.pk)
    assert seat is not None
    for field in Participant._meta.concrete_fields:
        name = field.attname
        assert getattr(seat, name) == getattr(expected, name), name
    for field in Exercise._meta.concrete_fields:
        name = field.attname
        assert getattr(seat.exercise, name) == getattr(expected.exercise, name), name
    assert isinstance(seat.exercise.running_since, datetime)  # SQLite: converted from text
    assert isinstance(seat.exercise.visibility_marks, dict)  # JSON decoded
    assert seat.exercise.scenario == running.scenario
    assert seat.team.organization == org_a
    assert seat.team.role.key == "cloud"
    assert str(seat.team) == str(expected.team)


def test_a_seat_without_a_team_and_no_seat(running, alice, mallory):
    seat = queries.seat(code=running.code, user_id=alice.pk)
    assert seat.kind == Participant.Kind.FACILITATOR
    assert seat.team is None
    assert queries.seat(code=running.code, user_id=mallory.pk) is None
    assert queries.seat(code="no-such-code", user_id=alice.pk) is None


def test_an_answer_window_comes_with_its_prompt_options_and_flags(running, bob, carol):
    cloud = Team.objects.get(exercise=running, role__key="cloud")
    prompt = running.scenario.prompts.get(key="first-move")
    # A later option placed first by its order: the written-out ORDER BY must follow it.
    Option.objects.create(prompt=prompt, key="call", label="Call the regulator", order=0)
    window = queries.answer_window(running, "first-move", user_id=bob.pk, team_id=cloud.pk)
    same_columns(window, PromptWindow.objects.get(exercise=running, prompt=prompt))
    assert isinstance(window.team_ids, list)  # decoded
    assert window.is_open
    same_columns(window.prompt, prompt)
    assert window.seated is True
    expected = list(prompt.options.all())
    assert [o.key for o in window.options] == [o.key for o in expected]
    assert window.options[0].key == "call"
    for got, want in zip(window.options, expected, strict=True):
        same_columns(got, want)
    assert isinstance(window.options[1].effects, dict)  # JSON decoded
    # "pay" has a consequence in the fixture scenario, the others none.
    assert {o.key: o.cascades for o in window.options} == {
        o.key: o.consequences.exists() for o in expected
    }
    assert any(o.cascades for o in window.options)
    assert not all(o.cascades for o in window.options)

    elsewhere = queries.answer_window(running, "first-move", user_id=carol.pk, team_id=cloud.pk)
    assert elsewhere.seated is False
    assert (
        queries.answer_window(running, "no-such-prompt", user_id=bob.pk, team_id=cloud.pk) is None
    )


def test_an_answer_window_of_a_prompt_without_options(running, bob):
    cloud = Team.objects.get(exercise=running, role__key="cloud")
    prompt = running.scenario.prompts.get(key="first-move")
    prompt.options.all().delete()
    window = queries.answer_window(running, "first-move", user_id=bob.pk, team_id=cloud.pk)
    assert window.prompt.key == "first-move"
    assert window.options == []


def test_the_engine_lock_reads_the_whole_row(running, alice, bob):
    engine.exercise_pause(exercise=running, actor=alice)
    with CaptureQueriesContext(connection) as captured:
        locked = lock(running)
    # Without a facilitator to check (a decision's lock), the row alone.
    assert [q["sql"] for q in captured if "participant" in q["sql"]] == []
    fresh = Exercise.objects.get(pk=running.pk)
    for field in Exercise._meta.concrete_fields:
        assert getattr(locked, field.attname) == getattr(fresh, field.attname), field.name
    assert locked.status == Exercise.Status.PAUSED
    assert lock(running, facilitator=alice).pk == lock(running, facilitator=SYSTEM).pk
    with pytest.raises(engine.EngineError, match="Only a facilitator"):
        lock(running, facilitator=bob)  # a player
    with pytest.raises(Exercise.DoesNotExist):
        queries.exercise_for_update(0)


def test_a_prompts_options_come_in_the_orms_order_with_every_field(running):
    prompt = running.scenario.prompts.get(key="first-move")
    # A later option placed first by its order: the written-out ORDER BY must follow it.
    Option.objects.create(prompt=prompt, key="call", label="Call the regulator", order=0)
    expected = list(prompt.options.all())
    options = queries.prompt_options(prompt.pk)
    assert [o.key for o in options] == [o.key for o in expected]
    assert options[0].key == "call"
    for got, want in zip(options, expected, strict=True):
        for field in Option._meta.concrete_fields:
            assert getattr(got, field.attname) == getattr(want, field.attname), field.name
    assert isinstance(options[1].effects, dict)  # JSON decoded
    assert queries.prompt_options(0) == []


def same_columns(built, expected) -> None:
    for field in type(expected)._meta.concrete_fields:
        name = field.attname
        assert getattr(built, name) == getattr(expected, name), name


def test_the_decision_paths_reads_are_the_orms_rows_with_their_flags(running, bob, carol):
    cloud = Team.objects.get(exercise=running, role__key="cloud")
    prompt = Prompt.objects.get(scenario=running.scenario, key="first-move")
    option = prompt.options.get(key="pay")  # it has a consequence
    mine = {"exercise_id": running.pk, "prompt_id": prompt.pk, "team_id": cloud.pk}
    window = queries.prompt_window(**mine, user_id=bob.pk, option_id=option.pk)
    same_columns(window, PromptWindow.objects.get(exercise=running, prompt=prompt))
    assert isinstance(window.team_ids, list)
    assert (window.seated, window.cascades) == (True, True)
    elsewhere = queries.prompt_window(**mine, user_id=carol.pk, option_id=None)
    assert (elsewhere.seated, elsewhere.cascades) == (False, False)

    token = {"team_id": cloud.pk, "prompt_id": prompt.pk}
    assert queries.team_decision(**token, client_token="t1") is None
    engine.decision_submit(
        exercise=running, team=cloud, prompt=prompt, author=bob, option=option, client_token="t1"
    )
    decision = queries.team_decision(**token, client_token="t1")
    same_columns(decision, Decision.objects.get(team=cloud, prompt=prompt))
    assert isinstance(decision.submitted_at, datetime)  # SQLite: converted from text
    assert decision.replayed is True
    with transaction.atomic():
        assert queries.team_decision(**token, client_token="t2", lock=True).replayed is False


def test_a_stages_scripted_injects_are_the_orms_in_its_order_with_released(running, alice):
    stage = running.current_stage
    # Placed between the scripted ones by their order: the written-out ORDER BY is the
    # ORM's (manual injects have no offset: NULLs sort as the ORM sorts them, per database).
    Inject.objects.create(
        scenario=running.scenario, stage=stage, key="a-late", title="Late", order=1, body="x"
    )
    Inject.objects.create(
        scenario=running.scenario,
        stage=stage,
        key="pigeon",
        title="Pigeon",
        body="y",
        channel="other",
        channel_label="Carrier pigeon",
        order=0,
    )
    engine.inject_release(exercise=running, inject=stage.injects.get(key="news"), actor=alice)
    expected = list(stage.injects.exclude(release=Inject.Release.CONSEQUENCE))
    released = set(running.releases.values_list("inject_id", flat=True))
    rows = queries.stage_injects(exercise_id=running.pk, stage_id=stage.pk)
    assert rows == queries.stage_injects(exercise_id=running.pk, stage_id=stage.pk)
    hash(tuple(rows))  # the rows are a cache key (fragments.inject_list)
    built = [(queries.stage_inject(row), queries.stage_inject_released(row)) for row in rows]
    assert [inject.key for inject, _ in built] == [inject.key for inject in expected]
    assert "leak" not in [inject.key for inject, _ in built]  # a consequence: not scripted
    for (inject, is_released), want in zip(built, expected, strict=True):
        assert is_released is (want.pk in released)
        for name in ("id", "key", "title", "channel", "tlp", "release", "offset_seconds"):
            assert getattr(inject, name) == getattr(want, name), name
        assert inject.channel_text == want.channel_text
    assert [inject.key for inject, is_released in built if is_released] == ["siem-alert", "news"]
    other = factories.make_exercise(facilitator=alice)  # nothing released there
    assert not any(
        row[-1] for row in queries.stage_injects(exercise_id=other.pk, stage_id=stage.pk)
    )


def test_an_exercise_with_its_stage_is_the_orms(running, alice):
    expected = Exercise.objects.select_related("scenario", "current_stage").get(pk=running.pk)
    built = queries.exercise_with_stage(running.pk)
    same_columns(built, expected)
    same_columns(built.scenario, expected.scenario)
    same_columns(built.current_stage, expected.current_stage)
    assert isinstance(built.visibility_marks, dict)  # JSON decoded
    lobby = factories.make_exercise(facilitator=alice)
    assert queries.exercise_with_stage(lobby.pk).current_stage is None
    with pytest.raises(Exercise.DoesNotExist):
        queries.exercise_with_stage(0)


def test_an_inject_by_key_and_whether_a_release_key_was_released(running, alice):
    news = running.scenario.injects.get(key="news")
    same_columns(queries.inject_by_key(scenario_id=running.scenario_id, key="news"), news)
    assert queries.inject_by_key(scenario_id=running.scenario_id, key="nope") is None
    other = factories.make_exercise(facilitator=alice)  # another scenario, the same keys
    assert queries.inject_by_key(scenario_id=other.scenario_id, key="news").pk != news.pk
    done = engine.inject_release(exercise=running, inject=news, actor=alice)
    assert queries.released(exercise_id=running.pk, release_key=done.release_key)
    assert not queries.released(exercise_id=other.pk, release_key=done.release_key)
    assert not queries.released(exercise_id=running.pk, release_key="never")


def test_the_lock_tells_who_facilitates_the_exercise(running, alice, bob, mallory):
    def facilitates(exercise, user) -> bool:
        with transaction.atomic():
            return queries.exercise_for_update(exercise.pk, user_id=user.pk if user else None)[1]

    assert facilitates(running, alice)
    assert not facilitates(running, bob)  # a player
    assert not facilitates(running, mallory)  # no seat
    assert not facilitates(running, None)
    other = factories.make_exercise(facilitator=bob)
    assert not facilitates(other, alice)
    assert facilitates(other, bob)


def test_a_catch_ups_stubs_and_events_are_the_orms(running, alice):
    cloud = running.teams.get(role__key="cloud")
    inject = running.scenario.injects.order_by("pk").last()
    engine.inject_release(exercise=running, inject=inject, actor=alice, team_ids=[cloud.pk])
    events = Event.objects.filter(exercise=running).order_by("seq")
    assert events.filter(visibility=Event.Visibility.SOME).exists()  # team_ids decoded below
    expected = [[e.seq, e.visibility, e.team_ids] for e in events]

    stubs = sorted(queries.event_stubs(running.pk, after=0))
    assert stubs == expected
    first, last = expected[1][0], expected[-2][0]
    assert sorted(queries.event_stubs(running.pk, after=first, upto=last)) == [
        stub for stub in expected if first < stub[0] <= last
    ]
    assert queries.event_stubs(running.pk, after=expected[-1][0]) == []

    wanted = [expected[-1][0], expected[0][0]]  # any order in, seq order out
    built = queries.events_by_seq(running.pk, wanted)
    assert [e.seq for e in built] == sorted(wanted)
    for event, orm in zip(built, events.filter(seq__in=wanted), strict=True):
        for field in Event._meta.concrete_fields:
            assert getattr(event, field.attname) == getattr(orm, field.attname), field.name
    assert isinstance(built[0].created_at, datetime)  # SQLite: converted from text
    assert queries.events_by_seq(running.pk, []) == []
