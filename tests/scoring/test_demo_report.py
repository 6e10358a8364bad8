"""The played demo's after-action report: honest headlines and a presentable PDF."""

from __future__ import annotations

import io
import re
import subprocess
from dataclasses import replace
from unittest import mock

import pypdf
import pytest
from django.core.management import call_command
from django.test import override_settings

from demo.exercises import seed_demo_played_exercise
from demo.people import seed_demo_people
from scenarios.formats.fixtures import load_fixtures
from scoring import method
from scoring.access import ReportAccess
from scoring.exports import pdf
from scoring.models import Gap, Score
from scoring.report import build_report


@pytest.fixture(scope="module")
def played_demo(django_db_setup, django_db_blocker):
    """The played demo, seeded once for this module (seconds of engine work), whose tests
    only read it. Seeding commits outside any transaction, so the tables are flushed
    afterwards, as a transactional test's teardown does."""
    with (
        django_db_blocker.unblock(),
        override_settings(CASCADE_INPROCESS_SCHEDULER=True),
        mock.patch("exercises.scheduler._scheduler.call_later"),
    ):
        list(load_fixtures())
        exercise = seed_demo_played_exercise(seed_demo_people())
    yield exercise
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def demo(played_demo, db):
    return played_demo, build_report(ReportAccess(played_demo, "coordinator"))


def test_it_headlines_no_criterion_backed_by_one_item(demo):
    exercise, report = demo
    thin = {
        s.criterion.title
        for s in Score.objects.filter(exercise=exercise, confidence=method.LOW).exclude(value=None)
    }
    assert thin  # the demo has them: one decision is all some criteria saw of a team
    # "Demand priority" is worth +5 on supply chain risk: immaterial, so not scored at all
    supply = Score.objects.filter(exercise=exercise, criterion__key="gv-sc")
    assert not supply.exclude(value=None).exists()
    headline = next(line for line in report.summary if line.startswith("Strongest"))
    named = [c.title for c in report.criteria if c.title in headline]
    assert len(named) == 2
    assert not set(named) & thin
    assert "Improvement" not in " ".join(report.summary[:2])  # the free-text lessons prompt
    assert all(s.confidence != method.LOW for s in report.strengths)
    assert not [g for g in report.gaps if g.headline and g.confidence == method.LOW]


def test_it_reports_the_best_option_as_no_gap(demo):
    exercise, report = demo
    assert not Gap.objects.filter(exercise=exercise, kind=Gap.Kind.CASCADE).exists()
    assert not any("Isolate the whole platform" in g.summary for g in report.gaps)


def test_it_shows_the_summarys_numbers_as_the_tables(demo):
    _, report = demo
    m = report.metrics
    warned = sum(t["dependents_warned"] for t in m["teams"])
    needing = sum(t["dependents_to_warn"] for t in m["teams"])
    assert f"Teams warned {warned} of the {needing} dependent teams" in " ".join(report.summary)
    assert m["uninformed_decisions"] == len(m["uninformed"])
    best = next(line for line in report.summary if line.startswith("Strongest"))
    for criterion, mean in zip(report.criteria, report.means, strict=True):
        if criterion.title in best:
            assert f"(mean {mean:g})" in best


# pdftotext's word boxes are ascent + descent high: 1.164 em for DejaVu Sans.
BOX_PER_POINT = 1.164
HEATMAP_CAPTION = "scores 0–100 per team and criterion"


def _smallest_font(pdf: bytes, page: int) -> float:
    """The smallest text on a page of ``pdf`` in points, from poppler's word boxes (the
    rendered layout, SVG scaling included)."""
    out = subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), "-bbox", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode()
    heights = [
        float(bottom) - float(top)
        for top, bottom in re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', out)
    ]
    return min(heights) / BOX_PER_POINT


def test_it_prints_the_demo_report_on_a4_portrait_pages_worth_reading(demo):
    _, report = demo
    data = pdf.render(report)
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    assert 4 <= len(pages) <= 12
    for number, page in enumerate(pages, start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (595, 842)  # A4 portrait, in points
        text = page.extract_text()
        body = [line for line in text.splitlines() if "Page" not in line and line.strip()]
        # not blank, not a lone caption: at least a few lines beyond the footer
        assert len(body) >= 8, (number, text[:200])
    heatmap_pages = [
        n for n, page in enumerate(pages, start=1) if HEATMAP_CAPTION in page.extract_text()
    ]
    assert heatmap_pages
    for number in heatmap_pages:
        assert _smallest_font(data, number) >= 7.95
    first = pages[0].extract_text()
    assert "Contents" in first
    assert "Executive summary" in first
    # the one-page summary: the cascade map (organizations readable at 8 pt or more), the
    # findings and the plan's first items, all before the overview's page
    assert "What cascaded" in first
    for dependent in ("St. Mary's Regional Hospital", "Harbor Savings Bank", "Metro Water"):
        assert dependent in first
    assert "Improvement plan: first items" in first
    assert "Metro Water Utility — Information sharing" in first  # the plan's last first item
    assert pages[1].extract_text().startswith("Exercise overview")
    assert _smallest_font(data, 1) >= 7.95
    assert "**" not in "".join(page.extract_text() for page in pages)  # markdown rendered


def test_it_prints_long_tables_whole_with_their_headers_repeated(demo):
    _, report = demo
    longer = replace(report, decisions=report.decisions * 4)  # past the old 30-row cap
    assert len(longer.decisions) > 30
    pages = pypdf.PdfReader(io.BytesIO(pdf.render(longer))).pages
    text = "".join(page.extract_text() for page in pages)
    assert text.count("Team Prompt Answer Rationale Latency") >= 3  # repeated on each page
