"""What each pytest-xdist worker must own when ``make test`` runs the suite in parallel.

Every worker is a separate Django process with its own test database (pytest-django
suffixes its name with the worker id) and its own free ports, but the rest of what a test
run touches is shared unless it is told apart before the worker's settings are read:

- Redis: the cache (rate limits, sessions), presence sets and the Celery queues live in
  the Redis *database* of ``REDIS_URL``, and the test personas' autouse fixture empties it
  (``cache.clear()`` is FLUSHDB). Worker ``n`` takes database ``base + n``.
- The channel layer's Pub/Sub channels are global to the Redis server, whatever the
  database: each worker gets its own ``CHANNELS_PREFIX``.
- Files: exports, mail and collected static files go under ``CASCADE_DATA_DIR``; each
  worker gets a folder of its own below the run's.

The values are set as the worker's environment (``worker_environment``), so the worker's
settings and every server or Celery process a test starts from it agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REDIS_DATABASES = 16  # redis-server's default "databases"


class WorkerSetupError(ValueError):
    pass


def worker_redis_url(url: str, index: int) -> str:
    """``url`` moved to database ``its database + index``."""
    parts = urlsplit(url)
    if parts.scheme == "unix" or "db=" in parts.query:
        raise WorkerSetupError(f"REDIS_URL must carry its database in the path: {url!r}")
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise WorkerSetupError(f"REDIS_URL has no database number in its path: {url!r}")
    database = int(path or 0) + index
    if database >= REDIS_DATABASES:
        raise WorkerSetupError(
            f"Worker {index} would need Redis database {database}: start from a lower "
            f"database than {url!r} or run fewer workers."
        )
    return urlunsplit(parts._replace(path=f"/{database}"))


def worker_environment(index: int, environ: Mapping[str, str], data_dir: Path) -> dict[str, str]:
    """The variables worker ``index`` (``gw<index>``) runs with, given the run's ``environ``
    and its ``CASCADE_DATA_DIR``."""
    name = f"gw{index}"
    env = {
        "CHANNELS_PREFIX": f"{environ.get('CHANNELS_PREFIX', 'cascade')}-{name}",
        "CASCADE_DATA_DIR": str(data_dir / "test-workers" / name),
    }
    if environ.get("REDIS_URL", "").strip():
        env["REDIS_URL"] = worker_redis_url(environ["REDIS_URL"].strip(), index)
    return env
