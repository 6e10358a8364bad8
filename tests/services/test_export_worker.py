"""With a real broker an export is a Celery task: a real worker process (this project's
``celery -A config worker``) builds the PDF the report page asked for, and the page's
polling shows it ready."""

from __future__ import annotations

import os

import pytest
from django.urls import reverse

from scoring.models import ReportExport
from scoring.services import report_compute
from tests import factories
from tests.services.live_world import server_env
from tests.services.test_faults import celery_worker, wait_until


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_builds_the_requested_pdf(client, tmp_path, settings):
    assert not settings.CELERY_TASK_ALWAYS_EAGER  # a real broker: the test's own Redis db
    settings.MEDIA_ROOT = tmp_path / "media"  # where the worker (CASCADE_DATA_DIR) writes
    alice = factories.make_user("alice")
    exercise, _ = factories.make_played_exercise(facilitator=alice)
    report_compute(exercise=exercise)
    client.force_login(alice)
    env = server_env(os.environ["REDIS_URL"], CASCADE_DATA_DIR=str(tmp_path))
    with celery_worker(env, tmp_path / "celery.log"):
        url = reverse("scoring:export-create", args=[exercise.code])
        response = client.post(url, {"format": "pdf"}, HTTP_HX_REQUEST="true")
        assert 'hx-trigger="every 1s"' in response.content.decode()  # queued, not built
        export = ReportExport.objects.get(exercise=exercise)

        def done() -> bool:
            export.refresh_from_db()
            return export.status in ("done", "failed")

        wait_until(done, timeout=90, what="the worker's export")
    assert (export.status, export.progress) == ("done", 100), export.error
    status = client.get(reverse("scoring:export-status", args=[exercise.code, export.code]))
    assert "Download" in status.content.decode()
    download = client.get(reverse("scoring:export-download", args=[exercise.code, export.code]))
    assert b"".join(download.streaming_content).startswith(b"%PDF")
