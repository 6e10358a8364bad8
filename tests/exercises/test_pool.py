"""The PostgreSQL connection pool (the default, config/env.py) is idle once sockets have
lived and closed: the consumers' database reads, made in worker threads that end with
the test's event loop, gave their connections back (tests/conftest.py,
``_socket_threads_give_back_their_connections``). Without that, each socket test kept
pooled connections until the pool ran dry and later tests waited 30 s for one."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from tests.exercises.test_consumers import build_world, frames, open_socket, release

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def checked_out() -> int:
    """Connections taken from the pool and not given back, in any thread."""
    stats = connections["default"].pool.get_stats()
    return stats["pool_size"] - stats["pool_available"]


@pytest.mark.skipif(
    not connections["default"].settings_dict["OPTIONS"].get("pool"),
    reason="PostgreSQL with its connection pool only (DATABASE_URL, DATABASE_POOL != 0)",
)
async def test_sockets_leave_the_pool_idle(settings):
    settings.CASCADE_INPROCESS_SCHEDULER = False
    world = await database_sync_to_async(build_world)()
    # pytest-django's own connection (main thread, it flushes the tables) stays out.
    before = await database_sync_to_async(checked_out)()
    sockets = [await open_socket(world["exercise"], world[who]) for who in ("alice", "bob")]
    for socket in sockets:
        await frames(socket)  # the hello's replay: reads in the consumers' worker threads
    await database_sync_to_async(release)(world, "news")
    for socket in sockets:
        assert [seq for seq, _ in await frames(socket)], "the release reached every socket"
    for socket in sockets:
        await socket.disconnect()

    assert await database_sync_to_async(checked_out)() == before
