"""The WSGI entry point (gunicorn beside Daphne, issue 19): it refuses the embedded default,
whose in-memory channel layer a WSGI process could never publish into."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from config.checks import wsgi_server_problem
from tests.config.test_settings import ROOT, _without_service_urls

GUNICORN = Path(sys.executable).with_name("gunicorn")


def test_it_names_the_in_memory_layer_as_the_problem(settings) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert "in-memory" in wsgi_server_problem()

    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer"}
    }
    assert wsgi_server_problem() is None


def test_a_real_gunicorn_refuses_to_start_in_the_embedded_default(tmp_path) -> None:
    env = _without_service_urls() | {"CASCADE_DATA_DIR": str(tmp_path), "WEB_WORKERS": "1"}
    env |= {"WEB_BIND": "127.0.0.1:0", "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [str(GUNICORN), "-c", "config/gunicorn.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3  # gunicorn: "Worker failed to boot", the master halts
    assert "cannot serve HTTP from a WSGI server: the channel layer is in-memory" in done.stderr
