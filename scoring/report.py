"""The after-action report as one plain structure, cut to what a reader may see.

Pages, PDF, spreadsheets and JSON all render ``build_report``'s result, so the access
rules are applied once: players get their own team's detail plus aggregates (means
per criterion), observers the aggregates, the control cell and coordinators all.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Max

from accounts.audit import audit_for_exercise
from exercises.events import event_sentence
from exercises.models import Decision, Event, Exercise, InjectRelease, Observation, Team
from exercises.visibility import can_see_event
from scenarios.models import Criterion
from scoring import charts, method
from scoring.access import ReportAccess
from scoring.collect import criteria_for, load_exercise
from scoring.models import Gap, ImprovementItem, Score
from scoring.sharing_metrics import sharing_metrics_for

STRENGTHS = 5
TOP_FINDINGS = 3
CASCADE_CHART_LIMIT = 10  # the most damaging chains; the gap list has them all


class Freshness(enum.Enum):
    """Whether the stored scores say what the timeline says."""

    FRESH = "fresh"  # computed after the last event, or nothing to score
    STALE = "stale"  # computed, and the timeline moved on since (a live run)
    MISSING = "missing"  # never computed


def scores_freshness(exercise: Exercise) -> Freshness:
    """How the stored scores of ``exercise`` compare with its timeline. Reads only."""
    computed = Score.objects.filter(exercise=exercise).aggregate(at=Max("computed_at"))["at"]
    if computed is None:
        return Freshness.MISSING if exercise.teams.exists() else Freshness.FRESH
    last = exercise.events.aggregate(at=Max("created_at"))["at"]
    return Freshness.STALE if last is not None and last > computed else Freshness.FRESH


@dataclass
class TeamRow:
    team: Team
    values: list[float | None]
    # (criterion, score row) per criterion with a score; filled by _attach_links
    details: list = field(default_factory=list)


@dataclass
class Report:
    exercise: Exercise
    access: ReportAccess
    criteria: list[Criterion]
    teams: list[Team]  # teams whose detail the reader may see
    all_teams: list[Team]
    rows: list[TeamRow]
    means: list[float | None]
    criterion_summaries: list[method.CriterionSummary]
    gaps: list[Gap]
    strengths: list[Score]
    items: list[ImprovementItem]
    decisions: list[Decision]
    observations: list[Observation]
    timeline: list[dict]
    metrics: dict
    sharing: dict  # scoring.sharing_metrics: threads, relays, RFIs, TLP, community warnings
    chains: list[method.CascadeChain]
    cascade_map: list[method.CascadeLink]
    summary: list[str]
    charts: dict[str, Any] = field(default_factory=dict)
    audit: list = field(default_factory=list)
    freshness: Freshness = Freshness.FRESH

    @property
    def computed(self) -> bool:
        return self.freshness is not Freshness.MISSING

    @property
    def stale(self) -> bool:
        return self.freshness is Freshness.STALE

    @property
    def cascade_lines(self) -> list[tuple[str, str, str, list[str]]]:
        """The cascade map as sentences: (source, option chosen, consequence, the teams it
        reached), one per consequence, dependents not named as such marked."""
        lines: dict[tuple[str, str, str], list[str]] = {}
        for link in self.cascade_map:
            target = link.target.organization + ("" if link.dependent else " (not a dependent)")
            for option, title in link.items:
                lines.setdefault((link.source.organization, option, title), []).append(target)
        return [(*key, targets) for key, targets in lines.items()]

    @property
    def top_findings(self) -> list[Gap]:
        """The three headline findings, most severe first, for the executive summary."""
        return [g for g in self.gaps if g.headline][:TOP_FINDINGS]

    @property
    def top_items(self) -> list[ImprovementItem]:
        """The improvement items answering the top findings (else the first ones)."""
        top = {g.id for g in self.top_findings}
        answering = [i for i in self.items if i.gap_id in top]
        return (answering or self.items)[:TOP_FINDINGS]

    @property
    def plan_groups(self) -> list[tuple[str, list[ImprovementItem]]]:
        """The improvement items by track (Enable, Engage, Enforce), empty tracks left out."""
        groups = [
            (label, [i for i in self.items if i.track == value])
            for value, label in ImprovementItem.Track.choices
        ]
        return [(label, items) for label, items in groups if items]

    @property
    def sectors(self) -> list[str]:
        return sorted({t.role.get_sector_display() for t in self.all_teams})


def build_report(access: ReportAccess) -> Report:
    """The report of ``access.exercise`` as ``access`` may read it, from the stored scores
    and gaps. Reads only: it never computes scores (``services.report_ensure_fresh`` does),
    so opening a report during a live run writes nothing."""
    exercise = access.exercise
    criteria = criteria_for(exercise)
    all_teams = list(
        Team.objects.filter(exercise=exercise)
        .select_related("role", "organization")
        .prefetch_related("role__depends_on")
    )
    teams = [t for t in all_teams if access.may_see_team(t.id)]
    scores = list(
        Score.objects.filter(exercise=exercise).select_related(
            "criterion", "team__role", "team__organization"
        )
    )
    table = {(s.team_id, s.criterion_id): s.value for s in scores}
    rows = [TeamRow(t, [table.get((t.id, c.id)) for c in criteria]) for t in teams]
    summaries = method.summarize_criteria(
        [c.key for c in criteria],
        ((s.criterion.key, s.value, s.confidence) for s in scores),
        teams=len(all_teams),
    )
    data = load_exercise(exercise)
    report = Report(
        exercise=exercise,
        access=access,
        criteria=criteria,
        teams=teams,
        all_teams=all_teams,
        rows=rows,
        means=[s.mean for s in summaries],
        criterion_summaries=summaries,
        gaps=_gaps(access, exercise),
        strengths=_strengths(access, scores),
        items=_items(access, exercise),
        decisions=_decisions(access, exercise),
        observations=_observations(access, exercise),
        timeline=_timeline(access, exercise),
        metrics=_metrics(access, method.collaboration_metrics(data), all_teams),
        sharing=sharing_metrics_for(access),
        chains=_chains(access, data),
        cascade_map=_cascade_map(access, data),
        summary=[],
        freshness=scores_freshness(exercise),
    )
    report.summary = executive_summary(report)
    _attach_links(report, scores)
    report.charts = _charts(report, table)
    if access.can_edit:
        report.audit = audit_for_exercise(exercise.code)
    return report


def _href(kind: str, ident: int, release_seq: dict[int, int]) -> str:
    if kind in ("decision", "timing"):
        return f"#decision-{ident}"
    if kind == "observation":
        return f"#observation-{ident}"
    if kind == "release" and ident in release_seq:
        return f"#event-{release_seq[ident]}"
    return "#timeline"


def _evidence_text(item: dict, access: ReportAccess) -> str:
    """An evidence item's sentence; its ``detail`` (an evaluator's note, what another team
    knew) only for readers of the full report."""
    if access.full and item.get("detail"):
        return f"{item['text']}: {item['detail']}"
    return item["text"]


def _attach_links(report: Report, scores: list[Score]) -> None:
    """Give every visible gap ``links`` (text, href) to the evidence on the page, and
    every visible score its evidence links (text, href, component)."""
    release_seq = dict(
        InjectRelease.objects.filter(exercise=report.exercise).values_list("id", "event__seq")
    )
    evidence = {(s.team_id, s.criterion_id): s.evidence for s in scores}
    for gap in report.gaps:
        items = []
        if gap.kind == Gap.Kind.CASCADE and report.access.may_see_team(gap.team_id):
            items.append(
                {"kind": "decision", "id": gap.evidence.get("decision_id"), "text": "The decision"}
            )
            items += [
                {"kind": "release", "id": rid, "text": "Consequence released"}
                for rid in gap.evidence.get("release_ids", [])
            ]
        elif gap.team_id and report.access.may_see_team(gap.team_id):
            items = evidence.get((gap.team_id, gap.criterion_id), [])
        gap.links = [
            (_evidence_text(i, report.access), _href(i["kind"], i["id"], release_seq))
            for i in items
        ]
    by_key = {(s.team_id, s.criterion_id): s for s in scores}
    for row in report.rows:
        for criterion in report.criteria:
            score = by_key.get((row.team.id, criterion.id))
            if score is None or score.value is None:
                continue
            score.links = [
                (
                    _evidence_text(i, report.access),
                    _href(i["kind"], i["id"], release_seq),
                    i.get("component", ""),
                )
                for i in score.evidence
            ]
            row.details.append((criterion, score))


def _gaps(access: ReportAccess, exercise: Exercise) -> list[Gap]:
    gaps = list(
        Gap.objects.filter(exercise=exercise).select_related(
            "criterion", "team__role", "team__organization"
        )
    )
    if access.full:
        return gaps
    own = access.team.id if access.team else None
    visible = []
    for gap in gaps:
        if gap.kind == Gap.Kind.SYSTEMIC:
            gap.summary = _systemic_aggregate(gap)  # not saved: hides who was below
            visible.append(gap)
        elif own is not None and gap.team_id == own:
            visible.append(gap)
    return visible


def _systemic_aggregate(gap: Gap) -> str:
    below = len(gap.evidence.get("team_ids", []))
    total = gap.evidence.get("scored_teams", below)
    return (
        f"{below} of {total} teams fell below {gap.criterion.threshold} on {gap.criterion.title}."
    )


def _strengths(access: ReportAccess, scores: list[Score]) -> list[Score]:
    mine = [
        s
        for s in scores
        if s.value is not None
        and s.value >= s.criterion.threshold
        and s.confidence != method.LOW
        and access.may_see_team(s.team_id)
    ]
    return sorted(mine, key=lambda s: (-s.value, s.criterion.order, s.team_id))[:STRENGTHS]


def _items(access: ReportAccess, exercise: Exercise) -> list[ImprovementItem]:
    qs = ImprovementItem.objects.filter(exercise=exercise).select_related(
        "criterion", "organization"
    )
    if access.full:
        return list(qs)
    if access.team is None:
        return []
    return list(qs.filter(organization_id=access.team.organization_id))


def _decisions(access: ReportAccess, exercise: Exercise) -> list[Decision]:
    qs = Decision.objects.filter(exercise=exercise).select_related(
        "team__role", "team__organization", "prompt", "option", "author"
    )
    if not access.full:
        qs = qs.filter(team_id=access.team.id) if access.team else qs.none()
    return list(qs.order_by("submitted_at", "id"))


def _observations(access: ReportAccess, exercise: Exercise) -> list[Observation]:
    if not access.full:
        return []
    return list(
        Observation.objects.filter(exercise=exercise)
        .select_related("team__role", "team__organization", "criterion")
        .order_by("clock_seconds", "id")
    )


def _timeline(access: ReportAccess, exercise: Exercise) -> list[dict]:
    viewer = access.viewer
    out = []
    for event in Event.objects.filter(exercise=exercise).order_by("seq"):
        if not can_see_event(event, viewer=viewer):
            continue
        out.append(
            {
                "seq": event.seq,
                "kind": event.kind,
                "clock": event.clock_seconds,
                "text": event_sentence(event.kind, event.payload),
                "at": event.created_at,
            }
        )
    return out


def _metrics(access: ReportAccess, metrics: dict, teams: list[Team]) -> dict:
    names = {t.id: str(t) for t in teams}
    visible = {
        tid: {**m, "team": names.get(tid, "")}
        for tid, m in metrics["teams"].items()
        if access.may_see_team(tid)
    }
    out = {k: v for k, v in metrics.items() if k not in ("teams", "uninformed")}
    out["teams"] = [visible[tid] for tid in sorted(visible)]
    out["uninformed"] = [u for u in metrics["uninformed"] if access.may_see_team(u["team_id"])]
    return out


def _chains(access: ReportAccess, data: method.ExerciseIn) -> list[method.CascadeChain]:
    return [c for c in method.cascade_chains(data) if access.may_see_team(c.team.id)]


def _cascade_map(access: ReportAccess, data: method.ExerciseIn) -> list[method.CascadeLink]:
    """What cascaded, as the reader may see it: a player the consequences of their own
    team's decisions (as with cascade chains: other teams' decisions stay theirs)."""
    return [link for link in method.cascade_map(data) if access.may_see_team(link.source.id)]


def executive_summary(report: Report) -> list[str]:
    """A few sentences generated from the numbers."""
    ex, n_teams = report.exercise, len(report.all_teams)
    if not report.all_teams:
        return ["This exercise had no teams, so there is nothing to score."]
    if not report.computed:
        return ["Scores have not been computed yet."]
    lines = [f"{n_teams} teams from {len(report.sectors)} sector(s) played “{ex.scenario.title}”."]
    lines += _capability_lines(report)
    kinds = defaultdict(int)
    for gap in report.gaps:
        kinds[gap.kind] += 1
    headline = sum(1 for gap in report.gaps if gap.headline)
    lines.append(
        f"{kinds['systemic']} systemic gap(s), {kinds['cascade']} cascade gap(s) and "
        f"{kinds['team']} team gap(s) were found; {headline} of them rest on enough "
        "evidence and are large enough to act on first."
    )
    m = report.metrics
    if m["dependents_to_warn"]:
        timing = (
            f", after {m['mean_seconds_to_warn']:.0f} s on average"
            if m["mean_seconds_to_warn"] is not None
            else ""
        )
        lines.append(
            f"Teams warned {m['dependents_warned']} of the {m['dependents_to_warn']} dependent "
            f"teams that needed to know what they knew{timing}; {m['uninformed_decisions']} "
            "decision(s) were taken without information an upstream team held and could "
            "have passed on."
        )
    return lines


def _capability_lines(report: Report) -> list[str]:
    """Strongest and weakest criteria by their mean (the table's), among the criteria
    every scored team has enough evidence on; and which were left out and why."""
    titles = {c.key: c.title for c in report.criteria}
    best, worst = method.strongest_and_weakest(report.criterion_summaries)
    lines = []
    if best and worst:
        lines.append(
            f"Strongest capability across teams: {titles[best.key]} (mean {best.mean:g}); "
            f"weakest: {titles[worst.key]} (mean {worst.mean:g})."
        )
    thin = [
        titles[s.key] for s in report.criterion_summaries if s.mean is not None and not s.headline
    ]
    if thin:
        lines.append(
            "Not headlined, because fewer than two teams were scored on them or some "
            f"team's score rests on a single item or on timeliness alone: {', '.join(thin)}."
        )
    return lines


def _charts(report: Report, table: dict) -> dict[str, Any]:
    columns = [charts.Column(c.key, c.title, c.threshold) for c in report.criteria]
    rows = [(str(r.team), r.values) for r in report.rows]
    if not report.access.full:
        rows.append(("All teams (mean)", report.means))
    out: dict[str, Any] = {}
    if rows and columns:
        out["heatmaps"] = [
            (title, charts.heatmap_svg([(label, [v[i] for i in part]) for label, v in rows], cols))
            for title, part, cols in _heatmap_parts(report, columns)
        ]
        out["unscored"] = [
            c.title for c, m in zip(report.criteria, report.means, strict=True) if m is None
        ]
    out["teams"] = [
        (
            row.team,
            charts.bars_svg(
                [
                    (c.title, v, m, c.threshold)
                    for c, v, m in zip(report.criteria, row.values, report.means, strict=True)
                    if m is not None  # criteria no team has evidence on are listed once
                ],
                title=f"Scores of {row.team} against the mean of all teams",
            ),
        )
        for row in report.rows
    ]
    if report.cascade_map:
        out["cascade_map"] = charts.cascade_map_svg(
            [
                (link.source.organization, link.target.organization, len(link.items))
                for link in report.cascade_map
            ]
        )
    if report.chains:
        worst = sorted(report.chains, key=_chain_severity)[:CASCADE_CHART_LIMIT]
        out["cascade"] = charts.cascade_svg([_chain_view(c, report, table) for c in worst])
        out["cascade_shown"] = len(worst)
        out["cascade_omitted"] = len(report.chains) - len(worst)
    return out


def _heatmap_parts(report: Report, columns: list[charts.Column]) -> list[tuple]:
    """The scored criteria in runs of whole criterion groups, each at most
    ``charts.HEATMAP_COLUMNS`` wide (a larger group is cut), so that every part prints
    legibly across a portrait page: (title, column indexes, columns)."""
    parts: list[tuple[list[str], list[int]]] = []
    for i, (criterion, mean) in enumerate(zip(report.criteria, report.means, strict=True)):
        if mean is None:
            continue
        group = criterion.get_group_display()
        fits = parts and len(parts[-1][1]) < charts.HEATMAP_COLUMNS
        joins = fits and (group in parts[-1][0] or _group_fits(report, parts[-1], criterion))
        if not joins:
            parts.append(([], []))
        if group not in parts[-1][0]:
            parts[-1][0].append(group)
        parts[-1][1].append(i)
    return [(", ".join(groups), idx, [columns[i] for i in idx]) for groups, idx in parts]


def _group_fits(report: Report, part: tuple[list[str], list[int]], criterion) -> bool:
    """Whether every scored criterion of ``criterion``'s group fits in ``part``."""
    size = sum(
        1
        for c, m in zip(report.criteria, report.means, strict=True)
        if c.group == criterion.group and m is not None
    )
    return len(part[1]) + size <= charts.HEATMAP_COLUMNS


def _chain_severity(chain: method.CascadeChain) -> tuple:
    return (-chain.severity, chain.decision.id)


def _chain_view(chain: method.CascadeChain, report: Report, table: dict) -> charts.ChainView:
    criteria = {c.key: c for c in report.criteria}
    first = criteria.get(chain.criteria[0]) if chain.criteria else None
    deps = []
    for team in chain.dependents:
        value = table.get((team.id, first.id)) if first else None
        label = "score hidden"
        if report.access.full:
            label = f"{first.title}: {'–' if value is None else f'{value:g}'}" if first else ""
        deps.append((team.label, label))
    return charts.ChainView(
        chain.team.label, chain.option.label, sorted({r.title for r in chain.releases}), deps
    )
