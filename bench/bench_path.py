"""The path users take, against the raw stack's floor, in one run.

Starts ``--servers`` Daphne processes serving ``bench.floor_app`` (Cascade, plus a raw
Channels consumer and raw Django views on the same processes, Redis and PostgreSQL), on
a database and a channel-layer prefix of this run's own (dropped at the end), seeds one
running exercise (``--participants`` players in ``--teams`` teams) with a session per
player and one for the facilitator, and then, every phase's figures printed as soon as
they exist:

1. Cascade: every player's socket (session cookie), the facilitator's htmx POSTs
   releasing ``--injects`` injects (one every ``--gap`` s), fan-out timed from the POST
   to each socket's frame; then htmx decide POSTs as browsers send them (session cookie,
   CSRF token, the form; every player of every team in turn) from ``--clients`` keep-alive
   client threads for ``--seconds`` s: decisions/s and POST latency; then frame accounting.
2. The floor: as many raw sockets, raw release POSTs (one INSERT, then a frame of the same
   size to every socket) and raw POSTs doing one INSERT, timed the same way.
3. Each ratio, the engine-only decision rate (``--engine-seconds``, from worker
   processes, no HTTP: bench_live.py's figure), the servers' RSS and the servers' own
   /metrics figures (``bench/metrics_scrape.py``).

With ``--http gunicorn`` (the default: what a real deployment runs, README "Deploy for
real") every HTTP phase (release and decide POSTs, the floor's POSTs) goes to one gunicorn
master with ``--http-workers`` workers serving ``bench.floor_app:wsgi_application`` beside
the Daphne processes, which keep every socket; the floor's POST views are measured on both
servers (Daphne: the issue's floor; gunicorn: the same server as Cascade's POSTs), each
ratio printed, and the servers' CPU counts the gunicorn workers. ``--http daphne`` sends
everything to Daphne, as before.

Everything is warmed up first (one untimed release, decide and insert POSTs to each
server) and the bench process freezes its seeded objects out of the collector
(``gc.freeze``), as the servers do with theirs. Exits 1 when a target is missed:
decisions over HTTP >= 200/s with POST p99 < 300 ms, fan-out p99 <= 1.1x the floor's.

    .venv/bin/python bench/bench_path.py               # 1000 participants, 100 teams
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import itertools
import os
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
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import metrics_scrape
from bench.bench_live import (
    Client,
    RssSampler,
    account,
    check_delivery,
    percentile,
    recreate_database,
    run_deciders,
    seed,
)

CSRF = "b" * 32  # any 32-character secret: the header must match the cookie
TARGET_DECISIONS_PER_S = 200
TARGET_POST_P99_MS = 300
TARGET_FANOUT_RATIO = 1.1


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
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument(
        "--http",
        choices=("gunicorn", "daphne"),
        default="gunicorn",
        help="the server of every HTTP POST (sockets stay on Daphne)",
    )
    parser.add_argument("--http-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--http-threads", type=int, default=4, help="threads per gunicorn worker (1: sync)"
    )
    return parser.parse_args()


def configure(args: argparse.Namespace) -> dict[str, str]:
    """This run's database and channel prefix: two runs, or a run and a test suite on
    the same Redis, never see each other's groups."""
    run = f"{os.getpid()}{secrets.token_hex(2)}"
    args.database = f"{args.postgres}/cascade_bench_{run}"
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


def ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}x" if floor else "n/a"


def report(title: str, rows: list[tuple[str, str]]) -> None:
    """Print one phase's figures at once, so a later failure never loses them."""
    print(f"\n== {title}", flush=True)
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}", flush=True)


# ---------------------------------------------------------------- sockets


