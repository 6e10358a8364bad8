"""The pure trends: series per organization or sector × criterion or group, the items due
between two runs, and no change claimed from low-confidence points."""

from __future__ import annotations

from datetime import UTC, date, datetime

from scoring import trends
from scoring.trends import ItemIn, ScoreIn

SPRING = ("ex1", "Spring run", datetime(2026, 3, 10, 12, tzinfo=UTC))
AUTUMN = ("ex2", "Autumn run", datetime(2026, 9, 20, 12, tzinfo=UTC))
WINTER = ("ex3", "Winter run", datetime(2026, 12, 1, 12, tzinfo=UTC))


def score(run, org, criterion, value, confidence="high", *, sector="Healthcare", group="Respond"):
    code, name, held = run
    return ScoreIn(
        exercise=code,
        exercise_name=name,
        held_at=held,
        organization=org,
        sector=sector,
        criterion=criterion,
        criterion_title=criterion.title(),
        group=group,
        value=value,
        confidence=confidence,
        evidence_count=3,
    )


def item(code, org, criterion, due, status="done", title="Rehearse the isolation runbook"):
    return ItemIn(
        code=code,
        exercise="ex1",
        organization=org,
        criterion=criterion,
        title=title,
        due=due,
        status=status,
        status_label={"done": "Done", "open": "Open"}[status],
    )


def test_it_builds_one_series_per_organization_and_criterion_oldest_first():
    scores = [
        score(AUTUMN, "Hospital", "respond", 70),
        score(SPRING, "Hospital", "respond", 48),
        score(SPRING, "Hospital", "detect", 40),
        score(AUTUMN, "Hospital", "detect", 45),
        score(SPRING, "Bank", "respond", 30),  # one run only: no trend
    ]
    series = trends.build_series(scores, [])
    assert [(s.subject, s.measure) for s in series] == [
        ("Hospital", "Respond"),
        ("Hospital", "Detect"),
    ]
    respond = series[0]
    assert [p.exercise for p in respond.points] == ["ex1", "ex2"]
    assert [p.value for p in respond.points] == [48, 70]
    assert respond.steps[0].change == 22


def test_it_credits_the_item_completed_between_two_runs():
    scores = [score(SPRING, "Hospital", "respond", 48), score(AUTUMN, "Hospital", "respond", 70)]
    items = [
        item("due-between", "Hospital", "respond", date(2026, 6, 1)),
        item("due-before", "Hospital", "respond", date(2026, 3, 10)),  # the day of the run
        item("due-after", "Hospital", "respond", date(2026, 9, 21)),
        item("undated", "Hospital", "respond", None),
        item("other-org", "Bank", "respond", date(2026, 6, 1)),
        item("other-criterion", "Hospital", "detect", date(2026, 6, 1)),
    ]
    (series,) = trends.build_series(scores, items)
    step = series.steps[0]
    assert [i.code for i in step.items] == ["due-between"]
    assert step.claimed
    assert step.summary == (
        "Score rose 22 points after “Rehearse the isolation runbook” (done) was completed."
    )


def test_it_says_when_the_items_due_were_not_completed():
    scores = [score(SPRING, "Hospital", "respond", 60), score(AUTUMN, "Hospital", "respond", 45)]
    items = [item("late", "Hospital", "respond", date(2026, 6, 1), status="open")]
    (series,) = trends.build_series(scores, items)
    assert series.steps[0].summary == (
        "Score fell 15 points; “Rehearse the isolation runbook” (open) was due but not completed."
    )


def test_it_claims_no_change_from_or_to_a_low_confidence_point():
    scores = [
        score(SPRING, "Hospital", "respond", 48),
        score(AUTUMN, "Hospital", "respond", 90, "low"),
        score(WINTER, "Hospital", "respond", 50, "medium"),
    ]
    items = [item("x", "Hospital", "respond", date(2026, 6, 1))]
    (series,) = trends.build_series(scores, items)
    first, second = series.steps
    assert series.points[1].low
    assert first.change == 42
    assert not first.claimed
    assert not second.claimed
    assert "no change claimed" in first.summary
    assert "Autumn run" in first.summary
    assert "completed" not in first.summary  # the item is listed, never credited
    assert [i.code for i in first.items] == ["x"]


