"""Time parse + validate + import of the largest shipped scenario.

Plain script, not part of the test run:

    python bench/bench_import.py [--runs 20]

Uses a throwaway SQLite database in a temporary directory (your own database is never
touched), loads the shipped rubric, then imports the largest file in fixtures/scenarios/
``--runs`` times (each run is a new version of the same key) and prints median and p95.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(directory: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{directory}/bench.sqlite3"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(function, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def report(label: str, samples: list[float]) -> None:
    print(
        f"{label:<34} median {statistics.median(samples):7.1f} ms   "
        f"p95 {percentile(samples, 0.95):7.1f} ms   max {max(samples):7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        setup_django(directory)
        from scenarios.formats import (
            dump_document,
            export_document,
            import_scenario,
            load_document,
            validate_document,
        )
        from scenarios.rubrics import load_rubric

        rubric = load_rubric(ROOT / "fixtures" / "rubric" / "cascade-resilience.yaml")
        criteria = set(rubric.criteria.values_list("key", flat=True))
        largest = max(
            (ROOT / "fixtures" / "scenarios").glob("*.yaml"), key=lambda p: p.stat().st_size
        )
        text = largest.read_text(encoding="utf-8")
        doc = load_document(text)
        injects = sum(len(stage.get("injects", [])) for stage in doc["stages"])
        print(
            f"{largest.name}: {len(text) / 1024:.1f} KiB, {len(doc['roles'])} roles, "
            f"{len(doc['stages'])} stages, {injects} injects; {args.runs} runs, SQLite"
        )
        report("parse + validate", timed(
            lambda: validate_document(load_document(text), criteria=criteria), args.runs
        ))  # fmt: skip
        imported = []
        report("parse + validate + import", timed(
            lambda: imported.append(import_scenario(text, filename=largest.name)), args.runs
        ))  # fmt: skip
        report("export + dump YAML", timed(
            lambda: dump_document(export_document(imported[-1])), args.runs
        ))  # fmt: skip


if __name__ == "__main__":
    main()
