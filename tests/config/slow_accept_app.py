"""An ASGI application that accepts a WebSocket only after ``SECONDS``: a handshake queued
behind a burst of joins, for tests/config/test_serve.py."""

from __future__ import annotations

import asyncio

SECONDS = 7.0  # past Daphne's own 5 s window, and its 2 s timeout sweep


async def application(scope, receive, send):
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await asyncio.sleep(SECONDS)
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": "accepted"})
    while (await receive())["type"] != "websocket.disconnect":
        pass
