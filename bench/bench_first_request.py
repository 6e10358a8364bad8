"""A fresh gunicorn worker's first release POSTs over HTTP: the first against the next.

A worker builds or opens, on first use, what its later requests find ready: its database
pool and PostgreSQL's backends, the channel layer, lazily compiled patterns, the rows of
the console's inject list (drawn once per content). The first inject a facilitator
releases on each worker pays for them, and in ``bench_path.py``'s runs that release was
often the slowest inject of twenty (bench/README.md, sessions 13-18). Each trial starts a
new gunicorn with one worker (``config/gunicorn.py``'s settings, ``--threads`` threads),
waits for ``/healthz`` (which reads nothing from the database), then sends ``--posts``
release POSTs one after the other on one keep-alive connection, as the console does, and
prints their wall times; then the medians of the first and of the rest over the trials:

    .venv/bin/python bench/bench_first_request.py            # 5 trials, ~1 min
    .venv/bin/python bench/bench_first_request.py --reuse    # the last run's database

Each POST releases the same inject of the live bench's exercise (``bench_live.seed``, in
its own PostgreSQL database); between two, untimed, its release row is deleted and its
title changed, so each POST draws one new row of the list, as a release does.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CSRF = "b" * 32  # any 32-character secret: the header must match the cookie
INJECTS, RELEASED = 20, 5  # in the stage, and released before: as bench_path's exercise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5, help="fresh workers")
    parser.add_argument("--posts", type=int, default=6, help="release POSTs per worker")
    parser.add_argument("--threads", type=int, default=4, help="of the worker")
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/cascade_first_request"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database")
    args = parser.parse_args()

    from bench import bench_live

    env = bench_live.configure(args)
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from bench.bench_path import session_for
    from bench.live_servers import gunicorn_server
    from exercises.models import Exercise, Participant

    if not args.reuse:
        bench_live.seed_released(args, INJECTS, RELEASED)
    exercise = Exercise.objects.get(name="Bench")
    user = Participant.objects.get(exercise=exercise, kind="facilitator").user
    cookie = f"{settings.SESSION_COOKIE_NAME}={session_for(user)}; csrftoken={CSRF}"
    fresh = exercise.scenario.injects.get(key=f"i{RELEASED + 1}")
    path = f"/exercises/{exercise.code}/injects/{fresh.key}/release/"

    def unrelease() -> None:
        bench_live.unrelease(exercise, fresh)
        connection.close()  # none of the bench's connections open during a POST

    trials = []
    for trial in range(args.trials):
        unrelease()
        with gunicorn_server(env, workers=1, threads=args.threads) as (port, _):
            client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            headers = {
                "Cookie": cookie,
                "X-CSRFToken": CSRF,
                "HX-Request": "true",
                "Origin": f"http://127.0.0.1:{port}",
            }
            times = []
            for _ in range(args.posts):
                started = time.perf_counter()
                client.request("POST", path, headers=headers)
                response = client.getresponse()
                body = response.read()
                times.append((time.perf_counter() - started) * 1000)
                if response.status != 200:
                    raise SystemExit(f"release POST answered {response.status}: {body[:300]!r}")
                unrelease()
            client.close()
        trials.append(times)
        print(f"worker {trial + 1}: " + " ".join(f"{ms:6.1f}" for ms in times) + " ms")
    first = statistics.median(times[0] for times in trials)
    rest = statistics.median(ms for times in trials for ms in times[1:])
    print(
        f"first release POST, median of {len(trials)}: {first:.1f} ms;"
        f" the next ones: {rest:.1f} ms ({first / rest:.2f}x)"
    )


if __name__ == "__main__":
    main()