def test_it_measures_nothing_where_a_run_has_no_evidence():
    scores = [
        score(SPRING, "Hospital", "respond", None),
        score(AUTUMN, "Hospital", "respond", 70),
        score(WINTER, "Hospital", "respond", 80),
        score(SPRING, "Bank", "respond", None),  # measured once: nothing to follow
        score(AUTUMN, "Bank", "respond", 70),
    ]
    (series,) = trends.build_series(scores, [])
    assert series.points[0].low
    assert series.steps[0].change is None
    assert series.steps[0].summary == "No change measured: no evidence in Spring run."
    assert series.steps[1].change == 10


def test_it_aggregates_a_sector_with_its_weakest_confidence_and_all_its_items():
    scores = [
        score(SPRING, "Hospital", "respond", 40),
        score(SPRING, "Clinic", "respond", 60, "medium"),
        score(AUTUMN, "Hospital", "respond", 80),
        score(AUTUMN, "Clinic", "respond", None, "low"),  # no value: not in mean or confidence
        score(SPRING, "Bank", "respond", 10, sector="Finance"),
        score(AUTUMN, "Bank", "respond", 90, sector="Finance"),
    ]
    items = [item("clinic", "Clinic", "respond", date(2026, 6, 1))]
    finance, health = trends.build_series(scores, items, by=trends.BY_SECTOR)
    assert (finance.subject, health.subject) == ("Finance", "Healthcare")
    assert finance.steps[0].items == ()
    assert [p.value for p in health.points] == [50, 80]
    assert [p.confidence for p in health.points] == ["medium", "high"]
    assert [p.evidence_count for p in health.points] == [6, 6]
    assert [i.code for i in health.steps[0].items] == ["clinic"]
    assert health.steps[0].claimed


def test_it_groups_criteria_and_matches_items_on_any_criterion_of_the_group():
    scores = [
        score(SPRING, "Hospital", "respond", 40, group="Respond"),
        score(SPRING, "Hospital", "mitigate", 60, "low", group="Respond"),
        score(AUTUMN, "Hospital", "respond", 70, group="Respond"),
        score(AUTUMN, "Hospital", "mitigate", 80, group="Respond"),
        score(SPRING, "Hospital", "detect", 50, group="Detect"),
        score(AUTUMN, "Hospital", "detect", 50, group="Detect"),
    ]
    items = [item("m", "Hospital", "mitigate", date(2026, 6, 1))]
    respond, detect = trends.build_series(scores, items, per=trends.PER_GROUP)
    assert (respond.measure, detect.measure) == ("Respond", "Detect")
    assert [p.value for p in respond.points] == [50, 75]
    assert respond.points[0].low  # one low criterion makes the group point low
    assert [i.code for i in respond.steps[0].items] == ["m"]
    assert detect.steps[0].items == ()
    assert (
        detect.steps[0].summary == "Score did not change; no improvement item was due in between."
    )


def test_it_says_the_change_in_a_few_words_for_the_table():
    scores = [
        score(SPRING, "Hospital", "respond", 48),
        score(AUTUMN, "Hospital", "respond", 70),
        score(WINTER, "Hospital", "respond", 75, "low"),
    ]
    items = [
        item("a", "Hospital", "respond", date(2026, 6, 1)),
        item("b", "Hospital", "respond", date(2026, 7, 1), status="open"),
    ]
    (series,) = trends.build_series(scores, items)
    assert series.steps[0].summary == (
        "Score rose 22 points after “Rehearse the isolation runbook” (done) was completed; "
        "“Rehearse the isolation runbook” (open) was due but not completed."
    )
    assert [s.brief for s in series.steps] == [
        "+22 after 1 completed item; 1 item due, not completed",
        "+5, not claimed (low confidence)",
    ]
