"""Storing scores, gaps and the improvement-plan draft; idempotent recomputes."""

from __future__ import annotations

import pytest

from accounts.models import AuditEntry
from scoring.access import ReportAccess
from scoring.models import Gap, ImprovementItem, Score
from scoring.report import Freshness, build_report, scores_freshness
from scoring.services import improvement_update, report_compute, report_ensure_fresh
from tests import factories


@pytest.fixture
def played(db, alice):
    return factories.make_played_exercise(facilitator=alice)


def _values(exercise):
    return {
        (s.team.role.key, s.criterion.key): s.value
        for s in Score.objects.filter(exercise=exercise).select_related("team__role", "criterion")
    }


def test_it_stores_scores_from_the_database(played):
    exercise, _ = played
    report_compute(exercise=exercise)
    values = _values(exercise)
    assert values[("cloud", "respond")] == 25.0
    assert values[("hospital", "respond")] == 87.5
    assert values[("bank", "detect")] == 0.0  # worst option, rated U
    assert values[("hospital", "detect")] == 100.0
    # the RED share warned the hospital after 120 s; the leak its payment released
    # warned the bank after 300 s: both dependents, both within 300 s
    assert values[("cloud", "info-sharing")] == 100.0
    assert values[("bank", "dependency-awareness")] == 100.0  # the leak reached it first
    assert Score.objects.filter(exercise=exercise).count() == 3 * 4


def test_it_stores_gaps_including_the_cascade(played):
    exercise, teams = played
    report_compute(exercise=exercise)
    cascade = Gap.objects.get(exercise=exercise, kind="cascade")
    assert cascade.team == teams["cloud"]
    assert [d["team_id"] for d in cascade.evidence["dependents"]] == [
        teams["hospital"].id,
        teams["bank"].id,
    ]
    assert Gap.objects.filter(exercise=exercise, kind="systemic", criterion__key="respond").exists()


def test_it_is_idempotent_and_keeps_coordinator_edits(played, alice):
    exercise, _ = played
    first = report_compute(exercise=exercise)
    assert first.created_items > 0
    scores, gaps = _values(exercise), Gap.objects.filter(exercise=exercise).count()
    item = ImprovementItem.objects.filter(exercise=exercise).first()
    improvement_update(
        item=item,
        actor=alice,
        changes={"corrective_action": "Buy backups", "status": "in_progress"},
    )
    count = ImprovementItem.objects.filter(exercise=exercise).count()
    again = report_compute(exercise=exercise, actor=alice)
    assert again.created_items == 0
    assert _values(exercise) == scores
    assert Gap.objects.filter(exercise=exercise).count() == gaps
    assert ImprovementItem.objects.filter(exercise=exercise).count() == count
    item.refresh_from_db()
    assert (item.corrective_action, item.status) == ("Buy backups", "in_progress")
    assert item.gap is not None  # relinked to the recomputed gap
    assert AuditEntry.objects.filter(
        action="report.recomputed", exercise_code=exercise.code
    ).exists()


def test_it_drafts_systemic_items_for_every_affected_organization(played):
    exercise, teams = played
    report_compute(exercise=exercise)
    systemic = ImprovementItem.objects.filter(
        exercise=exercise, draft_key__startswith="systemic:respond:"
    )
    assert {i.organization for i in systemic} == {
        teams["cloud"].organization,
        teams["bank"].organization,
    }
    assert all(i.status == "open" and not i.point_of_contact for i in systemic)
    assert all(i.recommendation for i in systemic)


def test_it_knows_when_scores_are_stale(played):
    exercise, _ = played
    assert scores_freshness(exercise) is Freshness.MISSING
    report_compute(exercise=exercise)
    assert scores_freshness(exercise) is Freshness.FRESH
    factories.add_event(exercise, "hotwash.saved", visibility="control")
    assert scores_freshness(exercise) is Freshness.STALE


def test_it_computes_only_when_the_scores_do_not_follow_the_timeline(played):
    exercise, _ = played
    stored = Score.objects.filter(exercise=exercise).values_list("id", "computed_at")
    assert report_ensure_fresh(exercise=exercise)
    computed = list(stored)
    assert computed
    assert not report_ensure_fresh(exercise=exercise)
    assert list(stored) == computed  # nothing written
    factories.add_event(exercise, "hotwash.saved", visibility="control")
    assert report_ensure_fresh(exercise=exercise)
    assert scores_freshness(exercise) is Freshness.FRESH


def test_it_drafts_one_item_per_organization_and_criterion_for_systemic_gaps(played):
    exercise, teams = played
    report_compute(exercise=exercise)
    cloud_respond = ImprovementItem.objects.filter(
        exercise=exercise, organization=teams["cloud"].organization, criterion__key="respond"
    )
    # the systemic item stands for the team gap; the cascade gap has its own item
    assert sorted(i.draft_key.split(":")[0] for i in cloud_respond) == ["cascade", "systemic"]
    systemic = cloud_respond.get(draft_key__startswith="systemic:")
    assert "scored 25.0 on Respond" in systemic.observation


def test_it_drafts_recommendations_that_name_their_evidence_and_never_repeat(played):
    exercise, teams = played
    report_compute(exercise=exercise)
    items = list(ImprovementItem.objects.filter(exercise=exercise).select_related("criterion"))
    texts = [i.recommendation for i in items]
    assert len(set(texts)) == len(texts) > 2
    for item in items:
        assert item.criterion.title in item.recommendation
        assert (
            f"(capability element: {item.get_capability_element_display()})" in item.recommendation
        )
    cascade = next(i for i in items if i.draft_key.startswith("cascade:"))
    assert "chose “Pay the ransom”" in cascade.recommendation
    assert "40 points short of the best option" in cascade.recommendation
    bank_detect = next(
        i
        for i in items
        if i.criterion.key == "detect" and i.organization_id == teams["bank"].organization_id
    )
    assert "Evaluator rated U" in bank_detect.recommendation
    assert "bank detection" not in bank_detect.recommendation  # the note is the control cell's


def test_it_groups_the_plan_enable_engage_enforce(played):
    exercise, _ = played
    report_compute(exercise=exercise)
    report = build_report(ReportAccess(exercise, "coordinator"))
    tracks = [label.split(":")[0] for label, _ in report.plan_groups]
    assert tracks == [t for t in ("Enable", "Engage", "Enforce") if t in tracks]
    assert sum(len(items) for _, items in report.plan_groups) == len(report.items)
