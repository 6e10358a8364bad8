"""What a server process does as it starts: a configuration error as one clear line
instead of a traceback wall; what requests use loaded before the first one; the garbage
collector settled (the start-up objects frozen, the young ones collected less often); a
gunicorn worker's database pool opened before it serves."""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)


def load_settings_or_exit() -> None:
    """Import the settings now; on a bad environment variable print one line and exit 2."""
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - forces the lazy settings to load
    except ImproperlyConfigured as exc:
        print(f"cascade: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def load_what_requests_use() -> None:
    """Import the URL configuration (and with it every view and form), build a Markdown
    parser and the channel layer and compile the project's templates now, as each
    process's first request or frame would. In a gunicorn worker that request paid
    ~0.25 s for each (bench/README.md, session 13), and the ~70,000 objects they leave
    were born after the start-up objects were frozen, so every full collection walked
    them; loaded here, ``settle_garbage_collector`` freezes them with the rest. Templates
    only with the cached loader: under ``DEBUG`` every render reads its template again."""
    from channels.layers import get_channel_layer
    from django.conf import settings
    from django.template import engines
    from django.urls import reverse
    from django.utils import formats

    from scenarios.services import prepare_markdown

    reverse("home")  # imports config.urls and fills the resolver's maps
    prepare_markdown()
    # Built on their first use, which was a fresh process's first released inject (each
    # several ms on a slow machine: bench/README.md, session 18): the channel layer (its
    # backend's modules) and the language's number formats (a scan of the locale
    # directories; ``floatformat``).
    get_channel_layer()
    formats.get_format("DECIMAL_SEPARATOR")
    if settings.DEBUG:
        return
    engine = engines["django"]
    for directory in engine.dirs:  # the project's templates: no app has its own
        root = Path(directory)
        for path in sorted(root.rglob("*")):
            if path.suffix in TEMPLATE_SUFFIXES:
                engine.get_template(path.relative_to(root).as_posix())


TEMPLATE_SUFFIXES = (".html", ".txt")


# Objects allocated and not yet freed before a young collection runs (CPython's default:
# 700). A request or a socket frame allocates thousands and frees nearly all of them by
# reference counting; every 700, the few alive at that moment (a message in a queue, a
# request in flight) were promoted, and a full collection followed every 8-15 s of load in
# each Daphne process: 40-130 ms with its sockets waiting. At 50,000 none ran in a bench
# run; the cyclic garbage a collection finds waits longer, a few MB at most. The price: a
# joined socket leaves ~200 objects (Twisted's, Channels', Cascade's), so the young
# collection after players join walks many (~23 ms, on the first inject's frames in some
# runs). 10,000 shortened that to 2-5 ms but promoted the sockets' objects sooner: a
# Daphne process holding 2,500 sockets then ran full collections of 570-770 ms
# (bench/README.md, session 9).
YOUNG_OBJECTS = 50_000


def settle_garbage_collector() -> None:
    """Move every object alive once the application is built (modules, settings, URL
    patterns, models' metadata: ~130,000 in a server process) out of the garbage
    collector's generations for good, and collect young objects less often
    (``YOUNG_OBJECTS``). A full collection then walks only what the server created since:
    unfrozen, each one of a gunicorn worker or a Daphne process took ~100 ms of CPU (~10 ms
    frozen), the whole process stopped meanwhile, a pause that lands on the requests and
    the frames of that moment (bench/README.md, "Tenth pass"). The frozen objects are never
    freed; they live as long as the process anyway."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, older, oldest)


# How long a server process waits at its start for its database pool to fill.
POOL_OPEN_SECONDS = 10.0


def open_database_pool(timeout: float = POOL_OPEN_SECONDS) -> None:
    """Open the process's PostgreSQL pool (``config.env``) and wait until it holds its
    connections; nothing without one (SQLite, ``DATABASE_POOL=0``). Django opens it on
    the first query, and that request waited while PostgreSQL started a backend for it:
    a fresh gunicorn worker's first release POST took ~20 ms longer (bench/README.md,
    session 18). Called from gunicorn's ``post_worker_init`` (``config/gunicorn.py``),
    which serves the players' and the facilitator's POSTs, never on import: a forked
    worker must not inherit the pool's threads, nor a test process its connections. A
    database that does not answer within ``timeout`` is logged, not raised: requests then
    open the pool as before, and fail as they would have while it is down (``/readyz``
    says so)."""
    from django.db import connection

    pool = getattr(connection, "pool", None)
    if pool is None:
        return
    from psycopg_pool import PoolTimeout

    try:
        pool.open(wait=True, timeout=timeout)
    except PoolTimeout:
        # The pool closed itself and cannot reopen: the first query makes a new one.
        connection.close_pool()
        logger.warning(
            "The database did not answer within %g s of the start; the first request tries again.",
            timeout,
        )
