"""Helpers for tests that talk to the exercise consumer through WebsocketCommunicator."""

from __future__ import annotations

HEARTBEAT = 'id="live-heartbeat"'


async def until_answered(communicator, *, timeout: float = 10) -> list[str]:
    """Send a ping; return every frame up to and including its heartbeat.

    The consumer answers a socket's messages in order, so by then it has finished
    whatever it was asked before (a hello's replay). Waiting for that, not for a quiet
    spell, keeps slow machines from cutting a replay short; and the in-memory SQLite
    test database locks whole tables, so a test that writes while a replay still reads
    would fail that read.
    """
    await communicator.send_json_to({"type": "ping"})
    frames = [await communicator.receive_from(timeout=timeout)]
    while HEARTBEAT not in frames[-1]:
        frames.append(await communicator.receive_from(timeout=timeout))
    return frames
