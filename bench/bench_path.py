"""The path users take, against the raw stack's floor, in one run.

Starts ``--servers`` Daphne processes serving ``bench.floor_app`` (Cascade, plus a raw
Channels consumer and raw Django views on the same processes, Redis and PostgreSQL), on
a database and a channel-layer prefix of this run's own (dropped at the end), seeds the
players (a session each, one for the facilitator) and then, every phase's figures printed
as soon as they exist:

1. Cascade: ``--participants`` players in ``--teams`` teams, each on a socket (session
   cookie), the facilitator's htmx POSTs releasing ``--injects`` injects (one every
   ``--gap`` s), fan-out timed from the POST to each socket's frame; then htmx decide POSTs
   as browsers send them (session cookie, CSRF token, the form; every player of every team
   in turn) from ``--clients`` keep-alive client threads for ``--seconds`` s: decisions/s
   and POST latency; then frame accounting.
2. The floor: as many raw sockets, raw release POSTs (one INSERT, then a frame of the same
   size to every socket) and raw POSTs doing one INSERT, timed the same way; each ratio.
3. The exercise start: ``--start-players`` players GET their team room page within
   ``--start-seconds`` while the facilitator starts the exercise and releases the first
   inject, against a raw view rendering a page of the same size (``start_phase``).
4. Scale (``--scale``, default 5,000, in ``--scale-teams`` teams, on an exercise of their
   own, joining at ``--scale-join-rate``/s, ``--scale-injects`` injects every
   ``--scale-gap`` s), in socket order: ``--sweep``'s counts below it (default
   1000,2000,3000: the first N of those players), the scale step, the scale step again on
   ``--scale-servers`` (3) fresh Daphne processes (what a third process buys), the sweep's
   counts above it; each step Cascade's sockets and releases, then the floor's, and the
   servers' RSS; then where fan-out p99 passes 1 s. Without a scale phase (``--scale 0``,
   or not above ``--participants``) ``--sweep`` takes the first N players of phase 1, at
   its rhythm.
5. The servers' RSS and their own /metrics figures (``bench/metrics_scrape.py``), the
   engine-only decision rate (``--engine-seconds``, from worker processes, no HTTP:
   bench_live.py's figure), and a summary of every headline figure with its ratio.

With ``--http gunicorn`` (the default: what a real deployment runs, README "Deploy for
real") every HTTP phase (release and decide POSTs, the floor's POSTs) goes to one gunicorn
master with ``--http-workers`` workers serving ``bench.floor_app:wsgi_application`` beside
the Daphne processes, which keep every socket; the floor's POST views are measured on both
servers (Daphne: the issue's floor; gunicorn: the same server as Cascade's POSTs), each
ratio printed, and the servers' CPU counts the gunicorn workers. ``--http daphne`` sends
everything to Daphne, as before.

Everything is warmed up first (one untimed release, decide and insert POSTs to each
server) and the bench process freezes its seeded objects out of the collector
(``gc.freeze``), as the servers do with theirs. Sockets come from one client process
per ``--swarm-size`` sockets, its collector off once they are open. Exits 1 when a
target is missed: decisions over HTTP >= 200/s with POST p99 < 300 ms, fan-out p99 <=
1.1x the floor's and < 1 s (at every socket count), every socket connected, no frame
lost, duplicated, out of order or leaked, room page GET p95 < 1 s. A phase that fails is
reported as a missed target; the phases before it have printed their figures.

    .venv/bin/python bench/bench_path.py     # all of issue 19: ~14 min on 2 cores
    .venv/bin/python bench/bench_path.py --participants 200 --teams 20 --seconds 3 \
        --start-players 0 --scale 0        # a quick look at phases 1-2
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import itertools
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import metrics_scrape
from bench.bench_live import (
    BROKEN,
    Client,
    RssSampler,
    account,
    check_delivery,
    cpu_seconds,
    percentile,
    process_tree,
    recreate_database,
    run_deciders,
    seed,
)

CSRF = "b" * 32  # any 32-character secret: the header must match the cookie
TARGET_DECISIONS_PER_S = 200
TARGET_POST_P99_MS = 300
TARGET_FANOUT_RATIO = 1.1
TARGET_FANOUT_P99_MS = 1000
TARGET_PAGE_P95_MS = 1000
DEFAULT_SWEEP = (1000, 2000, 3000)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--injects", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between injects")
    parser.add_argument("--seconds", type=float, default=20.0, help="each POST phase's length")
    parser.add_argument("--clients", type=int, default=8, help="HTTP client threads")
    parser.add_argument(
        "--engine-seconds", type=float, default=10.0, help="engine-only phase (0: skip)"
    )
    parser.add_argument("--join-rate", type=float, default=100, help="sockets opened per second")
    parser.add_argument(
        "--swarm-size", type=int, default=1000, help="sockets per client process (at most)"
    )
    parser.add_argument(
        "--catch-up",
        type=int,
        default=2,
        help="each Cascade socket says hello this many events back (its connect replays them)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=5000,
        help="the scale phase: this many sockets in --scale-teams teams, an exercise of"
        " their own (0, or not above --participants: none)",
    )
    parser.add_argument("--scale-teams", type=int, default=500)
    parser.add_argument("--scale-join-rate", type=float, default=250, help="sockets per second")
    parser.add_argument("--scale-injects", type=int, default=5, help="injects per scale step")
    parser.add_argument(
        "--scale-gap", type=float, default=3.0, help="seconds between the scale phase's injects"
    )
    parser.add_argument(
        "--scale-servers",
        type=int,
        default=3,
        help="the scale step again on this many fresh Daphne processes (0: not)",
    )
    parser.add_argument(
        "--sweep",
        type=lambda v: [int(n) for n in v.split(",") if n],
        default=None,
        help="sockets and releases again with each of these counts of sockets (the first N"
        " players): of the scale phase (default 1000,2000,3000, at its rhythm) or, without"
        " one, of the main phase (default none, --injects every --gap s)",
    )
    parser.add_argument(
        "--start-players",
        type=int,
        default=1000,
        help="the exercise start: this many players open their room page (0: skip)",
    )
    parser.add_argument("--start-teams", type=int, default=100, help="in as many teams")
    parser.add_argument(
        "--start-seconds", type=float, default=30.0, help="the start's page GETs arrive over this"
    )
    parser.add_argument(
        "--start-clients", type=int, default=64, help="HTTP client threads for the page GETs"
    )
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--database-prefix", default="cascade_bench", help="the run's database: <prefix>_<run>"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument(
        "--http",
        choices=("gunicorn", "daphne"),
        default="gunicorn",
        help="the server of every plain HTTP request (sockets stay on Daphne)",
    )
    parser.add_argument("--http-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--http-threads", type=int, default=4, help="threads per gunicorn worker (1: sync)"
    )
    args = parser.parse_args()
    if args.sweep is None:
        args.sweep = [n for n in DEFAULT_SWEEP if n < args.scale] if scaled(args) else []
    problem = layout_problem(args)
    if problem:
        parser.error(problem)
    return args


def scaled(args) -> bool:
    """Whether the run has a scale phase (pure): more sockets than the main phase's."""
    return args.scale > args.participants


def seeded(args) -> tuple[int, int]:
    """How many players in how many teams the run seeds, round-robin (pure): the main
    phase's or, with a scale phase, the scale phase's (or its largest sweep step's); the
    main phase then takes the players of the first ``--teams`` teams."""
    if scaled(args):
        return max([args.scale, *args.sweep]), args.scale_teams
    return args.participants, args.teams


