"""The played demo's after-action report: honest headlines and a presentable PDF."""

from __future__ import annotations

from unittest import mock

import pytest

from demo.exercises import seed_demo_played_exercise
from demo.people import seed_demo_people
from scenarios.formats.fixtures import load_fixtures
from scoring import method
from scoring.access import ReportAccess
from scoring.models import Gap, Score
from scoring.report import build_report


@pytest.fixture
def demo(transactional_db, settings):
    settings.CASCADE_INPROCESS_SCHEDULER = True
    list(load_fixtures())
    with mock.patch("exercises.scheduler._scheduler.call_later"):
        exercise = seed_demo_played_exercise(seed_demo_people())
    return exercise, build_report(ReportAccess(exercise, "coordinator"))


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
