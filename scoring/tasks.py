"""Celery tasks of the after-action report: each loads by id and calls a service.

Queued by ``scoring.jobs``; eager (run at once) in the embedded default.
"""

from __future__ import annotations

from celery import shared_task

from exercises.models import Exercise
from scoring import services


@shared_task(name="scoring.export_run", ignore_result=True)
def export_run(export_id: int) -> None:
    """Render one ReportExport, updating its progress as it goes."""
    services.export_run(export_id=export_id)


@shared_task(name="scoring.report_ensure_fresh", ignore_result=True)
def report_ensure_fresh(exercise_id: int) -> None:
    """Compute an exercise's report unless it is up to date (a retry does nothing)."""
    exercise = Exercise.objects.filter(id=exercise_id).first()
    if exercise is not None:  # deleted before the worker got to it
        services.report_ensure_fresh(exercise=exercise)
