"""Readiness: can this process serve a live exercise right now? (``/readyz``)

Each check answers within about ``TIMEOUT`` seconds and says only ok or the error's class
(never a host name or a password). Redis is checked only when ``REDIS_URL`` is set, a
Celery worker only when tasks go to a real broker (not run eagerly in-process).
"""

from __future__ import annotations

from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection

from config.celery import app

TIMEOUT = 2.0


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_redis() -> None:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()


class NoWorker(Exception):
    """No Celery worker answered the ping."""


def check_worker() -> None:
    with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=TIMEOUT)
        if not app.control.ping(timeout=TIMEOUT, connection=conn):
            raise NoWorker


def checks() -> dict[str, Callable[[], None]]:
    """The checks that apply to this configuration, by name."""
    applicable: dict[str, Callable[[], None]] = {"database": check_database}
    if settings.REDIS_URL:
        applicable["redis"] = check_redis
    if not settings.CELERY_TASK_ALWAYS_EAGER and not settings.CELERY_BROKER_URL.startswith(
        "memory://"
    ):
        applicable["celery"] = check_worker
    return applicable


def readiness() -> dict[str, str]:
    """``{check: "ok" | error class}`` for every applicable check."""
    results = {}
    for name, check in checks().items():
        try:
            check()
        except Exception as error:  # any failure means not ready; the class says which
            results[name] = error.__class__.__name__
        else:
            results[name] = "ok"
    return results
