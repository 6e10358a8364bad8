"""Trends across exercises (pure): the stored scores of ended runs sharing one rubric, as
series per organization or sector × criterion or criterion group, with the improvement
items that fell due between two consecutive runs and the change that followed them.

Honest by construction: a point backed by low-confidence evidence (or none) is marked,
and no change is claimed from or to such a point. Inputs are plain dataclasses
(``scoring.collect.load_trends`` reads them from the database); nothing here touches the
ORM, so tests build series directly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise

from scoring.method import HIGH, LOW, MEDIUM

BY_ORGANIZATION, BY_SECTOR = "organization", "sector"
PER_CRITERION, PER_GROUP = "criterion", "group"
DONE = "done"
_RANK = {LOW: 0, MEDIUM: 1, HIGH: 2}


@dataclass(frozen=True)
class ScoreIn:
    """One stored score of one organization's team in one ended exercise."""

    exercise: str  # exercise code
    exercise_name: str
    held_at: datetime  # when the exercise ended (orders the runs)
    organization: str
    sector: str
    criterion: str  # criterion key (shared by every scenario of the rubric)
    criterion_title: str
    group: str  # criterion group label
    value: float | None
    confidence: str
    evidence_count: int


@dataclass(frozen=True)
class ItemIn:
    """One improvement item: what an organization committed to on a criterion, and when."""

    code: str
    exercise: str  # code of the exercise whose report drafted it
    organization: str
    criterion: str
    title: str
    due: date | None
    status: str
    status_label: str

    @property
    def done(self) -> bool:
        return self.status == DONE


@dataclass(frozen=True)
class Point:
    exercise: str
    exercise_name: str
    held_at: datetime
    value: float | None
    confidence: str
    evidence_count: int

    @property
    def low(self) -> bool:
        """Too little evidence to build a claim on (or none at all)."""
        return self.value is None or self.confidence == LOW


@dataclass(frozen=True)
class Step:
    """From one run to the next: the items due in between and what the score did."""

    before: Point
    after: Point
    items: tuple[ItemIn, ...]

    @property
    def change(self) -> float | None:
        if self.before.value is None or self.after.value is None:
            return None
        return round(self.after.value - self.before.value, 1)

    @property
    def claimed(self) -> bool:
        """A change is claimed only between two points that are not low-confidence."""
        return self.change is not None and not self.before.low and not self.after.low

    @property
    def summary(self) -> str:
        if self.change is None:
            missing = self.before if self.before.value is None else self.after
            return f"No change measured: no evidence in {missing.exercise_name}."
        if not self.claimed:
            low = [p.exercise_name for p in (self.before, self.after) if p.low]
            where = "both runs" if len(low) == 2 else low[0]
            return (
                f"Moved {self.change:+g} points; no change claimed: low-confidence evidence "
                f"in {where}."
            )
        moved = _moved(self.change)
        done = [i for i in self.items if i.done]
        undone = [i for i in self.items if not i.done]
        if not self.items:
            return f"Score {moved}; no improvement item was due in between."
        text = f"Score {moved}"
        if done:
            text += f" after {_names(done)} {_was(done)} completed"
        if undone:
            text += f"; {_names(undone)} {_was(undone)} due but not completed"
        return text + "."

    @property
    def brief(self) -> str:
        """The summary in a few words, for a table cell."""
        if self.change is None:
            return "not measured"
        if not self.claimed:
            return f"{self.change:+g}, not claimed (low confidence)"
        done = sum(i.done for i in self.items)
        text = f"{self.change:+g}"
        if done:
            text += f" after {_count(done, 'completed item')}"
        if len(self.items) > done:
            text += f"; {_count(len(self.items) - done, 'item')} due, not completed"
        return text


@dataclass(frozen=True)
class Series:
    by: str  # BY_ORGANIZATION or BY_SECTOR
    subject: str  # organization name or sector label
    per: str  # PER_CRITERION or PER_GROUP
    measure: str  # criterion title or group label
    points: tuple[Point, ...]
    steps: tuple[Step, ...]

    @property
    def title(self) -> str:
        return f"{self.subject} – {self.measure}"


def _moved(change: float) -> str:
    if change > 0:
        return f"rose {change:g} points"
    if change < 0:
        return f"fell {-change:g} points"
    return "did not change"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n > 1 else ''}"


def _names(items: Sequence[ItemIn]) -> str:
    return ", ".join(f"“{_short(i.title)}” ({i.status_label.lower()})" for i in items)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _was(items: Sequence[ItemIn]) -> str:
    return "was" if len(items) == 1 else "were"


def weakest(confidences: Iterable[str]) -> str:
    """The lowest confidence of several (LOW when there are none)."""
    return min(confidences, key=_RANK.__getitem__, default=LOW)


def _point(scores: Sequence[ScoreIn]) -> Point:
    """One point from the scores it aggregates (one score, or several organizations or
    criteria): the mean of the values there are, the sum of the evidence, and the weakest
    confidence of the scores that have a value, so an aggregate is never surer than its
    least backed part."""
    first = scores[0]
    valued = [s for s in scores if s.value is not None]
    value = round(sum(s.value for s in valued) / len(valued), 1) if valued else None
    return Point(
        exercise=first.exercise,
        exercise_name=first.exercise_name,
        held_at=first.held_at,
        value=value,
        confidence=weakest(s.confidence for s in valued) if valued else LOW,
        evidence_count=sum(s.evidence_count for s in scores),
    )


def _keys(score: ScoreIn, by: str, per: str) -> tuple[str, str]:
    subject = score.organization if by == BY_ORGANIZATION else score.sector
    measure = score.criterion_title if per == PER_CRITERION else score.group
    return subject, measure


def due_between(items: Iterable[ItemIn], before: Point, after: Point) -> tuple[ItemIn, ...]:
    """Items due after the earlier run ended and no later than the day the next one did."""
    start, end = before.held_at.date(), after.held_at.date()
    return tuple(
        sorted(
            (i for i in items if i.due is not None and start < i.due <= end),
            key=lambda i: (i.due, i.code),
        )
    )


def build_series(
    scores: Iterable[ScoreIn],
    items: Iterable[ItemIn],
    *,
    by: str = BY_ORGANIZATION,
    per: str = PER_CRITERION,
) -> list[Series]:
    """Series with a value in at least two runs, ordered by subject then measure (rubric
    order kept as given by ``scores``); each point is one exercise the subject took part
    in, oldest first (a run without evidence stays, as a point without a value)."""
    cells: dict[tuple[str, str], dict[str, list[ScoreIn]]] = defaultdict(lambda: defaultdict(list))
    members: dict[tuple[str, str], set[str]] = defaultdict(set)
    covered: dict[tuple[str, str], set[str]] = defaultdict(set)
    for score in scores:
        key = _keys(score, by, per)
        cells[key][score.exercise].append(score)
        members[key].add(score.organization)
        covered[key].add(score.criterion)
    items = list(items)
    out = []
    for key, runs in cells.items():
        points = sorted((_point(s) for s in runs.values()), key=lambda p: (p.held_at, p.exercise))
        if sum(p.value is not None for p in points) < 2:
            continue  # fewer than two measured runs: nothing to follow
        mine = [i for i in items if i.organization in members[key] and i.criterion in covered[key]]
        steps = tuple(
            Step(before=a, after=b, items=due_between(mine, a, b)) for a, b in pairwise(points)
        )
        out.append(
            Series(
                by=by,
                subject=key[0],
                per=per,
                measure=key[1],
                points=tuple(points),
                steps=steps,
            )
        )
    return sorted(out, key=lambda s: s.subject)
