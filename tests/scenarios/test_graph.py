from scenarios.graph import analyse, layers


def test_it_finds_unreachable_stages_and_dead_loops():
    stages = ["start", "a", "b", "loop1", "loop2", "end", "orphan"]
    edges = [
        ("start", "a"),
        ("start", "b"),
        ("a", "end"),
        ("b", "loop1"),
        ("loop1", "loop2"),
        ("loop2", "loop1"),
        ("orphan", "end"),
    ]
    report = analyse(stages, edges, "start")
    assert report.unreachable == ("orphan",)
    assert report.terminal == ("end",)
    assert report.cannot_end == ("b", "loop1", "loop2")
    assert not report.ok


def test_it_accepts_a_well_formed_branching_graph():
    report = analyse(["s", "x", "y", "z"], [("s", "x"), ("s", "y"), ("x", "z"), ("y", "z")], "s")
    assert report.ok
    assert report.reachable == {"s", "x", "y", "z"}


def test_it_treats_a_missing_start_as_nothing_reachable():
    report = analyse(["s", "t"], [("s", "t")], None)
    assert report.unreachable == ("s", "t")


def test_it_layers_stages_by_distance_with_orphans_last():
    cols = layers(["s", "x", "y", "z", "o"], [("s", "x"), ("s", "y"), ("x", "z"), ("y", "z")], "s")
    assert cols == [["s"], ["x", "y"], ["z"], ["o"]]
