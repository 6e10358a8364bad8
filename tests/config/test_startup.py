"""What a server process does as it starts (``config/startup.py``): what requests use is
loaded before the first one (the URL configuration, the templates), its start-up objects
are frozen out of the garbage collector, so a full collection walks only what the server
created since, and young objects are collected less often (bench/README.md, "Tenth
pass", session 13)."""

from __future__ import annotations

import pytest

from config.startup import YOUNG_OBJECTS
from tests.config.test_settings import run_with_env

# After the import: how many objects are frozen, how many a full collection walks, and
# how many young objects a collection waits for; then whether the URL configuration was
# imported, how many templates the pages a player and a facilitator open compile, and
# whether Markdown's extensions were looked up (a first parser's cost); then whether the
# channel layer and the language's formats were built (each several ms of a fresh
# process's first released inject).
PROBE = """
import gc, sys, {module}
from django.template import base, engines
print(gc.get_freeze_count(), len(gc.get_objects()), gc.get_threshold()[0])
compiled, compile = [], base.Template.compile_nodelist
base.Template.compile_nodelist = lambda self: compiled.append(self) or compile(self)
for name in ("exercises/live/room.html", "exercises/live/control.html#control-panel"):
    engines["django"].get_template(name)
from markdown.util import get_installed_extensions
print("config.urls" in sys.modules, len(compiled), get_installed_extensions.cache_info().currsize)
from channels.layers import channel_layers
from django.utils.translation import trans_real
print(
    list(channel_layers.backends),
    trans_real.translation_catalog_exists.cache_info().currsize,
)
"""


@pytest.mark.parametrize(
    ("module", "env"),
    [
        ("config.asgi", {"SECRET_KEY": "x" * 50}),
        # The WSGI entry point refuses the embedded default's in-memory channel layer; the
        # import does not connect to Redis.
        ("config.wsgi", {"REDIS_URL": "redis://127.0.0.1:6379/15", "SECRET_KEY": "x" * 50}),
    ],
)
def test_a_server_process_settles_its_garbage_collector(module, env) -> None:
    result = run_with_env(PROBE.format(module=module), DEBUG="0", **env)
    assert result.returncode == 0, result.stderr
    settled, loaded, built = result.stdout.splitlines()
    frozen, tracked, young = map(int, settled.split())
    assert frozen > 100_000  # Django, the apps, the views, the templates: ~200,000
    assert tracked < frozen / 10  # what a full collection still walks
    assert young == YOUNG_OBJECTS
    assert loaded == "True 0 1"  # imported, compiled, Markdown's extensions looked up
    assert built == "['default'] 1"


# A gunicorn worker opens its database pool before it serves (``post_worker_init``); a
# database that does not answer must not leave it a closed pool that cannot reopen.
UNREACHABLE = """
import django, logging
logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
django.setup()
from django.db import connection
from config.startup import open_database_pool
before = connection.pool
open_database_pool(timeout=0.5)
print(before.closed, connection.pool is not before, connection.pool.closed)
"""


def test_a_database_that_does_not_answer_at_the_start_is_tried_again_later() -> None:
    result = run_with_env(
        UNREACHABLE,
        DATABASE_URL="postgres://postgres@127.0.0.1:9/cascade",  # discard: nothing listens
        SECRET_KEY="x" * 50,
        DEBUG="0",
    )
    assert result.returncode == 0, result.stderr
    # The timed-out pool closed and dropped; the next query makes a new one, unopened.
    assert result.stdout.split() == ["True", "True", "True"]
    assert "config.startup: The database did not answer within 0.5 s" in result.stderr
