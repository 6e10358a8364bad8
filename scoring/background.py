"""The embedded default's worker for long exports: one thread, a bounded queue.

With a real broker (``REDIS_URL``) exports are Celery tasks run by workers. In the
embedded default Celery runs tasks eagerly, in the caller, which would build a PDF inside
the request that asked for it. ``scoring.jobs`` hands such jobs to this worker instead:
ONE daemon thread, started lazily, serving a queue of at most ``QUEUE_SIZE`` waiting
jobs. One thread is enough — the embedded default is one process on a small machine, and
PDF rendering is CPU-bound, so two at once would each take twice as long. Each job runs
with its own database connection, closed afterwards, so nothing leaks into the next job
or outlives the thread. What a job achieved is recorded by the job itself (the
``ReportExport`` row: progress, outcome, error), never here; a job that raises is logged.

Jobs die with the process, like the scheduler's entries. The worker knows which keys it
holds (queued or running), so a caller can tell a job lost with an earlier process from
one still under way: ``scoring.jobs`` queues an export again when its page polls a row
that no worker holds.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)

QUEUE_SIZE = 8


class QueueFull(Exception):
    """More jobs are waiting than the worker accepts; the caller records the refusal."""


class Worker:
    """A bounded queue served by one lazily started daemon thread."""

    def __init__(self, size: int = QUEUE_SIZE) -> None:
        self._jobs: queue.Queue[tuple[object, Callable[[], object]] | None] = queue.Queue(
            maxsize=size
        )
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # Keys of the jobs queued or running: at most ``size`` + 1, so bounded.
        self._held: set[object] = set()

    def holds(self, key: object) -> bool:
        """Whether the job submitted under ``key`` is still queued or running here."""
        with self._lock:
            return key in self._held

    def submit(self, job: Callable[[], object], key: object = None) -> None:
        """Queue ``job``; raises ``QueueFull`` when ``size`` jobs are already waiting."""
        try:
            self._jobs.put_nowait((key, job))
        except queue.Full:
            raise QueueFull from None
        with self._lock:
            if key is not None:
                self._held.add(key)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="cascade-exports", daemon=True
                )
                self._thread.start()

    def drain(self, timeout: float) -> bool:
        """Wait until every queued job has finished; False if ``timeout`` passed first."""
        finished = threading.Event()

        def wait() -> None:
            self._jobs.join()
            finished.set()

        threading.Thread(target=wait, daemon=True).start()
        return finished.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the queued jobs, then end the thread (tests: nothing outlives them)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._jobs.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                self._jobs.task_done()
                return
            key, job = item
            try:
                close_old_connections()
                job()
            except Exception:
                logger.exception("Background export job failed")
            finally:
                connection.close()
                with self._lock:
                    self._held.discard(key)
                self._jobs.task_done()


worker = Worker()
