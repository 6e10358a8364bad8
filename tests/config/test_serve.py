"""``python -m config.serve``: Daphne with a handshake window and a listen backlog for a
crowd of sockets joining at once (config/serve.py)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from bench.live_servers import ROOT, free_port, wait_for_port
from config import serve
from tests.config import slow_accept_app

SERVE = [sys.executable, "-m", "config.serve"]


@pytest.fixture
def slow_server():
    port = free_port()
    process = subprocess.Popen(
        [*SERVE, "-p", str(port), "--application", "tests.config.slow_accept_app:application"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process=process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_it_listens_with_the_backlog_and_handshake_window():
    argv = serve.daphne_argv(host="127.0.0.1", port=8001)
    assert argv[:2] == ["-e", f"tcp:port=8001:interface=127.0.0.1:backlog={serve.BACKLOG}"]
    assert argv[argv.index("--websocket_connect_timeout") + 1] == str(serve.HANDSHAKE_SECONDS)
    assert argv[-1] == "config.asgi:application"


def test_a_handshake_accepted_after_daphnes_default_window_still_opens(slow_server):
    """Daphne alone closes it after 5 s without an HTTP answer ("did not receive a valid
    HTTP response", the 5,000-socket bench's failure)."""
    assert serve.HANDSHAKE_SECONDS > slow_accept_app.SECONDS + 5

    async def first_frame() -> str:
        async with connect(f"ws://127.0.0.1:{slow_server}/", open_timeout=30) as ws:
            return await ws.recv()

    assert asyncio.run(first_frame()) == "accepted"


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs iproute2's ss")
def test_the_listening_socket_has_the_backlog(slow_server):
    # For a listening socket, ss shows the backlog as Send-Q (capped by somaxconn).
    line = subprocess.run(
        ["ss", "-ltnH", f"sport = :{slow_server}"], capture_output=True, text=True, check=True
    ).stdout.split()
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    assert int(line[2]) == min(serve.BACKLOG, somaxconn)
