"""``PROMETHEUS_MULTIPROC_DIR``: processes sharing one directory are answered for by any
one process's ``/metrics`` (README, "Deploy for real")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.metrics_scrape import live_figures, scrape, total

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "a-metrics-token-of-some-length"

# What a Daphne process records while serving: ``config.metrics`` imports only
# prometheus_client, so the recording path runs here as it does in a server.
RECORD = """
import sys
from config import metrics
class Socket:
    pass
socket = Socket()
metrics.socket_opened(socket)
for _ in range(int(sys.argv[1])):
    metrics.event_published("decision.submitted")
metrics.frame_pushed({"published_at": metrics.time.time()})
metrics.timed_work_done(10.0, [9.5])
print("recorded", flush=True)
"""


def record_in_a_process(directory: Path, decisions: int) -> None:
    result = subprocess.run(
        [sys.executable, "-c", RECORD, str(decisions)],
        cwd=ROOT,
        env={"PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "recorded", result.stderr


@pytest.mark.django_db(transaction=True)
def test_metrics_add_up_the_counters_of_every_process_sharing_the_directory(
    tmp_path, monkeypatch, settings, live_server
):
    record_in_a_process(tmp_path, decisions=2)
    record_in_a_process(tmp_path, decisions=3)
    settings.METRICS_TOKEN = TOKEN
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    alone = scrape(f"{live_server.url}/metrics", TOKEN)
    assert not any("pid=" in key for key in alone)  # this process's own figures only
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = scrape(f"{live_server.url}/metrics", TOKEN)
    figures = live_figures(samples)
    assert figures["decisions"] == 5
    assert figures["events"] == 5
    assert figures["frames_live"] == 2
    assert figures["fanout_observed"] == 2
    assert total(samples, "cascade_timed_work_lag_seconds_count") == 2
    # The socket gauge stays per process: one sample per pid, each with its open socket.
    sockets = {k: v for k, v in samples.items() if k.startswith("cascade_open_sockets{")}
    assert len(sockets) == 2
    assert set(sockets.values()) == {1.0}
    assert figures["open_sockets"] == 2
