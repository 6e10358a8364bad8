"""Refuse over-large HTTP request bodies before Django reads them (docs/security.md).

Under Daphne, Django reads the whole body (into memory up to FILE_UPLOAD_MAX_MEMORY_SIZE,
then a temporary file) and parses multipart forms before any view or CSRF check runs, so a
limit in Django comes too late: a 50 MB anonymous POST cost 1.8 GB. This ASGI wrapper
answers 413 on a declared ``Content-Length`` over the limit without reading the body, and
counts the chunks of a body without one (chunked), cutting it off at the limit. The proxy
in front should refuse such bodies first (README, "Deploy for real").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

TOO_LARGE = b"Request body too large."


class BodyLimit:
    """ASGI middleware: HTTP request bodies of more than ``limit`` bytes get a 413.

    The wrapped app must read the body before it answers (Django does): a body that
    outgrows the limit while streaming reaches it as ``http.disconnect``, and the 413 is
    sent once the app has returned without answering.
    """

    def __init__(self, app: App, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await _refuse(send)
            return
        body = _CountedBody(receive, self.limit)
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        await self.app(scope, body, tracked_send)
        if body.exceeded and not started:
            await _refuse(send)


class _CountedBody:
    """``receive`` that turns the body into a disconnect once it passes ``limit`` bytes."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self.receive = receive
        self.limit = limit
        self.seen = 0
        self.exceeded = False

    async def __call__(self) -> Message:
        if self.exceeded:
            return {"type": "http.disconnect"}
        message = await self.receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                self.exceeded = True
                return {"type": "http.disconnect"}
        return message


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length" and value.strip().isdigit():
            return int(value)
    return None


async def _refuse(send: Send) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": TOO_LARGE})