def in_first_teams(players: int, teams: int, first: int) -> int:
    """How many of ``players`` seeded round-robin into ``teams`` teams are in the first
    ``first`` teams (pure)."""
    return sum(players // teams + (t < players % teams) for t in range(min(first, teams)))


def layout_problem(args) -> str | None:
    """Why the phases' players cannot all be seeded (pure); None when they can."""
    players, teams = seeded(args)
    if max(args.sweep, default=0) > players:
        return f"--sweep counts need as many players ({players} seeded)"
    if scaled(args) and in_first_teams(players, teams, args.teams) < args.participants:
        return (
            f"--participants {args.participants} in the first --teams {args.teams} of"
            f" --scale-teams {teams}: only {in_first_teams(players, teams, args.teams)} there"
        )
    if in_first_teams(players, teams, args.start_teams) < args.start_players:
        return f"--start-players {args.start_players}: {players} players in {teams} teams"
    return None


def configure(args: argparse.Namespace) -> dict[str, str]:
    """This run's database and channel prefix: two runs, or a run and a test suite on
    the same Redis, never see each other's groups."""
    run = f"{os.getpid()}{secrets.token_hex(2)}"
    args.database = f"{args.postgres}/{args.database_prefix}_{run}"
    env = {
        "DATABASE_URL": args.database,
        "REDIS_URL": args.redis,
        "CHANNELS_PREFIX": f"bench{run}",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key"),
        "METRICS_TOKEN": secrets.token_hex(16),
        "DEBUG": "0",
        "SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    if args.http == "gunicorn":
        # Decisions are counted where they are published (gunicorn), sockets on Daphne:
        # one directory for every server process, so one scrape answers for all.
        env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=f"bench{run}-metrics-")
    os.environ.update(env)
    return env


# ---------------------------------------------------------------- figures


def spread(values: list[float]) -> str:
    return " / ".join(f"{percentile(values, p):.0f}" for p in (50, 95, 99)) + " ms"


def spread_s(seconds: list[float]) -> str:
    """p50 / p95 / p99 / max of durations in seconds, in ms."""
    ms = [s * 1000 for s in seconds]
    return spread(ms)[:-3] + f" / {percentile(ms, 100):.0f} ms"


def ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}x" if floor else "n/a"


STARTED = time.monotonic()


def report(title: str, rows: list[tuple[str, str]]) -> None:
    """Print one phase's figures at once, so a later failure never loses them; the header
    says when, in minutes since the bench started."""
    minutes, seconds = divmod(round(time.monotonic() - STARTED), 60)
    print(f"\n== {title}  [+{minutes}:{seconds:02d}]", flush=True)
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}", flush=True)


# ---------------------------------------------------------------- sockets


def swarm_main(specs, hello_seq, join_rate, ready, snapshot, stop, results) -> None:
    """Child process: open its share of the sockets (paced at ``join_rate``), wait until
    each is open or has failed, put on ``results`` a summary (``joined``), then on each
    ``snapshot`` every client's ``(team id, frames, sizes, close code)`` so far (the code
    if the server closed it, else None); until ``stop``.

    ``specs``: (port, path, cookie, team id). The first client measures frame sizes."""

    async def run() -> None:
        clients = [Client(port, "", cookie, team, path) for port, path, cookie, team in specs]
        clients[0].measure = True
        done = asyncio.Event()
        readies = [asyncio.Event() for _ in clients]
        tasks = []
        started = time.monotonic()
        for i, (client, client_ready) in enumerate(zip(clients, readies, strict=True)):
            tasks.append(asyncio.create_task(client.run(hello_seq, client_ready, done)))
            if i % 10 == 9:
                await asyncio.sleep(10 / join_rate)
        deadline = started + 180
        while time.monotonic() < deadline and not all(
            r.is_set() or t.done() for r, t in zip(readies, tasks, strict=True)
        ):
            await asyncio.sleep(0.1)
        failures = Counter(
            repr(t.exception()) if t.done() and t.exception() else "not open within 180 s"
            for r, t in zip(readies, tasks, strict=True)
            if not r.is_set()
        )
        handshakes = [c.handshake for c in clients if c.handshake is not None]
        results.put(joined(time.monotonic() - started, handshakes, failures))
        # The instrument must not pause while it times: a full collection of its clients'
        # objects took 20-50 ms, and landed on one inject a run, every one of its frames
        # late by that much, Cascade's and the floor's alike (bench/README.md, session 9).
        # From here its clients' allocations are freed by reference counting; the process
        # ends with its phase.
        gc.collect()
        gc.disable()
        ready.set()
        while not stop.is_set():
            if snapshot.is_set():
                snapshot.clear()
                results.put(
                    [
                        (c.team_id, list(c.received), dict(c.sizes), c.closed_by_server)
                        for c in clients
                    ]
                )
            await asyncio.sleep(0.1)
        done.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())


def joined(seconds: float, handshakes: list[float], failures: Counter) -> dict:
    """A swarm's (or one of its processes') join: seconds until every socket was open or
    had failed, each open socket's handshake seconds, failures by exception."""
    return {"seconds": seconds, "handshakes": handshakes, "failures": failures}


def joined_together(parts: list[dict]) -> dict:
    """The join of a swarm's processes as one (pure): they started together."""
    return joined(
        max(p["seconds"] for p in parts),
        [h for p in parts for h in p["handshakes"]],
        sum((p["failures"] for p in parts), Counter()),
    )


def deal(items: list, hands: int) -> list[list]:
    """``items`` dealt round-robin into ``hands`` lists (pure): a join wave spread over
    the client processes keeps its order and its rate."""
    return [items[h::hands] for h in range(min(hands, len(items)))]


def gather(hands: list[list]) -> list:
    """``deal``'s inverse (pure): the dealt items back in their first order."""
    out = []
    for i in range(max(len(h) for h in hands)):
        out.extend(h[i] for h in hands if i < len(h))
    return out


QUIET_S = 3.0  # no frame for this long: every frame sent has arrived
SETTLE_LIMIT_S = 120.0


def wait_quiet(count: Callable[[], int], sleep: Callable[[float], None] = time.sleep) -> float:
    """Sleep ``QUIET_S`` at a time until ``count()`` (frames received so far) stops
    growing, or ``SETTLE_LIMIT_S`` have passed; returns the seconds slept. A quiet machine
    sleeps ``QUIET_S`` once, as the bench's fixed wait did."""
    slept, seen = 0.0, count()
    while slept < SETTLE_LIMIT_S:
        sleep(QUIET_S)
        slept += QUIET_S
        now = count()
        if now == seen:
            break
        seen = now
    return slept


class Swarm:
    """Sockets opened by ``processes`` client processes, ``join_rate`` per second in all.

    One asyncio process with thousands of clients spends its CPU on handshakes and frame
    parsing, so its own lag reads as server latency; ``--swarm-size`` sockets per process
    keeps each one far from a full core."""

    def __init__(self, mp, specs, join_rate: float, hello_seq: int = 0, processes: int = 1) -> None:
        self.hands = deal(specs, processes)
        self.children = []
        for hand in self.hands:
            ready, snap, stop, results = mp.Event(), mp.Event(), mp.Event(), mp.Queue()
            process = mp.Process(
                target=swarm_main,
                args=(hand, hello_seq, join_rate / len(self.hands), ready, snap, stop, results),
                daemon=True,  # a failed run must not leave it holding the sockets
            )
            process.start()
            self.children.append((process, ready, snap, stop, results))
        parts = []
        for _, ready, _, _, results in self.children:
            if not ready.wait(timeout=240):
                self.close()
                raise RuntimeError(f"the {len(specs)} sockets did not all connect within 240 s")
            parts.append(results.get(timeout=10))
        self.join = joined_together(parts)
        self.connect_seconds = self.join["seconds"]
        self.pids = [process.pid for process, *_ in self.children]
        if self.join["failures"]:
            self.close()
            failures = self.join["failures"]
            raise RuntimeError(
                f"{len(specs) - failures.total()} of {len(specs)} sockets connected;"
                f" failed: {dict(failures)}; handshake {spread_s(self.join['handshakes'])}"
            )

    def settle(self) -> float:
        """Until no socket has received a frame for ``QUIET_S``: under load a frame still
        on its way is late (its fan-out counted), not lost. Returns the seconds waited."""
        return wait_quiet(lambda: sum(len(received) for _, received, *_ in self.frames()))

    def frames(self):
        for _, _, snap, _, _ in self.children:
            snap.set()
        return gather([results.get(timeout=60) for *_, results in self.children])

    def close(self) -> None:
        for _, _, _, stop, _ in self.children:
            stop.set()
        for process, *_ in self.children:
            process.join(timeout=30)


