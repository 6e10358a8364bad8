"""Live path at scale: WebSocket fan-out, decisions/s, lost or duplicated frames, server RSS.

Starts ``--servers`` Daphne processes on real PostgreSQL (a dedicated database, dropped
and migrated at every run) and real Redis, seeds one running exercise with
``--participants`` players in ``--teams`` teams, connects every player over a real
WebSocket (session cookie, round-robin over the servers), then:

1. releases ``--injects`` injects to every team, one every ``--gap`` seconds, and measures
   fan-out latency: engine call started → frame received, per socket;
2. submits decisions (new revisions) for ``--seconds`` seconds through
   ``exercises.engine.decision_submit`` from ``--decision-processes`` processes of
   ``--workers`` threads each (as that many web workers would; 0 processes: threads of
   the bench process) and reports decisions/s accepted and the CPU they cost;
3. checks every socket got exactly the events it may see after its hello, once each, in
   order (lost, duplicated, out of order and leaked frames must all be 0);
4. samples the servers' RSS with psutil.

Injects are released from this process (as a view or task would in another); the sockets
live in a child process on the same machine, so latencies include the clients' own
scheduling and their CPU competes with the servers'.

    .venv/bin/python bench/bench_live.py                      # 1000 participants, 100 teams
    .venv/bin/python bench/bench_live.py --participants 200 --teams 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SEQ = re.compile(r"^<!--seq:(\d+)-->")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--injects", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between injects")
    parser.add_argument("--seconds", type=float, default=30.0, help="decision phase length")
    parser.add_argument(
        "--workers", type=int, default=2, help="decision-submitting threads (per process)"
    )
    parser.add_argument(
        "--decision-processes",
        type=int,
        default=2,
        help="submit decisions from this many separate processes (like web workers);"
        " 0: from threads of the bench process itself",
    )
    parser.add_argument("--join-rate", type=float, default=100, help="sockets opened per second")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/cascade_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8")
    return parser.parse_args()


def configure(args: argparse.Namespace) -> dict[str, str]:
    env = {
        "DATABASE_URL": args.database,
        "REDIS_URL": args.redis,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key"),
        "DEBUG": "0",
        "SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    os.environ.update(env)
    return env


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed_released(args: argparse.Namespace, scripted: int, released: int):
    """A new database at ``args.database`` holding ``seed``'s exercise of ``scripted``
    injects, the first ``released`` of them released; returns ``seed``'s tuple."""
    from django.core.management import call_command

    from exercises import engine

    recreate_database(args.database)
    call_command("migrate", verbosity=0)
    seeded = seed(args.participants, args.teams, scripted)
    exercise, facilitator = seeded[0], seeded[1]
    for n in range(1, released + 1):
        inject = exercise.scenario.injects.get(key=f"i{n}")
        engine.inject_release(exercise=exercise, inject=inject, actor=facilitator)
    return seeded


_retitled = itertools.count()


def unrelease(exercise, inject) -> None:
    """Take ``inject``'s release back and give it a new title: each release of a live
    exercise draws a row of the console's list never drawn before
    (``live_tags.inject_row``), so the next release POST of it must too."""
    from exercises.models import InjectRelease
    from scenarios.models import Inject

    InjectRelease.objects.filter(exercise=exercise, inject=inject).delete()
    Inject.objects.filter(pk=inject.pk).update(title=f"Fresh inject {next(_retitled)}")


