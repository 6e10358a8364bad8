"""Celery tasks of live exercises: thin wrappers that load by id and call the engine."""

from __future__ import annotations

from celery import shared_task

from exercises import engine


@shared_task(name="exercises.release_due", ignore_result=True)
def release_due(exercise_id: int, epoch: int) -> bool:
    """Release timed injects, open prompts, close past deadlines and fire delayed
    consequences that are due. Does nothing when ``epoch`` is stale (the exercise was
    paused, resumed, moved to another stage or ended after this was scheduled)."""
    return engine.sweep_exercise(exercise_id, epoch=epoch)
