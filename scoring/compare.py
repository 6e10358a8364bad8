"""Cross-exercise comparison: the same scenario (key) or rubric run several times → a
trend per organization × criterion, from the stored scores (reads only)."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import QuerySet

from accounts.models import User
from exercises.models import Exercise
from scoring import charts
from scoring.access import organization_ids
from scoring.models import Score
from scoring.report import Freshness, scores_freshness


def series_choices(exercises: QuerySet[Exercise]) -> list[tuple[str, str]]:
    """Series with at least two exercises: ("scenario:<key>" | "rubric:<key>", label)."""
    by_scenario, by_rubric = defaultdict(set), defaultdict(set)
    titles = {}
    for ex in exercises.select_related("scenario__rubric"):
        by_scenario[ex.scenario.key].add(ex.id)
        titles[f"scenario:{ex.scenario.key}"] = f"Scenario: {ex.scenario.title}"
        if ex.scenario.rubric:
            by_rubric[ex.scenario.rubric.key].add(ex.id)
            titles[f"rubric:{ex.scenario.rubric.key}"] = f"Rubric: {ex.scenario.rubric.title}"
    keys = [f"scenario:{k}" for k, v in by_scenario.items() if len(v) > 1]
    keys += [f"rubric:{k}" for k, v in by_rubric.items() if len(v) > 1]
    return sorted((k, titles[k]) for k in keys)


def _series(exercises: QuerySet[Exercise], series: str) -> list[Exercise]:
    kind, _, key = series.partition(":")
    if kind == "scenario":
        exercises = exercises.filter(scenario__key=key)
    elif kind == "rubric":
        exercises = exercises.filter(scenario__rubric__key=key)
    else:
        return []
    return sorted(exercises, key=lambda e: (e.started_at or e.created_at, e.id))


def compare_table(user: User, exercises: QuerySet[Exercise], series: str) -> dict:
    choices = series_choices(exercises)
    runs = _series(exercises, series) if series in dict(choices) else []
    trend: dict[tuple[str, str], dict[int, float | None]] = defaultdict(dict)
    titles: dict[str, str] = {}
    for ex in runs:
        orgs = organization_ids(user, ex)
        for s in Score.objects.filter(exercise=ex).select_related(
            "team__organization", "criterion"
        ):
            if orgs is not None and s.team.organization_id not in orgs:
                continue
            titles[s.criterion.key] = s.criterion.title
            trend[(s.team.organization.name, s.criterion.key)][ex.id] = s.value
    rows = []
    for (org, ckey), values in sorted(trend.items()):
        line = [values.get(ex.id) for ex in runs]
        spark = charts.sparkline_svg(line, title=f"{org} – {titles[ckey]} over {len(runs)} runs")
        rows.append(
            {"organization": org, "criterion": titles[ckey], "values": line, "spark": spark}
        )
    # Runs whose stored scores do not follow their timeline (never computed, or live).
    pending = [ex for ex in runs if scores_freshness(ex) is not Freshness.FRESH]
    return {"choices": choices, "series": series, "runs": runs, "rows": rows, "pending": pending}
