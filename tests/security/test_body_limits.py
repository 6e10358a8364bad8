"""Issue 13, finding 5: request bodies over the limit are refused with 413 before Django
reads them, in the ASGI app and in a real Daphne process, in the WSGI app and in a real
gunicorn process (issue 19), with memory bounded."""

from __future__ import annotations

import io
import os
import socket

import pytest
from django.conf import settings

from config.body_limit import BodyLimit, WsgiBodyLimit

MIB = 1024 * 1024
# What one refused 50 MB body may add to a gunicorn worker's peak RSS: it refuses a declared
# length before reading a byte and spools a chunked body to a file up to the limit.
GUNICORN_GROWTH_KIB = 8 * 1024
# What one refused 50 MB body may add to the server's peak RSS (it was +1.8 GB). Before any
# ASGI app runs, Daphne (Twisted) takes the body to a temporary file and queues all of it
# in 8 KiB messages (measured +50 MiB), and Twisted parses a multipart body in memory with
# the email package (measured +400 MiB): only the proxy's limit stops that (README).
GROWTH_KIB = {"application/octet-stream": 80 * 1024, "multipart/form-data": 512 * 1024}


async def _run(headers: list, chunks: list[bytes], limit: int = 100) -> tuple[list, list]:
    """Call ``BodyLimit`` around an app that reads the body like Django; return
    (what the app received, what was sent)."""
    pending = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    pending[-1]["more_body"] = False
    received, sent = [], []

    async def receive():
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):
        while True:
            message = await receive()
            received.append(message)
            if message["type"] == "http.disconnect":
                return  # Django's read_body: RequestAborted, no response
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    await BodyLimit(app, limit=limit)(scope, receive, send)
    return received, sent


@pytest.mark.asyncio
async def test_it_refuses_a_declared_length_over_the_limit_without_reading() -> None:
    received, sent = await _run([(b"content-length", b"101")], [b"x" * 101])
    assert received == []
    assert sent[0]["status"] == 413


@pytest.mark.asyncio
async def test_it_cuts_off_a_chunked_body_at_the_limit() -> None:
    received, sent = await _run([(b"transfer-encoding", b"chunked")], [b"x" * 60] * 5)
    assert [m["type"] for m in received] == ["http.request", "http.disconnect"]
    assert [m.get("status") for m in sent] == [413, None]


@pytest.mark.asyncio
async def test_it_passes_bodies_within_the_limit() -> None:
    received, sent = await _run([(b"content-length", b"100")], [b"x" * 50, b"x" * 50])
    assert len(received) == 2
    assert sent[0]["status"] == 200


class _Input(io.BytesIO):
    """``wsgi.input`` that records how much of the body was read."""

    def __init__(self, body: bytes) -> None:
        super().__init__(body)
        self.taken = 0

    def read(self, size: int = -1) -> bytes:
        block = super().read(size)
        self.taken += len(block)
        return block


def _run_wsgi(environ: dict, body: bytes, limit: int = 100) -> tuple[list, list, _Input]:
    """Call ``WsgiBodyLimit`` around an app that reads the body as Django's WSGIRequest
    does (``CONTENT_LENGTH`` bytes); return (bodies the app read, statuses sent, input)."""
    source = _Input(body)
    environ = {"REQUEST_METHOD": "POST", "wsgi.input": source, **environ}
    read, statuses = [], []

    def app(environ, start_response):
        read.append(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        start_response("200 OK", [])
        return [b"ok"]

    def start_response(status, headers):
        statuses.append(status)

    WsgiBodyLimit(app, limit=limit)(environ, start_response)
    return read, statuses, source


def test_wsgi_refuses_a_declared_length_over_the_limit_without_reading() -> None:
    read, statuses, source = _run_wsgi({"CONTENT_LENGTH": "101"}, b"x" * 101)
    assert (read, statuses, source.taken) == ([], ["413 Request Entity Too Large"], 0)


def test_wsgi_cuts_off_a_chunked_body_at_the_limit() -> None:
    chunked = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True}
    read, statuses, source = _run_wsgi(chunked, b"x" * 10**6)
    assert (read, statuses) == ([], ["413 Request Entity Too Large"])
    assert source.taken < 10**6  # it stopped reading once past the limit


def test_wsgi_hands_django_a_chunked_body_within_the_limit_with_its_length() -> None:
    chunked = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True}
    read, statuses, _ = _run_wsgi(chunked, b"x" * 100)
    assert (read, statuses) == ([b"x" * 100], ["200 OK"])


def test_wsgi_passes_bodies_within_the_limit() -> None:
    read, statuses, _ = _run_wsgi({"CONTENT_LENGTH": "100"}, b"x" * 100)
    assert (read, statuses) == ([b"x" * 100], ["200 OK"])


def test_it_is_set_from_the_settings() -> None:
    from config import asgi

    assert asgi.django_asgi_app.limit == settings.MAX_REQUEST_BYTES == 5 * MIB + 64 * 1024
    assert settings.FILE_UPLOAD_HANDLERS == [
        "django.core.files.uploadhandler.TemporaryFileUploadHandler"
    ]


def _post_raw(port: int, path: str, size: int, kind: str, *, chunked: bool = False) -> bytes:
    """Send a ``size``-byte POST of ``kind`` (declared or chunked); return the status line."""
    boundary = "x" * 20
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += f"Content-Type: {kind}; boundary={boundary}\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {size}\r\n\r\n"
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\n'
    block = part.encode().ljust(MIB, b"a")
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        connection.sendall(head.encode())
        try:
            for _ in range(size // MIB):
                connection.sendall(b"%x\r\n%s\r\n" % (MIB, block) if chunked else block)
            if chunked:
                connection.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the upload ends
        return connection.recv(4096).split(b"\r\n", 1)[0]


@pytest.mark.parametrize("kind", list(GROWTH_KIB))
@pytest.mark.parametrize(
    ("path", "chunked"),
    [("/healthz", False), ("/accounts/login/", False), ("/accounts/login/", True)],
)
def test_a_real_server_refuses_a_50_mb_anonymous_post(server_process, path, chunked, kind) -> None:
    server_process.reset_peak()
    before = server_process.memory_kib("VmRSS")
    status = _post_raw(server_process.port, path, 50 * MIB, kind, chunked=chunked)
    assert status == b"HTTP/1.1 413 Request Entity Too Large"
    assert server_process.is_answering()
    assert server_process.memory_kib("VmHWM") - before < GROWTH_KIB[kind]


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="gunicorn refuses the in-memory layer: set REDIS_URL"
)
@pytest.mark.parametrize("kind", list(GROWTH_KIB))
@pytest.mark.parametrize(
    ("path", "chunked"),
    [("/healthz", False), ("/accounts/login/", False), ("/accounts/login/", True)],
)
def test_a_real_gunicorn_refuses_a_50_mb_anonymous_post(
    gunicorn_process, path, chunked, kind
) -> None:
    gunicorn_process.reset_peak()
    before = gunicorn_process.memory_kib("VmRSS")
    status = _post_raw(gunicorn_process.port, path, 50 * MIB, kind, chunked=chunked)
    assert status == b"HTTP/1.1 413 Request Entity Too Large"
    assert gunicorn_process.is_answering()
    assert gunicorn_process.memory_kib("VmHWM") - before < GUNICORN_GROWTH_KIB
