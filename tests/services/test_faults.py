"""Fault tests: Redis restarting and a Daphne process dying in the middle of an exercise.

Each test starts ITS OWN redis-server (never the machine's shared one) and its own
Daphne processes on free ports, pointed at the test database. The browser is modelled
as the page script behaves: it remembers the last seq shown, drops frames at or below
it, and on reconnect says hello with it. Nothing may be lost, nothing shown twice.
"""

from __future__ import annotations

import asyncio
import copy
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from websockets.asyncio.client import connect

from bench.live_servers import ROOT, daphne_servers, free_port, wait_for_port
from exercises import engine
from exercises.models import Event, InjectRelease
from tests import factories
from tests.services.live_world import SEQ, build_world, release, server_env, session_cookie

INJECTS = 6
pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")


# ---------------------------------------------------------------- processes


def start_redis(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, process=process)
    return process


def stop(process: subprocess.Popen) -> None:
    process.kill()
    process.wait(timeout=10)


@contextmanager
def own_redis() -> Iterator[dict]:
    """A private Redis; ``box["process"]`` is replaced when a test restarts it."""
    port = free_port()
    box = {"port": port, "url": f"redis://127.0.0.1:{port}/0", "process": start_redis(port)}
    try:
        yield box
    finally:
        if box["process"].poll() is None:
            stop(box["process"])


def use_layer(settings_fixture, redis_url: str) -> None:
    """Make this test process publish through the private Redis too, with the layer the
    settings chose (the servers it starts use the same)."""
    layer = copy.deepcopy(settings_fixture.CHANNEL_LAYERS["default"])
    layer["CONFIG"]["hosts"] = [{**layer["CONFIG"]["hosts"][0], "address": redis_url}]
    layer["CONFIG"]["prefix"] = "cascade-faults"
    settings_fixture.CHANNEL_LAYERS = {"default": layer}


# ---------------------------------------------------------------- exercise and browser


class Browser:
    """The page's socket logic: remembers the last seq, drops repeats, reconnects with it."""

    def __init__(self, code: str, cookie: str, last_seq: int) -> None:
        self.code, self.cookie, self.last_seq = code, cookie, last_seq
        self.shown: list[int] = []
        self.ws = None

    async def open(self, port: int) -> None:
        uri = f"ws://127.0.0.1:{port}/ws/exercises/{self.code}/"
        headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={self.cookie}"}
        self.ws = await connect(
            uri, origin=f"http://127.0.0.1:{port}", additional_headers=headers, open_timeout=10
        )
        await self.ws.send(f'{{"type": "hello", "last_seq": {self.last_seq}}}')
        await asyncio.sleep(0.3)  # the hello is handled: the groups are joined

    async def read_until(self, seq: int, timeout: float = 15) -> None:
        async def loop():
            while self.last_seq < seq:
                frame = await self.ws.recv()
                match = SEQ.match(frame)
                if match and int(match.group(1)) > self.last_seq:
                    self.last_seq = int(match.group(1))
                    self.shown.append(self.last_seq)

        await asyncio.wait_for(loop(), timeout=timeout)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


# ---------------------------------------------------------------- tests


@pytest.mark.django_db(transaction=True)
def test_it_loses_nothing_when_redis_restarts_mid_exercise(settings, tmp_path):
    exercise, alice, players = build_world(INJECTS)
    start = exercise.last_seq
    cookies = [session_cookie(player) for player in players]
    with own_redis() as redis:
        use_layer(settings, redis["url"])

        async def scenario(port: int) -> Browser:
            browser = Browser(exercise.code, cookies[0], start)
            await browser.open(port)
            await asyncio.to_thread(release, exercise, alice, [0])
            await browser.read_until(start + 1)
            stop(redis["process"])  # Redis goes away: events are still committed
            await asyncio.to_thread(release, exercise, alice, [1, 2])
            redis["process"] = await asyncio.to_thread(start_redis, redis["port"])
            await browser.close()  # the page notices and reconnects with its last seq
            await browser.open(port)
            await browser.read_until(start + 3)  # caught up from the database
            await asyncio.to_thread(release, exercise, alice, [3])
            await browser.read_until(start + 4)  # and live again through the new Redis
            await browser.close()
            return browser

        with daphne_servers(
            1, server_env(redis["url"], CHANNELS_PREFIX="cascade-faults"), log_dir=tmp_path
        ) as servers:
            browser = asyncio.run(scenario(servers[0][0]))
    assert browser.shown == list(range(start + 1, start + 5))


