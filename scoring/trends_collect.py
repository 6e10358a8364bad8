"""Load the inputs of ``scoring.trends`` from the database, within a reader's scope.

Three queries for the scores and items whatever their number, two per exercise to tell
whether its stored scores are up to date; ``scoring.trends`` never sees an ORM object.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Organization
from exercises.models import Exercise, Team
from scenarios.models import Rubric
from scoring import trends
from scoring.access import TrendScope
from scoring.models import ImprovementItem, Score
from scoring.report import Freshness, scores_freshness


@dataclass(frozen=True)
class TrendFilter:
    """What to follow: one rubric's runs, optionally one organization, sector or group."""

    rubric: Rubric
    organization: Organization | None = None
    sector: str = ""
    group: str = ""


@dataclass
class TrendData:
    scores: list[trends.ScoreIn] = field(default_factory=list)
    items: list[trends.ItemIn] = field(default_factory=list)
    exercises: list[Exercise] = field(default_factory=list)  # oldest first
    pending: list[Exercise] = field(default_factory=list)  # scores not up to date


def trend_rubrics(scope: TrendScope) -> QuerySet[Rubric]:
    """Rubrics with at least two ended exercises the scope reads: only they have a trend."""
    counts = Counter(scope.exercises().values_list("scenario__rubric_id", flat=True))
    ids = [rubric_id for rubric_id, n in counts.items() if rubric_id and n > 1]
    return Rubric.objects.filter(id__in=ids).order_by("title")


def trend_organizations(scope: TrendScope) -> QuerySet[Organization]:
    """Organizations whose scores the scope reads in some ended exercise."""
    teams = Team.objects.filter(
        scope.condition("exercise_id", "organization_id"), exercise__in=scope.exercises()
    )
    return Organization.objects.filter(teams__in=teams).distinct().order_by("name")


@dataclass
class TrendView:
    """Everything the trends page and its exports show."""

    chosen: TrendFilter
    by: str
    per: str
    data: TrendData
    series: list[trends.Series]


def trend_view(scope: TrendScope, chosen: TrendFilter, *, by: str, per: str) -> TrendView:
    data = load_trends(scope, chosen)
    series = trends.build_series(data.scores, data.items, by=by, per=per)
    return TrendView(chosen=chosen, by=by, per=per, data=data, series=series)


def _held_at(exercise: Exercise) -> datetime:
    """When the run ended, in the site's time zone: its date is compared with the
    completion dates coordinators type."""
    return timezone.localtime(exercise.ended_at or exercise.started_at or exercise.created_at)


def load_trends(scope: TrendScope, chosen: TrendFilter) -> TrendData:
    exercises = sorted(
        scope.exercises().filter(scenario__rubric=chosen.rubric).select_related("scenario"),
        key=lambda e: (_held_at(e), e.id),
    )
    held = {e.id: e for e in exercises}
    rows = Score.objects.filter(
        scope.condition("exercise_id", "team__organization_id"), exercise_id__in=held
    ).select_related("team__organization", "criterion")
    items = ImprovementItem.objects.filter(
        scope.condition("exercise_id", "organization_id"),
        criterion__rubric=chosen.rubric,
        organization__isnull=False,
    ).select_related("exercise", "organization", "criterion")
    if chosen.organization:
        rows = rows.filter(team__organization=chosen.organization)
        items = items.filter(organization=chosen.organization)
    if chosen.sector:
        rows = rows.filter(team__organization__sector=chosen.sector)
        items = items.filter(organization__sector=chosen.sector)
    if chosen.group:
        rows = rows.filter(criterion__group=chosen.group)
        items = items.filter(criterion__group=chosen.group)
    rows = rows.order_by("criterion__order", "team__organization__name")
    return TrendData(
        scores=[_score(s, held[s.exercise_id]) for s in rows],
        items=[_item(i) for i in items],
        exercises=exercises,
        pending=[e for e in exercises if scores_freshness(e) is not Freshness.FRESH],
    )


def _score(score: Score, exercise: Exercise) -> trends.ScoreIn:
    organization = score.team.organization
    return trends.ScoreIn(
        exercise=exercise.code,
        exercise_name=exercise.name,
        held_at=_held_at(exercise),
        organization=organization.name,
        sector=organization.get_sector_display(),
        criterion=score.criterion.key,
        criterion_title=score.criterion.title,
        group=score.criterion.get_group_display(),
        value=score.value,
        confidence=score.confidence,
        evidence_count=score.evidence_count,
    )


def _item(item: ImprovementItem) -> trends.ItemIn:
    return trends.ItemIn(
        code=item.code,
        exercise=item.exercise.code,
        organization=item.organization.name,
        criterion=item.criterion.key,
        title=item.corrective_action or item.observation,
        due=item.completion_date,
        status=item.status,
        status_label=item.get_status_display(),
    )
