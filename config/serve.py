"""Run one Daphne process with the settings a crowd of sockets needs.

    python -m config.serve --bind 127.0.0.1 --port 8001

Two of Daphne's defaults drop sockets when thousands of players join at once
(bench/README.md, "5,000 sockets"):

- **The handshake window.** Daphne closes a WebSocket handshake that the application has
  not accepted within ``--websocket_connect_timeout`` (5 s), with no HTTP answer: the
  client reads "did not receive a valid HTTP response". A burst of joins queues each
  handshake behind the others' session, seat and group reads; past 5 s the work already
  done is thrown away and the browser's reconnect queues the same handshake again. Here
  a handshake may wait ``HANDSHAKE_SECONDS``.
- **The listen backlog.** ``-b``/``-p`` listen with Twisted's default backlog of 50
  connections: while the event loop is busy (pushing an inject to thousands of sockets)
  a join wave of 250/s overflows it and the kernel drops the connection attempts, which
  the clients retry a second or more later. Here the backlog is ``BACKLOG`` (the kernel
  caps it at ``net.core.somaxconn``).

Any other Daphne option can follow (``--access-log``, ``--proxy-headers``…); the
application defaults to ``config.asgi:application``.
"""

from __future__ import annotations

import argparse
import sys

# As long as a proxy in front waits for an answer (nginx's proxy_read_timeout: 60 s).
HANDSHAKE_SECONDS = 60
BACKLOG = 2048


def daphne_argv(
    *, host: str, port: int, application: str = "config.asgi:application", extra=()
) -> list[str]:
    """Daphne's command-line arguments for one process listening on ``host:port``."""
    return [
        "-e",
        f"tcp:port={port}:interface={host}:backlog={BACKLOG}",
        "--websocket_connect_timeout",
        str(HANDSHAKE_SECONDS),
        *extra,
        application,
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-b", "--bind", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=8000)
    parser.add_argument("--application", default="config.asgi:application")
    args, extra = parser.parse_known_args(argv)
    from daphne.cli import CommandLineInterface

    CommandLineInterface().run(
        daphne_argv(host=args.bind, port=args.port, application=args.application, extra=extra)
    )


if __name__ == "__main__":
    main(sys.argv[1:])
