"""Where live exercises read the time: one clock that tests and the demo seeder can set.

Production reads the system clock. A ``ManualClock`` (the demo seeder, tests) stands still
until it is moved, and runs the exercise's timed work itself, in due order, as it moves:
the scheduler hands it its sweeps instead of a Celery countdown or the in-process timer
(``exercises.scheduler.schedule_sweep``). Nothing is patched: code asks this module.

The running time of an exercise (pauses excluded) is derived from these datetimes by
``elapsed_seconds``; ``exercise_clock`` reads it off an exercise row.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Protocol

from django.utils import timezone


class SystemClock:
    """Real time; timed work is left to the scheduler."""

    manual = False

    def now(self) -> datetime:
        return timezone.now()


class ManualClock:
    """A clock that moves only when told to, and runs the work that falls due on the way.

    ``call_later`` keeps a heap of ``(due, n, callable)``; ``advance_to`` pops every entry
    due by the new time, moving the clock to each entry's due time before running it (so
    the work sees the time it was due at), then settles on the new time. Never goes back.
    """

    manual = True

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._due: list[tuple[datetime, int, Callable[[], object]]] = []
        self._counter = itertools.count()

    def now(self) -> datetime:
        return self._now

    def call_later(self, delay: float, fn: Callable[[], object]) -> None:
        due = self._now + timedelta(seconds=max(delay, 0.0))
        heapq.heappush(self._due, (due, next(self._counter), fn))

    def pending(self) -> int:
        return len(self._due)

    def advance_to(self, moment: datetime) -> None:
        while self._due and self._due[0][0] <= moment:
            due, _, fn = heapq.heappop(self._due)
            self._now = max(self._now, due)
            fn()
        self._now = max(self._now, moment)

    def advance(self, seconds: float) -> None:
        self.advance_to(self._now + timedelta(seconds=seconds))


Clock = SystemClock | ManualClock

_SYSTEM = SystemClock()
_active: list[Clock] = [_SYSTEM]


def active() -> Clock:
    """The clock in force (the system clock unless ``use`` set another)."""
    return _active[-1]


def now() -> datetime:
    return active().now()


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Read time from ``clock`` for the block, in every thread of the process (a consumer's
    database calls run in worker threads and must see the same time). For seeding and
    tests, which run one at a time; a server never sets a clock."""
    _active.append(clock)
    try:
        yield clock
    finally:
        _active.remove(clock)


def elapsed_seconds(
    offset_seconds: float, running_since: datetime | None, *, at: datetime | None = None
) -> float:
    """Seconds an exercise has run at ``at`` (default now), pauses excluded: what it had
    run before its last resume, plus the time since when it is running."""
    if running_since is not None:
        offset_seconds += ((at or now()) - running_since).total_seconds()
    return max(offset_seconds, 0.0)


class Clocked(Protocol):
    """What ``exercise_clock`` reads of an exercise (``Exercise`` has both columns)."""

    clock_offset_seconds: float
    running_since: datetime | None


def exercise_clock(exercise: Clocked, *, now: datetime | None = None) -> float:
    """Seconds the exercise has been running at ``now`` (default: this clock's now),
    pauses excluded."""
    return elapsed_seconds(exercise.clock_offset_seconds, exercise.running_since, at=now)
