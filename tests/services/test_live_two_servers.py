"""Two real Daphne processes sharing Redis and PostgreSQL deliver the same injects in order."""

from __future__ import annotations

import asyncio
import os

import pytest
from django.conf import settings
from websockets.asyncio.client import connect

from bench.live_servers import daphne_servers
from tests.services.live_world import SEQ, build_world, release, server_env, session_cookie

INJECTS = 5


async def listen(port, code, cookie, last_seq, ready, want):
    uri = f"ws://127.0.0.1:{port}/ws/exercises/{code}/"
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"}
    async with connect(uri, origin=f"http://127.0.0.1:{port}", additional_headers=headers) as ws:
        await ws.send(f'{{"type": "hello", "last_seq": {last_seq}}}')
        ready.set()
        seqs = []
        while len(seqs) < want:
            frame = await asyncio.wait_for(ws.recv(), timeout=15)
            if match := SEQ.match(frame):
                seqs.append(int(match.group(1)))
        return seqs


@pytest.mark.django_db(transaction=True)
def test_it_delivers_the_same_injects_in_the_same_order_through_two_servers():
    exercise, alice, players = build_world(INJECTS)
    cookies = [session_cookie(player) for player in players]
    start = exercise.last_seq

    async def scenario(ports):
        readies = [asyncio.Event() for _ in ports]
        listeners = [
            asyncio.create_task(listen(port, exercise.code, cookie, start, ready, INJECTS))
            for port, cookie, ready in zip(ports, cookies, readies, strict=True)
        ]
        await asyncio.gather(*(ready.wait() for ready in readies))
        await asyncio.sleep(0.5)  # both hellos handled: the groups are joined
        await asyncio.to_thread(release, exercise, alice, range(INJECTS))
        return await asyncio.gather(*listeners)

    with daphne_servers(2, server_env(os.environ["REDIS_URL"])) as servers:
        first, second = asyncio.run(scenario([port for port, _ in servers]))
    expected = list(range(start + 1, start + 1 + INJECTS))
    assert first == expected
    assert second == expected