# ---------------------------------------------------------------- HTTP


def post_once(connection: http.client.HTTPConnection, port: int, path: str, form, cookie: str):
    """One htmx POST as a browser sends it; (status, body, milliseconds)."""
    t0 = time.monotonic()
    connection.request(
        "POST",
        path,
        body=urlencode(form),
        headers={
            "Cookie": (f"sessionid={cookie}; " if cookie else "") + f"csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
            "HX-Request": "true",
            "Origin": f"http://127.0.0.1:{port}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    response = connection.getresponse()
    body = response.read()
    return response.status, body, (time.monotonic() - t0) * 1000, t0


def post_loop(
    ports: list[int],
    seconds: float,
    clients: int,
    request: Callable[[int], tuple[str, dict, str]],
) -> tuple[Counter, list[float], float]:
    """``clients`` threads, each with a keep-alive connection to one server, POSTing
    ``request(n)`` (path, form, session cookie) for n = client, client + clients, … for
    ``seconds``; returns (statuses, latencies in ms, elapsed seconds)."""
    statuses: Counter = Counter()
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def work(client: int) -> None:
        port = ports[client % len(ports)]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        n = client
        try:
            while time.monotonic() < deadline:
                path, form, cookie = request(n)
                status, _, ms, _ = post_once(connection, port, path, form, cookie)
                statuses[status] += 1
                latencies.append(ms)
                n += clients
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(c,)) for c in range(clients)]
    t = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, latencies, time.monotonic() - t


def releases(ports, count: int, gap: float, request: Callable[[int], tuple[str, dict, str]]):
    """``count`` release POSTs, one every ``gap`` s, alternating servers; returns each
    POST's start (monotonic) and latency (ms), and its answer."""
    connections = {
        port: http.client.HTTPConnection("127.0.0.1", port, timeout=60) for port in ports
    }
    out = []
    try:
        for n in range(count):
            port = ports[n % len(ports)]
            path, form, cookie = request(n)
            status, body, ms, t0 = post_once(connections[port], port, path, form, cookie)
            if status != 200:
                raise RuntimeError(f"release POST {path} answered {status}")
            out.append((t0, ms, body))
            time.sleep(gap)
    finally:
        for connection in connections.values():
            connection.close()
    return out


def fanout_by_inject(frames, started: dict[int, float]) -> dict[int, list[float]]:
    """Milliseconds from each timed POST's start to each socket's frame of its seq, by
    the POST's seq (or id)."""
    out: dict[int, list[float]] = {seq: [] for seq in started}
    for _, received, *_ in frames:
        for seq, at in received:
            if seq in started:
                out[seq].append((at - started[seq]) * 1000)
    return out


def every_frame(by_inject: dict[int, list[float]]) -> list[float]:
    return [ms for each in by_inject.values() for ms in each]


def inject_spans(by_inject: dict[int, list[float]], release_ms: list[float]) -> str:
    """When an inject's first and last frames came, the median over the injects and the
    slowest inject's, with its release POST's time (``release_ms``, in the injects'
    order): whether a p99 is every inject's tail or one inject's stall, and whether the
    stall was the POST's."""
    spans = [(min(each), max(each), n) for n, each in enumerate(by_inject.values(), 1) if each]
    if not spans:
        return "none received"
    first = percentile([span[0] for span in spans], 50)
    last = percentile([span[1] for span in spans], 50)
    slowest = max(spans, key=lambda span: span[1])
    return (
        f"{first:.0f} / {last:.0f} ms (slowest: inject {slowest[2]} of {len(by_inject)},"
        f" {slowest[0]:.0f} / {slowest[1]:.0f}, its POST {release_ms[slowest[2] - 1]:.0f})"
    )


# ---------------------------------------------------------------- gunicorn beside Daphne


@contextmanager
def http_server(args, env, log_dir: Path) -> Iterator[tuple[int, object] | None]:
    """With ``--http gunicorn``, the gunicorn master serving every POST: (port, process);
    None when Daphne serves them."""
    if args.http != "gunicorn":
        yield None
        return
    from bench.live_servers import gunicorn_server

    with gunicorn_server(
        env,
        workers=args.http_workers,
        threads=args.http_threads,
        log_dir=log_dir,
        application="bench.floor_app:wsgi_application",
    ) as server:
        yield server


def server_name(args) -> str:
    if args.http == "daphne":
        return "Daphne"
    if args.http_threads == 1:
        return f"gunicorn ({args.http_workers} sync workers)"
    return f"gunicorn ({args.http_workers} gthread workers x {args.http_threads} threads)"


def server_pids(servers) -> list[int]:
    return [p.pid for _, process in servers for p in process_tree(process.pid)]


@dataclass
class FloorFigures:
    fanout: list[float]
    release: list[float]
    rate: float
    insert_ms: list[float]


def floor_phases(
    mp, args, specs, floors: dict[str, list[int]], frame_bytes: int, insert, every_server
):
    """The floor on each HTTP server (name → its ports), one raw socket per Cascade socket
    (on Daphne): raw release POSTs timed to every frame, then raw INSERT POSTs; the frame
    accounting over all of them, and the servers' CPU as Cascade's phases print it (the
    first release phase with the sockets' joins, as Cascade's). Returns each server's
    ``FloorFigures``."""
    cpu = cpu_seconds(every_server, [])
    swarm = Swarm(mp, specs, args.join_rate, processes=client_processes(args, len(specs)))
    time.sleep(2)
    figures: dict[str, FloorFigures] = {}
    seqs: list[int] = []
    for name, ports in floors.items():
        timed = floor_releases(swarm, ports, args.injects, args.gap, frame_bytes)
        seqs += sorted(timed.started)
        floor_fanout, floor_release = timed.fanout_ms, timed.release_ms
        released = cpu_seconds(every_server, swarm.pids)
        what = "join + injects" if not figures else "injects"
        report(
            f"Floor on {name}: {len(specs)} raw sockets, raw release view",
            [
                *_join_rows(swarm, args),
                ("release POST p50 / p95 / p99", spread(floor_release)),
                ("frames received", f"{len(floor_fanout)} of {len(timed.started) * len(specs)}"),
                ("fan-out from the POST p50 / p95 / p99", spread(floor_fanout)),
                (
                    "an inject's first / last frame, median",
                    inject_spans(timed.by_inject, floor_release),
                ),
                (f"CPU s, servers | clients ({what})", _cpu_row(cpu, released)),
            ],
        )
        cpu = released
        insert_ms: list[float] = []
        rate = 0.0
        if args.seconds:
            statuses, insert_ms, elapsed = post_loop(ports, args.seconds, args.clients, insert)
            rate = statuses[200] / elapsed
            inserted = cpu_seconds(every_server, swarm.pids)
            per_post = (sum(inserted[:-1]) - sum(cpu[:-1])) / max(statuses[200], 1) * 1000
            report(
                f"Floor on {name}: raw view, one INSERT per POST",
                [
                    ("POSTs answered", f"{dict(statuses)} in {elapsed:.1f} s = {rate:.1f}/s"),
                    ("POST p50 / p95 / p99", spread(insert_ms)),
                    ("servers' CPU per POST", f"{per_post:.1f} ms"),
                    ("CPU s, servers | clients", _cpu_row(cpu, inserted)),
                ],
            )
            cpu = inserted
        figures[name] = FloorFigures(floor_fanout, floor_release, rate, insert_ms)
    frames = swarm.frames()
    swarm.close()
    delivery = Counter()
    for _, received, *_ in frames:
        delivery.update(account(seqs, [seq for seq, _ in received]))
    report("Floor: frames", [_delivery_row(delivery)])
    return figures


