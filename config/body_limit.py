"""Refuse over-large HTTP request bodies before Django reads them (docs/security.md).

Django reads the whole body (into memory up to FILE_UPLOAD_MAX_MEMORY_SIZE, then a
temporary file) and parses multipart forms before any view or CSRF check runs, so a limit
in Django comes too late: a 50 MB anonymous POST cost Daphne 1.8 GB. One rule, two
wrappers (``BodyLimit`` for Daphne, ``WsgiBodyLimit`` for gunicorn): a declared
``Content-Length`` over the limit gets a 413 without a byte of the body read; a body
without one (chunked) is counted as it is read and refused once it passes the limit. The
proxy in front should refuse such bodies first (README, "Deploy for real").
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import IO, Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

TOO_LARGE = b"Request body too large."
REFUSAL_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")]
# A chunked body under WSGI is spooled to a temporary file past this size (Django's own
# FILE_UPLOAD_MAX_MEMORY_SIZE), so holding it costs no more than Django reading it would.
SPOOL_IN_MEMORY = 1024 * 1024


def declared_length(value: bytes | str | None) -> int | None:
    """The ``Content-Length`` a request declares; None when it declares none (chunked)."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() else None


class Meter:
    """Bytes of one body seen so far, against the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen = 0
        self.exceeded = False

    def add(self, size: int) -> bool:
        """Count ``size`` more bytes; False once the body has passed the limit."""
        self.seen += size
        self.exceeded = self.exceeded or self.seen > self.limit
        return not self.exceeded


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
        self.meter = Meter(limit)

    @property
    def exceeded(self) -> bool:
        return self.meter.exceeded

    async def __call__(self) -> Message:
        if self.exceeded:
            return {"type": "http.disconnect"}
        message = await self.receive()
        if message["type"] == "http.request" and not self.meter.add(len(message.get("body", b""))):
            return {"type": "http.disconnect"}
        return message


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            return declared_length(value)
    return None


async def _refuse(send: Send) -> None:
    headers = [(name.lower().encode(), value.encode()) for name, value in REFUSAL_HEADERS]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": TOO_LARGE})


# ---------------------------------------------------------------- WSGI (gunicorn)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]
READ_BLOCK = 64 * 1024


class WsgiBodyLimit:
    """WSGI middleware: HTTP request bodies of more than ``limit`` bytes get a 413.

    Django under WSGI reads ``CONTENT_LENGTH`` bytes of ``wsgi.input`` and nothing of a
    body without one, so a chunked body (the server de-chunks it: ``wsgi.input_terminated``)
    is read here, up to the limit, into a temporary file that Django then reads with its
    length set, as Daphne hands Django a chunked body.
    """

    def __init__(self, app: WsgiApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        declared = declared_length(environ.get("CONTENT_LENGTH") or None)
        if declared is not None and declared > self.limit:
            return _refuse_wsgi(start_response)
        if declared is None and _chunked(environ):
            spooled = _spool(environ["wsgi.input"], Meter(self.limit))
            if spooled is None:
                return _refuse_wsgi(start_response)
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = spooled
        return self.app(environ, start_response)


def _chunked(environ: Environ) -> bool:
    return (
        bool(environ.get("wsgi.input_terminated"))
        and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    )


def _spool(source: IO[bytes], meter: Meter) -> tuple[IO[bytes], str] | None:
    """The whole body in a rewound file and its length, or None once it passes the limit
    (the rest is left unread: the server closes or drains the connection)."""
    spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    while block := source.read(READ_BLOCK):
        if not meter.add(len(block)):
            spooled.close()
            return None
        spooled.write(block)
    spooled.seek(0)
    return spooled, str(meter.seen)


def _refuse_wsgi(start_response: StartResponse) -> list[bytes]:
    start_response("413 Request Entity Too Large", list(REFUSAL_HEADERS))
    return [TOO_LARGE]
