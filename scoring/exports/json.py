"""The whole report as JSON. Schema: docs/scoring.md, section "JSON export"."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder

from scoring.report import Report

SCHEMA_VERSION = "1"
TOP_LEVEL_KEYS = (
    "schema_version",
    "exercise",
    "criteria",
    "teams",
    "scores",
    "aggregates",
    "gaps",
    "collaboration",
    "sharing",
    "decisions",
    "observations",
    "timeline",
    "improvement_plan",
    "executive_summary",
    "hotwash_notes",
    "audit_log",
)


def document(report: Report) -> dict:
    ex = report.exercise
    scores = {(s["team"], s["criterion"]): s for s in _scores(report)}
    return {
        "schema_version": SCHEMA_VERSION,
        "exercise": {
            "code": ex.code,
            "name": ex.name,
            "status": ex.status,
            "scenario": {
                "key": ex.scenario.key,
                "version": ex.scenario.version,
                "title": ex.scenario.title,
            },
            "started_at": ex.started_at,
            "ended_at": ex.ended_at,
        },
        "criteria": [
            {
                "key": c.key,
                "title": c.title,
                "group": c.group,
                "threshold": c.threshold,
                "weight": c.weight,
            }
            for c in report.criteria
        ],
        "teams": [
            {
                "code": t.code,
                "label": str(t),
                "role": t.role.key,
                "sector": t.role.sector,
                "organization": t.organization.name,
            }
            for t in report.teams
        ],
        "scores": list(scores.values()),
        "aggregates": [
            {"criterion": c.key, "mean": m}
            for c, m in zip(report.criteria, report.means, strict=True)
        ],
        "gaps": [
            {
                "kind": g.kind,
                "criterion": g.criterion.key,
                "team": g.team.code if g.team else None,
                "severity": g.severity,
                "confidence": g.confidence,
                "headline": g.headline,
                "summary": g.summary,
                "evidence": g.evidence if report.access.full else {},
            }
            for g in report.gaps
        ],
        "collaboration": report.metrics,
        "sharing": report.sharing,
        "decisions": [
            {
                "team": d.team.code,
                "prompt": d.prompt.key,
                "option": d.option.key if d.option else None,
                "text": d.text,
                "rationale": d.rationale,
                "revision": d.revision,
                "latency_seconds": d.latency_seconds,
                "submitted_at": d.submitted_at,
            }
            for d in report.decisions
        ],
        "observations": [
            {
                "team": o.team.code,
                "criterion": o.criterion.key,
                "rating": o.rating,
                "note": o.note,
                "clock_seconds": o.clock_seconds,
            }
            for o in report.observations
        ],
        "timeline": [
            {"seq": e["seq"], "kind": e["kind"], "clock_seconds": e["clock"], "text": e["text"]}
            for e in report.timeline
        ],
        "improvement_plan": [
            {
                "code": i.code,
                "capability": i.criterion.key,
                "observation": i.observation,
                "recommendation": i.recommendation,
                "corrective_action": i.corrective_action,
                "capability_element": i.capability_element,
                "track": i.track,
                "organization": i.organization.name if i.organization else None,
                "point_of_contact": i.point_of_contact,
                "start_date": i.start_date,
                "completion_date": i.completion_date,
                "status": i.status,
            }
            for i in report.items
        ],
        "executive_summary": report.summary,
        "hotwash_notes": ex.hotwash_notes if report.access.full else "",
        # Filled only for readers who may read the audit log (facilitators, coordinators).
        "audit_log": [
            {
                "at": a.at,
                "actor": a.actor_label,
                "action": a.action,
                "target": a.target,
                "details": a.details,
            }
            for a in report.audit
        ],
    }


def _scores(report: Report) -> list[dict]:
    from scoring.models import Score

    rows = Score.objects.filter(
        exercise=report.exercise, team__in=[t.id for t in report.teams]
    ).select_related("team", "criterion")
    return [
        {
            "team": s.team.code,
            "criterion": s.criterion.key,
            "value": s.value,
            "evidence_count": s.evidence_count,
            "confidence": s.confidence,
            "evidence": s.evidence,
        }
        for s in rows
    ]


def render(report: Report) -> bytes:
    return json.dumps(
        document(report), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False
    ).encode()
