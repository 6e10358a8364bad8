"""Read a server's ``/metrics`` (``config.metrics``) the way Prometheus does, for the live bench.

Kept free of Django imports (like ``live_servers``) and of third-party HTTP clients: the
standard library fetches, ``prometheus_client``'s parser reads. Typical use::

    before = scrape(f"http://127.0.0.1:{port}/metrics", token)
    ...load...
    after = scrape(f"http://127.0.0.1:{port}/metrics", token)
    figures = live_figures(after, since=before)

With ``PROMETHEUS_MULTIPROC_DIR`` shared by the servers one scrape answers for every
process (samples then carry a ``pid`` label for the per-process gauge); without it, scrape
each server and add them up with ``combined``.
"""

from __future__ import annotations

import math
import urllib.request
from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[str, float]


def sample_key(name: str, labels: Mapping[str, str]) -> str:
    """``name{a="x",b="y"}`` with labels sorted; the bare name without labels."""
    if not labels:
        return name
    inner = ",".join(f'{key}="{labels[key]}"' for key in sorted(labels))
    return f"{name}{{{inner}}}"


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, keyed by ``sample_key``."""
    return {
        sample_key(sample.name, sample.labels): float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(url: str, token: str, *, timeout: float = 10.0) -> Samples:
    """The samples ``url`` answers to a scraper holding ``token`` (``METRICS_TOKEN``).

    Raises ``urllib.error.HTTPError`` for a refusal (404 metrics off, 403 wrong token)."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return parse(response.read().decode("utf-8"))


def combined(*scrapes: Mapping[str, float]) -> Samples:
    """Scrapes of several servers without a shared ``PROMETHEUS_MULTIPROC_DIR`` as one:
    every sample summed (counters, histogram buckets, and the open-socket gauge)."""
    out: Samples = {}
    for samples in scrapes:
        for key, value in samples.items():
            out[key] = out.get(key, 0.0) + value
    return out


def total(samples: Mapping[str, float], name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (over ``pid``,
    ``kind``…); 0 when there is none."""
    wanted = {f'{key}="{value}"' for key, value in labels.items()}
    found = 0.0
    for key, value in samples.items():
        base, _, rest = key.partition("{")
        if base == name and wanted <= set(rest.rstrip("}").split(",")) - {""}:
            found += value
    return found


def _buckets(samples: Mapping[str, float], histogram: str) -> list[tuple[float, float]]:
    """(upper bound, cumulative count) of ``histogram``, summed over other labels."""
    counts: dict[float, float] = {}
    prefix = f"{histogram}_bucket{{"
    for key, value in samples.items():
        if key.startswith(prefix):
            labels = dict(part.split("=", 1) for part in key[len(prefix) : -1].split(","))
            bound = float(labels["le"].strip('"'))
            counts[bound] = counts.get(bound, 0.0) + value
    return sorted(counts.items())


def quantile(
    samples: Mapping[str, float],
    histogram: str,
    q: float,
    *,
    since: Mapping[str, float] | None = None,
) -> float | None:
    """Prometheus' ``histogram_quantile(q, …)`` over the observations made after ``since``
    (an earlier scrape): linear inside the bucket, the last finite bound if it falls in
    ``+Inf``. None without observations."""
    earlier = dict(_buckets(since or {}, histogram))
    buckets = [(bound, n - earlier.get(bound, 0.0)) for bound, n in _buckets(samples, histogram)]
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            share = (rank - lower_count) / (count - lower_count)
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def live_figures(samples: Mapping[str, float], *, since: Mapping[str, float] | None = None) -> dict:
    """The live runtime's figures for a bench report: counters as increases since the
    ``since`` scrape, latencies as quantiles of the observations made since then."""

    since = since or {}

    def grown(name: str, **labels: str) -> float:
        return total(samples, name, **labels) - total(since, name, **labels)

    return {
        "open_sockets": total(samples, "cascade_open_sockets"),
        "frames_live": grown("cascade_frames_pushed_total", source="live"),
        "frames_catch_up": grown("cascade_frames_pushed_total", source="catch_up"),
        "decisions": grown("cascade_decisions_total"),
        "events": grown("cascade_events_published_total"),
        "fanout_observed": grown("cascade_fanout_seconds_count"),
        "fanout_p50_s": quantile(samples, "cascade_fanout_seconds", 0.5, since=since),
        "fanout_p95_s": quantile(samples, "cascade_fanout_seconds", 0.95, since=since),
        "timed_lag_p95_s": quantile(samples, "cascade_timed_work_lag_seconds", 0.95, since=since),
        "lock_wait_p50_s": quantile(samples, LOCK_WAIT, 0.5, since=since),
        "lock_wait_p95_s": quantile(samples, LOCK_WAIT, 0.95, since=since),
        "lock_held_p50_s": quantile(samples, LOCK_HELD, 0.5, since=since),
        "lock_held_p95_s": quantile(samples, LOCK_HELD, 0.95, since=since),
        "lock_wait_s": grown(f"{LOCK_WAIT}_sum"),
        "lock_held_s": grown(f"{LOCK_HELD}_sum"),
    }


LOCK_WAIT, LOCK_HELD = "cascade_exercise_lock_wait_seconds", "cascade_exercise_lock_held_seconds"
