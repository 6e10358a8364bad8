"""What the report queues for the Celery tasks (``scoring.tasks``): an export on request,
the scores when an exercise ends. One layer above the tasks, so the services they call
never import them back.

Exports never run inside the request that asks for one. With a real broker the task goes
to a Celery worker; in the embedded default (Celery eager, which would run it right here)
it goes to the in-process worker thread (``scoring.background``). Either way the
``ReportExport`` row carries the progress and the outcome the report page polls.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import transaction

from accounts.audit import audit_record
from accounts.models import User
from exercises.models import Exercise
from scoring import background, services, tasks
from scoring.models import ReportExport

logger = logging.getLogger(__name__)


def export_request(*, exercise: Exercise, fmt: str, user: User) -> ReportExport:
    """Queue an export of ``exercise`` as ``fmt``, to run once the request has committed
    (so the worker sees the row) and outside it."""
    export = ReportExport.objects.create(exercise=exercise, format=fmt, requested_by=user)
    audit_record(actor=user, action="report.exported", exercise_code=exercise.code, target=fmt)
    transaction.on_commit(lambda: _queue_export(export.id))
    return export


def _queue_export(export_id: int) -> None:
    if not current_app.conf.task_always_eager:
        tasks.export_run.delay(export_id)
        return
    try:
        background.worker.submit(lambda: tasks.export_run.run(export_id), key=export_id)
    except background.QueueFull:
        services.export_refused(
            export_id=export_id,
            reason="Too many exports are waiting; request this one again in a minute.",
        )


# Exports this process queued again after finding them orphaned: once each, so an export
# that keeps failing before it can record its outcome is not retried on every poll.
_requeued: set[int] = set()


def export_resume(export: ReportExport) -> None:
    """Queue again an unfinished export that no worker holds in the embedded default.

    Its worker thread dies with the process; without this, an export queued or running
    when the server restarted would show "Queued" for ever while its page keeps polling.
    With a real broker the message stays with the broker, so nothing is needed there."""
    unfinished = export.status in (ReportExport.Status.PENDING, ReportExport.Status.RUNNING)
    if not unfinished or not current_app.conf.task_always_eager:
        return
    if export.id in _requeued or background.worker.holds(export.id):
        return
    _requeued.add(export.id)
    logger.info("Export %s was lost with an earlier process; queued again", export.id)
    _queue_export(export.id)


def scores_on_exercise_ended(sender: Any, *, exercise_id: int, **kwargs: Any) -> None:
    """Receiver of ``exercises.signals.exercise_ended`` (sent once the end has committed):
    queue the computation of the ended exercise's report.

    The end has committed by now: a failure here (a broker that does not answer, or the
    computation itself when Celery runs eagerly) must not turn the facilitator's "End"
    into an error page. It is logged; the report page then shows the scores as missing
    and offers Recompute."""
    try:
        tasks.report_ensure_fresh.delay(exercise_id)
    except Exception:
        logger.exception("Scores of exercise %s were not computed at its end", exercise_id)
