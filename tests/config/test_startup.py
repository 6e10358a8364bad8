"""What a server process does as it starts (``config/startup.py``): its start-up objects
are frozen out of the garbage collector, so a full collection walks only what the server
created since (bench/README.md, "Tenth pass")."""

from __future__ import annotations

import pytest

from tests.config.test_settings import run_with_env

# After the import: how many objects are frozen, and how many a full collection walks.
PROBE = """
import gc, {module}
print(gc.get_freeze_count(), len(gc.get_objects()))
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
def test_a_server_process_freezes_its_start_up_objects(module, env) -> None:
    result = run_with_env(PROBE.format(module=module), **env)
    assert result.returncode == 0, result.stderr
    frozen, tracked = map(int, result.stdout.split())
    assert frozen > 50_000  # Django, the apps, the URL patterns: ~130,000
    assert tracked < frozen / 10  # what a full collection still walks
