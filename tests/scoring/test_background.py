"""Exports in the embedded default run on the in-process worker thread, never inside the
request: the request returns while the export is still being built, the page polls its
progress, and a full queue or a failing export is recorded on the row, never a 500."""

from __future__ import annotations

import threading

import pytest
from django.core.signals import request_finished, request_started
from django.urls import reverse

from scoring import background
from scoring.exports import pdf
from scoring.models import ReportExport
from scoring.services import report_compute
from tests import factories

WAIT = 30  # seconds: an upper bound for a blocked thread to be reached, never a speed test


@pytest.fixture
def worker(monkeypatch, settings, tmp_path):
    """A real worker thread with room for one waiting job; stopped (thread joined, its
    connection closed) after the test.

    Each job starts once the request that queued it has finished. The embedded suite's
    database is SQLite's shared-cache memory database, where a write that meets another
    connection's read of the same table fails at once ("database table is locked", seen
    in CI: the worker's first UPDATE against the request still drawing its answer)
    instead of waiting, as the embedded default's file database does."""
    from config.celery import app

    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setitem(app.conf, "task_always_eager", True)  # the embedded default
    real = background.Worker(size=1)
    idle = threading.Event()
    idle.set()

    def request_started_(**kwargs) -> None:
        idle.clear()

    def request_finished_(**kwargs) -> None:
        idle.set()

    request_started.connect(request_started_)
    request_finished.connect(request_finished_)
    submit = real.submit

    def after_the_request(job, key=None) -> None:
        def gated():
            assert idle.wait(WAIT), "the request that queued the job never finished"
            return job()

        submit(gated, key)

    monkeypatch.setattr(real, "submit", after_the_request)
    monkeypatch.setattr("scoring.background.worker", real)
    yield real
    real.stop()
    request_started.disconnect(request_started_)
    request_finished.disconnect(request_finished_)


@pytest.fixture
def blocked_pdf(monkeypatch):
    """PDF rendering that signals ``started`` and then waits for ``release``."""
    started, release = threading.Event(), threading.Event()
    real_render = pdf.render

    def render(report, **kwargs):
        started.set()
        assert release.wait(WAIT), "the test never released the export"
        return real_render(report, **kwargs)

    monkeypatch.setattr(pdf, "render", render)
    yield started, release
    release.set()  # a failing test must not leave the thread waiting


@pytest.fixture
def played(alice):
    exercise, _ = factories.make_played_exercise(facilitator=alice)
    report_compute(exercise=exercise)
    return exercise


def _request(client, exercise, fmt="pdf"):
    url = reverse("scoring:export-create", args=[exercise.code])
    return client.post(url, {"format": fmt}, HTTP_HX_REQUEST="true")


def _status(client, exercise, export) -> str:
    url = reverse("scoring:export-status", args=[exercise.code, export.code])
    return client.get(url).content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_request_returns_before_the_pdf_is_built(client, alice, played, worker, blocked_pdf):
    started, release = blocked_pdf
    client.force_login(alice)
    response = _request(client, played)
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in response.content.decode()
    assert started.wait(WAIT)  # the worker thread is building it, the request is over
    export = ReportExport.objects.get(exercise=played)
    assert (export.status, export.progress) == ("running", 50)
    polled = _status(client, played, export)
    assert 'value="50"' in polled
    assert "every 1s" in polled
    release.set()
    assert worker.drain(WAIT)
    export.refresh_from_db()
    assert (export.status, export.progress) == ("done", 100)
    assert export.file.name.endswith(".pdf")
    polled = _status(client, played, export)
    assert "Download" in polled
    assert "every 1s" not in polled
    download = client.get(reverse("scoring:export-download", args=[played.code, export.code]))
    assert b"".join(download.streaming_content).startswith(b"%PDF")


@pytest.mark.django_db(transaction=True)
def test_a_full_queue_is_recorded_on_the_export_not_raised(
    client, alice, played, worker, blocked_pdf
):
    started, release = blocked_pdf
    client.force_login(alice)
    _request(client, played)
    assert started.wait(WAIT)  # the first is running: the queue is empty again
    assert _request(client, played).status_code == 200  # waits in the queue (size 1)
    refused = _request(client, played)
    assert refused.status_code == 200
    third = ReportExport.objects.filter(exercise=played).order_by("id").last()
    assert third.status == "failed"
    assert "Too many exports are waiting" in _status(client, played, third)
    release.set()
    assert worker.drain(WAIT)
    statuses = list(ReportExport.objects.filter(exercise=played).order_by("id"))
    assert [e.status for e in statuses] == ["done", "done", "failed"]


@pytest.mark.django_db(transaction=True)
def test_a_failing_export_is_shown_as_failed(client, alice, played, worker, monkeypatch):
    def broken(report, **kwargs):
        raise RuntimeError("Nimbus said **no**")

    monkeypatch.setattr(pdf, "render", broken)
    client.force_login(alice)
    assert _request(client, played).status_code == 200
    assert worker.drain(WAIT)
    export = ReportExport.objects.get(exercise=played)
    assert export.status == "failed"
    shown = _status(client, played, export)
    assert "could not be made (RuntimeError)" in shown
    assert "Nimbus said" not in shown  # an error's text can quote what a player typed


def test_a_stopped_worker_leaves_no_thread():
    real = background.Worker(size=1)
    done = threading.Event()
    real.submit(done.set)
    assert real.drain(WAIT)
    assert done.is_set()
    real.stop()
    assert not [t for t in threading.enumerate() if t.name == "cascade-exports"]


@pytest.mark.django_db(transaction=True)
def test_an_export_lost_with_an_earlier_process_is_queued_again_when_polled(
    client, alice, played, worker, monkeypatch
):
    # A row left "running" by a process that died: no worker of this process holds it.
    monkeypatch.setattr("scoring.jobs._requeued", set())
    lost = ReportExport.objects.create(
        exercise=played, format="pdf", requested_by=alice, status="running", progress=50
    )
    client.force_login(alice)
    assert "every 1s" in _status(client, played, lost)  # still shown as under way...
    assert worker.drain(WAIT)  # ...and built by this process's worker
    lost.refresh_from_db()
    assert (lost.status, lost.progress) == ("done", 100)
    assert "Download" in _status(client, played, lost)


@pytest.mark.django_db(transaction=True)
def test_an_export_under_way_is_not_queued_twice(client, alice, played, worker, blocked_pdf):
    started, release = blocked_pdf
    client.force_login(alice)
    _request(client, played)
    assert started.wait(WAIT)
    export = ReportExport.objects.get(exercise=played)
    assert worker.holds(export.id)
    _status(client, played, export)  # the worker holds it: polling queues nothing
    assert worker._jobs.qsize() == 0
    release.set()
    assert worker.drain(WAIT)
    assert not worker.holds(export.id)
