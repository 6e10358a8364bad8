"""Presence across two real Daphne processes on one Redis: a socket open on either
process shows on the console's presence panel served by the other, a closed one goes at
once, and one left behind by a killed process carries its own expiry."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
import urllib.request

import pytest
import redis
from django.conf import settings
from websockets.asyncio.client import connect

from bench.live_servers import daphne_servers
from exercises import presence
from tests.services.live_world import build_world, server_env, session_cookie

HERE = re.compile(r'<span class="presence-here">.*?</span>([^<,]+)</span>', re.S)


def who_is_here(port: int, code: str, cookie: str) -> set[str]:
    """The names the console's presence panel (served by ``port``) shows as connected."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/exercises/{code}/presence/",
        headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        html = response.read().decode()
    return {name.strip() for name in HERE.findall(html)}


async def open_socket(port: int, code: str, cookie: str):
    """A connected room socket whose hello was answered (so its presence is written)."""
    socket = await connect(
        f"ws://127.0.0.1:{port}/ws/exercises/{code}/",
        origin=f"http://127.0.0.1:{port}",
        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
    )
    await socket.send('{"type": "ping"}')
    await asyncio.wait_for(socket.recv(), timeout=10)
    return socket


async def until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("presence did not converge")
        await asyncio.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_presence_is_shared_by_two_server_processes_and_stale_entries_expire():
    exercise, alice, (bob, erin) = build_world(0)
    control, bob_cookie, erin_cookie = (session_cookie(user) for user in (alice, bob, erin))
    code = exercise.code

    async def scenario(servers):
        (port_a, _), (port_b, process_b) = servers
        bob_socket = await open_socket(port_a, code, bob_cookie)
        await until(lambda: who_is_here(port_b, code, control) == {bob.label})
        erin_socket = await open_socket(port_b, code, erin_cookie)
        await until(lambda: who_is_here(port_a, code, control) == {bob.label, erin.label})

        await bob_socket.close()  # a clean close leaves at once, on both servers' panels
        await until(lambda: who_is_here(port_b, code, control) == {erin.label})

        process_b.send_signal(signal.SIGKILL)  # erin's server dies without closing
        process_b.wait()
        del erin_socket
        return who_is_here(port_a, code, control)

    with daphne_servers(2, server_env(os.environ["REDIS_URL"])) as servers:
        after_kill = asyncio.run(scenario(servers))
    # Her entry outlives its process, but not its last heartbeat by more than TTL.
    assert after_kill == {erin.label}
    client = redis.Redis.from_url(settings.REDIS_URL)
    entries = {
        member.decode(): expires
        for member, expires in client.zrange(
            f"cascade:presence:{exercise.pk}", 0, -1, withscores=True
        )
    }
    (expires,) = entries.values()
    assert expires <= time.time() + presence.TTL
    assert presence.alive(entries, now=expires) == set()
