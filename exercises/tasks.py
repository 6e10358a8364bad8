"""Celery tasks of live exercises: thin wrappers that load by id and call the engine."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready

from exercises import engine, scheduler


@shared_task(name=scheduler.SWEEP_TASK, ignore_result=True)
def release_due(exercise_id: int, epoch: int) -> bool:
    """Release timed injects, open prompts, close past deadlines and fire delayed
    consequences that are due. Does nothing when ``epoch`` is stale (the exercise was
    paused, resumed, moved to another stage or ended after this was scheduled)."""
    return engine.sweep_exercise(exercise_id, epoch=epoch)


@shared_task(name="exercises.recover_timers", ignore_result=True)
def recover_timers() -> int:
    """Sweep every running exercise and schedule its next sweep anew (see
    ``engine.sweep_running_exercises``)."""
    return engine.sweep_running_exercises()


@worker_ready.connect
def _recover_when_a_worker_starts(sender, **kwargs) -> None:
    """A worker killed outright (SIGKILL, out of memory) keeps its reserved countdown
    tasks from the broker for the transport's visibility timeout (an hour by default);
    a worker that starts, usually its replacement, reschedules what is pending at once."""
    recover_timers.delay()
