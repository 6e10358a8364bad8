"""The one clock of live exercises: system time by default, a manual clock when set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from exercises import clock

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_it_reads_system_time_by_default():
    before = timezone.now()
    assert before <= clock.now() <= timezone.now()
    assert not clock.active().manual


def test_it_moves_a_manual_clock_only_forward_and_restores_the_system_clock():
    with clock.use(clock.ManualClock(START)) as manual:
        assert clock.now() == START
        manual.advance_to(START + timedelta(minutes=7))
        manual.advance_to(START)  # never backwards
        assert clock.now() == START + timedelta(minutes=7)
    assert not clock.active().manual


def test_it_runs_due_work_in_order_at_the_time_it_was_due():
    seen: list[tuple[str, datetime]] = []
    manual = clock.ManualClock(START)
    with clock.use(manual):
        manual.call_later(30, lambda: seen.append(("b", clock.now())))
        manual.call_later(10, lambda: seen.append(("a", clock.now())))
        manual.call_later(90, lambda: seen.append(("c", clock.now())))
        manual.advance(60)
    assert seen == [("a", START + timedelta(seconds=10)), ("b", START + timedelta(seconds=30))]
    assert manual.now() == START + timedelta(seconds=60)
    assert manual.pending() == 1


def test_it_counts_running_time_without_pauses():
    running_since = START
    at = START + timedelta(seconds=42)
    assert clock.elapsed_seconds(100.0, running_since, at=at) == 142.0
    assert clock.elapsed_seconds(100.0, None, at=at) == 100.0
    assert clock.elapsed_seconds(-5.0, None) == 0.0
