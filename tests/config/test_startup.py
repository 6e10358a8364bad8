"""What a server process does as it starts (``config/startup.py``): its start-up objects
are frozen out of the garbage collector, so a full collection walks only what the server
created since, and young objects are collected less often (bench/README.md, "Tenth
pass")."""

from __future__ import annotations

import pytest

from config.startup import YOUNG_OBJECTS
from tests.config.test_settings import run_with_env

# After the import: how many objects are frozen, how many a full collection walks, and
# how many young objects a collection waits for.
PROBE = """
import gc, {module}
print(gc.get_freeze_count(), len(gc.get_objects()), gc.get_threshold()[0])
"""


@pytest.mark.parametrize(
    ("module", "env"),
    [
        ("config.asgi", {}),
        # The WSGI entry point refuses the embedded default's in-memory channel layer; the
        # import does not connect to Redis.
        ("config.wsgi", {"REDIS_URL": "redis://127.0.0.1:6379/15", "SECRET_KEY": "x" * 50}),
    ],
)
def test_a_server_process_settles_its_garbage_collector(module, env) -> None:
    result = run_with_env(PROBE.format(module=module), **env)
    assert result.returncode == 0, result.stderr
    frozen, tracked, young = map(int, result.stdout.split())
    assert frozen > 50_000  # Django, the apps, the URL patterns: ~130,000
    assert tracked < frozen / 10  # what a full collection still walks
    assert young == YOUNG_OBJECTS
