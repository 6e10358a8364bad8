"""bench/bench_path.py's pure parts: how sockets are spread over client processes and
put back, how their joins add up, when players open their pages, the fan-out target, who
is seeded for which phase, where fan-out passes 1 s, what more processes buy, which
server log lines are errors, when each inject's frames came."""

from __future__ import annotations

import os
from collections import Counter
from types import SimpleNamespace

import pytest

from bench.bench_path import (
    QUIET_S,
    SETTLE_LIMIT_S,
    TARGET_FANOUT_P99_MS,
    Step,
    arrivals,
    breaks_at,
    deal,
    fanout_by_inject,
    fanout_misses,
    first_teams,
    gather,
    in_first_teams,
    inject_spans,
    joined,
    joined_together,
    layout_problem,
    lock_rows,
    logged_errors,
    more_servers_rows,
    scale_rhythm,
    seeded,
    wait_quiet,
)


def test_sockets_dealt_over_processes_come_back_in_their_order():
    specs = list(range(10))
    hands = deal(specs, 3)
    assert hands == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert gather(hands) == specs


def test_more_processes_than_sockets_makes_no_empty_process():
    assert deal([1, 2], 5) == [[1], [2]]


def test_the_joins_of_a_swarms_processes_add_up():
    together = joined_together(
        [
            joined(20.5, [0.1, 0.2], Counter()),
            joined(21.0, [0.3], Counter({"InvalidMessage()": 2})),
            joined(19.0, [], Counter({"InvalidMessage()": 1, "TimeoutError()": 1})),
        ]
    )
    assert together["seconds"] == 21.0  # they started together: the last one to finish
    assert sorted(together["handshakes"]) == [0.1, 0.2, 0.3]
    assert together["failures"] == Counter({"InvalidMessage()": 3, "TimeoutError()": 1})


def test_players_open_their_pages_evenly_over_the_window():
    offsets = arrivals(1000, 30.0)
    assert len(offsets) == 1000
    assert offsets[0] == 0
    assert offsets[-1] < 30.0
    assert offsets[500] == 15.0


def test_the_fanout_target_is_missed_at_one_second():
    assert fanout_misses(5000, TARGET_FANOUT_P99_MS - 1) == []
    assert fanout_misses(5000, TARGET_FANOUT_P99_MS) == [
        f"fan-out p99 1000 ms at 5000 sockets (target < {TARGET_FANOUT_P99_MS})"
    ]


def test_a_phases_players_come_from_the_first_teams_only():
    teams = [SimpleNamespace(pk=pk) for pk in (10, 11, 12)]
    players = [(f"user{i}", teams[i % 3]) for i in range(9)]  # seeded round-robin
    cookies = [f"c{i}" for i in range(9)]
    chosen, their_cookies = first_teams(players, cookies, count=5, teams=2)
    assert [user for user, _ in chosen] == ["user0", "user1", "user3", "user4", "user6"]
    assert {team.pk for _, team in chosen} == {10, 11}
    assert their_cookies == ["c0", "c1", "c3", "c4", "c6"]


def options(**given) -> SimpleNamespace:
    """bench_path's defaults (one command: all of issue 19), with ``given`` in their place."""
    defaults = {
        "participants": 1000,
        "teams": 100,
        "scale": 5000,
        "scale_teams": 500,
        "sweep": [1000, 2000, 3000],
        "start_players": 1000,
        "start_teams": 100,
    }
    return SimpleNamespace(**{**defaults, **given})


def test_the_one_command_seeds_the_scale_phase_and_the_main_phase_takes_its_first_teams():
    args = options()
    assert seeded(args) == (5000, 500)
    # Seeded round-robin: the first 100 of 500 teams hold 10 players each, as at 1,000.
    assert in_first_teams(5000, 500, 100) == 1000
    assert layout_problem(args) is None


def test_without_a_scale_phase_the_main_phase_is_seeded_as_before():
    for args in (options(scale=0, sweep=[]), options(participants=5000, teams=500, sweep=[])):
        assert seeded(args) == (args.participants, args.teams)
        assert layout_problem(args) is None


def test_a_sweep_step_above_the_scale_phase_seeds_its_players():
    assert seeded(options(sweep=[1000, 8000])) == (8000, 500)


def test_players_in_the_first_teams_when_they_do_not_divide_evenly():
    # 7 players in 3 teams: 3, 2, 2.
    assert [in_first_teams(7, 3, first) for first in (1, 2, 3, 4)] == [3, 5, 7, 7]


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        ({"participants": 2000}, "only 1000 there"),
        ({"sweep": [6000], "scale": 0}, "--sweep counts need as many players"),
        (
            {"scale": 0, "sweep": [], "start_players": 1000, "participants": 200, "teams": 20},
            "--start",
        ),
    ],
)
def test_a_layout_that_cannot_be_seeded_is_refused(given, complaint):
    assert complaint in layout_problem(options(**given))


def test_the_scale_phases_rhythm_takes_the_main_phases_places_and_leaves_it_alone():
    import argparse

    args = argparse.Namespace(
        join_rate=100, injects=20, gap=0.5, scale_join_rate=250, scale_injects=5, scale_gap=3.0
    )
    rhythm = scale_rhythm(args)
    assert (rhythm.join_rate, rhythm.injects, rhythm.gap) == (250, 5, 3.0)
    assert (args.join_rate, args.injects, args.gap) == (100, 20, 0.5)


