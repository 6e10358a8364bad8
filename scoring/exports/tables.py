"""The report's tables as plain rows, shared by the XLSX, CSV and JSON exports."""

from __future__ import annotations

from scoring.report import Report


def score_rows(report: Report) -> list[list]:
    header = ["Team", "Organization", "Sector", *[c.title for c in report.criteria]]
    rows = [
        [str(r.team), r.team.organization.name, r.team.role.get_sector_display(), *r.values]
        for r in report.rows
    ]
    return [header, *rows, ["Mean of all teams", "", "", *report.means]]


def gap_rows(report: Report) -> list[list]:
    header = ["Kind", "Criterion", "Team", "Severity", "Confidence", "Headline", "Summary"]
    return [header] + [
        [
            g.get_kind_display(),
            g.criterion.title,
            str(g.team) if g.team else "",
            g.severity,
            g.confidence,
            "yes" if g.headline else "no",
            g.summary,
        ]
        for g in report.gaps
    ]


def decision_rows(report: Report) -> list[list]:
    header = [
        "Team",
        "Prompt",
        "Option",
        "Text",
        "Rationale",
        "Revision",
        "Latency (s)",
        "Submitted",
    ]
    return [header] + [
        [
            str(d.team),
            d.prompt.question,
            d.option.label if d.option else "",
            d.text,
            d.rationale,
            d.revision,
            round(d.latency_seconds, 1),
            d.submitted_at.isoformat(),
        ]
        for d in report.decisions
    ]


def plan_rows(report: Report) -> list[list]:
    header = [
        "Capability",
        "Observation",
        "Recommendation",
        "Corrective action",
        "Capability element",
        "Primary responsible organization",
        "Point of contact",
        "Start date",
        "Completion date",
        "Status",
        "Track",
    ]
    return [header] + [
        [
            i.criterion.title,
            i.observation,
            i.recommendation,
            i.corrective_action,
            i.get_capability_element_display(),
            i.organization.name if i.organization else "",
            i.point_of_contact,
            i.start_date.isoformat() if i.start_date else "",
            i.completion_date.isoformat() if i.completion_date else "",
            i.get_status_display(),
            i.Track(i.track).label,
        ]
        for i in report.items
    ]


SHARING_HEADER = [
    "Team",
    "Messages",
    "Shares",
    "Relays",
    "Refused over-shares",
    "TLP compliance (%)",
    "RFIs asked",
    "RFIs answered",
    "RFIs received",
    "Mean time to answer (s)",
    "Inject to next share (s)",
    "Mean time to warn dependents (s)",
    "Reports received",
    "Community warnings",
    "First report to community warning (s)",
]


def sharing_rows(report: Report) -> list[list]:
    """The sharing metrics (``scoring.sharing_metrics``) and the time to warn dependents
    (``method.collaboration_metrics``): the exercise first, then each visible team."""
    sharing, warn = report.sharing, report.metrics
    to_warn = {m["team"]: m["mean_seconds_to_warn"] for m in warn["teams"]}
    rows = [_sharing_row("All teams", sharing, warn["mean_seconds_to_warn"])]
    rows += [_sharing_row(m["team"], m, to_warn.get(m["team"])) for m in sharing["teams"]]
    return [SHARING_HEADER, *rows]


def _sharing_row(name: str, m: dict, to_warn: float | None) -> list:
    """One row; the exercise-wide figures have no per-team count (shares, RFIs and
    reports received): those cells are blank."""
    return [
        name,
        m["messages"],
        m.get("shares", ""),
        m["relays"],
        m["refused"],
        _cell(m["compliance"]),
        m["rfis_asked"],
        m["rfis_answered"],
        m.get("rfis_received", ""),
        _cell(m["seconds_to_answer"]),
        _cell(m["seconds_to_first_share"]),
        _cell(to_warn),
        m.get("reports_received", ""),
        m["community_warnings"],
        _cell(m["seconds_to_community_warning"]),
    ]


def _cell(value: float | None) -> float | str:
    return "" if value is None else value


SHEETS = {
    "scores": score_rows,
    "gaps": gap_rows,
    "decisions": decision_rows,
    "improvement plan": plan_rows,
    "sharing": sharing_rows,
}