def ratio_rows(name: str, floor: FloorFigures, fan, release, rate: float, decide99: float):
    """Cascade's figures against the floor on one server."""
    fan99 = ratio(percentile(fan, 99), percentile(floor.fanout, 99))
    rows = [
        (f"fan-out p50, floor on {name}", ratio(percentile(fan, 50), percentile(floor.fanout, 50))),
        (f"fan-out p99, floor on {name}", f"{fan99} (target <= {TARGET_FANOUT_RATIO}x)"),
        (
            f"release POST p50, floor on {name}",
            ratio(percentile(release, 50), percentile(floor.release, 50)),
        ),
    ]
    if not floor.insert_ms:  # --seconds 0: no decide phase
        return rows
    insert99 = percentile(floor.insert_ms, 99)
    return [
        *rows,
        (
            f"decisions/s over HTTP, floor on {name}",
            f"{ratio(rate, floor.rate)} ({rate:.0f} vs {floor.rate:.0f}/s;"
            f" target >= {TARGET_DECISIONS_PER_S}/s)",
        ),
        (
            f"POST p99, floor on {name}",
            f"{ratio(decide99, insert99)} ({decide99:.0f} vs {insert99:.0f} ms;"
            f" target < {TARGET_POST_P99_MS} ms)",
        ),
    ]


# ---------------------------------------------------------------- the run


class Round(NamedTuple):
    """One round of sockets and releases: the swarm (still open), each socket's hello
    seq, {seq or id: the release POST's start}, release POST ms, fan-out ms by seq."""

    swarm: Swarm
    hello_seq: int
    started: dict[int, float]
    release_ms: list[float]
    by_inject: dict[int, list[float]]

    @property
    def fanout_ms(self) -> list[float]:
        return every_frame(self.by_inject)


