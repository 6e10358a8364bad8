"""Personas shared by every test: a facilitator, players of two organizations, an outsider."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from unittest import mock

import pytest
from django.core.cache import cache
from hypothesis import settings as hypothesis_settings

from accounts.models import Sector
from tests import factories
from tests.parallel import WorkerSetupError, worker_environment

# In CI, property tests explore the same (seeded) examples on every run: a red build is
# then always reproducible, never a lucky draw. Locally they keep exploring new inputs.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config, specs):
    """Before pytest-xdist starts its workers: give each its Redis database, channel prefix
    and data folder (tests/parallel.py) as environment, read by its settings."""
    from django.conf import settings

    for index, spec in enumerate(specs):
        try:
            spec.env.update(worker_environment(index, os.environ, settings.DATA_DIR))
        except WorkerSetupError as error:
            raise pytest.UsageError(str(error)) from None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Run browser tests last.

    Playwright's sync API keeps an asyncio loop running in the main thread while the
    session-wide browser lives; any async test after it would fail to start its loop.
    """
    items.sort(key=lambda item: "/e2e/" in str(item.fspath))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """No persistent connections in tests (the PostgreSQL settings keep them 60 s): the
    worker threads of the test servers (the e2e ASGI server, consumers) would keep
    theirs open past the test and hold the test database when pytest drops it."""
    from django.db import connections

    for alias in connections:
        connections.settings[alias]["CONN_MAX_AGE"] = 0


@pytest.fixture(autouse=True, scope="session")
def _socket_threads_give_back_their_connections():
    """Channels' test communicator makes ``channels.db.close_old_connections`` a no-op
    while it passes messages (so that a TestCase's connection keeps its transaction). The
    consumers' reads then run in worker threads of the test's event loop that never close
    their connection: the threads end with the test and, with the connection pool (the
    PostgreSQL default), each kept its pooled connection until the pool ran dry. Close
    them in every thread but the main one, whose connection holds the test's transaction;
    tests/exercises/test_pool.py checks the pool is idle after a socket's life."""
    from channels.testing import application as communicator
    from django.db import close_old_connections

    def close_unless_main_thread() -> None:
        if threading.current_thread() is not threading.main_thread():
            close_old_connections()

    with mock.patch.object(communicator, "no_op", close_unless_main_thread):
        yield


@pytest.fixture(autouse=True, scope="session")
def _static_root_exists() -> None:
    """With a database URL, settings leave STATIC_ROOT to ``collectstatic``, as a
    deployment runs it; whitenoise serves the tests from the finders but warns, once per
    handler, that the folder is missing (hundreds of lines that would hide a real one)."""
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _no_login_throttling(settings):
    """django-axes off by default so failed-login tests do not lock each other out;
    tests/config/test_security.py turns it back on to test the throttling itself."""
    settings.AXES_ENABLED = False


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Personas are made in almost every test; the production hasher would cost ~1 s each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit buckets live in the cache, keyed by ids a later test reuses."""
    cache.clear()
    yield
    cache.clear()


class InlineWorker:
    """Runs a background job in the caller, as ``scoring.background.Worker`` would on its
    thread."""

    def submit(self, job, key=None) -> None:
        job()

    def holds(self, key) -> bool:
        return False


@pytest.fixture(autouse=True)
def _exports_in_the_caller(monkeypatch):
    """The embedded default builds exports on a worker thread (``scoring.background``)
    whose own database connection cannot see a test's uncommitted rows: tests run the job
    in the caller, except tests/scoring/test_background.py, which tests that thread."""
    monkeypatch.setattr("scoring.background.worker", InlineWorker())


@pytest.fixture
def scheduled_sweeps(monkeypatch, settings) -> list[dict]:
    """Record the engine's requests for timed sweeps instead of running them (no Celery
    task, no in-process scheduler thread); the list holds each call's keyword arguments."""
    settings.CASCADE_INPROCESS_SCHEDULER = False
    calls: list[dict] = []
    monkeypatch.setattr(
        "exercises.scheduler.schedule_sweep", lambda **kwargs: calls.append(kwargs) or True
    )
    return calls


@pytest.fixture
def alice(db):
    """Facilitator."""
    return factories.make_user("alice", display_name="Alice Facilitator")


@pytest.fixture
def org_a(db):
    return factories.make_organization("Nimbus Cloud", sector=Sector.CLOUD_IT)


@pytest.fixture
def org_b(db):
    return factories.make_organization("St. Mary's Hospital", sector=Sector.HEALTHCARE)


@pytest.fixture
def bob(db, org_a):
    """Player of organization A."""
    user = factories.make_user("bob", display_name="Bob Cloud")
    factories.add_member(user, org_a, is_admin=True)
    return user


@pytest.fixture
def carol(db, org_b):
    """Player of organization B."""
    user = factories.make_user("carol", display_name="Carol Hospital")
    factories.add_member(user, org_b, is_admin=True)
    return user


@pytest.fixture
def mallory(db):
    """An outsider: a logged-in user with no organization and no seat."""
    return factories.make_user("mallory")
