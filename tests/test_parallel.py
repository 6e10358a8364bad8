"""tests/parallel.py: what each pytest-xdist worker owns."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from tests.parallel import WorkerSetupError, worker_environment, worker_redis_url


def test_it_gives_each_worker_the_next_redis_database():
    assert worker_redis_url("redis://127.0.0.1:6379/5", 0) == "redis://127.0.0.1:6379/5"
    assert worker_redis_url("redis://127.0.0.1:6379/5", 1) == "redis://127.0.0.1:6379/6"
    assert worker_redis_url("redis://:pw@cache:6380", 2) == "redis://:pw@cache:6380/2"
    assert worker_redis_url("rediss://cache/13/", 2) == "rediss://cache/15"


@pytest.mark.parametrize(
    ("url", "index"),
    [
        ("redis://127.0.0.1:6379/15", 1),  # past redis-server's 16 databases
        ("redis://127.0.0.1:6379?db=3", 1),
        ("redis://127.0.0.1:6379/cache", 0),
        ("unix:///run/redis.sock", 0),
    ],
)
def test_it_refuses_a_redis_url_it_cannot_move(url, index):
    with pytest.raises(WorkerSetupError):
        worker_redis_url(url, index)


def test_it_gives_each_worker_its_channel_prefix_and_data_folder():
    run = {"REDIS_URL": "redis://127.0.0.1:6379/13", "CHANNELS_PREFIX": "ci"}
    first, second = (worker_environment(n, run, Path("/data")) for n in (0, 1))
    assert first == {
        "CHANNELS_PREFIX": "ci-gw0",
        "CASCADE_DATA_DIR": "/data/test-workers/gw0",
        "REDIS_URL": "redis://127.0.0.1:6379/13",
    }
    assert second["REDIS_URL"] == "redis://127.0.0.1:6379/14"
    assert second["CHANNELS_PREFIX"] == "ci-gw1"
    embedded = worker_environment(1, {}, Path("/data"))
    assert embedded == {
        "CHANNELS_PREFIX": "cascade-gw1",
        "CASCADE_DATA_DIR": "/data/test-workers/gw1",
    }


@pytest.mark.skipif(
    "PYTEST_XDIST_WORKER" not in os.environ, reason="runs in a pytest-xdist worker (make test)"
)
def test_this_workers_settings_follow_its_environment():
    worker = os.environ["PYTEST_XDIST_WORKER"]
    assert os.environ["CHANNELS_PREFIX"].endswith(f"-{worker}")
    assert settings.DATA_DIR.name == worker
    assert settings.MEDIA_ROOT.parent.name == worker
    if settings.REDIS_URL:
        redis_url = os.environ["REDIS_URL"]
        assert redis_url == settings.REDIS_URL
        assert settings.CACHES["default"]["LOCATION"] == redis_url
        assert redis_url == settings.CELERY_BROKER_URL
        assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"].endswith(f"-{worker}")