def client_processes(args, sockets: int) -> int:
    return max(1, -(-sockets // args.swarm_size))


def cascade_round(mp, args, ports, exercise, specs, cookie: str, injects: list[int]) -> Round:
    """Cascade's sockets for ``specs`` (each saying hello ``--catch-up`` events back, so its
    connect replays them), then the facilitator's release POSTs of ``injects``."""
    from exercises import events
    from exercises.models import Event

    exercise.refresh_from_db()
    before = exercise.last_seq
    hello = max(0, before - args.catch_up)
    swarm = Swarm(
        mp, specs, args.join_rate, hello_seq=hello, processes=client_processes(args, len(specs))
    )
    time.sleep(2)  # every hello answered
    posts = releases(
        ports,
        len(injects),
        args.gap,
        lambda n: (f"/exercises/{exercise.code}/injects/i{injects[n]}/release/", {}, cookie),
    )
    swarm.settle()
    released = list(
        Event.objects.filter(exercise=exercise, kind=events.INJECT_RELEASED, seq__gt=before)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    if len(released) != len(posts):
        raise RuntimeError(f"{len(posts)} release POSTs made {len(released)} events")
    started = {seq: t0 for seq, (t0, _, _) in zip(released, posts, strict=True)}
    release_ms = [ms for _, ms, _ in posts]
    return Round(swarm, hello, started, release_ms, fanout_by_inject(swarm.frames(), started))


def floor_round(mp, args, ports, specs, frame_bytes: int, count: int) -> Round:
    """The floor's raw sockets for ``specs``, then ``count`` raw release POSTs."""
    floor_specs = [(port, f"/floor/ws/?team={team}", "", team) for port, _, _, team in specs]
    swarm = Swarm(
        mp, floor_specs, args.join_rate, processes=client_processes(args, len(floor_specs))
    )
    time.sleep(2)
    return floor_releases(swarm, ports, count, args.gap, frame_bytes)


def floor_releases(swarm: Swarm, ports, count: int, gap: float, frame_bytes: int) -> Round:
    """``count`` raw release POSTs of ``frame_bytes`` frames to ``swarm``'s open sockets,
    every ``gap`` s, each timed to every frame of its id once the sockets have settled."""
    posts = releases(ports, count, gap, lambda n: ("/floor/release/", {"bytes": frame_bytes}, ""))
    swarm.settle()
    started = {int(body): t0 for t0, _, body in posts}
    release_ms = [ms for _, ms, _ in posts]
    return Round(swarm, 0, started, release_ms, fanout_by_inject(swarm.frames(), started))


def cascade_delivery(exercise, frames, hello_seq: int) -> Counter:
    """Every socket's frames against what it may see; the first sockets that went wrong
    are printed, with the seqs they lost."""
    clients, closed = [], []
    for team_id, received, _, closed_by_server in frames:
        client = Client(0, exercise.code, "", team_id)
        client.hello_seq, client.received = hello_seq, received
        clients.append(client)
        closed.append(closed_by_server)
    wrong: list = []
    delivery = check_delivery(exercise, clients, wrong)
    for index, team_id, counts, lost in wrong[:5]:
        why = f"; closed by the server ({closed[index]})" if closed[index] is not None else ""
        print(f"  socket {index} (team {team_id}): {counts}; lost seqs {lost[:12]}{why}")
    if server_closed := sum(code is not None for code in closed):
        print(f"  sockets the server closed                 {server_closed}")
    return delivery


def floor_delivery(frames, started: dict[int, float]) -> Counter:
    delivery = Counter()
    for _, received, *_ in frames:
        delivery.update(account(sorted(started), [seq for seq, _ in received]))
    return delivery


def broken(delivery: Counter) -> bool:
    return any(delivery[k] for k in BROKEN)


def rss_of(servers) -> list[float]:
    """Each server's resident memory now in MB, its workers included (gunicorn)."""
    return [
        sum(p.memory_info().rss for p in process_tree(process.pid)) / 2**20
        for _, process in servers
    ]


def run(args, env) -> list[str]:
    """The whole bench; returns the targets missed."""
    import multiprocessing

    from django.core.management import call_command
    from django.db import connection

    from bench.live_servers import daphne_servers
    from exercises import engine
    from exercises.models import DecisionRevision

    missed: list[str] = []
    summary: list[tuple[str, str]] = []
    began = time.time()
    print(f"Preparing {args.database} (load average {os.getloadavg()[0]:.1f}) …", flush=True)
    recreate_database(args.database)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_floor (id bigserial PRIMARY KEY, body text)")
    # Each exercise's inject 0 warms up; then each round's, in turn.
    main_injects = itertools.count(1)
    scale_injects = itertools.count(1) if scaled(args) else main_injects
    if scaled(args):
        injects = max(args.injects, 1 + args.scale_injects * (2 + len(args.sweep)))
    else:
        injects = args.injects * (1 + len(args.sweep))
    big, facilitator, players, cookies, prompt, options = seed(*seeded(args), injects)
    if scaled(args):  # the main phase: the players of the first --teams teams, on their own
        # The engine-only deciders (bench_live) take the exercise named "Bench": the main one.
        big.name = "Bench scale"
        big.save(update_fields=["name"])
        chosen, main_cookies = first_teams(players, cookies, args.participants, args.teams)
        exercise, main_players = seed_exercise(big, facilitator, chosen, "Bench")
        engine.exercise_start(exercise=exercise, actor=facilitator)
        exercise.refresh_from_db()
    else:
        exercise, main_players, main_cookies = big, players, cookies
    facilitator_cookie = session_for(facilitator)
    starters, start_cookies = first_teams(players, cookies, args.start_players, args.start_teams)
    start_code = (
        seed_exercise(big, facilitator, starters, "Bench start")[0].code if starters else None
    )
    connection.close()
    gc.collect()
    gc.freeze()  # the seeded objects: no full collection of them inside a timed phase
    mp = multiprocessing.get_context("spawn")
    code, key = exercise.code, prompt.key
    teams: dict[int, list[str]] = {}
    for (_, team), cookie in zip(main_players, main_cookies, strict=True):
        teams.setdefault(team.pk, []).append(cookie)
    # Every player of every team in turn: team t's k-th player at n = t + teams * k.
    seats = list(teams.values())
    tokens = itertools.count()  # a decision's token is never sent twice, warm-up included

    def decide(n: int) -> tuple[str, dict, str]:
        team_cookies = seats[n % len(seats)]
        form = {f"{key}-option": options[n % 2].key, f"{key}-client_token": f"h{next(tokens)}"}
        return (
            f"/exercises/{code}/room/prompts/{key}/",
            form,
            team_cookies[(n // len(seats)) % len(team_cookies)],
        )

    def insert(n: int) -> tuple[str, dict, str]:
        return "/floor/insert/", {"body": f"decision {n}"}, ""

    log_dir = Path(os.environ.get("BENCH_LOG_DIR", "/tmp"))
    with (
        daphne_servers(
            args.servers, env, log_dir=log_dir, application="bench.floor_app:application"
        ) as servers,
        http_server(args, env, log_dir) as web,
    ):
        ports = [port for port, _ in servers]
        # Where the POSTs go: gunicorn beside Daphne, or Daphne itself.
        http_ports = [web[0]] if web else ports
        every_server = servers + ([web] if web else [])
        # Warm-up, untimed: a release (inject 0), a decision and an insert on each server.
        # The scale exercise releases one more, so that every scale step's sockets replay
        # two inject releases when they connect, the first step's too (not the start's
        # panels, several times heavier to render: that step would not compare).
        warm = [(code, 0)]
        if big != exercise:
            warm += [(big.code, 0), (big.code, next(scale_injects))]
        releases(
            http_ports,
            len(warm),
            0,
            lambda n: (
                f"/exercises/{warm[n][0]}/injects/i{warm[n][1]}/release/",
                {},
                facilitator_cookie,
            ),
        )
        for port in sorted({*ports, *http_ports}):
            post_loop([port], 0.5, 1, decide)
            post_loop([port], 0.5, 1, insert)
            post_loop([port], 0.2, 1, lambda n: ("/floor/release/", {"bytes": 10}, ""))
        sampler = RssSampler(server_pids(every_server))
        sampler.start()

        # ---- Cascade: sockets, releases from the facilitator's POST, decide POSTs
        specs = socket_specs(ports, code, main_players, main_cookies)
        cpu = cpu_seconds(every_server, [])
        cascade = cascade_round(
            mp,
            args,
            http_ports,
            exercise,
            specs,
            facilitator_cookie,
            [next(main_injects) for _ in range(args.injects)],
        )
        swarm = cascade.swarm
        frames = swarm.frames()
        sizes = frames[0][2]
        frame_bytes = max((sizes[s] for s in cascade.started if s in sizes), default=0)
        cpu_injects = cpu_seconds(every_server, swarm.pids)
        report(
            f"Cascade: {len(specs)} sockets in {args.teams} teams on {args.servers} servers"
            f", HTTP on {server_name(args)}",
            [
                *_join_rows(swarm, args),
                (
                    "injects released (facilitator POST)",
                    f"{len(cascade.started)}, every {args.gap} s",
                ),
                ("release POST p50 / p95 / p99", spread(cascade.release_ms)),
                ("inject frame", f"{frame_bytes} bytes"),
                (
                    "inject frames received",
                    f"{len(cascade.fanout_ms)} of {len(cascade.started) * len(specs)}",
                ),
                ("fan-out from the POST p50 / p95 / p99", spread(cascade.fanout_ms)),
                (
                    "an inject's first / last frame, median",
                    inject_spans(cascade.by_inject, cascade.release_ms),
                ),
                ("CPU s, servers | clients (join + injects)", _cpu_row(cpu, cpu_injects)),
                ("server RSS now (MB)", ", ".join(f"{r:.0f}" for r in rss_of(every_server))),
            ],
        )
        decide_ms: list[float] = []
        cascade_rate = 0.0
        if args.seconds:
            revisions = DecisionRevision.objects.filter(decision__exercise=exercise)
            first = revisions.count()
            # gunicorn's workers share one PROMETHEUS_MULTIPROC_DIR: one answers for all.
            metrics_before = scrape_all(http_ports, env["METRICS_TOKEN"])
            statuses, decide_ms, elapsed = post_loop(http_ports, args.seconds, args.clients, decide)
            accepted = revisions.count() - first
            lock = metrics_scrape.live_figures(
                scrape_all(http_ports, env["METRICS_TOKEN"]), since=metrics_before
            )
            cpu_decisions = cpu_seconds(every_server, swarm.pids)
            server_cpu = sum(cpu_decisions[:-1]) - sum(cpu_injects[:-1])
            cascade_rate = accepted / elapsed
            report(
                "Cascade: decide POSTs (session, CSRF, htmx form)",
                [
                    (
                        "POSTs answered",
                        f"{dict(statuses)} in {elapsed:.1f} s from {args.clients} clients",
                    ),
                    ("decisions accepted", f"{accepted} = {cascade_rate:.1f}/s"),
                    ("POST p50 / p95 / p99", spread(decide_ms)),
                    ("servers' CPU per decision", f"{server_cpu / max(accepted, 1) * 1000:.1f} ms"),
                    ("CPU s, servers | clients", _cpu_row(cpu_injects, cpu_decisions)),
                    *lock_rows(lock, elapsed),
                ],
            )
        swarm.settle()
        frames = swarm.frames()
        swarm.close()
        delivery = cascade_delivery(exercise, frames, cascade.hello_seq)
        report("Cascade: frames", [_delivery_row(delivery)])
        if broken(delivery):
            missed.append("Cascade frames lost, duplicated, out of order or leaked")

        # ---- the floor: raw sockets; raw release and INSERT POSTs on each HTTP server
        floor_specs = [(port, f"/floor/ws/?team={team}", "", team) for port, _, _, team in specs]
        floors = {"Daphne": ports, **({"gunicorn": http_ports} if web else {})}
        floor = floor_phases(mp, args, floor_specs, floors, frame_bytes, insert, every_server)

        p99 = percentile(cascade.fanout_ms, 99)
        fan99 = p99 / percentile(floor["Daphne"].fanout, 99)
        decide99 = percentile(decide_ms, 99) if decide_ms else 0.0
        report(
            "Cascade / floor",
            [
                row
                for name, each in floor.items()
                for row in ratio_rows(
                    name, each, cascade.fanout_ms, cascade.release_ms, cascade_rate, decide99
                )
            ],
        )
        summary.append(
            (
                f"fan-out p99 from the release POST, {len(specs)} sockets",
                f"{p99:.0f} ms, {fan99:.2f}x the floor on Daphne"
                f" (targets <= {TARGET_FANOUT_RATIO}x, < {TARGET_FANOUT_P99_MS} ms)",
            )
        )
        if args.seconds:
            insert = floor["Daphne"]
            summary += [
                (
                    "decisions over HTTP",
                    f"{cascade_rate:.0f}/s, {ratio(cascade_rate, insert.rate)} the INSERT view"
                    f" on Daphne (target >= {TARGET_DECISIONS_PER_S}/s)",
                ),
                (
                    "decide POST p99",
                    f"{decide99:.0f} ms, {ratio(decide99, percentile(insert.insert_ms, 99))}"
                    f" the INSERT view's (target < {TARGET_POST_P99_MS} ms)",
                ),
            ]
            if cascade_rate < TARGET_DECISIONS_PER_S:
                missed.append(f"{cascade_rate:.0f} decisions/s over HTTP")
            if decide99 >= TARGET_POST_P99_MS:
                missed.append(f"decide POST p99 {decide99:.0f} ms")
        if fan99 > TARGET_FANOUT_RATIO:
            missed.append(f"fan-out p99 {fan99:.2f}x the floor's")
        missed += fanout_misses(len(specs), p99)

        if start_code:
            start = guarded(
                missed,
                "the exercise start",
                lambda: start_phase(
                    args, http_ports, start_code, facilitator_cookie, start_cookies
                ),
            )
            if start:
                missed += start[0]
                summary.append(start[1])

        scale = guarded(
            missed,
            "the scale phase",
            lambda: scale_phases(
                mp,
                args,
                env,
                servers,
                http_ports,
                big,
                lambda on, count: socket_specs(on, big.code, players[:count], cookies[:count]),
                facilitator_cookie,
                lambda count: [next(scale_injects) for _ in range(count)],
                log_dir,
            ),
        )
        if scale:
            missed += scale[0]
            summary += scale[1]

        # With one PROMETHEUS_MULTIPROC_DIR (gunicorn runs) any server answers for all.
        server_figures(http_ports, env["METRICS_TOKEN"])
        sampler.stop.set()
        sampler.join()
        rss = ", ".join(f"{p / 2**20:.0f}" for p in sampler.peak)
    errors = logged_errors(log_dir, began)  # the servers stopped: their logs are whole
    report(
        "Servers",
        [("RSS peak (MB)", rss), ("error lines in their logs", str(len(errors)))]
        + [("", line[:160]) for line in errors[:5]],
    )
    if errors:
        missed.append(f"{len(errors)} error lines in the servers' logs ({log_dir})")

    if args.engine_seconds:
        rate = guarded(missed, "the engine-only phase", lambda: engine_only(args, mp))
        if rate:
            summary.append(("engine alone (no HTTP)", rate))
    report("Summary", summary)
    return missed


def guarded(missed: list[str], name: str, call: Callable):
    """``call()``'s answer, or None when it raised: the error is printed and counted as a
    missed target, so the phases after it still run and the verdict still prints."""
    try:
        return call()
    except Exception as error:
        report(name, [("failed", repr(error))])
        missed.append(f"{name} failed: {error!r}")
        return None


def engine_only(args, mp) -> str:
    """bench_live's engine-only rate on the exercise named "Bench": printed, and returned."""
    deciders = argparse.Namespace(seconds=args.engine_seconds, workers=2, decision_processes=2)
    accepted, rejected, elapsed, cpu_s, _ = run_deciders(deciders, mp)
    each = cpu_s / max(accepted, 1) * 1000
    rate = f"{accepted / elapsed:.0f}/s ({rejected} rejected), {each:.1f} ms CPU"
    report(
        "Engine only (decision_submit from 2 processes x 2 threads, no HTTP, no sockets)",
        [("decisions", rate)],
    )
    return rate


def socket_specs(ports: list[int], code: str, players, cookies) -> list[tuple]:
    """Each player's socket spec (port, path, cookie, team id), round-robin over ``ports``."""
    return [
        (ports[i % len(ports)], f"/ws/exercises/{code}/", cookie, team.pk)
        for i, ((_, team), cookie) in enumerate(zip(players, cookies, strict=True))
    ]


def scale_rhythm(args) -> argparse.Namespace:
    """``args`` with the scale phase's join rate and inject rhythm in the main phase's
    places (pure), for the rounds that read them there."""
    return argparse.Namespace(
        **{
            **vars(args),
            "join_rate": args.scale_join_rate,
            "injects": args.scale_injects,
            "gap": args.scale_gap,
        }
    )


def scale_phases(
    mp, args, env, servers, http_ports, exercise, specs_of, cookie, injects, log_dir
) -> tuple[list[str], list[tuple[str, str]]]:
    """With a scale phase: the sweep's steps below ``--scale`` sockets, ``--scale`` sockets,
    the same again on ``--scale-servers`` fresh Daphne processes (right after, so the
    machine's load is alike), the steps above, and where fan-out p99 passes 1 s on
    ``--servers`` processes. Without: the sweep of the main phase's players.
    ``specs_of(ports, n)``: the first n players' sockets on ``ports``; ``injects(n)``: the
    next n injects to release. Returns the targets missed and the summary's rows."""
    from bench.live_servers import daphne_servers

    rhythm = scale_rhythm(args) if scaled(args) else args
    rounds = f"{rhythm.injects} injects every {rhythm.gap} s"
    missed: list[str] = []
    summary: list[tuple[str, str]] = []
    p99s: dict[int, float | None] = {}

    def step(count: int, on, title: str) -> Step | None:
        ports = [port for port, _ in on]
        result, problems = sweep_step(
            mp,
            rhythm,
            on,
            http_ports,
            exercise,
            specs_of(ports, count),
            cookie,
            injects(rhythm.injects),
            title,
        )
        missed.extend(problems)
        if on is servers:
            p99s[count] = percentile(result.fanout_ms, 99) if result else None
        return result

    def sweep(counts: list[int]) -> bool:
        """The sweep's steps at ``counts``, up to the first that did not connect (more
        sockets would not connect either); False then."""
        return all(step(count, servers, f"Sweep: {count} sockets, {rounds}") for count in counts)

    connected = sweep(sorted(n for n in args.sweep if not scaled(args) or n < args.scale))
    if connected and scaled(args):
        title = f"Scale: {args.scale} sockets in {args.scale_teams} teams on {len(servers)} servers"
        scale = step(args.scale, servers, f"{title}, {rounds}")
        connected = scale is not None
        if scale:
            summary.append(
                (
                    f"{args.scale} sockets in {args.scale_teams} teams, joining at"
                    f" {args.scale_join_rate:.0f}/s",
                    f"all in {scale.connect_s:.1f} s; fan-out p99"
                    f" {percentile(scale.fanout_ms, 99):.0f} ms,"
                    f" {ratio(p99s[args.scale], percentile(scale.floor_fanout_ms, 99))} the"
                    f" floor's (target < {TARGET_FANOUT_P99_MS} ms); RSS"
                    f" {', '.join(f'{r:.0f}' for r in scale.rss_mb)} MB ({rounds})",
                )
            )
        if scale and args.scale_servers:
            with daphne_servers(
                args.scale_servers,
                env,
                log_dir=log_dir,
                application="bench.floor_app:application",
                name="daphne-scale",
            ) as more:
                title = f"Scale on {len(more)} fresh servers: {args.scale} sockets, {rounds}"
                bigger = step(args.scale, more, title)
            if bigger:
                rows = more_servers_rows(scale, bigger)
                report(f"{len(servers)} → {len(more)} Daphne processes, {args.scale} sockets", rows)
                summary += [(f"{len(servers)} → {len(more)} processes: {k}", v) for k, v in rows]
        if connected:
            sweep(sorted(n for n in args.sweep if n > args.scale))
    if p99s:
        where = breaks_at(p99s)
        report(
            f"Where fan-out p99 passes 1 s on {len(servers)} servers",
            [
                *(
                    (f"{n} sockets", "not all connected" if p is None else f"{p:.0f} ms")
                    for n, p in sorted(p99s.items())
                ),
                ("passes 1 s", where),
            ],
        )
        summary.append(("fan-out p99 passes 1 s", where))
    return missed, summary


def fanout_misses(sockets: int, p99_ms: float) -> list[str]:
    """The absolute fan-out target (issue 19: p99 < 1 s at 5,000 sockets), as misses."""
    if p99_ms < TARGET_FANOUT_P99_MS:
        return []
    return [f"fan-out p99 {p99_ms:.0f} ms at {sockets} sockets (target < {TARGET_FANOUT_P99_MS})"]


@dataclass
class Step:
    """One socket count's figures (``sweep_step``): Cascade's join and fan-out, the floor's
    fan-out, each server's RSS with Cascade's sockets open."""

    sockets: int
    servers: int
    connect_s: float
    handshake_p99_ms: float
    fanout_ms: list[float]
    floor_fanout_ms: list[float]
    rss_mb: list[float]


def sweep_step(
    mp, args, servers, http_ports: list[int], exercise, specs, cookie: str, injects, title: str
) -> tuple[Step | None, list[str]]:
    """``specs``' Cascade sockets and releases (POSTed to ``http_ports``), then as many raw
    sockets and raw releases on Daphne (the issue's floor); printed at once under
    ``title``. Returns the figures (None: not every socket connected) and the targets
    missed."""
    ports = [port for port, _ in servers]
    try:
        cascade = cascade_round(mp, args, http_ports, exercise, specs, cookie, injects)
    except RuntimeError as error:
        report(title, [("Cascade", str(error))])
        return None, [f"{len(specs)} sockets: not all connected"]
    rss = rss_of(servers)
    frames = cascade.swarm.frames()
    cascade.swarm.close()
    sizes = frames[0][2]
    frame_bytes = max((sizes[s] for s in cascade.started if s in sizes), default=0)
    delivery = cascade_delivery(exercise, frames, cascade.hello_seq)
    floor = floor_round(mp, args, ports, specs, frame_bytes, len(injects))
    frames = floor.swarm.frames()
    floor.swarm.close()
    p50 = (percentile(cascade.fanout_ms, 50), percentile(floor.fanout_ms, 50))
    p99 = (percentile(cascade.fanout_ms, 99), percentile(floor.fanout_ms, 99))
    report(
        title,
        [("Cascade " + k, v) for k, v in _join_rows(cascade.swarm, args)]
        + [("floor " + k, v) for k, v in _join_rows(floor.swarm, args)]
        + [
            ("Cascade fan-out p50 / p95 / p99", spread(cascade.fanout_ms)),
            ("floor fan-out p50 / p95 / p99", spread(floor.fanout_ms)),
            ("fan-out p50, Cascade / floor", ratio(*p50)),
            ("fan-out p99, Cascade / floor", f"{ratio(*p99)} (target < {TARGET_FANOUT_P99_MS} ms)"),
            (
                "release POST p50, Cascade / floor",
                ratio(percentile(cascade.release_ms, 50), percentile(floor.release_ms, 50)),
            ),
            ("Cascade frames", _delivery_row(delivery)[1]),
            ("floor frames", _delivery_row(floor_delivery(frames, floor.started))[1]),
            ("server RSS with the sockets open (MB)", ", ".join(f"{r:.0f}" for r in rss)),
        ],
    )
    missed = fanout_misses(len(specs), p99[0])
    if broken(delivery):
        missed.append(f"{len(specs)} sockets: frames lost, duplicated, out of order or leaked")
    step = Step(
        len(specs),
        len(servers),
        cascade.swarm.connect_seconds,
        percentile(cascade.swarm.join["handshakes"], 99) * 1000,
        cascade.fanout_ms,
        floor.fanout_ms,
        rss,
    )
    return step, missed


def breaks_at(p99s: dict[int, float | None]) -> str:
    """Where fan-out p99 passes 1 s, from each socket count's p99 in ms (None: not every
    socket connected) (pure)."""
    counts = sorted(p99s)

    def at(n: int) -> str:
        return "not all connected" if p99s[n] is None else f"{p99s[n]:.0f} ms"

    over = [n for n in counts if p99s[n] is None or p99s[n] >= TARGET_FANOUT_P99_MS]
    if not over:
        return f"not up to {counts[-1]} sockets, the most tried ({at(counts[-1])})"
    first = counts.index(over[0])
    if first == 0:
        return f"at {counts[0]} sockets already, the fewest tried ({at(counts[0])})"
    below = counts[first - 1]
    return f"between {below} ({at(below)}) and {over[0]} sockets ({at(over[0])})"


def more_servers_rows(fewer: Step, more: Step) -> list[tuple[str, str]]:
    """What ``more``'s extra Daphne processes buy against ``fewer`` at the same sockets
    (pure): each figure before → after, and the ratio."""

    def row(label: str, before: float, after: float, unit: str) -> tuple[str, str]:
        digits = 1 if unit == "s" else 0
        return label, f"{before:.{digits}f} → {after:.{digits}f} {unit} ({ratio(after, before)})"

    return [
        row("Cascade fan-out p50", *(percentile(s.fanout_ms, 50) for s in (fewer, more)), "ms"),
        row("Cascade fan-out p99", *(percentile(s.fanout_ms, 99) for s in (fewer, more)), "ms"),
        row("floor fan-out p99", *(percentile(s.floor_fanout_ms, 99) for s in (fewer, more)), "ms"),
        row("Cascade connect + hello, all", fewer.connect_s, more.connect_s, "s"),
        row("Cascade handshake p99", fewer.handshake_p99_ms, more.handshake_p99_ms, "ms"),
        row("RSS per process, largest", max(fewer.rss_mb), max(more.rss_mb), "MB"),
        row("RSS, all processes", sum(fewer.rss_mb), sum(more.rss_mb), "MB"),
    ]


def _join_rows(swarm: Swarm, args) -> list[tuple[str, str]]:
    return [
        (
            "connect + hello, all sockets",
            f"{swarm.connect_seconds:.1f} s ({args.join_rate:.0f}/s offered,"
            f" {len(swarm.hands)} client processes)",
        ),
        ("handshake p50 / p95 / p99 / max", spread_s(swarm.join["handshakes"])),
    ]


# ---------------------------------------------------------------- the exercise start


def first_teams(players, cookies, count: int, teams: int) -> tuple[list, list[str]]:
    """The first ``count`` players (and their cookies) of the first ``teams`` teams (pure):
    a phase's exercise has as many teams as the issue's, whatever the seeding's."""
    first = {team.pk for _, team in players[: max(teams, 1)]}
    chosen = [(p, c) for p, c in zip(players, cookies, strict=True) if p[1].pk in first][:count]
    return [p for p, _ in chosen], [c for _, c in chosen]


def seed_exercise(exercise, facilitator, players, name: str):
    """A second exercise of the same scenario, in the lobby, with ``players`` (their teams'
    roles and organizations); returns it and its players, each with their team in it."""
    from exercises.models import Exercise, Participant, Team

    other = Exercise.objects.create(name=name, scenario=exercise.scenario, status="lobby")
    Participant.objects.create(exercise=other, user=facilitator, kind="facilitator")
    teams: dict[int, Team] = {}
    for _, team in players:
        teams.setdefault(
            team.pk,
            Team(exercise=other, role_id=team.role_id, organization_id=team.organization_id),
        )
    Team.objects.bulk_create(teams.values())
    Participant.objects.bulk_create(
        Participant(exercise=other, user=user, kind="player", team=teams[team.pk])
        for user, team in players
    )
    return other, [(user, teams[team.pk]) for user, team in players]


def arrivals(count: int, seconds: float) -> list[float]:
    """When each of ``count`` players opens the page, in seconds from the phase's start:
    evenly over ``seconds`` (pure)."""
    return [seconds * i / count for i in range(count)]


def get_page(port: int, path: str, cookie: str) -> tuple[int, int]:
    """One page GET as a browser's first visit sends it (its own connection, the session
    cookie); (status, body bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            "GET",
            path,
            headers={
                "Cookie": f"sessionid={cookie}" if cookie else "",
                "Accept": "text/html",
            },
        )
        response = connection.getresponse()
        return response.status, len(response.read())
    finally:
        connection.close()


def open_loop(
    offsets: list[float], call: Callable[[int], tuple[int, int]], threads: int
) -> tuple[list[tuple[int, int, float]], float]:
    """``call(i)`` at ``offsets[i]`` s from now, from ``threads`` threads: an open loop,
    so a slow answer never delays the next player. Returns each call's (status, bytes,
    ms from its planned time, late starts included) and the latest start (s late)."""
    t0 = time.monotonic() + 0.2
    out: list[tuple[int, int, float]] = [(0, 0, 0.0)] * len(offsets)
    late = [0.0]
    pending = iter(range(len(offsets)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                i = next(pending, None)
            if i is None:
                return
            planned = t0 + offsets[i]
            time.sleep(max(0.0, planned - time.monotonic()))
            late[0] = max(late[0], time.monotonic() - planned)
            status, size = call(i)
            out[i] = (status, size, (time.monotonic() - planned) * 1000)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return out, late[0]


def start_phase(
    args, http_ports: list[int], code: str, cookie: str, cookies: list[str]
) -> tuple[list[str], tuple[str, str]]:
    """The exercise start: ``cookies``' players open their team room within
    ``--start-seconds`` while the facilitator starts the exercise (after 1 s) and releases
    the first inject (after 3 s); then the floor: as many GETs of a raw Django view
    rendering a page of the room page's median size, on the same schedule. Page GETs go to
    ``http_ports``. Returns the targets missed and the summary's row."""
    room = f"/exercises/{code}/room/"
    for port in http_ports:  # warm-up, untimed: the room's templates and queries
        get_page(port, room, cookies[0])
    offsets = arrivals(len(cookies), args.start_seconds)
    facilitator: list[str] = []

    def facilitate() -> None:
        steps = (
            ("start", 1.0, f"/exercises/{code}/start/"),
            ("release i1", 3.0, f"/exercises/{code}/injects/i1/release/"),
        )
        for label, at, path in steps:
            time.sleep(max(0.0, at - (time.monotonic() - t0)))
            connection = http.client.HTTPConnection("127.0.0.1", http_ports[0], timeout=60)
            t = time.monotonic()
            try:
                status, _, ms, _ = post_once(connection, http_ports[0], path, {}, cookie)
                facilitator.append(f"{label} {status} in {ms:.0f} ms")
            except OSError as error:  # a timeout included: the figure, not a dead phase
                facilitator.append(f"{label} {error!r} after {time.monotonic() - t:.0f} s")
            finally:
                connection.close()

    t0 = time.monotonic()
    control = threading.Thread(target=facilitate)
    control.start()
    pages, late = open_loop(
        offsets,
        lambda i: get_page(http_ports[i % len(http_ports)], room, cookies[i]),
        args.start_clients,
    )
    control.join()
    sizes = sorted(size for status, size, _ in pages if status == 200)
    page_bytes = sizes[len(sizes) // 2] if sizes else 0
    floor, floor_late = open_loop(
        offsets,
        lambda i: get_page(http_ports[i % len(http_ports)], f"/floor/page/?bytes={page_bytes}", ""),
        args.start_clients,
    )
    ms, floor_ms = [m for _, _, m in pages], [m for _, _, m in floor]
    p95 = (percentile(ms, 95), percentile(floor_ms, 95))
    report(
        f"Exercise start: {len(cookies)} players in {min(args.start_teams, args.teams)} teams"
        f" open their room within {args.start_seconds:.0f} s",
        [
            ("room GETs answered", str(dict(Counter(status for status, _, _ in pages)))),
            ("room page", f"{page_bytes} bytes (median)"),
            (
                "room GET p50 / p95 / p99 / max",
                spread(ms)[:-3] + f" / {percentile(ms, 100):.0f} ms",
            ),
            ("facilitator (during the GETs)", "; ".join(facilitator)),
            ("floor GETs answered", str(dict(Counter(status for status, _, _ in floor)))),
            (
                "floor GET p50 / p95 / p99 / max",
                spread(floor_ms)[:-3] + f" / {percentile(floor_ms, 100):.0f} ms",
            ),
            ("GET p95, Cascade / floor", f"{ratio(*p95)} (target < {TARGET_PAGE_P95_MS} ms)"),
            (
                "latest start, Cascade | floor (client lag)",
                f"{late * 1000:.0f} | {floor_late * 1000:.0f} ms",
            ),
        ],
    )
    missed = []
    if p95[0] >= TARGET_PAGE_P95_MS:
        missed.append(f"room page GET p95 {p95[0]:.0f} ms at the start")
    if any(status != 200 for status, _, _ in pages):
        missed.append("room page GETs not all 200")
    row = (
        f"the start: room GET p95, {len(cookies)} players over {args.start_seconds:.0f} s",
        f"{p95[0]:.0f} ms, {ratio(*p95)} the raw page's (target < {TARGET_PAGE_P95_MS} ms)",
    )
    return missed, row


def session_for(user) -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "accounts.backends.UserBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def server_figures(ports: list[int], token: str) -> None:
    """The servers' own figures from /metrics for the whole run (``bench/metrics_scrape.py``);
    each server is scraped, as they share no multiprocess directory."""
    figures = metrics_scrape.live_figures(scrape_all(ports, token))
    report("Servers' /metrics, whole run", [(str(k), str(v)) for k, v in figures.items()])


def scrape_all(ports: list[int], token: str) -> metrics_scrape.Samples:
    """One scrape of every server's /metrics, added up (``metrics_scrape.combined``)."""
    return metrics_scrape.combined(
        *(metrics_scrape.scrape(f"http://127.0.0.1:{port}/metrics", token) for port in ports)
    )


LOCK_QUANTILES = ("wait_p50", "wait_p95", "held_p50", "held_p95")


def lock_rows(figures: dict, elapsed: float) -> list[tuple[str, str]]:
    """The exercise lock over a phase of ``elapsed`` seconds, from ``live_figures`` since
    its start (pure). Every decision of the exercise takes that lock in turn, so the share
    of the phase it was held is how near the decisions are to the rate the lock allows
    one exercise: 1 / the mean hold. (A decision that takes the lock in its writing
    statement reports a hold a little short: ``config.metrics``.)"""
    if not figures["lock_held_p50_s"]:
        return []
    held, count = figures["lock_held_s"], figures["decisions"]
    return [
        (
            "exercise lock waited p50 / p95; held p50 / p95",
            " / ".join(f"{figures[f'lock_{k}_s'] * 1000:.1f}" for k in LOCK_QUANTILES) + " ms",
        ),
        (
            "exercise lock held, share of the phase",
            f"{held / elapsed:.0%} (mean hold {held / max(count, 1) * 1000:.1f} ms:"
            f" at most {count / held if held else 0:.0f} decisions/s in one exercise)",
        ),
    ]


def _cpu_row(before: list[float], after: list[float]) -> str:
    spent = [b - a for a, b in zip(before, after, strict=True)]
    return ", ".join(f"{s:.1f}" for s in spent[:-1]) + f" | {spent[-1]:.1f}"


def _delivery_row(delivery: Counter) -> tuple[str, str]:
    return (
        "expected / received; lost / duplicated / out of order / leaked",
        f"{delivery['expected']} / {delivery['received']}; "
        + " / ".join(str(delivery[k]) for k in ("lost", "duplicated", "out_of_order", "leaked")),
    )


# Daphne's "Exception inside application", Django's and gunicorn's error lines.
ERROR_LINE = re.compile(r"\bERROR\b|\[CRITICAL\]")


def logged_errors(log_dir: Path, since: float) -> list[str]:
    """The error lines in the logs of the servers this run started: ``log_dir``'s Daphne
    and gunicorn logs written since ``since`` (epoch seconds). An exception inside the
    application closes that socket or answers that request with a 500, which the
    figures alone may not show."""
    lines: list[str] = []
    for path in sorted(log_dir.glob("*.log")):
        if path.name.startswith(("daphne", "gunicorn")) and path.stat().st_mtime >= since:
            text = path.read_text(errors="replace")
            lines += [
                f"{path.name}: {line}" for line in text.splitlines() if ERROR_LINE.search(line)
            ]
    return lines


def drop_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    args = parse_args()
    env = configure(args)
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    import django

    django.setup()
    try:
        missed = run(args, env)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_database:
            drop_database(args.database)
        if "PROMETHEUS_MULTIPROC_DIR" in env:
            shutil.rmtree(env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    print("\nTargets:", "all met" if not missed else "MISSED: " + "; ".join(missed), flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