def swarm_main(specs, hello_seq, join_rate, ready, snapshot, stop, results) -> None:
    """Child process: open every socket (paced), then on ``snapshot`` put on ``results``
    every client's ``(team id, frames, sizes)`` so far; until ``stop``.

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
        while not all(r.is_set() for r in readies):
            failed = [t for t in tasks if t.done() and t.exception()]
            if failed or time.monotonic() > deadline:
                problem = repr(failed[0].exception()) if failed else "180 s passed"
                ready_count = sum(r.is_set() for r in readies)
                results.put(f"{ready_count} of {len(clients)} sockets ready; {problem}")
                ready.set()
                return
            await asyncio.sleep(0.2)
        results.put(time.monotonic() - started)
        ready.set()
        while not stop.is_set():
            if snapshot.is_set():
                snapshot.clear()
                results.put([(c.team_id, list(c.received), dict(c.sizes)) for c in clients])
            await asyncio.sleep(0.1)
        done.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())


class Swarm:
    def __init__(self, mp, specs, join_rate: float, hello_seq: int = 0) -> None:
        self.ready, self.snap, self.stop = mp.Event(), mp.Event(), mp.Event()
        self.results = mp.Queue()
        self.process = mp.Process(
            target=swarm_main,
            args=(specs, hello_seq, join_rate, self.ready, self.snap, self.stop, self.results),
            daemon=True,  # a failed run must not leave it holding the sockets
        )
        self.process.start()
        if not self.ready.wait(timeout=240):
            raise RuntimeError(f"the {len(specs)} sockets did not all connect within 240 s")
        self.connect_seconds = self.results.get(timeout=10)
        if isinstance(self.connect_seconds, str):
            raise RuntimeError(f"the sockets did not all connect: {self.connect_seconds}")
        self.pid = self.process.pid

    def frames(self):
        self.snap.set()
        return self.results.get(timeout=60)

    def close(self) -> None:
        self.stop.set()
        self.process.join(timeout=30)


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


def fanout(frames, started: dict[int, float]) -> list[float]:
    """Milliseconds from each timed POST's start to each socket's frame of its seq."""
    return [
        (at - started[seq]) * 1000
        for _, received, _ in frames
        for seq, at in received
        if seq in started
    ]


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


def _tree(pid: int) -> list:
    """A server process and its children (gunicorn's workers)."""
    import psutil

    process = psutil.Process(pid)
    return [process, *process.children(recursive=True)]


def server_pids(servers) -> list[int]:
    return [p.pid for _, process in servers for p in _tree(process.pid)]


def cpu_seconds(servers, swarm) -> list[float]:
    """User + system CPU seconds so far of each server (with its workers), then of the
    client swarm."""
    spent = []
    for _, process in servers:
        times = [p.cpu_times() for p in _tree(process.pid)]
        spent.append(sum(t.user + t.system for t in times))
    times = _tree(swarm.pid)[0].cpu_times()
    return [*spent, times.user + times.system]


@dataclass
class FloorFigures:
    fanout: list[float]
    release: list[float]
    rate: float
    insert_ms: list[float]


def floor_phases(mp, args, specs, floors: dict[str, list[int]], frame_bytes: int, insert):
    """The floor on each HTTP server (name → its ports), one raw socket per Cascade socket
    (on Daphne): raw release POSTs timed to every frame, then raw INSERT POSTs; the frame
    accounting over all of them. Returns each server's ``FloorFigures``."""
    swarm = Swarm(mp, specs, args.join_rate)
    time.sleep(2)
    figures: dict[str, FloorFigures] = {}
    seqs: list[int] = []
    for name, ports in floors.items():
        posts = releases(
            ports,
            args.injects,
            args.gap,
            lambda n: ("/floor/release/", {"bytes": frame_bytes}, ""),
        )
        time.sleep(3)
        started = {int(body): t0 for t0, _, body in posts}
        seqs += sorted(started)
        floor_fanout = fanout(swarm.frames(), started)
        floor_release = [ms for _, ms, _ in posts]
        report(
            f"Floor on {name}: {len(specs)} raw sockets, raw release view",
            [
                ("connect, all sockets", f"{swarm.connect_seconds:.1f} s"),
                ("release POST p50 / p95 / p99", spread(floor_release)),
                ("frames received", f"{len(floor_fanout)} of {len(posts) * len(specs)}"),
                ("fan-out from the POST p50 / p95 / p99", spread(floor_fanout)),
            ],
        )
        statuses, insert_ms, elapsed = post_loop(ports, args.seconds, args.clients, insert)
        rate = statuses[200] / elapsed
        report(
            f"Floor on {name}: raw view, one INSERT per POST",
            [
                ("POSTs answered", f"{dict(statuses)} in {elapsed:.1f} s = {rate:.1f}/s"),
                ("POST p50 / p95 / p99", spread(insert_ms)),
            ],
        )
        figures[name] = FloorFigures(floor_fanout, floor_release, rate, insert_ms)
    frames = swarm.frames()
    swarm.close()
    delivery = Counter()
    for _, received, _ in frames:
        delivery.update(account(seqs, [seq for seq, _ in received]))
    report("Floor: frames", [_delivery_row(delivery)])
    return figures


def ratio_rows(name: str, floor: FloorFigures, fan, release, rate: float, decide99: float):
    """Cascade's figures against the floor on one server."""
    insert99 = percentile(floor.insert_ms, 99)
    fan99 = ratio(percentile(fan, 99), percentile(floor.fanout, 99))
    return [
        (f"fan-out p50, floor on {name}", ratio(percentile(fan, 50), percentile(floor.fanout, 50))),
        (f"fan-out p99, floor on {name}", f"{fan99} (target <= {TARGET_FANOUT_RATIO}x)"),
        (
            f"release POST p50, floor on {name}",
            ratio(percentile(release, 50), percentile(floor.release, 50)),
        ),
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


def run(args, env) -> list[str]:
    """The whole bench; returns the targets missed."""
    import multiprocessing

    from django.core.management import call_command
    from django.db import connection

    from bench.live_servers import daphne_servers
    from exercises import events
    from exercises.models import DecisionRevision, Event

    missed: list[str] = []
    print(f"Preparing {args.database} (load average {os.getloadavg()[0]:.1f}) …", flush=True)
    recreate_database(args.database)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_floor (id bigserial PRIMARY KEY, body text)")
    exercise, facilitator, players, cookies, prompt, options = seed(
        args.participants, args.teams, args.injects
    )
    facilitator_cookie = session_for(facilitator)
    connection.close()
    gc.collect()
    gc.freeze()  # the seeded objects: no full collection of them inside a timed phase
    mp = multiprocessing.get_context("spawn")
    code, key = exercise.code, prompt.key
    teams: dict[int, list[str]] = {}
    for (_, team), cookie in zip(players, cookies, strict=True):
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
        releases(
            http_ports,
            1,
            0,
            lambda n: (f"/exercises/{code}/injects/i0/release/", {}, facilitator_cookie),
        )
        for port in sorted({*ports, *http_ports}):
            post_loop([port], 0.5, 1, decide)
            post_loop([port], 0.5, 1, insert)
            post_loop([port], 0.2, 1, lambda n: ("/floor/release/", {"bytes": 10}, ""))
        sampler = RssSampler(server_pids(every_server))
        sampler.start()

        # ---- Cascade: sockets, releases from the facilitator's POST, decide POSTs
        specs = [
            (ports[i % len(ports)], f"/ws/exercises/{code}/", cookie, team.pk)
            for i, ((_, team), cookie) in enumerate(zip(players, cookies, strict=True))
        ]
        exercise.refresh_from_db()
        before = exercise.last_seq
        swarm = Swarm(mp, specs, args.join_rate, hello_seq=before)
        time.sleep(2)  # every hello answered
        cpu = cpu_seconds(every_server, swarm)
        posts = releases(
            http_ports,
            args.injects,
            args.gap,
            lambda n: (f"/exercises/{code}/injects/i{n + 1}/release/", {}, facilitator_cookie),
        )
        time.sleep(3)
        released = list(
            Event.objects.filter(exercise=exercise, kind=events.INJECT_RELEASED, seq__gt=before)
            .order_by("seq")
            .values_list("seq", flat=True)
        )
        if len(released) != len(posts):
            raise RuntimeError(f"{len(posts)} release POSTs made {len(released)} events")
        started = {seq: t0 for seq, (t0, _, _) in zip(released, posts, strict=True)}
        frames = swarm.frames()
        cascade_fanout = fanout(frames, started)
        sizes = frames[0][2]
        frame_bytes = max((sizes[s] for s in released if s in sizes), default=0)
        cascade_release = [ms for _, ms, _ in posts]
        cpu_injects = cpu_seconds(every_server, swarm)
        report(
            f"Cascade: {len(specs)} sockets in {args.teams} teams on {args.servers} servers"
            f", POSTs to {server_name(args)}",
            [
                ("connect + hello, all sockets", f"{swarm.connect_seconds:.1f} s"),
                ("injects released (facilitator POST)", f"{len(posts)}, every {args.gap} s"),
                ("release POST p50 / p95 / p99", spread(cascade_release)),
                ("inject frame", f"{frame_bytes} bytes"),
                ("inject frames received", f"{len(cascade_fanout)} of {len(posts) * len(specs)}"),
                ("fan-out from the POST p50 / p95 / p99", spread(cascade_fanout)),
                ("CPU s, servers | clients", _cpu_row(cpu, cpu_injects)),
            ],
        )
        revisions = DecisionRevision.objects.filter(decision__exercise=exercise)
        first = revisions.count()
        statuses, decide_ms, elapsed = post_loop(http_ports, args.seconds, args.clients, decide)
        accepted = revisions.count() - first
        cpu_decisions = cpu_seconds(every_server, swarm)
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
            ],
        )
        time.sleep(3)
        frames = swarm.frames()
        swarm.close()
        clients = []
        for team_id, received, _ in frames:
            client = Client(0, code, "", team_id)
            client.hello_seq, client.received = before, received
            clients.append(client)
        delivery = check_delivery(exercise, clients)
        report("Cascade: frames", [_delivery_row(delivery)])
        if any(delivery[k] for k in ("lost", "duplicated", "out_of_order", "leaked")):
            missed.append("Cascade frames lost, duplicated, out of order or leaked")

        # ---- the floor: raw sockets; raw release and INSERT POSTs on each HTTP server
        floor_specs = [(port, f"/floor/ws/?team={team}", "", team) for port, _, _, team in specs]
        floors = {"Daphne": ports, **({"gunicorn": http_ports} if web else {})}
        floor = floor_phases(mp, args, floor_specs, floors, frame_bytes, insert)

        daphne_floor = floor["Daphne"]
        fan99 = percentile(cascade_fanout, 99) / percentile(daphne_floor.fanout, 99)
        decide99 = percentile(decide_ms, 99)
        report(
            "Cascade / floor",
            [
                row
                for name, each in floor.items()
                for row in ratio_rows(
                    name, each, cascade_fanout, cascade_release, cascade_rate, decide99
                )
            ],
        )
        if fan99 > TARGET_FANOUT_RATIO:
            missed.append(f"fan-out p99 {fan99:.2f}x the floor's")
        if cascade_rate < TARGET_DECISIONS_PER_S:
            missed.append(f"{cascade_rate:.0f} decisions/s over HTTP")
        if decide99 >= TARGET_POST_P99_MS:
            missed.append(f"decide POST p99 {decide99:.0f} ms")

        # With one PROMETHEUS_MULTIPROC_DIR (gunicorn runs) any server answers for all.
        scraped = http_ports if web else ports
        server_figures(scraped, env["METRICS_TOKEN"])
        sampler.stop.set()
        sampler.join()
        report("Servers", [("RSS peak (MB)", ", ".join(f"{p / 2**20:.0f}" for p in sampler.peak))])

    if args.engine_seconds:
        engine = argparse.Namespace(seconds=args.engine_seconds, workers=2, decision_processes=2)
        accepted, rejected, elapsed, cpu_s, _ = run_deciders(engine, mp)
        each = cpu_s / max(accepted, 1) * 1000
        report(
            "Engine only (decision_submit from 2 processes x 2 threads, no HTTP, no sockets)",
            [("decisions", f"{accepted / elapsed:.0f}/s ({rejected} rejected), {each:.1f} ms CPU")],
        )
    return missed


def session_for(user) -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def server_figures(ports: list[int], token: str) -> None:
    """The servers' own figures from /metrics for the whole run (``bench/metrics_scrape.py``);
    each server is scraped, as they share no multiprocess directory."""
    samples = metrics_scrape.combined(
        *(metrics_scrape.scrape(f"http://127.0.0.1:{port}/metrics", token) for port in ports)
    )
    figures = metrics_scrape.live_figures(samples)
    report("Servers' /metrics, whole run", [(str(k), str(v)) for k, v in figures.items()])


def _cpu_row(before: list[float], after: list[float]) -> str:
    spent = [b - a for a, b in zip(before, after, strict=True)]
    return ", ".join(f"{s:.1f}" for s in spent[:-1]) + f" | {spent[-1]:.1f}"


def _delivery_row(delivery: Counter) -> tuple[str, str]:
    return (
        "expected / received; lost / duplicated / out of order / leaked",
        f"{delivery['expected']} / {delivery['received']}; "
        + " / ".join(str(delivery[k]) for k in ("lost", "duplicated", "out_of_order", "leaked")),
    )


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
