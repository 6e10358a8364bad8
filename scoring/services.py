"""Compute and store an exercise's scores, gaps and improvement-plan draft; render exports.

Scores are written here only, by ``report_compute`` (an explicit recompute) and
``report_ensure_fresh`` (when an exercise ends, before an export); pages never compute
them. ``report_compute`` is idempotent: recomputing replaces scores and gaps with the
same values, and the improvement plan only gains rows for findings it does not have
yet, so coordinators' edits survive. Queueing work (exports, scores at the end of a run)
is ``scoring.jobs``; the Celery tasks (``scoring.tasks``) call the functions here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import User
from exercises.models import Exercise, Team
from scoring import method
from scoring.access import report_access
from scoring.collect import criteria_for, load_exercise
from scoring.exports import exporter
from scoring.models import Gap, ImprovementItem, ReportExport, Score
from scoring.report import Freshness, build_report, scores_freshness

logger = logging.getLogger(__name__)

# Recommendation templates per criterion group (HSEEP capability element in brackets).
RECOMMENDATIONS: dict[str, tuple[str, str]] = {
    "GV": (
        "Clarify crisis governance: who decides, escalation thresholds and the "
        "authority to take systems offline; rehearse them with executives.",
        ImprovementItem.Element.PLANNING,
    ),
    "ID": (
        "Map critical assets and the third parties they rely on; keep the "
        "dependency register current and known to the crisis team.",
        ImprovementItem.Element.PLANNING,
    ),
    "PR": (
        "Review protective controls (segmentation, backups, privileged access) "
        "against the scenario's attack path and fund the missing ones.",
        ImprovementItem.Element.EQUIPMENT,
    ),
    "DE": (
        "Tune detection and alert triage so the first signals reach the incident "
        "team quickly; train analysts on the scenario's indicators.",
        ImprovementItem.Element.TRAINING,
    ),
    "RS": (
        "Update the incident response playbook for this scenario (containment "
        "options, decision criteria, deadlines) and train the team on it.",
        ImprovementItem.Element.PLANNING,
    ),
    "RC": (
        "Define recovery priorities and degraded-mode operations; test restoring "
        "from backups within the agreed recovery times.",
        ImprovementItem.Element.EXERCISE,
    ),
    "CO": (
        "Agree information-sharing channels, TLP handling and contact lists with "
        "partner organizations upstream and downstream; rehearse warning them early.",
        ImprovementItem.Element.ORGANIZATION,
    ),
}


@dataclass(frozen=True)
class ReportResult:
    scores: list[method.ScoreOut]
    gaps: list[method.GapOut]
    metrics: dict
    created_items: int


def report_compute(*, exercise: Exercise, actor: User | None = None) -> ReportResult:
    """Compute scores and gaps from the exercise as stored, replace the stored ones and
    add improvement items for new findings. Safe to call again at any time."""
    data = load_exercise(exercise)
    scores = method.compute_scores(data)
    gaps = method.compute_gaps(data, scores)
    metrics = method.collaboration_metrics(data)
    criteria = {c.key: c for c in criteria_for(exercise)}
    with transaction.atomic():
        _store_scores(exercise, scores, criteria)
        stored = _store_gaps(exercise, gaps, criteria)
        created = improvement_draft(exercise=exercise, gaps=stored)
        if actor is not None:
            audit_record(
                actor=actor,
                action="report.recomputed",
                exercise_code=exercise.code,
                target=exercise.name,
                details={"gaps": len(stored), "new_items": created},
            )
    return ReportResult(scores, gaps, metrics, created)


def report_ensure_fresh(*, exercise: Exercise) -> bool:
    """Compute the report of ``exercise`` unless its stored scores already follow its whole
    timeline. Returns whether it computed. The one place that decides to recompute on
    its own: called when an exercise ends and before an export, never by a page."""
    if scores_freshness(exercise) is Freshness.FRESH:
        return False
    report_compute(exercise=exercise)
    return True


def _store_scores(exercise: Exercise, scores: list[method.ScoreOut], criteria: dict) -> None:
    existing = {(s.team_id, s.criterion_id): s for s in Score.objects.filter(exercise=exercise)}
    now = timezone.now()
    keep, create, update = set(), [], []
    for out in scores:
        criterion = criteria[out.criterion_key]
        evidence = [dict(item) for item in out.evidence]
        row = existing.get((out.team_id, criterion.id))
        if row is None:
            create.append(
                Score(
                    exercise=exercise,
                    team_id=out.team_id,
                    criterion=criterion,
                    value=out.value,
                    evidence=evidence,
                    evidence_count=out.evidence_count,
                    confidence=out.confidence,
                )
            )
            continue
        keep.add(row.id)
        row.value, row.evidence, row.computed_at = out.value, evidence, now
        row.evidence_count, row.confidence = out.evidence_count, out.confidence
        update.append(row)
    Score.objects.filter(exercise=exercise).exclude(id__in=keep).delete()
    Score.objects.bulk_create(create, batch_size=500)
    Score.objects.bulk_update(
        update, ["value", "evidence", "evidence_count", "confidence", "computed_at"], batch_size=500
    )


def _store_gaps(exercise: Exercise, gaps: list[method.GapOut], criteria: dict) -> list[Gap]:
    Gap.objects.filter(exercise=exercise).delete()
    return Gap.objects.bulk_create(
        [
            Gap(
                exercise=exercise,
                kind=g.kind,
                criterion=criteria[g.criterion_key],
                team_id=g.team_id,
                severity=g.severity,
                summary=g.summary,
                evidence=dict(g.evidence),
                confidence=g.confidence,
                headline=g.headline,
            )
            for g in gaps
        ],
        batch_size=500,
    )


def improvement_draft(*, exercise: Exercise, gaps: list[Gap]) -> int:
    """Add an improvement item for every finding that has none yet; relink the rest.

    One item per gap and responsible organization; a systemic gap drafts one for every
    affected organization, which then stands for that team's own gap on the criterion
    (no second item). Returns how many items were created.
    """
    teams = {t.id: t for t in Team.objects.filter(exercise=exercise).select_related("organization")}
    items = {i.draft_key: i for i in exercise.improvement_items.exclude(draft_key="")}
    systemic = {
        (gap.criterion_id, team_id)
        for gap in gaps
        if gap.kind == Gap.Kind.SYSTEMIC
        for team_id in gap.evidence.get("team_ids", [])
    }
    evidence = {
        (s.team_id, s.criterion_id): s.evidence for s in Score.objects.filter(exercise=exercise)
    }
    created = 0
    for gap in gaps:
        if gap.kind == Gap.Kind.TEAM and (gap.criterion_id, gap.team_id) in systemic:
            continue
        for key, team, observation in _drafts(gap, teams):
            item = items.get(key)
            if item is not None:
                if item.gap_id != gap.id:
                    ImprovementItem.objects.filter(id=item.id).update(gap=gap)
                continue
            action, element = RECOMMENDATIONS.get(gap.criterion.group, RECOMMENDATIONS["RS"])
            items[key] = ImprovementItem.objects.create(
                exercise=exercise,
                gap=gap,
                criterion=gap.criterion,
                observation=observation,
                recommendation=recommendation_text(
                    gap=gap,
                    team=team,
                    items=evidence.get((team.id, gap.criterion_id), []) if team else [],
                    action=action,
                    element=ImprovementItem.Element(element).label,
                ),
                capability_element=element,
                organization=team.organization if team else None,
                draft_key=key,
            )
            created += 1
    return created


# How many of a score's weakest evidence items a recommendation cites.
CITED_ITEMS = 2


def recommendation_text(
    *, gap: Gap, team: Team | None, items: list[dict], action: str, element: str
) -> str:
    """A recommendation that names its evidence and capability element, so two items
    never read the same: who, on which criterion, because of which decision, missed
    warning or rating. Cites no evaluator's note: players read their organization's
    items, and notes are for the control cell."""
    who = f"{team.organization}, {gap.criterion.title}" if team else gap.criterion.title
    if gap.kind == Gap.Kind.CASCADE:
        e = gap.evidence
        regret = max((e.get("regrets") or {"": gap.severity}).values())
        because = (
            f"chose “{e.get('option')}” on “{e.get('prompt')}”, {regret:g} points short of "
            f"the best option, and its consequence ({', '.join(e.get('injects', []))}) "
            "reached the organizations that depend on it"
        )
    else:
        weakest = sorted(items, key=lambda i: (i.get("value", 100.0), i["kind"], i["id"]))
        cited = [i["text"] for i in weakest[:CITED_ITEMS]]
        because = "; ".join(cited) if cited else gap.summary
    return f"{who} — evidence: {because}. {action} (capability element: {element})"


def _drafts(gap: Gap, teams: dict[int, Team]) -> list[tuple[str, Team | None, str]]:
    ckey = gap.criterion.key
    if gap.kind == Gap.Kind.SYSTEMIC:
        # Players read their organization's items: name no other organization here.
        affected = [teams[i] for i in gap.evidence.get("team_ids", []) if i in teams]
        scores = gap.evidence.get("scores", {})
        return [
            (
                f"systemic:{ckey}:{t.organization_id}",
                t,
                f"{t} scored {scores.get(str(t.id))} on {gap.criterion.title} (threshold "
                f"{gap.criterion.threshold}), one of {len(affected)} teams below it: a "
                "systemic gap.",
            )
            for t in affected
        ]
    team = teams.get(gap.team_id)
    if gap.kind == Gap.Kind.CASCADE:
        return [(f"cascade:{ckey}:{gap.evidence.get('decision_id')}", team, gap.summary)]
    return [(f"team:{ckey}:{gap.team_id}", team, gap.summary)]


def improvement_update(*, item: ImprovementItem, actor: User, changes: dict) -> ImprovementItem:
    """Save a coordinator's edit of an improvement item and record who made it."""
    with transaction.atomic():
        for name, value in changes.items():
            setattr(item, name, value)
        item.save()
        audit_record(
            actor=actor,
            action="improvement.updated",
            exercise_code=item.exercise.code,
            target=item.observation[:80],
            details={"fields": sorted(changes), "status": item.status},
        )
    return item


