"""CPU and queries of one decide POST, one room GET, one inject release POST and one socket
handshake, in-process, through the whole stack.

No server and no socket: Django's test client drives the project's middleware (session,
CSRF with its cookie and header, auth, messages, CSP, axes, htmx), the views and the
engine, with broadcasting to Redis after each commit, on the live bench's exercise
(``bench_live.seed``) in its own PostgreSQL database. Prints, per request kind, the
median CPU time of the process per request, the queries of one request and, for a
request that publishes (a decision, a release), the wall time from its start to its
first hand-over of frames to the channel layer (a release's players' frames):

    .venv/bin/python bench/bench_requests.py                 # 1000 players, 100 teams
    .venv/bin/python bench/bench_requests.py --profile decide  # cProfile, top 40
    SORT=tottime .venv/bin/python bench/bench_requests.py --only release --profile release

``release`` is the facilitator's htmx POST releasing an inject (to every team), with all
it does in the request: the players' and the consoles' frames rendered and sent to
Redis, and the console's inject list it answers with. Each timed POST releases an inject
not released yet, in a stage of ``--scripted`` injects (``--injects`` of them released):
after each, untimed, its release row is deleted and its title changed, so the list is
the same every time but for that row, new each time as a release's is.

``connect`` is a player's socket as the browser opens it: the handshake through
``config.asgi`` (origin check, session and user, seat, group joins, presence), the hello
``--catch-up`` events back and the frames it replays, then the close. Time it on a fresh
seeding (``--only connect``, no ``--reuse`` after decide runs): an earlier run's decisions
come after its hello, and each socket would replay its team's too.

``--reuse`` skips the seeding (the database of an earlier run), so the requests alone
can be counted under ``valgrind --tool=callgrind``: run with ``--requests N`` and with
``--requests 0`` and divide the difference of the instruction counts by N.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import pstats
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CSRF = "b" * 32  # any 32-character secret: the header must match the cookie
FORM = "application/x-www-form-urlencoded"
KINDS = ["decide", "room", "release", "connect"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--injects", type=int, default=5, help="released before timing")
    parser.add_argument(
        "--scripted", type=int, default=20, help="injects in the stage (bench_path's default)"
    )
    parser.add_argument("--requests", type=int, default=200, help="of each kind")
    parser.add_argument(
        "--catch-up", type=int, default=2, help="events each socket replays (bench_path's)"
    )
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/cascade_cpu")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database")
    parser.add_argument("--profile", choices=KINDS, help="cProfile one kind")
    parser.add_argument("--only", choices=KINDS, help="time one kind only")
    parser.add_argument("--top", type=int, default=40, help="rows of the profile")
    parser.add_argument("--sort", default="cumulative", help="of the profile: tottime, ...")
    parser.add_argument("--profile-out", help="also write the profile there (pstats)")
    parser.add_argument("--queries", action="store_true", help="print the SQL of one request")
    args = parser.parse_args()

    from bench import bench_live

    bench_live.configure(args)
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]

    from channels.testing import WebsocketCommunicator
    from django.db import connection
    from django.test import Client

    from config.asgi import application
    from exercises import broadcast
    from exercises.events import INJECT_RELEASED
    from exercises.models import Exercise, Participant
    from scenarios.models import Prompt

    bench_live.lift_decision_limit()
    if not args.reuse:
        bench_live.seed_released(args, max(args.scripted, args.injects + 1), args.injects)
    exercise = Exercise.objects.get(name="Bench")
    prompt = Prompt.objects.get(scenario=exercise.scenario, key="choose")
    seats = list(
        Participant.objects.filter(exercise=exercise, kind="player")
        .select_related("user")
        .order_by("team_id", "pk")
    )
    # One logged-in client per team (its first player), as a browser with its cookies.
    clients = {}
    for seat in seats:
        if seat.team_id not in clients:
            client = Client(enforce_csrf_checks=True, HTTP_X_CSRFTOKEN=CSRF)
            client.force_login(seat.user)
            client.cookies["csrftoken"] = CSRF
            clients[seat.team_id] = client
    browsers = list(clients.values())
    facilitator = Client(enforce_csrf_checks=True, HTTP_X_CSRFTOKEN=CSRF)
    facilitator.force_login(Participant.objects.get(exercise=exercise, kind="facilitator").user)
    facilitator.cookies["csrftoken"] = CSRF
    for browser in [*browsers[1:], facilitator]:  # one handler, as a server process has
        browser.handler = browsers[0].handler
    tokens = itertools.count()
    run = f"{time.time_ns():x}"
    decide_path = f"/exercises/{exercise.code}/room/prompts/{prompt.key}/"
    room_path = f"/exercises/{exercise.code}/room/"
    fresh = exercise.scenario.injects.get(key=f"i{args.injects + 1}")
    release_path = f"/exercises/{exercise.code}/injects/{fresh.key}/release/"

    def decide(n: int) -> None:
        form = {
            f"{prompt.key}-option": "ab"[n % 2],
            f"{prompt.key}-client_token": f"{run}-{next(tokens)}",
        }
        # URL-encoded, as htmx sends a form (the test client's default is multipart).
        response = browsers[n % len(browsers)].post(
            decide_path, urlencode(form), FORM, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 200, response
        assert b"revision" in response.content, response.content[:500]

    def room(n: int) -> None:
        response = browsers[n % len(browsers)].get(room_path)
        assert response.status_code == 200, response

    def release(n: int) -> None:
        response = facilitator.post(release_path, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, response
        assert b'id="control-injects"' in response.content, response.content[:500]
        assert b"field-error" not in response.content, response.content[:500]

    socket_path = f"/ws/exercises/{exercise.code}/"
    cookie_name = settings.SESSION_COOKIE_NAME
    socket_headers = [
        [
            (b"host", b"testserver"),
            (b"origin", b"http://testserver"),
            (b"cookie", f"{cookie_name}={browser.cookies[cookie_name].value}".encode()),
        ]
        for browser in browsers
    ]
    hello: list[int] = []  # the seq to say hello with, read when the kind first runs
    # One event loop for every socket, as a server process has (the channel layer keeps
    # its Redis connections per loop).
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    async def open_socket(n: int) -> None:
        socket = WebsocketCommunicator(application, socket_path, socket_headers[n % len(browsers)])
        connected, code = await socket.connect(timeout=10)
        assert connected, code
        await socket.send_json_to({"type": "hello", "last_seq": hello[0]})
        for _ in range(args.catch_up):
            assert "<!--seq:" in await socket.receive_from(timeout=10)
        await socket.disconnect()

    def connect(n: int) -> None:
        if not hello:  # before the last --catch-up releases (every team sees those)
            releases = exercise.events.filter(kind=INJECT_RELEASED).order_by("-seq")
            hello.append(releases.values_list("seq", flat=True)[args.catch_up - 1] - 1)
        asyncio.run_coroutine_threadsafe(open_socket(n), loop).result()

    def unrelease() -> None:
        bench_live.unrelease(exercise, fresh)

    # When each request first hands frames to the channel layer: a release's players'
    # frames go first (``broadcast._send``), before the console's frame and the answer.
    delivered: list[float] = []
    deliver = broadcast._deliver

    def timed_deliver(messages) -> None:
        delivered.append(time.perf_counter())
        deliver(messages)

    broadcast._deliver = timed_deliver
    kinds = {"decide": decide, "room": room, "release": release, "connect": connect}
    resets = {"release": unrelease}
    if args.only:
        kinds = {args.only: kinds[args.only]}
    for name, call in kinds.items():
        reset = resets.get(name, lambda: None)
        for n in range(3):  # warm: templates compiled, connections open
            call(n)
            reset()
        queries: list[str] = []

        def count(run, sql, *rest, queries=queries):
            queries.append(sql)
            return run(sql, *rest)

        with connection.execute_wrapper(count):
            call(3)
        reset()
        profiler = cProfile.Profile(time.process_time) if args.profile == name else None
        times, to_publish = [], []
        database = database_process(connection)
        database_ms = 0.0
        for n in range(args.requests):
            database_before = process_cpu(database)
            if profiler:
                profiler.enable()
            started, wall = time.process_time(), time.perf_counter()
            delivered.clear()
            call(n)
            times.append((time.process_time() - started) * 1000)
            if delivered:
                to_publish.append((delivered[0] - wall) * 1000)
            if profiler:
                profiler.disable()
            database_ms += process_cpu(database) - database_before
            reset()  # untimed
        database_ms *= 1000 / max(args.requests, 1)
        if profiler:
            if args.profile_out:
                profiler.dump_stats(args.profile_out)
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
        if times:
            # A socket's reads run in the worker threads, on their own connections.
            database = (
                "its queries in worker threads (not counted)"
                if name == "connect"
                else f"{len(queries)} queries, {database_ms:.2f} ms of PostgreSQL CPU (mean)"
            )
            print(
                f"{name:<8} {statistics.median(times):6.2f} ms CPU (median of {len(times)}),"
                f" {database}"
            )
            if to_publish and name != "connect":
                print(
                    f"{'':<8} {statistics.median(to_publish):6.2f} ms from the request's start"
                    " to its first publish (wall clock, median)"
                )
        if args.queries:
            for sql in queries:
                print("   ", sql[:240])


def database_process(connection):
    """The PostgreSQL backend process serving ``connection`` (the requests' queries run
    there: its CPU is theirs, whatever else the server is doing)."""
    import psutil

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return psutil.Process(cursor.fetchone()[0])


def process_cpu(process) -> float:
    times = process.cpu_times()
    return times.user + times.system


if __name__ == "__main__":
    main()
