"""When the next sweep of an exercise runs: Celery with a real broker, or an in-process timer.

The engine (``exercises.engine.timing``) asks for sweeps; this module only times them and
runs the Celery task ``exercises.release_due`` (``exercises.tasks``, which calls the
engine back). It names that task rather than importing it, so the engine can ask for a
sweep without an import loop; ``ExercisesConfig.ready`` imports the tasks, so the name is
always registered.

With a real broker (``REDIS_URL`` set) ``schedule_sweep`` enqueues the task with
``countdown``; a worker runs it when due.

In the embedded default Celery runs tasks eagerly and *ignores* ``countdown``/``eta``, so
this module keeps a tiny in-process scheduler instead: ONE daemon thread, started lazily,
sleeping on a heap of ``(due_time, callable)``. When an entry falls due the thread runs the
same task body (``release_due``) with its own database connection, closed afterwards. The
embedded default is one process, so one thread is enough; entries die with the process,
which is fine because every sweep is derived from the database: after a restart the first
socket that connects (``engine.recover_after_restart``, once ``claim_recovery`` lets it)
sweeps every running exercise once, which releases what fell due while the server was
down and schedules the rest.

Duplicate requests for the same ``(exercise, epoch, due_clock)`` are dropped (a cache
``add``, shared between processes when the cache is Redis). Stale entries are harmless:
the task compares epochs and does nothing. When the sweep was scheduled from inside the
ASGI server (a view, a consumer), it runs on that server's event loop's worker threads,
because the in-memory channel layer only wakes sockets from its own loop.

Set ``CASCADE_INPROCESS_SCHEDULER = False`` (tests do) to keep the thread off. Under a
``clock.ManualClock`` (demo seeding, tests) sweeps go to that clock, which runs them as it
is moved forward.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable

from asgiref.sync import SyncToAsync, sync_to_async
from celery import Task, current_app
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection

from exercises import clock

logger = logging.getLogger(__name__)

SWEEP_TASK = "exercises.release_due"  # exercises.tasks.release_due(exercise_id, epoch)


class InProcessScheduler:
    """A heap of ``(due_time, n, callable)`` served by one lazily started daemon thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, Callable[[], object]]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def call_later(self, delay: float, fn: Callable[[], object]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (self._clock() + max(delay, 0.0), next(self._counter), fn))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="cascade-scheduler", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > self._clock():
                    timeout = self._heap[0][0] - self._clock() if self._heap else None
                    self._cond.wait(timeout)
                _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception:
                logger.exception("Scheduled exercise work failed")


_scheduler = InProcessScheduler()


def _in_fresh_connection(fn: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        close_old_connections()
        try:
            fn()
        finally:
            connection.close()

    return run


def _in_process() -> bool:
    """The embedded default's timer is the one in use (eager Celery, scheduler on)."""
    return settings.CELERY_TASK_ALWAYS_EAGER and getattr(
        settings, "CASCADE_INPROCESS_SCHEDULER", True
    )


class _Recovery:
    done = False
    lock = threading.Lock()


def needs_recovery() -> bool:
    """True until this process has swept its running exercises (embedded default only)."""
    return not _Recovery.done and _in_process()


def claim_recovery() -> bool:
    """True once per process in the embedded default: the caller then sweeps every
    running exercise (``engine.recover_after_restart``)."""
    with _Recovery.lock:
        if _Recovery.done or not _in_process():
            return False
        _Recovery.done = True
        return True


def _sweep_task() -> Task:
    return current_app.tasks[SWEEP_TASK]


def schedule_sweep(
    *, exercise_id: int, epoch: int, due_clock: float, delay: float, again: bool = False
) -> bool:
    """Arrange for ``release_due(exercise_id, epoch)`` to run in ``delay`` seconds.

    Returns False when the same sweep is already scheduled (or scheduling is off);
    ``again`` schedules it anyway (the earlier one may have died with its process).
    """
    task = _sweep_task()
    timer = clock.active()
    if timer.manual:
        # A manual clock (demo seeding, tests) runs the sweep when it is moved past it.
        timer.call_later(delay, lambda: task.run(exercise_id, epoch))
        return True
    eager = settings.CELERY_TASK_ALWAYS_EAGER
    if eager and not _in_process():
        return False
    key = f"cascade:sweep:{exercise_id}:{epoch}:{due_clock:.3f}"
    if again:
        cache.set(key, 1, timeout=int(delay) + 120)
    elif not cache.add(key, 1, timeout=int(delay) + 120):
        return False
    if not eager:
        task.apply_async(args=[exercise_id, epoch], countdown=delay)
        return True
    body = _in_fresh_connection(lambda: task.run(exercise_id, epoch))
    # A little slack so the exercise clock has surely reached ``due_clock``.
    _scheduler.call_later(delay + 0.05, _on_server_loop(body, _caller_event_loop()))
    return True


def _caller_event_loop() -> asyncio.AbstractEventLoop | None:
    """The ASGI server's event loop when called from one of its worker threads (a view or
    a consumer's database call), else None."""
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    return getattr(SyncToAsync.threadlocal, "main_event_loop", None)


def _on_server_loop(
    body: Callable[[], None], loop: asyncio.AbstractEventLoop | None
) -> Callable[[], None]:
    """Run ``body`` in a worker thread *of the server's event loop*, so its publishing
    (``async_to_sync``) happens on that loop: the in-memory channel layer's queues belong
    to it and are not thread-safe (a put from another loop would not wake the sockets)."""

    def run() -> None:
        if loop is None or loop.is_closed() or not loop.is_running():
            body()
            return
        coroutine = sync_to_async(body, thread_sensitive=False)()
        asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    return run
