"""Celery task of the after-action report: thin wrapper over ``services.export_run``."""

from __future__ import annotations

from celery import shared_task

from scoring import services


@shared_task(name="scoring.export_run", ignore_result=True)
def export_run(export_id: int) -> None:
    """Render one ReportExport, updating its progress as it goes."""
    services.export_run(export_id=export_id)
