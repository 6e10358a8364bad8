"""Timed work: due actions (pure), epochs, the sweep, the task and the in-process scheduler."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from exercises import clock, engine, tasks
from exercises.engine.rules import Action, ExerciseState, due_actions
from exercises.models import Event, Exercise, InjectRelease, PromptWindow
from exercises.scheduler import InProcessScheduler
from tests import factories

pytestmark = pytest.mark.usefixtures("scheduled_sweeps")


@pytest.fixture
def running(alice, bob, org_a, django_capture_on_commit_callbacks):
    """A running exercise whose start stage has a timed inject at 60 s."""
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    factories.add_player(exercise, cloud, bob)
    factories.add_timed_inject(exercise, "later", 60, title="Later")
    # Started on one frozen instant, so the stage starts at exactly 0 s on its clock.
    frozen = clock.ManualClock(clock.now())
    with clock.use(frozen), django_capture_on_commit_callbacks(execute=True):
        engine.exercise_start(exercise=exercise, actor=alice)
    return exercise


def advance_clock(exercise, seconds):
    """Pretend ``seconds`` more of running time went by."""
    Exercise.objects.filter(pk=exercise.pk).update(
        running_since=exercise.running_since - timedelta(seconds=seconds)
    )
    exercise.refresh_from_db()


def released(exercise, key):
    return InjectRelease.objects.filter(exercise=exercise, inject__key=key).count()


def test_it_lists_due_actions_in_order_and_the_next_due_time():
    state = ExerciseState(
        running=True,
        stage_started_at_clock=100,
        timed_injects=((1, 0), (2, 30)),
        stage_prompts=((7, 0),),
        open_deadlines=((6, 110),),
        pending_consequences=(Action(105, "release", 3, "csq:1:1", (4,)),),
        released_keys=frozenset({"inject:9"}),
    )
    due, next_due = due_actions(state, 106)
    assert [(a.kind, a.object_id) for a in due] == [("release", 1), ("open", 7), ("release", 3)]
    assert next_due == 110


def test_it_skips_what_is_done_and_everything_while_paused():
    state = ExerciseState(
        running=True,
        stage_started_at_clock=0,
        timed_injects=((1, 0),),
        stage_prompts=((7, 0),),
        opened_prompt_ids=frozenset({7}),
        released_keys=frozenset({"inject:1"}),
    )
    assert due_actions(state, 10) == ([], None)
    paused = ExerciseState(running=False, stage_started_at_clock=0, timed_injects=((1, 0),))
    assert due_actions(paused, 10) == ([], None)


def test_it_schedules_the_next_timed_inject_stamped_with_the_epoch(running, scheduled_sweeps):
    assert scheduled_sweeps[-1]["exercise_id"] == running.pk
    assert scheduled_sweeps[-1]["epoch"] == running.epoch
    assert 59 <= scheduled_sweeps[-1]["delay"] <= 60


def test_it_releases_a_timed_inject_when_due_and_only_once(running):
    assert tasks.release_due(running.pk, running.epoch)
    assert released(running, "later") == 0  # not yet due
    advance_clock(running, 61)
    assert tasks.release_due(running.pk, running.epoch)
    assert tasks.release_due(running.pk, running.epoch)
    assert released(running, "later") == 1


def test_it_ignores_a_stale_task_after_pause_and_fires_the_rest_on_resume(
    running, alice, scheduled_sweeps
):
    stale_epoch = running.epoch
    advance_clock(running, 61)
    engine.exercise_pause(exercise=running, actor=alice)
    assert tasks.release_due(running.pk, stale_epoch) is False
    assert released(running, "later") == 0
    engine.exercise_resume(exercise=running, actor=alice)
    # Resuming sweeps at once: the inject that fell due before the pause goes out now.
    assert released(running, "later") == 1


def test_it_reschedules_remaining_work_on_resume(
    running, alice, scheduled_sweeps, django_capture_on_commit_callbacks
):
    # On manual time, stopped exactly 1 s into the run: the inject at 60 s is 59 s away
    # after the resume, however long the machine took between the calls.
    with clock.use(clock.ManualClock(running.running_since + timedelta(seconds=1))):
        engine.exercise_pause(exercise=running, actor=alice)
        scheduled_sweeps.clear()
        with django_capture_on_commit_callbacks(execute=True):
            engine.exercise_resume(exercise=running, actor=alice)
    assert [call["epoch"] for call in scheduled_sweeps] == [running.epoch]
    assert scheduled_sweeps[0]["delay"] == pytest.approx(59)


def test_it_closes_a_prompt_at_its_deadline(running):
    window = PromptWindow.objects.get(exercise=running)
    assert window.deadline_clock is not None
    advance_clock(running, 601)
    engine.sweep_exercise(running.pk)
    window.refresh_from_db()
    assert window.closed_at is not None
    assert Event.objects.filter(exercise=running, kind="prompt.closed").count() == 1


def test_it_ignores_a_task_for_a_deleted_exercise(running):
    exercise_id = running.pk
    Exercise.objects.filter(pk=exercise_id).delete()
    assert tasks.release_due(exercise_id, 1) is False


def test_it_runs_scheduled_calls_in_due_order_on_one_thread():
    # The scheduler's own clock, moved by hand: nothing falls due while the test is still
    # scheduling, however slow the machine is.
    now = [0.0]
    scheduler = InProcessScheduler(clock=lambda: now[0])
    done = threading.Event()
    ran = []
    scheduler.call_later(0.05, lambda: ran.append("late") or done.set())
    scheduler.call_later(0.0, lambda: ran.append("early"))
    now[0] = 1.0  # both due; the thread wakes within its wait timeout
    assert done.wait(10)
    assert ran == ["early", "late"]
    assert scheduler.pending() == 0


@pytest.mark.django_db(transaction=True)
def test_it_releases_a_timed_inject_on_time_with_the_in_process_scheduler(
    settings, monkeypatch, alice, bob, org_a
):
    """The embedded default (Celery eager ignores eta): the scheduler thread does it."""
    monkeypatch.undo()  # the real schedule_sweep, not the recorder
    settings.CASCADE_INPROCESS_SCHEDULER = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    exercise = factories.make_exercise(facilitator=alice)
    factories.add_player(exercise, factories.make_team(exercise, "cloud", org_a), bob)
    factories.add_timed_inject(exercise, "soon", 1, title="One second in")
    engine.exercise_start(exercise=exercise, actor=alice)
    deadline = time.monotonic() + 10
    while not released(exercise, "soon") and time.monotonic() < deadline:
        time.sleep(0.1)
    release = InjectRelease.objects.get(exercise=exercise, inject__key="soon")
    assert 1.0 <= release.clock_seconds < 3.0