def test_where_fanout_passes_one_second():
    assert breaks_at({1000: 200.0, 3000: 700.0, 2000: 400.0, 5000: 1200.0}) == (
        "between 3000 (700 ms) and 5000 sockets (1200 ms)"
    )
    assert breaks_at({1000: 200.0, 5000: 900.0}) == (
        "not up to 5000 sockets, the most tried (900 ms)"
    )
    assert breaks_at({1000: 1000.0, 2000: 300.0}) == (
        "at 1000 sockets already, the fewest tried (1000 ms)"
    )
    # A count whose sockets did not all connect is where it broke.
    assert breaks_at({1000: 200.0, 2000: None}) == (
        "between 1000 (200 ms) and 2000 sockets (not all connected)"
    )


def test_what_more_server_processes_buy():
    two = Step(5000, 2, 20.0, 300.0, [100.0] * 9 + [600.0], [500.0], [240.0, 236.0])
    three = Step(5000, 3, 20.0, 150.0, [100.0] * 9 + [450.0], [400.0], [200.0, 202.0, 201.0])
    rows = dict(more_servers_rows(two, three))
    assert rows["Cascade fan-out p50"] == "100 → 100 ms (1.00x)"
    assert rows["Cascade fan-out p99"] == "600 → 450 ms (0.75x)"
    assert rows["Cascade connect + hello, all"] == "20.0 → 20.0 s (1.00x)"
    assert rows["Cascade handshake p99"] == "300 → 150 ms (0.50x)"
    assert rows["RSS per process, largest"] == "240 → 202 MB (0.84x)"
    assert rows["RSS, all processes"] == "476 → 603 MB (1.27x)"


def test_the_frames_are_awaited_until_none_arrives_for_a_while():
    counts = iter([100, 100])
    assert wait_quiet(lambda: next(counts), sleep=lambda s: None) == QUIET_S  # quiet at once
    # Late frames under load: still arriving for two periods, then quiet.
    counts = iter([100, 150, 170, 170])
    assert wait_quiet(lambda: next(counts), sleep=lambda s: None) == 3 * QUIET_S


def test_the_wait_for_frames_has_an_end():
    counts = iter(range(10**6))  # a frame every time: never quiet
    assert wait_quiet(lambda: next(counts), sleep=lambda s: None) == SETTLE_LIMIT_S


def test_the_error_lines_of_this_runs_server_logs_are_found(tmp_path):
    daphne = tmp_path / "daphne-scale-2.log"
    daphne.write_text(
        '127.0.0.1:41382 - - [30/Nov/2026:20:29:55] "WSCONNECTING /ws/exercises/x/" - -\n'
        "2026-11-30 20:29:56,633 ERROR daphne.server: Exception inside application: boom\n"
        "Traceback (most recent call last):\n"
    )
    gunicorn = tmp_path / "gunicorn.log"
    gunicorn.write_text("[2026-11-30 20:49:11 +0000] [2676] [CRITICAL] WORKER TIMEOUT (pid:2676)\n")
    (tmp_path / "daphne-0.log").write_text("[INFO] Booting\n2026 WARNING Not Found: /x\n")
    earlier = tmp_path / "daphne-scale-0.log"  # an earlier run's, left in the same folder
    earlier.write_text("2026-11-29 ERROR daphne.server: Exception inside application\n")
    os.utime(earlier, (1_000_000, 1_000_000))
    (tmp_path / "bench.log").write_text("ERROR of some other program\n")

    assert logged_errors(tmp_path, since=2_000_000) == [
        "daphne-scale-2.log: 2026-11-30 20:29:56,633 ERROR daphne.server:"
        " Exception inside application: boom",
        "gunicorn.log: [2026-11-30 20:49:11 +0000] [2676] [CRITICAL] WORKER TIMEOUT (pid:2676)",
    ]


def test_each_injects_frames_are_timed_from_its_own_post():
    started = {7: 10.0, 8: 10.5, 9: 11.0}
    frames = [  # (socket, [(seq, arrival)]) as the swarm's snapshot gives them
        ("a", [(6, 9.0), (7, 10.030), (8, 10.540), (9, 11.060)]),  # 6 was no timed POST's
        ("b", [(7, 10.050), (8, 10.600), (9, 11.020)]),
    ]
    by_inject = fanout_by_inject(frames, started)
    assert {seq: [round(ms) for ms in each] for seq, each in by_inject.items()} == {
        7: [30, 50],
        8: [40, 100],
        9: [60, 20],
    }
    # Medians of the first (30, 40, 20) and last (50, 100, 60) frames; 8 is the slowest.
    release_ms = [5, 25, 6]
    assert inject_spans(by_inject, release_ms) == (
        "30 / 60 ms (slowest: inject 2 of 3, 40 / 100, its POST 25)"
    )
    assert inject_spans({7: []}, [5]) == "none received"


def test_the_lock_rows_say_how_near_the_decisions_are_to_the_locks_rate():
    figures = {
        "decisions": 150,
        "lock_wait_s": 3.0,
        "lock_held_s": 0.75,  # 150 holds of 5 ms in a phase of 1 s
        "lock_wait_p50_s": 0.008,
        "lock_wait_p95_s": 0.04,
        "lock_held_p50_s": 0.0045,
        "lock_held_p95_s": 0.011,
    }
    quantiles, share = lock_rows(figures, 1.0)
    assert quantiles[1] == "8.0 / 40.0 / 4.5 / 11.0 ms"
    assert share[1] == "75% (mean hold 5.0 ms: at most 200 decisions/s in one exercise)"


def test_no_lock_rows_when_no_decision_took_the_lock():
    figures = {"decisions": 0, "lock_held_s": 0.0, "lock_held_p50_s": None}
    assert lock_rows(figures, 20.0) == []
