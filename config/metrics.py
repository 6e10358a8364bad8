"""Prometheus figures of the live runtime, served by ``/metrics`` (``config.views``).

Only ``prometheus_client``; nothing here imports an app, so the live path (consumers,
broadcast, timing) records with one call each:

- ``cascade_open_sockets``: live exercise sockets open, per process (``pid`` label when
  several processes share ``PROMETHEUS_MULTIPROC_DIR``);
- ``cascade_frames_pushed_total{source}``: event frames sent to browsers, ``live`` pushes
  and ``catch_up`` frames read from the database;
- ``cascade_fanout_seconds``: from handing an event's push to the channel layer to a
  socket sending it (wall clock of two processes: keep hosts NTP-synced); live frames
  are timed as they are sent and recorded ``RECORD_FRAMES_AFTER`` later;
- ``cascade_timed_work_lag_seconds``: how late timed work (injects, prompt openings and
  deadlines, delayed consequences) ran after it fell due, on the exercise clock;
- ``cascade_events_published_total{kind}`` and ``cascade_decisions_total``: decisions per
  minute is ``rate(cascade_decisions_total[1m]) * 60``;
- ``cascade_exercise_lock_wait_seconds`` and ``cascade_exercise_lock_held_seconds``: how
  long a write waited for its exercise's row lock, and held it until its commit. Every
  write of an exercise (each decision, share, release) takes that lock, so when writers
  queue for it the held time, not the CPU, caps the exercise's writes per second
  (PostgreSQL; on SQLite the write transaction itself is the lock). A decision that
  takes the lock in the statement that writes it (``engine.core.emit_for_team_if``)
  counts that statement as its wait and the time from its answer to the commit as the
  hold: the wait a little long, the hold a little short.

With several processes on a host (Daphne processes, gunicorn's workers, a Celery worker),
set ``PROMETHEUS_MULTIPROC_DIR`` to one empty directory for all of them: each writes its
figures there and any process's ``/metrics`` answers for them all (gunicorn's workers
publish the decisions, Daphne's processes push the frames; ``config/gunicorn.py`` marks a
worker that exits as dead there).
"""

from __future__ import annotations

import asyncio
import os
import time
import weakref
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

OPEN_SOCKETS = Gauge(
    "cascade_open_sockets",
    "Live exercise sockets open in this process.",
    multiprocess_mode="liveall",
)
FRAMES = Counter("cascade_frames_pushed", "Event frames sent to browsers.", ["source"])
FANOUT = Histogram(
    "cascade_fanout_seconds",
    "From handing an event to the channel layer to a socket sending its frame.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TIMED_LAG = Histogram(
    "cascade_timed_work_lag_seconds",
    "How late timed work ran after it fell due (exercise clock).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
LOCK_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
LOCK_WAIT = Histogram(
    "cascade_exercise_lock_wait_seconds",
    "Waiting for an exercise's row lock.",
    buckets=LOCK_BUCKETS,
)
LOCK_HELD = Histogram(
    "cascade_exercise_lock_held_seconds",
    "From taking an exercise's row lock to the commit that released it.",
    buckets=LOCK_BUCKETS,
)
EVENTS = Counter("cascade_events_published", "Events published to sockets, by kind.", ["kind"])
DECISIONS = Counter("cascade_decisions", "Decisions submitted and published.")

_open: weakref.WeakSet[Any] = weakref.WeakSet()


def socket_opened(socket: Any) -> None:
    if socket not in _open:
        _open.add(socket)
        OPEN_SOCKETS.inc()


def socket_closed(socket: Any) -> None:
    """Counts only sockets that were opened (a refused handshake also disconnects)."""
    if socket in _open:
        _open.discard(socket)
        OPEN_SOCKETS.dec()


def stamped(push: dict[str, Any]) -> dict[str, Any]:
    """The push with the time it is handed to the channel layer (``published_at``)."""
    return {**push, "published_at": time.time()}


# Fan-out latencies of frames sent and not yet recorded, by event loop. A published event
# wakes every socket of a process in one turn of its loop, and Daphne (Twisted) writes what
# they send at the loop's next turn: a frame recorded as it was sent (a locked write to a
# shared file with PROMETHEUS_MULTIPROC_DIR) delayed every frame of the burst. So a loop's
# frames are recorded together a little later, once written (bench/README.md, session 9).
# Each loop's list is touched by its own thread only; a loop closed before its recording
# (at shutdown, or a test's) takes its last frames' figures with it.
_unrecorded: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[float | None]] = (
    weakref.WeakKeyDictionary()
)
RECORD_FRAMES_AFTER = 0.05  # seconds: longer than a burst's writes, short for a scrape


def frame_pushed(push: dict[str, Any]) -> None:
    """A socket sent a live push; its fan-out latency if the publisher stamped it.

    Timed now, recorded ``RECORD_FRAMES_AFTER`` later (at once outside an event loop)."""
    published_at = push.get("published_at")
    fanout = max(time.time() - published_at, 0.0) if isinstance(published_at, float) else None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        _record([fanout])
        return
    pending = _unrecorded.get(loop)
    if pending is None:
        pending = _unrecorded[loop] = []
        loop.call_later(RECORD_FRAMES_AFTER, _record_pending, loop)
    pending.append(fanout)


def _record_pending(loop: asyncio.AbstractEventLoop) -> None:
    _record(_unrecorded.pop(loop, []))


def _record(fanouts: list[float | None]) -> None:
    for fanout in fanouts:
        if fanout is not None:
            FANOUT.observe(fanout)
    if fanouts:
        FRAMES.labels("live").inc(len(fanouts))


def frames_caught_up(count: int) -> None:
    if count:
        FRAMES.labels("catch_up").inc(count)


def event_published(kind: str) -> None:
    EVENTS.labels(kind).inc()
    if kind == "decision.submitted":
        DECISIONS.inc()


def exercise_lock_taken(waited: float) -> None:
    LOCK_WAIT.observe(waited)


def exercise_lock_released(held: float) -> None:
    LOCK_HELD.observe(held)


def timed_work_done(clock_now: float, due: Iterable[float]) -> None:
    """Timed work due at each of ``due`` (exercise clock) ran at ``clock_now``."""
    for at in due:
        TIMED_LAG.observe(max(clock_now - at, 0.0))


def exposition() -> tuple[bytes, str]:
    """The text format of every figure: this process's, or with
    ``PROMETHEUS_MULTIPROC_DIR`` those of every process sharing that directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
