"""Security tests: fast password hashing (they create many users), no scheduler thread,
and one world shared by the tests of a class."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import transaction
from django.test import override_settings

from tests.security.world import World, build_world

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    settings.PASSWORD_HASHERS = FAST_HASHERS
    settings.CASCADE_INPROCESS_SCHEDULER = False
    settings.MEDIA_ROOT = tmp_path


@dataclass(frozen=True)
class SharedWorld:
    world: World
    media: Path  # where its export files are


@pytest.fixture(scope="class")
def shared_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """One world (world.py) for the tests of a class, built once inside a transaction that
    is rolled back after the class. Each test's own transaction is a savepoint inside it,
    so what a test writes is undone after it, as with a world of its own. Building one
    costs about a second, and the authorization table alone has a hundred rows.

    Only for a class whose tests all keep to the test's transaction: a transactional
    test, or a thread with a connection of its own, would not see the world and would
    wait on its uncommitted rows."""
    media = tmp_path_factory.mktemp("shared-world")
    building = override_settings(
        PASSWORD_HASHERS=FAST_HASHERS, CASCADE_INPROCESS_SCHEDULER=False, MEDIA_ROOT=media
    )
    with django_db_blocker.unblock(), transaction.atomic():
        try:
            with building:
                world = build_world()
            yield SharedWorld(world, media)
        finally:
            transaction.set_rollback(True)


@pytest.fixture
def world(shared_world, settings) -> World:
    """The class's world as the database holds it at the start of this test (an earlier
    test's writes were rolled back, but not from the Python objects they touched), with
    its export files where this test's storage looks."""
    settings.MEDIA_ROOT = shared_world.media
    shown = shared_world.world
    rows = [shown.exercise, shown.other, shown.draft, shown.item, shown.other_item]
    rows += [shown.export, shown.other_export, *shown.users.values()]
    rows += [*shown.teams.values(), *shown.orgs.values(), *shown.shares.values()]
    for row in rows:
        if row is not None:
            row.refresh_from_db()
    return shown


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
