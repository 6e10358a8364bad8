"""Settings selection: the embedded default versus real services, and strict env parsing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'db': settings.DATABASES['default']['ENGINE'], "
    "'layer': settings.CHANNEL_LAYERS['default']['BACKEND'], "
    "'eager': settings.CELERY_TASK_ALWAYS_EAGER, 'broker': settings.CELERY_BROKER_URL, "
    "'debug': settings.DEBUG, 'sessions': settings.SESSION_ENGINE}))"
)


def _without_service_urls() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }


def run_with_env(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = _without_service_urls()
    clean.update(
        env, DJANGO_SETTINGS_MODULE="config.settings", CASCADE_DATA_DIR="/tmp/cascade-settings-test"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_uses_the_embedded_default_when_nothing_is_set():
    result = run_with_env(PROBE)
    assert result.returncode == 0, result.stderr
    chosen = json.loads(result.stdout)
    assert chosen == {
        "db": "django.db.backends.sqlite3",
        "layer": "channels.layers.InMemoryChannelLayer",
        "eager": True,
        "broker": "memory://",
        "debug": True,
        "sessions": "django.contrib.sessions.backends.db",
    }


def test_it_uses_postgres_and_redis_when_their_urls_are_set():
    result = run_with_env(
        PROBE,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/cascade",
        REDIS_URL="redis://127.0.0.1:6379/3",
        SECRET_KEY="x" * 50,
    )
    assert result.returncode == 0, result.stderr
    chosen = json.loads(result.stdout)
    assert chosen == {
        "db": "django.db.backends.postgresql",
        "layer": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "eager": False,
        "broker": "redis://127.0.0.1:6379/3",
        "debug": False,
        # Read from the cache every process shares (Redis), written to both.
        "sessions": "django.contrib.sessions.backends.cached_db",
    }


def test_it_uses_the_buffered_redis_layer_when_asked():
    result = run_with_env(
        PROBE,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/cascade",
        REDIS_URL="redis://127.0.0.1:6379/3",
        SECRET_KEY="x" * 50,
        CHANNEL_LAYER="core",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["layer"] == "channels_redis.core.RedisChannelLayer"


@pytest.mark.parametrize(
    ("pool", "expected"),
    [
        ("", {"max_age": 0, "pool": {"min_size": 10, "max_size": 10}}),
        ("4", {"max_age": 0, "pool": {"min_size": 4, "max_size": 4}}),
        ("0", {"max_age": 60, "pool": None}),
    ],
)
def test_it_pools_postgres_connections_unless_told_not_to(pool, expected):
    probe = (
        "import json, django; from django.conf import settings; django.setup(); "
        "db = settings.DATABASES['default']; "
        "print(json.dumps({'max_age': db['CONN_MAX_AGE'], "
        "'pool': db.get('OPTIONS', {}).get('pool')}))"
    )
    result = run_with_env(
        probe,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/cascade",
        SECRET_KEY="x" * 50,
        DATABASE_POOL=pool,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        ("", {"server_side_binding": True, "prepare_threshold": 2}),
        ("5", {"server_side_binding": True, "prepare_threshold": 5}),
        ("0", {"server_side_binding": None, "prepare_threshold": None}),
    ],
)
def test_it_prepares_postgres_statements_unless_told_not_to(threshold, expected):
    probe = (
        "import json, django; from django.conf import settings; django.setup(); "
        "options = settings.DATABASES['default'].get('OPTIONS', {}); "
        "keys = ('server_side_binding', 'prepare_threshold'); "
        "print(json.dumps({k: options.get(k) for k in keys}))"
    )
    result = run_with_env(
        probe,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/cascade",
        SECRET_KEY="x" * 50,
        DATABASE_PREPARE_THRESHOLD=threshold,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL must be a postgres://"),
        ({"DATABASE_URL": "postgres://"}, "DATABASE_URL must name a host and a database"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL must be a redis://"),
        ({"REDIS_URL": "redis://localhost:notaport/0"}, "REDIS_URL has an invalid port"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"CHANNEL_LAYER": "kafka"}, "CHANNEL_LAYER='kafka' must be one of: pubsub, core"),
        (
            {"DATABASE_URL": "postgres://postgres@localhost/x", "DATABASE_POOL": "many"},
            "DATABASE_POOL='many' is not a whole number",
        ),
        (
            {"DATABASE_URL": "postgres://postgres@localhost/x", "DEBUG": "0"},
            "SECRET_KEY must be set",
        ),
    ],
)
def test_it_fails_with_one_clear_line_naming_the_bad_variable(env, expected):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**_without_service_urls(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cascade: configuration error: ")
    assert expected in lines[0]


def test_it_refuses_a_real_celery_worker_with_the_in_memory_layer(settings):
    from config.checks import celery_worker_needs_shared_layer

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    errors = celery_worker_needs_shared_layer(None)
    assert [error.id for error in errors] == ["cascade.E001"]

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer"}}
    assert celery_worker_needs_shared_layer(None) == []
