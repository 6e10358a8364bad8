"""Strict readers for environment variables.

Every reader raises ``ImproperlyConfigured`` with a one-line message that names the
variable, so a bad deployment fails at start-up with a sentence, not a traceback.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def read_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no).")


def read_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def read_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if raw not in choices:
        raise ImproperlyConfigured(f"{name}={raw!r} must be one of: {', '.join(choices)}.")
    return raw


def read_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def read_database_url(name: str = "DATABASE_URL") -> dict | None:
    """The Django DATABASES entry for ``$name``, or None when it is unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(
            f"{name} must be a postgres://user@host:port/dbname or sqlite:///path URL, "
            f"got scheme {parsed.scheme or '(none)'!r}."
        )
    if parsed.scheme != "sqlite" and (not parsed.hostname or not parsed.path.strip("/")):
        raise ImproperlyConfigured(
            f"{name} must name a host and a database, like postgres://postgres@127.0.0.1:5432/cascade."
        )
    try:
        config = environ.Env.db_url_config(raw)
    except Exception as exc:
        raise ImproperlyConfigured(f"{name} could not be parsed: {exc}") from None
    if config["ENGINE"] == "django.db.backends.postgresql":
        _pool_connections(config)
        _prepare_statements(config)
    return config


def _pool_connections(config: dict) -> None:
    """A psycopg pool of at most ``DATABASE_POOL`` connections per process (default 10),
    or, with ``DATABASE_POOL=0``, persistent connections (``DATABASE_CONN_MAX_AGE`` s).

    Under ASGI Django runs each request's sync code in a thread of its own, so thread-bound
    persistent connections are seldom reused: without a pool a decision POST through
    Daphne opened a new PostgreSQL connection (bench/README.md). With one, every thread
    returns its connection when Django closes it (end of request, ``database_sync_to_async``).
    The pool is opened full, so a burst (a thousand sockets joining) never waits for it
    to grow one connection at a time."""
    size = read_int("DATABASE_POOL", DEFAULT_POOL)
    if size == 0:
        config["CONN_MAX_AGE"] = read_int("DATABASE_CONN_MAX_AGE", 60)
        config["CONN_HEALTH_CHECKS"] = True
        return
    config["CONN_MAX_AGE"] = 0
    config.setdefault("OPTIONS", {})["pool"] = {"min_size": size, "max_size": size}


def _prepare_statements(config: dict) -> None:
    """Server-side binding, and each statement prepared once a connection has run it
    ``DATABASE_PREPARE_THRESHOLD`` times (default 2; 0 turns preparing off, for a
    transaction-mode pooler such as PgBouncer before 1.21, which loses them).

    Planning is most of what PostgreSQL does for the app's short queries: the seat read
    (six tables joined) plans in 0.56 ms and runs in 0.14. Prepared on the pool's
    long-lived connections, a decide POST cost PostgreSQL 1.2-1.6 ms of CPU instead of
    3.1-4.0, and the request's own process a little less too (bench/bench_requests.py).
    Django leaves both off by default (for poolers)."""
    threshold = read_int("DATABASE_PREPARE_THRESHOLD", DEFAULT_PREPARE_THRESHOLD)
    if threshold == 0:
        return
    options = config.setdefault("OPTIONS", {})
    options["server_side_binding"] = True
    options["prepare_threshold"] = threshold


DEFAULT_PREPARE_THRESHOLD = 2

# Per process: a Daphne process's request threads and its consumers' read pool (asgiref's
# default executor, ~6 threads on 2 cores) rarely hold more at once; PostgreSQL's default
# max_connections (100) leaves room for several processes and workers.
DEFAULT_POOL = 10


def read_redis_url(name: str = "REDIS_URL") -> str | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(
            f"{name} must be a redis://host:port/db URL, got scheme {parsed.scheme or '(none)'!r}."
        )
    if parsed.scheme != "unix" and not parsed.hostname:
        raise ImproperlyConfigured(f"{name} must name a host, like redis://127.0.0.1:6379/0.")
    try:
        parsed.port  # noqa: B018 - urlparse validates the port lazily
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port: {raw!r}.") from None
    return raw


def read_email_url(name: str = "EMAIL_URL") -> dict | None:
    """Django EMAIL_* settings from ``smtp://user:password@host:port`` (``smtp+tls://``
    for STARTTLS, ``smtps://`` for TLS from the first byte), or None when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    parsed = urlparse(raw)
    schemes = {"smtp": (False, False), "smtp+tls": (True, False), "smtps": (False, True)}
    if parsed.scheme not in schemes:
        raise ImproperlyConfigured(
            f"{name} must be an smtp://, smtp+tls:// or smtps:// URL, "
            f"got scheme {parsed.scheme or '(none)'!r}."
        )
    if not parsed.hostname:
        raise ImproperlyConfigured(
            f"{name} must name a host, like smtp+tls://mail.example.org:587."
        )
    try:
        port = parsed.port
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port.") from None
    use_tls, use_ssl = schemes[parsed.scheme]
    return {
        "EMAIL_HOST": parsed.hostname,
        "EMAIL_PORT": port or (465 if use_ssl else 587 if use_tls else 25),
        "EMAIL_HOST_USER": unquote(parsed.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parsed.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
    }


def read_email_host() -> dict | None:
    """The same settings from EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
    EMAIL_USE_TLS and EMAIL_USE_SSL, or None when EMAIL_HOST is unset."""
    host = os.environ.get("EMAIL_HOST", "").strip()
    if not host:
        return None
    use_tls, use_ssl = read_bool("EMAIL_USE_TLS", False), read_bool("EMAIL_USE_SSL", False)
    if use_tls and use_ssl:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")
    port = read_int("EMAIL_PORT", 465 if use_ssl else 587 if use_tls else 25, minimum=1)
    if port > 65535:
        raise ImproperlyConfigured(f"EMAIL_PORT={port} is not a port number.")
    return {
        "EMAIL_HOST": host,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": os.environ.get("EMAIL_HOST_USER", ""),
        "EMAIL_HOST_PASSWORD": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
    }


def read_url(name: str) -> str:
    """A required http(s) URL naming a host (an identity provider's endpoint)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        raise ImproperlyConfigured(f"{name} must be set.")
    parsed = urlparse(raw)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise ImproperlyConfigured(f"{name} must be an https:// URL naming a host, got {raw!r}.")
    return raw
