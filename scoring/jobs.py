"""What the report queues for the Celery tasks (``scoring.tasks``): an export on request,
the scores when an exercise ends. One layer above the tasks, so the services they call
never import them back.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from accounts.audit import audit_record
from accounts.models import User
from exercises.models import Exercise
from scoring import tasks
from scoring.models import ReportExport

logger = logging.getLogger(__name__)


def export_request(*, exercise: Exercise, fmt: str, user: User) -> ReportExport:
    """Queue an export of ``exercise`` as ``fmt`` (the task runs at once when eager)."""
    export = ReportExport.objects.create(exercise=exercise, format=fmt, requested_by=user)
    audit_record(actor=user, action="report.exported", exercise_code=exercise.code, target=fmt)
    transaction.on_commit(lambda: tasks.export_run.delay(export.id))
    return export


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
