"""``config.metrics.frame_pushed``: a frame is timed when it is sent and recorded a
little later, once Daphne has written it, so the sockets woken by one event are not
delayed by the recording; outside an event loop, at once."""

from __future__ import annotations

import asyncio

import pytest

from config import metrics
from tests.config.test_operations import sample

LATER = metrics.RECORD_FRAMES_AFTER * 2  # the recording falls due before this


def recorded() -> tuple[float, float, float]:
    """Live frames, fan-out observations and their sum, as ``/metrics`` reads them."""
    return (
        sample("cascade_frames_pushed_total", source="live"),
        sample("cascade_fanout_seconds_count"),
        sample("cascade_fanout_seconds_sum"),
    )


def test_outside_an_event_loop_a_frame_is_recorded_at_once():
    frames, fanouts, _ = recorded()
    metrics.frame_pushed({"published_at": metrics.time.time()})
    metrics.frame_pushed({})  # not stamped: counted, with no fan-out latency
    assert recorded()[:2] == (frames + 2, fanouts + 1)


@pytest.mark.asyncio
async def test_frames_are_recorded_after_the_turns_that_write_them(monkeypatch):
    now = 1_000.0
    monkeypatch.setattr(metrics.time, "time", lambda: now)
    frames, fanouts, total = recorded()
    for latency in (0.010, 0.020, 0.030):
        metrics.frame_pushed({"published_at": now - latency})
    await asyncio.sleep(0)  # the next turn, where Daphne writes them
    assert recorded() == (frames, fanouts, total)  # timed, not yet recorded
    await asyncio.sleep(LATER)
    after = recorded()
    assert after[:2] == (frames + 3, fanouts + 3)
    assert after[2] - total == pytest.approx(0.060)  # each latency as it was when sent


@pytest.mark.asyncio
async def test_a_frame_sent_after_a_recording_gets_a_recording_of_its_own():
    frames = recorded()[0]
    metrics.frame_pushed({})
    await asyncio.sleep(LATER)
    metrics.frame_pushed({})
    await asyncio.sleep(LATER)
    assert recorded()[0] == frames + 2


def test_a_loop_closed_before_its_recording_takes_only_its_own_frames():
    frames = recorded()[0]

    async def send(count: int, wait: float) -> None:
        for _ in range(count):
            metrics.frame_pushed({})
        await asyncio.sleep(wait)

    asyncio.run(send(2, 0))  # closed before its recording fell due: a shutdown
    asyncio.run(send(1, LATER))  # its own frame, not the closed loop's
    assert recorded()[0] == frames + 1