def seed(participants: int, teams: int, injects: int):
    """One running exercise; returns (exercise, facilitator, players with team ids, cookies)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends import cached_db
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.cache import caches
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from accounts.models import Membership, Organization, User
    from exercises import engine
    from exercises.models import Exercise, Participant, Team
    from scenarios.models import Inject, Prompt, Role, Rubric, Scenario, Stage

    rubric = Rubric.objects.create(key="bench", title="Bench rubric")
    scenario = Scenario.objects.create(
        key="bench", title="Bench", rubric=rubric, status="published"
    )
    roles = Role.objects.bulk_create(
        Role(scenario=scenario, key=f"r{i}", label=f"Role {i}", sector="energy", order=i)
        for i in range(teams)
    )
    stage = Stage.objects.create(scenario=scenario, key="start", title="Start", briefing="Go.")
    scenario.start_stage = stage
    scenario.save()
    prompt = Prompt.objects.create(scenario=scenario, stage=stage, key="choose", question="A or B?")
    options = [prompt.options.create(key=k, label=k.upper(), order=i) for i, k in enumerate("ab")]
    Inject.objects.bulk_create(
        Inject(
            scenario=scenario,
            stage=stage,
            key=f"i{n}",
            title=f"Inject {n}",
            body="Body " * 20,
            audience="all",
            tlp="GREEN",
            order=n,
        )
        for n in range(injects + 1)
    )
    facilitator = User.objects.create_user("bench-facilitator")
    exercise = Exercise.objects.create(name="Bench", scenario=scenario, status="lobby")
    Participant.objects.create(exercise=exercise, user=facilitator, kind="facilitator")
    orgs = Organization.objects.bulk_create(
        Organization(name=f"Bench org {i}", sector="energy") for i in range(teams)
    )
    team_rows = Team.objects.bulk_create(
        Team(exercise=exercise, role=role, organization=org)
        for role, org in zip(roles, orgs, strict=True)
    )
    users = User.objects.bulk_create(
        User(username=f"bench-{i}", password="!") for i in range(participants)
    )
    Membership.objects.bulk_create(
        Membership(user=u, organization=orgs[i % teams]) for i, u in enumerate(users)
    )
    Participant.objects.bulk_create(
        Participant(exercise=exercise, user=u, kind="player", team=team_rows[i % teams])
        for i, u in enumerate(users)
    )
    backend = "accounts.backends.UserBackend"
    assert backend in settings.AUTHENTICATION_BACKENDS
    store, expire = SessionStore(), timezone.now() + timezone.timedelta(days=1)
    sessions = [
        Session(
            session_key=get_random_string(32),
            session_data=store.encode(
                {
                    SESSION_KEY: str(u.pk),
                    BACKEND_SESSION_KEY: backend,
                    HASH_SESSION_KEY: u.get_session_auth_hash(),
                }
            ),
            expire_date=expire,
        )
        for u in users
    ]
    Session.objects.bulk_create(sessions)
    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db":
        # As a login leaves them: in the cache too, where a socket's handshake reads them.
        caches[settings.SESSION_CACHE_ALIAS].set_many(
            {cached_db.KEY_PREFIX + s.session_key: store.decode(s.session_data) for s in sessions},
            timeout=86400,
        )
    engine.exercise_start(exercise=exercise, actor=facilitator)
    exercise.refresh_from_db()
    players = [(u, team_rows[i % teams]) for i, u in enumerate(users)]
    return exercise, facilitator, players, [s.session_key for s in sessions], prompt, options


class Client:
    """One player's socket: every frame's seq and receive time."""

    def __init__(
        self, port: int, code: str, cookie: str, team_id: int, path: str | None = None
    ) -> None:
        self.port, self.code, self.cookie, self.team_id = port, code, cookie, team_id
        self.path = path or f"/ws/exercises/{code}/"
        self.received: list[tuple[int, float]] = []
        self.sizes: dict[int, int] = {}  # seq: bytes, of the frames the size is asked of
        self.measure = False
        self.hello_seq = 0
        self.handshake: float | None = None  # seconds from the TCP connect to the 101
        self.closed_by_server: int | None = None  # the close code, if it closed before stop

    async def run(self, hello_seq: int, ready: asyncio.Event, stop: asyncio.Event) -> None:
        from websockets.asyncio.client import connect

        self.hello_seq = hello_seq
        uri = f"ws://127.0.0.1:{self.port}{self.path}"
        t0 = time.monotonic()
        async with connect(
            uri,
            origin=f"http://127.0.0.1:{self.port}",
            additional_headers={"Cookie": f"sessionid={self.cookie}"},
            max_size=2**22,
            ping_interval=None,
            open_timeout=60,
        ) as ws:
            self.handshake = time.monotonic() - t0
            await ws.send(f'{{"type": "hello", "last_seq": {hello_seq}}}')
            ready.set()
            # Closing on ``stop`` ends the loop below. (A ``wait_for`` per frame, to poll
            # ``stop``, made a task and a timer for each of the ~50,000 frames: client CPU
            # that the servers, on the same two cores, then did not get.)
            closer = asyncio.create_task(self._close_when(stop, ws))
            async for frame in ws:
                if match := SEQ.match(frame):
                    self.received.append((int(match.group(1)), time.monotonic()))
                    if self.measure:
                        self.sizes[int(match.group(1))] = len(frame)
            if not stop.is_set():
                self.closed_by_server = ws.close_code
            await closer

    @staticmethod
    async def _close_when(stop: asyncio.Event, ws) -> None:
        await stop.wait()
        await ws.close()


def swarm_main(specs, hello_seq: int, join_rate: float, ready, stop, results) -> None:
    """Child process: open every socket (paced), report ready, listen until ``stop``, then
    put ``(connect seconds, [(team id, [(seq, monotonic time), ...]), ...])`` on ``results``.

    The sockets live in their own process so that parsing thousands of frames does not
    take the GIL from the engine calls being timed in the parent."""

    async def run() -> float:
        clients = [Client(port, code, cookie, team_id) for port, code, cookie, team_id in specs]
        done = asyncio.Event()
        readies = [asyncio.Event() for _ in clients]
        started = time.monotonic()
        tasks = []
        for i, (client, client_ready) in enumerate(zip(clients, readies, strict=True)):
            tasks.append(asyncio.create_task(client.run(hello_seq, client_ready, done)))
            if i % 10 == 9:
                await asyncio.sleep(10 / join_rate)  # a join wave, not a stampede
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=120)
        connect_time = time.monotonic() - started
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        done.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        results.put((connect_time, [(c.team_id, c.received) for c in clients]))

    asyncio.run(run())


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


class RssSampler(threading.Thread):
    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        import psutil

        self.processes = [psutil.Process(pid) for pid in pids]
        self.peak = [0] * len(pids)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for i, process in enumerate(self.processes):
                with contextlib.suppress(Exception):  # gone: keep the peak seen
                    self.peak[i] = max(self.peak[i], process.memory_info().rss)
            self.stop.wait(0.5)


def process_tree(pid: int) -> list:
    """A server process and its children (gunicorn's workers)."""
    import psutil

    process = psutil.Process(pid)
    return [process, *process.children(recursive=True)]


def cpu_seconds(servers, client_pids: list[int]) -> list[float]:
    """User + system CPU seconds so far of each server process (with its workers), then of
    the client processes together."""
    import psutil

    def used(processes) -> float:
        return sum(t.user + t.system for t in (p.cpu_times() for p in processes))

    spent = [used(process_tree(process.pid)) for _, process in servers]
    return [*spent, used(psutil.Process(pid) for pid in client_pids)]


def busy_seconds(times) -> float:
    """CPU seconds the whole machine spent not idle (all cores), from ``psutil.cpu_times``."""
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def _cpu_row(before: list[float], after: list[float]) -> str:
    spent = [b - a for a, b in zip(before, after, strict=True)]
    return ", ".join(f"{s:.1f}" for s in spent[:-1]) + f" | {spent[-1]:.1f}"


def release_injects(
    exercise, facilitator, count: int, gap: float
) -> tuple[dict[int, float], list[float]]:
    """Release the injects; returns {seq: call start} and each call's duration (ms)."""
    from django.db import connection

    from exercises import engine
    from scenarios.models import Inject

    started: dict[int, float] = {}
    calls: list[float] = []
    try:
        # Inject 0 warms the processes up (template compilation, first queries): not timed.
        for n in range(count + 1):
            inject = Inject.objects.get(scenario=exercise.scenario, key=f"i{n}")
            t0 = time.monotonic()
            release = engine.inject_release(exercise=exercise, inject=inject, actor=facilitator)
            if n:
                started[release.event.seq] = t0
                calls.append((time.monotonic() - t0) * 1000)
            time.sleep(gap)
    finally:
        connection.close()
    return started, calls


def submit_decisions(
    exercise,
    players,
    prompt,
    options,
    seconds: float,
    workers: int,
    *,
    name: str = "w",
    first: int = 0,
    stride: int = 1,
) -> tuple[int, int]:
    """Decisions from ``workers`` threads for ``seconds``; returns (accepted, rejected).

    Thread ``w`` of a process ``first`` of ``stride`` decides for the teams
    ``first + stride * (w + workers * k)``, so processes and threads spread over the teams."""
    from django.db import connection

    from exercises import engine

    by_team = {}
    for user, team in players:
        by_team.setdefault(team.pk, (user, team))
    seats = list(by_team.values())
    counts = Counter()
    deadline = time.perf_counter() + seconds

    def work(worker: int) -> None:
        n = worker
        try:
            while time.perf_counter() < deadline:
                user, team = seats[(first + stride * n) % len(seats)]
                try:
                    engine.decision_submit(
                        exercise=exercise,
                        team=team,
                        prompt=prompt,
                        author=user,
                        client_token=f"{name}{worker}-{n}",
                        option=options[n % 2],
                    )
                    counts["accepted"] += 1
                except engine.EngineError:
                    counts["rejected"] += 1
                n += workers
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts["accepted"], counts["rejected"]


def decider_main(index: int, count: int, args, ready, go, results) -> None:
    """Child process: a web worker's worth of decision threads (``--workers``), so that
    ``--decision-processes`` > 1 models several server processes taking decisions, as a
    deployment does, instead of one process's GIL."""
    import django

    django.setup()
    from exercises.models import Exercise, Participant

    lift_decision_limit()
    exercise = Exercise.objects.select_related("scenario").get(name="Bench")
    prompt = exercise.scenario.prompts.get(key="choose")
    options = list(prompt.options.order_by("order"))
    players = [
        (p.user, p.team)
        for p in Participant.objects.filter(exercise=exercise, kind="player")
        .select_related("user", "team__organization")
        .order_by("pk")
    ]
    ready.set()
    go.wait()
    cpu = time.process_time()
    accepted, rejected = submit_decisions(
        exercise,
        players,
        prompt,
        options,
        args.seconds,
        args.workers,
        name=f"p{index}w",
        first=index,
        stride=count,
    )
    results.put((accepted, rejected, time.process_time() - cpu))


def run_deciders(args, mp) -> tuple[int, int, float, float, float]:
    """``--decision-processes`` processes deciding at once; (accepted, rejected, seconds,
    the deciding processes' CPU seconds, the whole machine's busy CPU seconds meanwhile)."""
    import psutil

    count = args.decision_processes
    go, results = mp.Event(), mp.Queue()
    readies = [mp.Event() for _ in range(count)]
    processes = [
        mp.Process(target=decider_main, args=(i, count, args, readies[i], go, results))
        for i in range(count)
    ]
    for process in processes:
        process.start()
    for ready in readies:
        if not ready.wait(timeout=60):
            raise RuntimeError("a decision process did not start within 60 s")
    t, machine = time.monotonic(), psutil.cpu_times()
    go.set()
    outcomes = [results.get(timeout=args.seconds + 60) for _ in processes]
    elapsed = time.monotonic() - t
    machine = busy_seconds(psutil.cpu_times()) - busy_seconds(machine)
    for process in processes:
        process.join(timeout=30)
    accepted, rejected, cpu = (sum(column) for column in zip(*outcomes, strict=True))
    return accepted, rejected, elapsed, cpu, machine


def check_delivery(exercise, clients: list[Client], broken: list | None = None) -> dict[str, int]:
    """Compare what each socket got with what it may see after its hello; each socket
    that lost, doubled or leaked a frame is added to ``broken`` as (index, team id, its
    counts, the seqs it lost), to say which it was."""
    from exercises.models import Event
    from exercises.visibility import Viewer, can_see_event

    events = list(Event.objects.filter(exercise=exercise).order_by("seq"))
    totals = Counter()
    for index, client in enumerate(clients):
        viewer = Viewer(kind="player", team_id=client.team_id)
        expected = [
            e.seq for e in events if e.seq > client.hello_seq and can_see_event(e, viewer=viewer)
        ]
        got = [seq for seq, _ in client.received]
        counts = account(expected, got)
        totals.update(counts)
        if broken is not None and any(counts[k] for k in BROKEN):
            broken.append((index, client.team_id, dict(counts), sorted(set(expected) - set(got))))
    return totals


BROKEN = ("lost", "duplicated", "out_of_order", "leaked")


def account(expected: list[int], got: list[int]) -> Counter:
    """One socket's frames against the seqs it should have got, in order (pure): a seq
    never received is lost, one received twice duplicated, one it should not see leaked,
    and every frame whose seq is not above the one before it out of order."""
    counts = Counter(got)
    return Counter(
        expected=len(expected),
        received=len(got),
        lost=len(set(expected) - set(got)),
        duplicated=sum(c - 1 for c in counts.values() if c > 1),
        leaked=len(set(got) - set(expected)),
        out_of_order=sum(1 for a, b in itertools.pairwise(got) if b <= a),
    )


def lift_decision_limit() -> None:
    """Let every team decide as fast as the bench asks (100 teams at 200/s is 4x their
    sustained allowance, config/limits.py): the bench measures the path, not the limiter."""
    from exercises.engine import decisions, rate_limits

    decisions.DECISIONS = rate_limits.Rate("decisions", 10**9, 1e-9)


def run_bench(args, env) -> None:
    import multiprocessing

    import psutil
    from django.core.management import call_command

    from bench.live_servers import daphne_servers

    load_at_start = os.getloadavg()[0]
    print(f"Preparing {args.database} …", flush=True)
    recreate_database(args.database)
    call_command("migrate", verbosity=0)
    t = time.monotonic()
    exercise, facilitator, players, cookies, prompt, options = seed(
        args.participants, args.teams, args.injects
    )
    print(f"Seeded {len(players)} players in {args.teams} teams in {time.monotonic() - t:.1f} s")
    log_dir = Path(os.environ.get("BENCH_LOG_DIR", "/tmp"))
    mp = multiprocessing.get_context("spawn")
    ready, stop, results = mp.Event(), mp.Event(), mp.Queue()
    with daphne_servers(args.servers, env, log_dir=log_dir) as servers:
        sampler = RssSampler([process.pid for _, process in servers])
        sampler.start()
        ports = [port for port, _ in servers]
        hello_seq = exercise.last_seq
        specs = [
            (ports[i % len(ports)], exercise.code, cookie, team.pk)
            for i, ((_, team), cookie) in enumerate(zip(players, cookies, strict=True))
        ]
        swarm = mp.Process(  # a daemon: a failed run must not leave it holding 1,000 sockets
            target=swarm_main,
            args=(specs, hello_seq, args.join_rate, ready, stop, results),
            daemon=True,
        )
        swarm.start()
        if not ready.wait(timeout=180):
            raise RuntimeError("the sockets did not all connect within 180 s")
        time.sleep(2)  # every hello handled and replayed
        cpu_start = cpu_seconds(servers, [swarm.pid])
        started, calls = release_injects(exercise, facilitator, args.injects, args.gap)
        time.sleep(3)
        cpu_injects = cpu_seconds(servers, [swarm.pid])
        if args.decision_processes:
            accepted, rejected, decision_time, decider_cpu, machine_busy = run_deciders(args, mp)
        else:
            t, decider_cpu, machine = time.monotonic(), time.process_time(), psutil.cpu_times()
            accepted, rejected = submit_decisions(
                exercise, players, prompt, options, args.seconds, args.workers
            )
            decision_time = time.monotonic() - t
            decider_cpu = time.process_time() - decider_cpu
            machine_busy = busy_seconds(psutil.cpu_times()) - busy_seconds(machine)
        cpu_decisions = cpu_seconds(servers, [swarm.pid])
        time.sleep(5)  # let the last frames arrive
        stop.set()
        connect_time, received = results.get(timeout=60)
        swarm.join(timeout=30)
        sampler.stop.set()
        sampler.join()
    clients = []
    for team_id, frames in received:
        client = Client(0, exercise.code, "", team_id)
        client.hello_seq, client.received = hello_seq, frames
        clients.append(client)
    latencies = [
        (received - started[seq]) * 1000
        for client in clients
        for seq, received in client.received
        if seq in started
    ]
    delivery = check_delivery(exercise, clients)
    from django.conf import settings

    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[1]
    rows = [
        ("channel layer; load average at start", f"{layer}; {load_at_start:.1f}"),
        ("participants / teams / servers", f"{len(clients)} / {args.teams} / {args.servers}"),
        ("connect + hello, all sockets", f"{connect_time:.1f} s (join rate {args.join_rate}/s)"),
        ("injects released", f"{len(started)} (every {args.gap} s)"),
        (
            "release call p50 / max (engine, render, send)",
            f"{percentile(calls, 50):.0f} / {percentile(calls, 100):.0f} ms",
        ),
        ("inject frames received", f"{len(latencies)} of {len(started) * len(clients)}"),
        (
            "fan-out p50 / p95 / p99 / max",
            " / ".join(f"{percentile(latencies, p):.0f}" for p in (50, 95, 99, 100)) + " ms",
        ),
        (
            "decisions accepted",
            f"{accepted} in {decision_time:.1f} s = {accepted / decision_time:.0f}/s"
            f" ({rejected} rejected; {args.decision_processes or 'the bench'} process(es)"
            f" x {args.workers} threads)",
        ),
        ("frames expected / received", f"{delivery['expected']} / {delivery['received']}"),
        (
            "lost / duplicated / out of order / leaked",
            " / ".join(str(delivery[k]) for k in ("lost", "duplicated", "out_of_order", "leaked")),
        ),
        (
            "CPU s, servers | clients: injects",
            _cpu_row(cpu_start, cpu_injects),
        ),
        ("CPU s, servers | clients: decisions", _cpu_row(cpu_injects, cpu_decisions)),
        (
            "CPU ms per decision: deciding / machine",
            f"{decider_cpu / accepted * 1000:.1f} / {machine_busy / accepted * 1000:.1f}"
            f" (machine busy {machine_busy / decision_time:.2f} of {os.cpu_count()} cores)",
        ),
        ("server RSS peak (MB)", ", ".join(f"{peak / 2**20:.0f}" for peak in sampler.peak)),
    ]
    width = max(len(label) for label, _ in rows)
    print()
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


def main() -> None:
    args = parse_args()
    env = configure(args)
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    import django

    django.setup()
    run_bench(args, env)


if __name__ == "__main__":
    main()
