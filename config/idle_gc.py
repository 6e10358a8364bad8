"""Garbage collection in a server process's quiet moments, not in the middle of a burst.

CPython collects when ``YOUNG_OBJECTS`` (``config/startup.py``) objects have piled up,
whatever the process is doing: after a thousand players join, the young collection that
walks their sockets' objects (~23 ms) came due in the middle of the first inject's frames
in most bench runs, and a process holding thousands of sockets paused 0.3-0.8 s for a full
collection now and then, on an inject if one was going out (bench/README.md, session 9).

Here every ``TICK_SECONDS`` each Daphne event loop that serves a connection checks whether
it is quiet (``LoopChecks``: the check itself ran on time, no burst of frames or
handshakes held the loop), and a thread of each gunicorn worker whether no request is in
flight (``RequestGaps``: a young collection there paused a release POST, so every frame
of that inject). When quiet, once the young objects have reached ``EARLY_SHARE`` of
``YOUNG_OBJECTS``, it collects what CPython would collect when they overflow: that
collection comes a little early, at a quiet moment, instead of in the burst that would
have tipped it over. ``YOUNG_OBJECTS`` stays the backstop for a process never quiet.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

TICK_SECONDS = 0.1
# A check this late ran after other work held the loop: frames going out, handshakes.
BUSY_LAG_SECONDS = 0.005
# A quiet loop collects once its young objects reach this share of the threshold: early
# enough that a burst's own objects (a few per socket) do not reach it, late enough that
# the collections stay as few as CPython's. Collecting young objects more often (every
# 2,000) promoted the sockets' objects sooner: 6 full collections of 110-120 ms per
# Daphne process in a 1,000-socket run, where CPython ran none.
EARLY_SHARE = 0.5


def generation_due(
    counts: tuple[int, int, int],
    thresholds: tuple[int, int, int],
    *,
    old_objects_grew: Callable[[], bool],
) -> int | None:
    """The generation CPython would collect if its young objects overflowed now, once
    they have reached ``EARLY_SHARE`` of their threshold (before that, its next collection
    is not near: a burst would not bring it); else None.

    CPython's rule (``Modules/gcmodule.c``, collect_generations): the oldest generation
    whose count passed its threshold, except the oldest of all, which waits until the
    objects it would walk grew by a quarter since its last collection
    (``old_objects_grew``, asked only then: it counts them).
    """
    young, middle, old = counts
    young_limit, middle_limit, old_limit = thresholds
    if young < young_limit * EARLY_SHARE:
        return None
    if old > old_limit and old_objects_grew():
        return 2
    if middle > middle_limit:
        return 1
    return 0


class OldGeneration:
    """How many objects the oldest generation held after its last full collection: the
    measure of CPython's "grew by a quarter" (its own ``long_lived_total`` is not readable
    from Python). A full collection, this module's or CPython's, marks it for a recount
    (``on_collection``, one of ``gc.callbacks``)."""

    def __init__(self) -> None:
        self.after_full: int | None = None

    def on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            self.after_full = None

    def grew(self) -> bool:
        now = len(gc.get_objects(generation=2))
        if self.after_full is None:
            self.after_full = now
            return False
        return now - self.after_full > self.after_full / 4


class IdleCollector:
    """Collects what ``generation_due`` says, when its driver has found the process quiet."""

    def __init__(
        self,
        *,
        old: OldGeneration,
        collect: Callable[[int], Any] = gc.collect,
        counts: Callable[[], tuple[int, int, int]] = gc.get_count,
        thresholds: Callable[[], tuple[int, int, int]] = gc.get_threshold,
    ) -> None:
        self.old, self.collect, self.counts, self.thresholds = old, collect, counts, thresholds

    def collect_if_due(self) -> None:
        generation = generation_due(
            self.counts(), self.thresholds(), old_objects_grew=self.old.grew
        )
        if generation is not None:
            self.collect(generation)


class LoopChecks:
    """Checks an event loop every ``TICK_SECONDS``: quiet when the check ran on time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, collector: IdleCollector) -> None:
        self.loop, self.collector = loop, collector
        self.due = 0.0

    def start(self) -> None:
        self.due = self.loop.time() + TICK_SECONDS
        self.loop.call_at(self.due, self.check)

    def check(self) -> None:
        if self.loop.time() - self.due <= BUSY_LAG_SECONDS:
            self.collector.collect_if_due()
        self.start()


class RequestGaps:
    """A gunicorn worker's requests in flight (its ``pre_request`` and ``post_request``
    hooks, ``config/gunicorn.py``); a thread checks every ``TICK_SECONDS`` and collects
    while none is. A release POST that arrives meanwhile waits for the collection, as it
    would have waited for CPython's."""

    def __init__(self, collector: IdleCollector) -> None:
        self.collector = collector
        self.in_flight = 0
        self.lock = threading.Lock()

    def started(self) -> None:
        with self.lock:
            self.in_flight += 1

    def finished(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def check(self) -> None:
        if self.in_flight == 0:
            self.collector.collect_if_due()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="idle-gc", daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        while True:
            time.sleep(TICK_SECONDS)
            self.check()


_old = OldGeneration()
gc.callbacks.append(_old.on_collection)
# Only the loop's timer holds its checks: a closed loop drops them.
_checked: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def collect_while_idle(app):
    """ASGI middleware: the first connection on an event loop starts its ``LoopChecks``
    (Daphne's loop runs only once the server is up, so not at import)."""

    async def application(scope, receive, send):
        loop = asyncio.get_running_loop()
        if loop not in _checked:
            _checked.add(loop)
            LoopChecks(loop, IdleCollector(old=_old)).start()
        return await app(scope, receive, send)

    return application


def request_gaps() -> RequestGaps:
    """A gunicorn worker's ``RequestGaps``, not started."""
    return RequestGaps(IdleCollector(old=_old))
