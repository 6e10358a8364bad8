"""Security tests: fast password hashing (they create many users) and no scheduler thread."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CASCADE_INPROCESS_SCHEDULER = False
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(scope="module")
def server_process(tmp_path_factory):
    """A Daphne subprocess on its own database, logged in as a superuser (server_process.py)."""
    from tests.security.server_process import run_server

    for server in run_server(tmp_path_factory.mktemp("server")):
        server.login()
        yield server


@pytest.fixture(scope="module")
def gunicorn_process(tmp_path_factory):
    """A gunicorn subprocess (one worker) on its own SQLite file, with the Redis layer
    of ``REDIS_URL`` (server_process.py)."""
    from tests.security.server_process import run_gunicorn

    yield from run_gunicorn(tmp_path_factory.mktemp("gunicorn"), os.environ["REDIS_URL"])
