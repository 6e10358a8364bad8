"""The live bench's reader of ``/metrics`` against a real server (pytest-django's live
server), and its quantiles against Prometheus' own rule."""

from __future__ import annotations

import urllib.error

import pytest

from bench.metrics_scrape import combined, live_figures, parse, quantile, scrape, total
from config import metrics

TOKEN = "a-metrics-token-of-some-length"


@pytest.fixture
def metrics_url(settings, live_server) -> str:
    settings.METRICS_TOKEN = TOKEN
    return f"{live_server.url}/metrics"


def test_it_reads_what_the_live_runtime_recorded_since_the_last_scrape(metrics_url):
    before = scrape(metrics_url, TOKEN)
    metrics.event_published("decision.submitted")
    metrics.event_published("inject.released")
    metrics.frame_pushed({"published_at": metrics.time.time() - 0.003})
    metrics.frames_caught_up(4)
    metrics.exercise_lock_taken(0.0015)
    metrics.exercise_lock_released(0.004)
    after = scrape(metrics_url, TOKEN)
    figures = live_figures(after, since=before)
    assert figures["decisions"] == 1
    assert figures["events"] == 2
    assert figures["frames_live"] == 1
    assert figures["frames_catch_up"] == 4
    assert figures["fanout_observed"] == 1
    # One observation of ~3 ms lands in the (2.5 ms, 5 ms] bucket.
    assert 0.0025 <= figures["fanout_p50_s"] <= 0.005
    assert figures["timed_lag_p95_s"] is None  # nothing timed ran since ``before``
    assert 0.001 <= figures["lock_wait_p50_s"] <= 0.002
    assert 0.002 <= figures["lock_held_p95_s"] <= 0.005
    assert figures["lock_wait_s"] == pytest.approx(0.0015)
    assert figures["lock_held_s"] == pytest.approx(0.004)


def test_it_raises_on_a_refused_scrape(metrics_url):
    with pytest.raises(urllib.error.HTTPError) as refused:
        scrape(metrics_url, "not-the-token-at-all")
    assert refused.value.code == 403


EXPOSITION = """\
# TYPE lag histogram
lag_bucket{le="1.0",pid="1"} 2.0
lag_bucket{le="2.0",pid="1"} 6.0
lag_bucket{le="+Inf",pid="1"} 8.0
lag_bucket{le="1.0",pid="2"} 2.0
lag_bucket{le="2.0",pid="2"} 2.0
lag_bucket{le="+Inf",pid="2"} 2.0
lag_count{pid="1"} 8.0
lag_count{pid="2"} 2.0
lag_sum{pid="1"} 9.0
lag_sum{pid="2"} 1.0
"""


def test_quantiles_follow_prometheus_histogram_quantile_over_every_process():
    samples = parse(EXPOSITION)
    assert total(samples, "lag_count") == 10
    assert total(samples, "lag_count", pid="2") == 2
    # Summed buckets: <=1: 4, <=2: 8, +Inf: 10.
    assert quantile(samples, "lag", 0.4) == 1.0
    assert quantile(samples, "lag", 0.6) == pytest.approx(1.5)
    assert quantile(samples, "lag", 0.95) == 2.0  # in +Inf: the last finite bound
    earlier = parse(EXPOSITION.replace('le="+Inf",pid="1"} 8.0', 'le="+Inf",pid="1"} 6.0'))
    assert quantile(samples, "lag", 0.5, since=earlier) == 2.0  # only the 2 new, both > 2 s
    assert quantile(samples, "lag", 0.5, since=samples) is None


def test_scrapes_of_separate_servers_add_up():
    one = parse("# TYPE cascade_decisions counter\ncascade_decisions_total 2.0\n")
    two = parse("# TYPE cascade_decisions counter\ncascade_decisions_total 3.0\n")
    assert live_figures(combined(one, two))["decisions"] == 5
