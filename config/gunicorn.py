"""gunicorn settings: ``gunicorn -c config/gunicorn.py config.wsgi`` (README, "Deploy for real").

gunicorn serves every plain HTTP path; Daphne keeps ``/ws/``. Read from the environment
with the same strict parsers as the settings:

- ``WEB_BIND`` (default ``127.0.0.1:8001``): where the proxy reaches gunicorn;
- ``WEB_WORKERS`` (default: the number of cores): worker processes;
- ``WEB_THREADS`` (default 4): threads per worker. More than 1 runs gunicorn's ``gthread``
  worker, which keeps the proxy's (or a browser's) connection alive between requests; 1
  runs the ``sync`` worker, one request and one connection at a time per process. 2
  gthread workers of 4 threads won on 2 cores at 1,000 sockets: 53-83 decide POSTs/s
  against 24-43/s from 2 or 4 sync workers and 33-70/s from Daphne, at less CPU per
  decision (bench/README.md, "gunicorn beside Daphne").

Each worker's database pool holds one connection per thread unless ``DATABASE_POOL``
says otherwise: a worker never runs more requests at once. With several workers, give
every process of the host one ``PROMETHEUS_MULTIPROC_DIR``, or ``/metrics`` answers for
whichever worker took the scrape; a worker that exits is marked dead there.
"""

from __future__ import annotations

import os

from config.env import read_int

bind = os.environ.get("WEB_BIND", "127.0.0.1:8001")
workers = read_int("WEB_WORKERS", os.cpu_count() or 1, minimum=1)
threads = read_int("WEB_THREADS", 4, minimum=1)
worker_class = "sync" if threads == 1 else "gthread"
# gthread: how long a browser's idle keep-alive connection stays open.
keepalive = 5
# Only Django decides whether a request came over TLS (BEHIND_TLS_PROXY sets
# SECURE_PROXY_SSL_HEADER), as under Daphne: gunicorn would otherwise trust
# X-Forwarded-Proto from any local client.
secure_scheme_headers: dict[str, str] = {}
wsgi_app = "config.wsgi:application"
# gunicorn's control socket is one path per user: two servers on a host (a deployment and
# a bench, two tests) would take it from each other. Nothing here uses it.
control_socket_disable = True
os.environ.setdefault("DATABASE_POOL", str(threads))


def post_worker_init(worker) -> None:
    from config.startup import open_database_pool

    open_database_pool()


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
