"""bench/bench_path.py's pure parts: how sockets are spread over client processes and
put back, how their joins add up, when players open their pages, the fan-out target."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

from bench.bench_path import (
    TARGET_FANOUT_P99_MS,
    arrivals,
    deal,
    fanout_misses,
    gather,
    joined,
    joined_together,
    start_players,
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


def test_the_starts_players_come_from_the_first_teams_only():
    teams = [SimpleNamespace(pk=pk) for pk in (10, 11, 12)]
    players = [(f"user{i}", teams[i % 3]) for i in range(9)]  # seeded round-robin
    cookies = [f"c{i}" for i in range(9)]
    chosen, their_cookies = start_players(players, cookies, count=5, teams=2)
    assert [user for user, _ in chosen] == ["user0", "user1", "user3", "user4", "user6"]
    assert {team.pk for _, team in chosen} == {10, 11}
    assert their_cookies == ["c0", "c1", "c3", "c4", "c6"]
