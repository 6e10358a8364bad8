"""Serve ``config.asgi.application`` with Daphne in a background thread (e2e tests only)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

# Daphne installs Twisted's asyncio reactor on import: import it before anything else
# pulls in Twisted.
from daphne.server import Server  # isort:skip
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _application():
    from channels.routing import ProtocolTypeRouter

    from config import asgi

    # Same routing as production; static files served like runserver does.
    return ProtocolTypeRouter(
        {
            "http": ASGIStaticFilesHandler(asgi.django_asgi_app),
            "websocket": asgi.application.application_mapping["websocket"],
        }
    )


def serve_in_thread(timeout: float = 10.0) -> tuple[str, Callable[[], None]]:
    """Start Daphne on a free port; return its base URL and a function that stops it."""
    port = _free_port()
    server = Server(
        application=_application(),
        endpoints=[f"tcp:port={port}:interface=127.0.0.1"],
        signal_handlers=False,
        verbosity=0,
    )
    thread = threading.Thread(target=server.run, name="daphne", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        raise RuntimeError(f"Daphne did not start on port {port}")

    def stop() -> None:
        from twisted.internet import reactor

        reactor.callFromThread(server.stop)
        thread.join(timeout=5)

    return f"http://127.0.0.1:{port}", stop
