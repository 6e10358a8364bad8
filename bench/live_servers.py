"""Start and stop real Daphne (and gunicorn) processes for the live bench and the
two-server tests.

Each is started as a deployment starts it (``python -m config.serve``: the handshake
window and listen backlog of ``config/serve.py``). Kept free of Django imports so the
caller decides which database and Redis the servers use (through ``env``).
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


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
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"server did not listen on port {port} within {timeout} s")


@contextmanager
def daphne_servers(
    count: int,
    env: Mapping[str, str],
    *,
    log_dir: Path | None = None,
    application: str = "config.asgi:application",
    name: str = "daphne",
) -> Iterator[list[tuple[int, subprocess.Popen]]]:
    """``count`` Daphne processes serving ``application``; yields (port, process). Each
    logs to ``log_dir/<name>-<index>.log``."""
    servers: list[tuple[int, subprocess.Popen]] = []
    full_env = {**os.environ, **env}
    try:
        for index in range(count):
            port = free_port()
            log = open(log_dir / f"{name}-{index}.log", "w") if log_dir else subprocess.DEVNULL  # noqa: SIM115
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
        stop([process for _, process in servers])


@contextmanager
def gunicorn_server(
    env: Mapping[str, str],
    *,
    workers: int,
    threads: int | None = None,
    log_dir: Path | None = None,
    application: str = "config.wsgi:application",
) -> Iterator[tuple[int, subprocess.Popen]]:
    """One gunicorn master with ``config/gunicorn.py``'s settings serving ``application``
    from ``workers`` processes (``threads`` each; None: the settings' default); yields
    (port, master)."""
    port = free_port()
    full_env = {**os.environ, **env, "WEB_BIND": f"127.0.0.1:{port}", "WEB_WORKERS": str(workers)}
    if threads is not None:
        full_env["WEB_THREADS"] = str(threads)
    log = open(log_dir / "gunicorn.log", "w") if log_dir else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [str(GUNICORN), "-c", "config/gunicorn.py", application],
        cwd=ROOT,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_app(port, process)
        yield port, process
    finally:
        stop([process])


def wait_for_app(port: int, process: subprocess.Popen, *, timeout: float = 60.0) -> None:
    """Until ``/healthz`` answers: gunicorn's master listens at once, but a request waits
    there until a worker has imported Django (seconds on a loaded machine)."""
    wait_for_port(port, timeout=timeout, process=process)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/healthz")
        status = connection.getresponse().status
    finally:
        connection.close()
    if status != 200:
        raise RuntimeError(f"the server on port {port} answered /healthz with {status}")


def stop(processes: list[subprocess.Popen]) -> None:
    """Terminate, then kill whatever has not exited within 10 s."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
