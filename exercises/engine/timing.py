"""Timed work: what falls due on the exercise clock, and the sweeps that do it.

Timed injects, prompt openings, deadlines and delayed consequences are all derived from
the database by the pure ``rules.due_actions``; the idempotent ``sweep_exercise`` applies
what is due, as the system actor, and every change schedules the next sweep
(``exercises.scheduler``) stamped with ``Exercise.epoch``. Pause, resume, stage changes
and the end bump the epoch, so a sweep scheduled earlier does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from config import metrics
from exercises import queries, scheduler
from exercises.clock import exercise_clock
from exercises.engine.core import SYSTEM, Actor, locked
from exercises.engine.injects import close_window, open_window, release
from exercises.engine.rules import (
    Action,
    ExerciseState,
    carry_over,
    consequence_key,
    consequence_targets,
    due_actions,
    scheduled,
    stage_work_left,
)
from exercises.models import CarriedInject, Decision, Exercise, InjectRelease, PromptWindow
from scenarios.models import Consequence, Inject, Prompt

Status = Exercise.Status


def sweep_exercise(exercise_id: int, *, epoch: int | None = None, reschedule: bool = False) -> bool:
    """Apply whatever is due for the exercise; idempotent. Returns False when there is no
    such exercise or ``epoch`` is stale (the exercise was paused, resumed or moved on).
    ``reschedule``: see ``sweep_running_exercises``."""
    exercise = Exercise.objects.filter(pk=exercise_id).first()
    if exercise is None:
        return False
    try:
        with locked(exercise) as ex:
            if epoch is not None and ex.epoch != epoch:
                return False
            apply_due(ex, reschedule=reschedule)
    except IntegrityError:
        # Another process released the same key first: releasing is idempotent.
        return False
    return True


def sweep_running_exercises() -> int:
    """Sweep every running exercise and schedule its next sweep anew; how many.

    For a process that starts after one holding scheduled sweeps died: the embedded
    default's timers live in memory, and a Celery worker killed outright keeps its
    reserved countdown tasks from the broker until the transport's visibility timeout.
    What fell due meanwhile is released now; a duplicate sweep does nothing.
    """
    ids = list(Exercise.objects.filter(status=Status.RUNNING).values_list("pk", flat=True))
    for exercise_id in ids:
        sweep_exercise(exercise_id, reschedule=True)
    return len(ids)


def recover_after_restart() -> int:
    """Embedded default: sweep every running exercise once per process (its timers lived
    in the previous process's memory); how many were swept. With Celery, each worker
    does the same when it starts (``exercises.tasks``)."""
    if not scheduler.claim_recovery():
        return 0
    return sweep_running_exercises()


def apply_due(ex: Exercise, *, reschedule: bool = False) -> None:
    """Do everything due now and schedule the next sweep. Call holding the exercise lock.

    ``reschedule``: schedule the next sweep even if one was already asked for (that one
    may have died with the process holding it)."""
    actions, next_due = due_actions(_state(ex), exercise_clock(ex))
    for action in actions:
        _apply(ex, action)
    metrics.timed_work_done(exercise_clock(ex), [action.due for action in actions])
    if next_due is not None:
        _schedule(ex, next_due, again=reschedule)


def _apply(ex: Exercise, action: Action) -> None:
    if action.kind == "release":
        inject = Inject.objects.get(pk=action.object_id)
        release(
            ex,
            inject,
            release_key=action.release_key,
            team_ids=action.team_ids,
            cascade=action.cascade,
            actor=SYSTEM,
        )
    elif action.kind == "open":
        open_window(ex, Prompt.objects.get(pk=action.object_id), actor=SYSTEM)
    else:
        windows = PromptWindow.objects.select_related("prompt")
        close_window(ex, windows.get(exercise=ex, prompt=action.object_id), actor=SYSTEM)


def _schedule(ex: Exercise, due_clock: float, *, again: bool = False) -> None:
    """Ask for a sweep at ``due_clock`` once the transaction commits."""
    exercise_id, epoch = ex.pk, ex.epoch
    delay = max(due_clock - exercise_clock(ex), 0.0)
    transaction.on_commit(
        lambda: scheduler.schedule_sweep(
            exercise_id=exercise_id, epoch=epoch, due_clock=due_clock, delay=delay, again=again
        )
    )


@dataclass(frozen=True)
class SkippedWork:
    """A piece of the current stage's script that leaving the stage now would skip:
    a timed inject (``inject``) or a prompt not opened yet (``prompt``), due at ``due``."""

    action: Action
    inject: Inject | None = None
    prompt: Prompt | None = None

    @property
    def due(self) -> float:
        return self.action.due


def skipped_by_leaving(*, exercise: Exercise) -> list[SkippedWork]:
    """What advancing or overriding now would skip, in due order (read-only): the
    facilitator confirms it, and may release the injects first."""
    if exercise.current_stage_id is None:
        return []
    actions = stage_work_left(exercise_state(exercise))
    injects = Inject.objects.in_bulk([a.object_id for a in actions if a.kind == "release"])
    prompts = Prompt.objects.in_bulk([a.object_id for a in actions if a.kind == "open"])
    return [
        SkippedWork(a, inject=injects.get(a.object_id))
        if a.kind == "release"
        else SkippedWork(a, prompt=prompts.get(a.object_id))
        for a in actions
    ]


@dataclass(frozen=True)
class DueItem:
    """Something the exercise clock will do at ``due``: ``what`` (a sentence) and, for a
    manual release from the console, the inject's key when it is one of the stage's."""

    due: float
    what: str
    inject_key: str = ""


def due_next(*, exercise: Exercise, limit: int = 8) -> list[DueItem]:
    """The next things due on the exercise clock, soonest first (read-only; also while
    paused, when they wait for the resume)."""
    if exercise.current_stage_id is None or exercise.status == Status.ENDED:
        return []
    actions = scheduled(exercise_state(exercise))[:limit]
    injects = Inject.objects.in_bulk([a.object_id for a in actions if a.kind == "release"])
    prompts = Prompt.objects.in_bulk([a.object_id for a in actions if a.kind != "release"])
    names = dict(exercise.teams.values_list("pk", "organization__name"))
    return [_due_item(a, injects, prompts, names) for a in actions]


def _due_item(action: Action, injects: dict, prompts: dict, names: dict[int, str]) -> DueItem:
    if action.kind == "open":
        return DueItem(action.due, f"Prompt opens: {prompts[action.object_id].question}")
    if action.kind == "close":
        return DueItem(action.due, f"Deadline: {prompts[action.object_id].question}")
    inject = injects[action.object_id]
    if action.cascade:
        to = ", ".join(names.get(team_id, "?") for team_id in action.team_ids or ())
        return DueItem(action.due, f"Consequence: {inject.title} (to {to})")
    return DueItem(action.due, f"Timed inject: {inject.title}", inject.key)


def release_stage_work_left(ex: Exercise, *, actor: Actor) -> None:
    """Release the current stage's unreleased timed injects now (before leaving it).
    Call holding the exercise lock."""
    for action in stage_work_left(exercise_state(ex)):
        if action.kind == "release":
            inject = Inject.objects.get(pk=action.object_id)
            release(ex, inject, release_key=action.release_key, team_ids=None, actor=actor)


def carry_stage_work_left(ex: Exercise) -> list[int]:
    """Keep the current stage's unreleased timed injects due at their own time after the
    stage is left; their ids. Call holding the exercise lock."""
    carried = carry_over(exercise_state(ex))
    for inject_id, due in carried:
        CarriedInject.objects.get_or_create(
            exercise=ex, inject_id=inject_id, defaults={"due_clock": due}
        )
    return [inject_id for inject_id, _ in carried]


def _state(ex: Exercise) -> ExerciseState:
    """What ``due_actions`` needs, read under the exercise lock (nothing is due unless
    running, so nothing else is read then)."""
    if ex.status != Status.RUNNING:
        return ExerciseState(running=False, stage_started_at_clock=ex.stage_started_at_clock)
    return exercise_state(ex)


def exercise_state(ex: Exercise) -> ExerciseState:
    """The rules' view of the exercise's scripted work, whatever its status."""
    stage_id = ex.current_stage_id
    timed = Inject.objects.filter(stage=stage_id, release=Inject.Release.TIMED)
    prompts = Prompt.objects.filter(stage=stage_id)
    windows = list(PromptWindow.objects.filter(exercise=ex))
    released = frozenset(
        InjectRelease.objects.filter(exercise=ex).values_list("release_key", flat=True)
    )
    return ExerciseState(
        running=ex.status == Status.RUNNING,
        stage_started_at_clock=ex.stage_started_at_clock,
        timed_injects=tuple(timed.values_list("pk", "offset_seconds")),
        stage_prompts=tuple(prompts.values_list("pk", "open_offset_seconds")),
        opened_prompt_ids=frozenset(w.prompt_id for w in windows),
        open_deadlines=tuple(
            (w.prompt_id, w.deadline_clock)
            for w in windows
            if w.closed_at is None and w.deadline_clock is not None
        ),
        pending_consequences=tuple(_pending_consequences(ex, released)),
        released_keys=released,
        carried_injects=tuple(
            CarriedInject.objects.filter(exercise=ex).values_list("inject_id", "due_clock")
        ),
    )


def _pending_consequences(ex: Exercise, released: frozenset[str]) -> Iterator[Action]:
    """Unreleased consequences of every team's current choice, due ``delay`` after it.

    Most options have no consequence, so the scenario's consequences are read first and
    the decisions only when there are some.
    """
    by_option: dict[int, list[Consequence]] = {}
    scenario_consequences = Consequence.objects.filter(
        option__prompt__scenario=ex.scenario_id
    ).prefetch_related("target_roles")
    for consequence in scenario_consequences:
        by_option.setdefault(consequence.option_id, []).append(consequence)
    if not by_option:
        return
    decisions = Decision.objects.filter(exercise=ex, option__in=list(by_option))
    opened = dict(
        PromptWindow.objects.filter(exercise=ex).values_list("prompt_id", "opened_at_clock")
    )
    infos = {info.id: info for info in queries.team_infos(ex)}
    for decision in decisions:
        decided_at = opened.get(decision.prompt_id, 0.0) + decision.latency_seconds
        for consequence in by_option[decision.option_id]:
            key = consequence_key(consequence.pk, decision.team_id)
            if key in released:
                continue
            targets = consequence_targets(
                consequence,
                chooser=infos[decision.team_id],
                teams=list(infos.values()),
                role_keys=[role.key for role in consequence.target_roles.all()],
            )
            due = decided_at + consequence.delay_seconds
            yield Action(due, "release", consequence.inject_id, key, tuple(targets), cascade=True)
