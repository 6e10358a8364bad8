"""Leaving a stage never skips scripted work silently: what would not fire is listed
(a pure rule), the console confirms it, and the injects can be released first or carried
into the next stage."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from exercises import clock, engine
from exercises.engine.rules import (
    Action,
    ExerciseState,
    carry_over,
    consequence_key,
    due_actions,
    stage_work_left,
)
from exercises.models import CarriedInject, InjectRelease
from scenarios.models import Prompt
from tests import factories

pytestmark = pytest.mark.django_db


def test_stage_work_left_lists_unfired_timed_injects_and_unopened_prompts_in_due_order():
    state = ExerciseState(
        running=True,
        stage_started_at_clock=100.0,
        timed_injects=((1, 60.0), (2, 30.0), (3, 0.0)),
        stage_prompts=((10, 0.0), (11, 45.0)),
        opened_prompt_ids=frozenset({10}),
        open_deadlines=((10, 700.0),),
        # A delayed consequence follows the decision, whatever the stage: not skipped.
        pending_consequences=(Action(150.0, "release", 4, consequence_key(9, 1), (1,), True),),
        released_keys=frozenset({"inject:3"}),
    )
    assert [(a.kind, a.object_id, a.due) for a in stage_work_left(state)] == [
        ("release", 2, 130.0),
        ("open", 11, 145.0),
        ("release", 1, 160.0),
    ]


def test_stage_work_left_is_the_same_whether_running_or_paused():
    paused = ExerciseState(running=False, stage_started_at_clock=0.0, timed_injects=((1, 5.0),))
    assert [a.object_id for a in stage_work_left(paused)] == [1]


def test_carrying_keeps_the_unfired_injects_due_at_their_own_time_and_not_the_prompts():
    state = ExerciseState(
        running=True,
        stage_started_at_clock=100.0,
        timed_injects=((1, 60.0), (2, 30.0)),
        stage_prompts=((11, 45.0),),
        released_keys=frozenset({"inject:2"}),
    )
    assert carry_over(state) == [(1, 160.0)]


def test_carried_injects_fall_due_in_the_next_stage_once():
    later = ExerciseState(running=True, stage_started_at_clock=120.0, carried_injects=((1, 160.0),))
    assert due_actions(later, 150.0) == ([], 160.0)
    due, _ = due_actions(later, 160.0)
    assert [(a.object_id, a.release_key) for a in due] == [(1, "inject:1")]
    released = ExerciseState(
        running=True,
        stage_started_at_clock=120.0,
        carried_injects=((1, 160.0),),
        released_keys=frozenset({"inject:1"}),
    )
    assert due_actions(released, 170.0) == ([], None)


@pytest.fixture
def staged(alice, bob, org_a):
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    factories.add_player(exercise, cloud, bob)
    manual_ops = factories.add_timed_inject(
        exercise, "manual-ops", 300, title="Water utility: manual operations"
    )
    later = Prompt.objects.create(
        scenario=exercise.scenario,
        stage=exercise.scenario.start_stage,
        key="notify",
        question="Notify the regulator?",
        open_offset_seconds=400,
    )
    with clock.use(clock.ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))):
        engine.exercise_start(exercise=exercise, actor=alice)
        yield exercise, manual_ops, later


def test_it_lists_what_leaving_the_stage_would_skip(staged):
    exercise, manual_ops, later = staged
    skipped = engine.skipped_by_leaving(exercise=exercise)
    assert [(s.inject, s.prompt, s.due) for s in skipped] == [
        (manual_ops, None, 300.0),
        (None, later, 400.0),
    ]


def test_advancing_can_release_the_skipped_injects_first(staged, alice):
    exercise, manual_ops, _ = staged
    engine.exercise_advance(exercise=exercise, actor=alice, release_skipped=True)
    release = InjectRelease.objects.get(exercise=exercise, inject=manual_ops)
    entered = exercise.events.get(kind="stage.entered", payload__stage="spread")
    assert release.event.seq < entered.seq  # released in the old stage, before leaving it


def test_advancing_without_releasing_skips_them(staged, alice):
    exercise, manual_ops, _ = staged
    engine.exercise_advance(exercise=exercise, actor=alice)
    assert not InjectRelease.objects.filter(exercise=exercise, inject=manual_ops).exists()
    assert engine.skipped_by_leaving(exercise=exercise) == []  # the new stage has none


def test_advancing_can_carry_the_skipped_injects_into_the_next_stage(staged, alice):
    exercise, manual_ops, _ = staged
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    manual = clock.ManualClock(start)
    with clock.use(manual):
        manual.advance(100)
        engine.exercise_advance(exercise=exercise, actor=alice, carry_skipped=True)
        assert CarriedInject.objects.get(exercise=exercise).due_clock == 300.0
        assert "Timed inject: Water utility: manual operations" in [
            item.what for item in engine.due_next(exercise=exercise)
        ]
        manual.advance(210)  # past 300 s on the exercise clock, in the new stage
        engine.sweep_exercise(exercise.pk)
    release = InjectRelease.objects.get(exercise=exercise, inject=manual_ops)
    entered = exercise.events.get(kind="stage.entered", payload__stage="spread")
    assert release.event.seq > entered.seq  # went out in the stage it was carried into
    assert release.release_key == f"inject:{manual_ops.pk}"


def test_it_refuses_to_release_and_carry_at_once(staged, alice):
    exercise, _, _ = staged
    with pytest.raises(engine.EngineError, match="not both"):
        engine.exercise_advance(
            exercise=exercise, actor=alice, release_skipped=True, carry_skipped=True
        )


def test_the_console_posts_the_carry_choice(staged, client, alice):
    exercise, manual_ops, _ = staged
    client.force_login(alice)
    confirm = client.get(reverse("exercises:advance_confirm", args=[exercise.code]))
    assert "Carry them into the next stage" in confirm.content.decode()
    client.post(reverse("exercises:advance", args=[exercise.code]), {"carry_skipped": "on"})
    assert CarriedInject.objects.filter(exercise=exercise, inject=manual_ops).exists()
    assert exercise.events.filter(kind="stage.entered", payload__stage="spread").exists()


def test_the_console_confirms_an_advance_with_the_skipped_work(staged, client, alice):
    exercise, _, _ = staged
    client.force_login(alice)
    url = reverse("exercises:advance_confirm", args=[exercise.code])
    html = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<dialog" in html
    assert "data-modal" in html
    assert "Advance to “Spread”?" in html  # nobody decided: the default branch
    assert "Water utility: manual operations" in html
    assert "Notify the regulator?" in html
    assert "Release the injects, then advance" in html
    override = client.get(url, {"to_stage": "contained"}, headers={"HX-Request": "true"})
    assert "Override: go to “Contained”?" in override.content.decode()
    page = client.get(url).content.decode()  # without JavaScript: a page, dialog open
    assert "<dialog" in page
    assert " open>" in page
