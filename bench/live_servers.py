"""Start and stop real Daphne processes for the live bench and the two-server test.

Each is started as a deployment starts it (``python -m config.serve``: the handshake
window and listen backlog of ``config/serve.py``). Kept free of Django imports so the
caller decides which database and Redis the servers use (through ``env``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(
    port: int, *, timeout: float = 30.0, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"daphne on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"daphne did not listen on port {port} within {timeout} s")


@contextmanager
def daphne_servers(
    count: int,
    env: Mapping[str, str],
    *,
    log_dir: Path | None = None,
    application: str = "config.asgi:application",
) -> Iterator[list[tuple[int, subprocess.Popen]]]:
    """``count`` Daphne processes serving ``application``; yields (port, process)."""
    servers: list[tuple[int, subprocess.Popen]] = []
    full_env = {**os.environ, **env}
    try:
        for index in range(count):
            port = free_port()
            log = open(log_dir / f"daphne-{index}.log", "w") if log_dir else subprocess.DEVNULL  # noqa: SIM115
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "config.serve",
                    "-p",
                    str(port),
                    "--application",
                    application,
                ],
                cwd=ROOT,
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            servers.append((port, process))
        for port, process in servers:
            wait_for_port(port, process=process)
        yield servers
    finally:
        for _, process in servers:
            process.terminate()
        for _, process in servers:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