@pytest.mark.django_db(transaction=True)
def test_it_moves_clients_of_a_killed_daphne_to_the_other_one_without_loss(settings):
    exercise, alice, players = build_world(INJECTS)
    start = exercise.last_seq
    cookies = [session_cookie(player) for player in players]
    with own_redis() as redis:
        use_layer(settings, redis["url"])

        async def scenario(servers) -> list[Browser]:
            (port_a, process_a), (port_b, _) = servers
            moving = Browser(exercise.code, cookies[0], start)
            staying = Browser(exercise.code, cookies[1], start)
            await moving.open(port_a)
            await staying.open(port_b)
            await asyncio.to_thread(release, exercise, alice, [0])
            await moving.read_until(start + 1)
            await staying.read_until(start + 1)
            stop(process_a)  # server A dies with its sockets
            await asyncio.to_thread(release, exercise, alice, [1, 2])
            await staying.read_until(start + 3)
            await moving.open(port_b)  # the page reconnects through the proxy to B
            await moving.read_until(start + 3)
            await asyncio.to_thread(release, exercise, alice, [3])
            await moving.read_until(start + 4)
            await staying.read_until(start + 4)
            await moving.close()
            await staying.close()
            return [moving, staying]

        with daphne_servers(
            2, server_env(redis["url"], CHANNELS_PREFIX="cascade-faults")
        ) as servers:
            browsers = asyncio.run(scenario(servers))
    for browser in browsers:
        assert browser.shown == list(range(start + 1, start + 5))


# ---------------------------------------------------------------- Celery worker restart

CELERY = Path(sys.executable).with_name("celery")
WORKER_COMMAND = (
    *(str(CELERY), "-A", "config", "worker", "--pool=solo", "-l", "info"),
    *("--without-mingle", "--without-gossip", "--without-heartbeat"),
)


@contextmanager
def celery_worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A real worker (solo pool) of this project; stopped with a warm shutdown (SIGTERM),
    as a process manager would, which hands unfinished messages back to the broker."""
    with log.open("a") as out:
        process = subprocess.Popen(
            [*WORKER_COMMAND],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while "ready." not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()[-2000:]
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def timed_exercise(offsets: dict[str, int]):
    """A lobby exercise whose first stage has timed injects (key → offset in seconds), a
    facilitator, and ``released(key)``: how many times that inject was released."""
    from django.core.cache import cache

    assert not settings.CELERY_TASK_ALWAYS_EAGER  # a real broker: the test's own Redis db
    cache.clear()  # this run's Redis db: no dedupe keys or queued tasks of earlier runs
    alice = factories.make_user("alice")
    exercise = factories.make_exercise(facilitator=alice)
    factories.add_player(exercise, factories.make_team(exercise, "cloud"))
    timed = {
        key: factories.add_timed_inject(exercise, key, offset, order=20 + offset)
        for key, offset in offsets.items()
    }

    def released(key: str) -> int:
        return InjectRelease.objects.filter(exercise=exercise, inject=timed[key]).count()

    return exercise, alice, released


@pytest.mark.django_db(transaction=True)
def test_it_fires_a_timed_inject_once_across_a_worker_restart_and_ignores_stale_tasks(
    tmp_path,
):
    exercise, alice, released = timed_exercise({"soon": 6, "later": 22})
    env = server_env(os.environ["REDIS_URL"], CHANNELS_PREFIX="cascade-faults")
    log = tmp_path / "celery.log"

    with celery_worker(env, log) as first:
        engine.exercise_start(exercise=exercise, actor=alice)  # schedules "soon" at +6 s
        time.sleep(1.5)  # the worker holds the countdown task...
    assert first.returncode is not None  # ...and is gone long before it is due
    assert released("soon") == 0

    def outcomes() -> list[str]:
        """What each sweep returned: False when its epoch was stale."""
        pattern = r"release_due\[[^\]]+\] succeeded in [\d.]+s: (True|False)"
        return re.findall(pattern, log.read_text())

    with celery_worker(env, log):
        wait_until(lambda: released("soon") == 1, timeout=30, what="the timed inject")
        engine.exercise_pause(exercise=exercise, actor=alice)  # "later" is now stale
        wait_until(lambda: "False" in outcomes(), timeout=30, what="the stale task")
    assert released("soon") == 1
    assert released("later") == 0  # the stale task ran and did nothing
    events = Event.objects.filter(exercise=exercise, kind="inject.released")
    assert [e.payload.get("title") for e in events].count("soon") == 1


@pytest.mark.django_db(transaction=True)
def test_it_fires_a_timed_inject_on_time_after_the_worker_is_killed_outright(tmp_path):
    """SIGKILL (the out-of-memory killer, a container killed): the dead worker's countdown
    task stays reserved for the broker's visibility timeout (an hour). The worker that
    replaces it reschedules the pending sweep when it starts, so the inject is on time."""
    exercise, alice, released = timed_exercise({"soon": 6})
    env = server_env(os.environ["REDIS_URL"], CHANNELS_PREFIX="cascade-faults")
    log = tmp_path / "celery.log"
    with celery_worker(env, log) as first:
        engine.exercise_start(exercise=exercise, actor=alice)  # schedules "soon" at +6 s
        time.sleep(1.5)  # the worker holds the countdown task
        first.kill()
        first.wait()
    assert released("soon") == 0
    with celery_worker(env, log):
        wait_until(lambda: released("soon") == 1, timeout=20, what="the timed inject")
        started = exercise.started_at
        release = InjectRelease.objects.get(exercise=exercise, inject__key="soon")
        late = (release.released_at - started).total_seconds()
    assert late < 10  # due at +6 s, not after the visibility timeout
    assert released("soon") == 1
