"""Cross-exercise comparison: the same scenario (key) or rubric run several times → a
trend per organization × criterion."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import QuerySet

from accounts.models import User
from exercises.models import Exercise, Participant
from scoring import charts, services
from scoring.access import FULL_KINDS
from scoring.models import Score


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


def _visible_org_ids(user: User, exercise: Exercise) -> set[int] | None:
    """None: every organization; else the organizations the user played for."""
    if user.is_staff:
        return None
    seats = Participant.objects.filter(user=user, exercise=exercise)
    if seats.filter(kind__in=FULL_KINDS).exists():
        return None
    return set(seats.exclude(team=None).values_list("team__organization_id", flat=True))


def compare_table(user: User, exercises: QuerySet[Exercise], series: str) -> dict:
    choices = series_choices(exercises)
    runs = _series(exercises, series) if series in dict(choices) else []
    trend: dict[tuple[str, str], dict[int, float | None]] = defaultdict(dict)
    titles: dict[str, str] = {}
    for ex in runs:
        if services.scores_stale(ex):
            services.report_compute(exercise=ex)
        orgs = _visible_org_ids(user, ex)
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
    return {"choices": choices, "series": series, "runs": runs, "rows": rows}
