"""Garbage collection at a server process's quiet moments (``config/idle_gc.py``): which
generation is collected, when a check counts as quiet (an event loop's check on time, a
gunicorn worker with no request in flight), and one checker per event loop."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from config import idle_gc
from config.idle_gc import (
    BUSY_LAG_SECONDS,
    EARLY_SHARE,
    TICK_SECONDS,
    IdleCollector,
    LoopChecks,
    OldGeneration,
    RequestGaps,
    collect_while_idle,
    generation_due,
)

THRESHOLDS = (50_000, 10, 10)
HALF = int(THRESHOLDS[0] * EARLY_SHARE)


def never_asked() -> bool:
    raise AssertionError("counted the old generation when no full collection was due")


@pytest.mark.parametrize(
    ("counts", "grew", "due"),
    [
        ((HALF - 1, 99, 99), True, None),  # CPython's next collection is not near
        ((HALF, 0, 0), False, 0),
        ((HALF, 11, 0), False, 1),
        ((HALF, 11, 11), True, 2),
        ((HALF, 11, 11), False, 1),  # the old objects did not grow by a quarter
        ((HALF, 3, 11), False, 0),
    ],
)
def test_it_collects_what_cpython_would_collect_once_half_way_there(counts, grew, due) -> None:
    assert generation_due(counts, THRESHOLDS, old_objects_grew=lambda: grew) == due


def test_it_counts_the_old_generation_only_when_a_full_collection_could_be_due() -> None:
    assert generation_due((HALF, 11, 10), THRESHOLDS, old_objects_grew=never_asked) == 1


class FakeLoop:
    """An event loop's clock and timer, moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[tuple[float, object]] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback) -> None:
        self.timers.append((when, callback))

    def fire(self, *, late_by: float) -> None:
        when, callback = self.timers.pop(0)
        self.now = when + late_by
        callback()


def collector(collected: list[int], counts=(HALF, 0, 0)) -> IdleCollector:
    return IdleCollector(
        old=OldGeneration(),
        collect=collected.append,
        counts=lambda: counts,
        thresholds=lambda: THRESHOLDS,
    )


def collector_on(loop: FakeLoop, collected: list[int], counts=(HALF, 0, 0)) -> None:
    LoopChecks(loop, collector(collected, counts)).start()


def test_a_check_on_time_collects_and_the_next_check_follows_a_tick_later() -> None:
    loop, collected = FakeLoop(), []
    collector_on(loop, collected)
    assert [when for when, _ in loop.timers] == [100.0 + TICK_SECONDS]
    loop.fire(late_by=BUSY_LAG_SECONDS)
    assert collected == [0]
    assert [when for when, _ in loop.timers] == [loop.now + TICK_SECONDS]


def test_a_late_check_means_a_busy_loop_so_it_collects_nothing_and_checks_again() -> None:
    loop, collected = FakeLoop(), []
    collector_on(loop, collected)
    loop.fire(late_by=BUSY_LAG_SECONDS * 2)
    assert collected == []
    loop.fire(late_by=0)
    assert collected == [0]


def test_a_quiet_check_with_few_young_objects_collects_nothing() -> None:
    loop, collected = FakeLoop(), []
    collector_on(loop, collected, counts=(HALF - 1, 0, 0))
    loop.fire(late_by=0)
    assert (collected, len(loop.timers)) == ([], 1)


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_quiet_check_frees_the_young_cyclic_garbage() -> None:
    garbage = Cycle()
    gone = weakref.ref(garbage)
    del garbage
    loop = FakeLoop()
    quiet = IdleCollector(
        old=OldGeneration(), counts=lambda: (HALF, 0, 0), thresholds=lambda: THRESHOLDS
    )
    LoopChecks(loop, quiet).start()
    assert gone() is not None  # a cycle: reference counting alone does not free it
    loop.fire(late_by=0)
    assert gone() is None


def test_a_gunicorn_worker_collects_only_while_no_request_is_in_flight() -> None:
    collected: list[int] = []
    gaps = RequestGaps(collector(collected))
    gaps.started()
    gaps.started()
    gaps.finished()
    gaps.check()
    assert collected == []
    gaps.finished()
    gaps.check()
    assert collected == [0]


def test_the_gunicorn_hooks_start_the_workers_checks_and_count_its_requests(
    monkeypatch,
) -> None:
    monkeypatch.setenv("DATABASE_POOL", "4")  # what importing the settings file would set
    from config import gunicorn

    started = []
    monkeypatch.setattr(RequestGaps, "start", lambda self: started.append(self))
    worker = type("Worker", (), {})()
    gunicorn.post_worker_init(worker)
    gunicorn.pre_request(worker, None)
    assert (started, worker.request_gaps.in_flight) == ([worker.request_gaps], 1)
    gunicorn.post_request(worker, None, {}, None)
    assert worker.request_gaps.in_flight == 0


def test_the_old_generation_grew_once_a_quarter_more_objects_reached_it() -> None:
    old = OldGeneration()
    gc.callbacks.append(old.on_collection)
    gc.disable()  # no automatic collection in between
    try:
        gc.collect()
        assert old.after_full is None  # a full collection calls for a recount
        assert old.grew() is False
        kept = [[] for _ in range(old.after_full // 4 + 1_000)]
        gc.collect(1)  # promotes them to the old generation
        assert old.grew() is True
        del kept
    finally:
        gc.enable()
        gc.callbacks.remove(old.on_collection)


@pytest.mark.asyncio
async def test_the_first_connection_on_a_loop_starts_its_one_checker(monkeypatch) -> None:
    started: list[asyncio.AbstractEventLoop] = []
    monkeypatch.setattr(LoopChecks, "start", lambda self: started.append(self.loop))
    served = []

    async def app(scope, receive, send) -> None:
        served.append(scope["type"])

    application = collect_while_idle(app)
    await application({"type": "websocket"}, None, None)
    await application({"type": "http"}, None, None)
    assert (started, served) == ([asyncio.get_running_loop()], ["websocket", "http"])


def test_a_closed_loop_takes_its_checker_with_it() -> None:
    loop = asyncio.new_event_loop()

    async def app(scope, receive, send) -> None:
        return None

    loop.run_until_complete(collect_while_idle(app)({"type": "http"}, None, None))
    assert loop in idle_gc._checked
    gone = weakref.ref(loop)
    loop.close()
    del loop
    gc.collect()
    assert gone() is None