def export_run(*, export_id: int) -> ReportExport | None:
    """Render an export with the requester's view of the report; progress 0 → 100.

    A failure marks the export failed with the reason instead of raising, so the page
    can say what went wrong."""
    export = (
        ReportExport.objects.select_related("exercise", "requested_by").filter(id=export_id).first()
    )
    # A finished export is final (a failed one is requested anew): a second delivery of
    # the same job, or a resume racing its end, changes nothing.
    if export is None or export.status in (ReportExport.Status.DONE, ReportExport.Status.FAILED):
        return export
    _progress(export, ReportExport.Status.RUNNING, 10)
    try:
        access = report_access(export.requested_by, export.exercise.code)
        if export.format not in access.export_formats:
            raise PermissionError("The requester may no longer export this report.")
        report_ensure_fresh(exercise=export.exercise)
        report = build_report(access)
        _progress(export, ReportExport.Status.RUNNING, 50)
        render, ext = exporter(export.format)
        content = render(report)
        _progress(export, ReportExport.Status.RUNNING, 90)
        name = f"aar-{export.exercise.code}-{export.code}.{ext}"
        export.file.save(name, ContentFile(content), save=False)
    except Exception as exc:
        logger.exception("Export %s failed", export.id)
        # Only our own refusal is shown as written: other errors can quote what a player typed.
        export.error = (
            str(exc)
            if isinstance(exc, PermissionError)
            else f"The export could not be made ({exc.__class__.__name__})."
        )
        export.finished_at = timezone.now()
        _progress(export, ReportExport.Status.FAILED, export.progress)
        return export
    export.finished_at = timezone.now()
    _progress(export, ReportExport.Status.DONE, 100)
    return export


def export_refused(*, export_id: int, reason: str) -> None:
    """Record that an export was not run (the embedded worker's queue was full)."""
    ReportExport.objects.filter(id=export_id).update(
        status=ReportExport.Status.FAILED, error=reason, finished_at=timezone.now()
    )


def _progress(export: ReportExport, status: str, progress: int) -> None:
    export.status, export.progress = status, progress
    export.save()
