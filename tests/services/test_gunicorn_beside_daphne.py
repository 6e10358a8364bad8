"""gunicorn beside Daphne (issue 19): a facilitator's release POST served by a gunicorn
worker reaches a player's socket on a Daphne process, through Redis, and one
``PROMETHEUS_MULTIPROC_DIR`` lets gunicorn's ``/metrics`` count both sides."""

from __future__ import annotations

import asyncio
import http.client
import os
import time

import pytest
from django.conf import settings
from django.db import connection

from bench import metrics_scrape
from bench.live_servers import daphne_servers, gunicorn_server
from tests.services.live_world import build_world, server_env, session_cookie
from tests.services.test_live_two_servers import listen

CSRF = "c" * 32  # the CSRF cookie's secret; the header must match it
TOKEN = "t" * 32  # METRICS_TOKEN


def release_post(port: int, code: str, inject: str, cookie: str, origin: str = "") -> int:
    """The facilitator's htmx release POST, as the control console sends it (from
    ``origin``: by default the server's own)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            f"/exercises/{code}/injects/{inject}/release/",
            headers={
                "Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}; csrftoken={CSRF}",
                "X-CSRFToken": CSRF,
                "HX-Request": "true",
                "Origin": origin or f"http://127.0.0.1:{port}",
            },
        )
        return connection.getresponse().status
    finally:
        connection.close()


def scrape_once_frames_recorded(url: str, frames: int) -> dict[str, float]:
    """The metrics once Daphne has recorded ``frames`` live frames: it records a frame
    just after sending it (``config.metrics.frame_pushed``), so a scrape can come first."""
    deadline = time.monotonic() + 10
    while True:
        samples = metrics_scrape.scrape(url, TOKEN)
        recorded = metrics_scrape.total(samples, "cascade_frames_pushed_total", source="live")
        if recorded >= frames or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_release_posted_to_gunicorn_reaches_a_socket_on_daphne(tmp_path):
    exercise, alice, players = build_world(2)
    player_cookie, alice_cookie = session_cookie(players[0]), session_cookie(alice)
    start = exercise.last_seq

    async def scenario(daphne_port: int, web_port: int):
        ready = asyncio.Event()
        listener = asyncio.create_task(
            listen(daphne_port, exercise.code, player_cookie, start, ready, 2)
        )
        await ready.wait()
        await asyncio.sleep(0.5)  # the hello handled: the groups are joined
        posts = [("all-0", ""), ("all-1", "https://evil.example"), ("all-1", "")]
        statuses = [
            await asyncio.to_thread(
                release_post, web_port, exercise.code, key, alice_cookie, origin
            )
            for key, origin in posts
        ]
        if statuses != [200, 403, 200]:  # say so, rather than wait for frames in vain
            listener.cancel()
            return statuses, None
        return statuses, await listener

    # Redis Pub/Sub channels ignore the database number: a prefix of this run's own keeps
    # other runs' exercises (their ids also count from 1) off this socket.
    (tmp_path / "metrics").mkdir()
    env = server_env(
        os.environ["REDIS_URL"],
        CHANNELS_PREFIX=f"gunicorn{os.getpid()}",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        METRICS_TOKEN=TOKEN,
    )
    logs = {"log_dir": tmp_path}  # read them when it fails
    with (
        daphne_servers(1, env, **logs) as servers,
        gunicorn_server(env, workers=2, **logs) as (web_port, _),
    ):
        statuses, seqs = asyncio.run(scenario(servers[0][0], web_port))
        samples = scrape_once_frames_recorded(f"http://127.0.0.1:{web_port}/metrics", 2)
    assert statuses == [200, 403, 200]  # CSRF's origin check holds under gunicorn
    assert seqs == [start + 1, start + 2]
    # Published by gunicorn's workers, pushed by Daphne's socket: one scrape sees both.
    total = metrics_scrape.total
    assert total(samples, "cascade_events_published_total", kind="inject.released") == 2
    assert total(samples, "cascade_frames_pushed_total", source="live") == 2


@pytest.mark.django_db(transaction=True)
def test_a_gunicorn_worker_opens_its_database_pool_before_it_serves(tmp_path):
    """Its first request does not wait for PostgreSQL to start a backend
    (``config.startup.open_database_pool``): by the time ``/healthz`` answers, which reads
    nothing from the database, the worker holds one connection per thread."""
    name = f"gunicorn-pool-{os.getpid()}"  # PGAPPNAME: libpq names the worker's connections
    env = server_env(os.environ["REDIS_URL"], PGAPPNAME=name)
    with (
        gunicorn_server(env, workers=1, threads=3, log_dir=tmp_path),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [name])
        (held,) = cursor.fetchone()
    assert held == 3
