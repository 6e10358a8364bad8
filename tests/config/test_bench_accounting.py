"""The live benches' frame accounting (bench/bench_live.py ``account``): a harness that
miscounted would report 0 lost frames for a broken fan-out."""

from bench.bench_live import account


def test_a_socket_that_got_everything_in_order_counts_nothing_wrong():
    counts = account([3, 5, 8], [3, 5, 8])
    assert dict(counts) == {
        "expected": 3,
        "received": 3,
        "lost": 0,
        "duplicated": 0,
        "leaked": 0,
        "out_of_order": 0,
    }


def test_it_counts_lost_duplicated_leaked_and_out_of_order_frames():
    counts = account(expected=[3, 5, 8, 9], got=[5, 3, 5, 7, 8])
    assert counts["lost"] == 1  # 9
    assert counts["duplicated"] == 1  # 5 twice
    assert counts["leaked"] == 1  # 7: another team's
    assert counts["out_of_order"] == 1  # 3 after 5
    assert (counts["expected"], counts["received"]) == (4, 5)
