"""Per-event cost of the live path in one process, without sockets: render, publish, decide.

Seeds the live bench's exercise (``bench_live.seed``: ``--participants`` players in
``--teams`` teams) in its own PostgreSQL database (dropped and recreated), then times,
median of ``--runs``, with the number of queries of one call:

- ``render_event`` per perspective for an inject released to every team (the stage has 21
  injects) and a decision;
- ``publish`` of each (all its frames rendered and sent to Redis; no socket listens);
- ``decision_submit`` with and without publishing (a new revision each call).

    .venv/bin/python bench/bench_publish.py            # 1000 players, 100 teams
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def timed(label: str, call: Callable[[], object], runs: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()  # warm: templates compiled, connections open
    with CaptureQueriesContext(connection) as queries:
        call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    print(f"{label:<44} {statistics.median(times):7.2f} ms  {len(queries):3d} queries")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/cascade_perf")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    args = parser.parse_args()

    from bench import bench_live

    bench_live.configure(args)
    import django

    django.setup()
    from django.core.management import call_command

    from exercises import broadcast, engine, events, fragments

    bench_live.recreate_database(args.database)
    call_command("migrate", verbosity=0)
    exercise, facilitator, players, _, prompt, options = bench_live.seed(
        args.participants, args.teams, 20
    )
    inject = exercise.scenario.injects.get(key="i1")
    released = engine.inject_release(exercise=exercise, inject=inject, actor=facilitator).event
    user, team = players[0]
    counter = iter(range(10**9))

    def decide() -> None:
        n = next(counter)
        engine.decision_submit(
            exercise=exercise,
            team=team,
            prompt=prompt,
            author=user,
            client_token=f"t{n}",
            option=options[n % 2],
        )

    decide()
    decided = exercise.events.filter(kind=events.DECISION_SUBMITTED).latest("seq")
    for event, perspectives in (
        (released, ["teams", "control"]),
        (decided, [f"team-{team.pk}", "control"]),
    ):
        for perspective in perspectives:
            label = f"render {event.kind} {perspective.split('-')[0]}"
            timed(
                label,
                lambda e=event, p=perspective: fragments.render_event(e, perspective=p),
                args.runs,
            )
        # Outside a transaction, publish sends at once (on_commit runs immediately).
        marks = type(exercise).objects.get(pk=exercise.pk).visibility_marks
        timed(
            f"publish {event.kind} (every perspective)",
            lambda e=event, m=marks: broadcast.publish(e, m),
            args.runs,
        )
    timed("decision_submit, publishing", decide, args.runs)
    publish = broadcast.publish
    broadcast.publish = lambda event, marks: None
    try:
        timed("decision_submit, not publishing", decide, args.runs)
    finally:
        broadcast.publish = publish


if __name__ == "__main__":
    main()
