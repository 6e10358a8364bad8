"""The scoring method: pure functions on plain dataclasses, no ORM.

``scoring.collect`` loads an exercise into an ``ExerciseIn``; ``compute_scores``,
``compute_gaps`` and ``collaboration_metrics`` turn it into scores, findings and
metrics. The method is documented in docs/scoring.md; the constants below are the
ones that page names. Every function sorts its inputs by id before using them and
sums with ``math.fsum``, so the result does not depend on row or event order.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import fmean

RATING_VALUES: Mapping[str, float] = {"P": 100.0, "S": 70.0, "M": 40.0, "U": 0.0}

# Blend weights per evidence component; renormalised over the components that have
# evidence for a team × criterion. Collaboration criteria lean on share behaviour.
WEIGHTS: Mapping[str, float] = {"effects": 0.45, "observations": 0.40, "timeliness": 0.15}
COLLABORATION_WEIGHTS: Mapping[str, float] = {
    "effects": 0.25,
    "observations": 0.30,
    "timeliness": 0.10,
    "behaviour": 0.35,
}
COLLABORATION_GROUP = "CO"
# A warning sent within WARN_FAST_SECONDS scores 100, after WARN_SLOW_SECONDS 0.
WARN_FAST_SECONDS = 300.0
WARN_SLOW_SECONDS = 1800.0
# Info-sharing behaviour = coverage (dependents warned) and speed of the warning.
SHARING_COVERAGE_WEIGHT = 0.7
# Which behaviour metric a collaboration criterion measures, by a word in its key.
BEHAVIOUR_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("shar", "info_sharing"),
    ("coord", "coordination"),
    ("depend", "dependency_awareness"),
)
# Confidence of a score from how many independent items back it (a decision counted
# once whatever components it feeds): one item, or timeliness alone, is LOW and never
# headlines the summary; HIGH needs several items from more than one component.
LOW, MEDIUM, HIGH = "low", "medium", "high"
HIGH_CONFIDENCE_ITEMS = 3
# A cascade gap needs a regret of at least this many points (the best option of the
# prompt on the criterion minus the chosen one): below it a choice is a trade-off.
MATERIAL_REGRET = 10.0
# Findings below this severity are listed but never headline the summary.
HEADLINE_SEVERITY = 10.0
# What a team that received an inject may pass on, by its marking (DESIGN.md, Relay):
# RED never; AMBER+STRICT inside its organization; AMBER to its dependents; GREEN/CLEAR
# to anyone.
PASSABLE_ANYWHERE = frozenset({"GREEN", "CLEAR"})


@dataclass(frozen=True)
class CriterionIn:
    key: str
    title: str
    group: str
    threshold: float = 60.0
    weight: float = 1.0


@dataclass(frozen=True)
class TeamIn:
    id: int
    label: str
    role_key: str
    sector: str
    organization_id: int
    organization: str
    depends_on: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OptionIn:
    id: int
    key: str
    label: str
    effects: Mapping[str, float] = field(default_factory=dict)
    consequence_inject_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class PromptIn:
    id: int
    key: str
    question: str
    options: tuple[OptionIn, ...] = ()
    criteria: tuple[str, ...] = ()
    deadline_seconds: float | None = None
    # Teams the prompt was put to; None when it never opened (then only deciders count).
    asked_team_ids: frozenset[int] | None = None


@dataclass(frozen=True)
class DecisionIn:
    id: int
    team_id: int
    prompt_id: int
    option_id: int | None
    latency_seconds: float
    clock_seconds: float
    text: str = ""


@dataclass(frozen=True)
class ObservationIn:
    id: int
    team_id: int
    criterion_key: str
    evaluator_id: int | None
    rating: str
    clock_seconds: float
    note: str = ""


@dataclass(frozen=True)
class ReleaseIn:
    id: int
    inject_id: int
    title: str
    team_ids: frozenset[int]
    clock_seconds: float
    # For a consequence release: the team whose choice caused it, when known.
    cause_team_id: int | None = None
    tlp: str = "GREEN"


@dataclass(frozen=True)
class ShareIn:
    id: int
    from_team_id: int
    audience_ids: frozenset[int]
    clock_seconds: float
    title: str
    tlp: str
    about_inject_id: int | None = None


@dataclass(frozen=True)
class RfiIn:
    """A request for information put to a team (``to_team_id``; questions to the control
    cell are not a team's to answer)."""

    id: int
    from_team_id: int
    to_team_id: int | None
    asked_clock: float
    answered_clock: float | None = None


@dataclass(frozen=True)
class SharingAttemptsIn:
    """A team's shares and relays (allowed) and the relays or summaries its markings
    refused (over-share attempts)."""

    team_id: int
    allowed: int
    refused: int


@dataclass(frozen=True)
class CoordinatingIn:
    """A coordinating body (an ISAC, a national CERT, a regulator): when each report of
    another team reached it, and when it sent each community warning (a summary to every
    team)."""

    team_id: int
    report_clocks: tuple[float, ...] = ()
    warning_clocks: tuple[float, ...] = ()


def community_warning_delay(body: CoordinatingIn) -> float | None:
    """Seconds from the first report reaching ``body`` to its first community warning at
    or after it; None without a report or such a warning."""
    if not body.report_clocks:
        return None
    first = min(body.report_clocks)
    later = [c for c in body.warning_clocks if c >= first]
    return round(min(later) - first, 1) if later else None


@dataclass(frozen=True)
class ExerciseIn:
    criteria: tuple[CriterionIn, ...]
    teams: tuple[TeamIn, ...]
    prompts: tuple[PromptIn, ...] = ()
    decisions: tuple[DecisionIn, ...] = ()
    observations: tuple[ObservationIn, ...] = ()
    releases: tuple[ReleaseIn, ...] = ()
    shares: tuple[ShareIn, ...] = ()
    rfis: tuple[RfiIn, ...] = ()
    attempts: tuple[SharingAttemptsIn, ...] = ()
    coordinating: tuple[CoordinatingIn, ...] = ()


@dataclass(frozen=True)
class ScoreOut:
    team_id: int
    criterion_key: str
    value: float | None
    components: Mapping[str, float]
    evidence: tuple[Mapping, ...]
    evidence_count: int = 0
    confidence: str = LOW


@dataclass(frozen=True)
class GapOut:
    kind: str  # "team" | "systemic" | "cascade"
    criterion_key: str
    team_id: int | None
    severity: float
    summary: str
    evidence: Mapping
    confidence: str = HIGH

    @property
    def headline(self) -> bool:
        """Whether the finding may headline the summary: enough evidence, material size."""
        return self.confidence != LOW and self.severity >= HEADLINE_SEVERITY


@dataclass
class _Component:
    values: list[float] = field(default_factory=list)
    evidence: list[dict] = field(default_factory=list)

    def add(self, value: float, item: dict) -> None:
        self.values.append(value)
        self.evidence.append({**item, "value": round(value, 1)})


# ---------------------------------------------------------------- helpers


def _by_id(items: Iterable) -> list:
    return sorted(items, key=lambda item: item.id)


def _clamp(value: float) -> float:
    return max(0.0, min(100.0, value))


def dependents_of(team: TeamIn, teams: Iterable[TeamIn]) -> list[TeamIn]:
    """Teams whose role depends on ``team``'s role, by id."""
    return [t for t in _by_id(teams) if team.role_key in t.depends_on and t.id != team.id]


def upstreams_of(team: TeamIn, teams: Iterable[TeamIn]) -> list[TeamIn]:
    """Teams whose role ``team``'s role depends on, by id."""
    return [t for t in _by_id(teams) if t.role_key in team.depends_on and t.id != team.id]


def timeliness_value(latency: float, deadline: float) -> float:
    """100 within half the deadline, 50 at the deadline, 0 at twice the deadline."""
    if deadline <= 0:
        return 100.0
    ratio = latency / deadline
    if ratio <= 0.5:
        return 100.0
    if ratio <= 1.0:
        return 100.0 - 100.0 * (ratio - 0.5)
    return _clamp(50.0 - 50.0 * (ratio - 1.0))


def warn_speed_value(seconds: float) -> float:
    """100 for a warning within WARN_FAST_SECONDS, linear to 0 at WARN_SLOW_SECONDS."""
    if seconds <= WARN_FAST_SECONDS:
        return 100.0
    span = WARN_SLOW_SECONDS - WARN_FAST_SECONDS
    return _clamp(100.0 - 100.0 * (seconds - WARN_FAST_SECONDS) / span)


def behaviour_of(criterion: CriterionIn) -> str | None:
    if criterion.group != COLLABORATION_GROUP:
        return None
    for word, metric in BEHAVIOUR_KEYWORDS:
        if word in criterion.key:
            return metric
    return None


def _asked(prompt: PromptIn, team_id: int, decided: bool) -> bool:
    if prompt.asked_team_ids is None:
        return decided
    return decided or team_id in prompt.asked_team_ids


# ---------------------------------------------------------------- components


def _effects(ex: ExerciseIn, decisions: Mapping[tuple[int, int], DecisionIn]) -> dict:
    """(team, criterion) -> (chosen, best, worst) sums, with evidence."""
    sums: dict[tuple[int, str], list[list[float]]] = defaultdict(lambda: [[], [], []])
    evidence: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for prompt in _by_id(ex.prompts):
        options = {o.id: o for o in prompt.options}
        keys = sorted({k for o in prompt.options for k in o.effects})
        for team in _by_id(ex.teams):
            decision = decisions.get((team.id, prompt.id))
            if not _asked(prompt, team.id, decision is not None):
                continue
            option = options.get(decision.option_id) if decision else None
            if decision and decision.option_id is None:
                continue  # a free-text answer carries no option effects
            for key in keys:
                effects = [o.effects.get(key, 0.0) for o in prompt.options]
                best, worst = max(effects), min(effects)
                # Options that differ by less than a material regret on a criterion do
                # not exercise it: a +5 nuance must not make a 0-or-100 score.
                if best - worst < MATERIAL_REGRET:
                    continue
                chosen = option.effects.get(key, 0.0) if option else worst
                bucket = sums[(team.id, key)]
                bucket[0].append(chosen)
                bucket[1].append(best)
                bucket[2].append(worst)
                evidence[(team.id, key)].append(_effect_item(prompt, decision, option, chosen))
    return {k: (v, evidence[k]) for k, v in sums.items()}


def _effect_item(prompt, decision, option, chosen) -> dict:
    if decision is None:
        return {
            "kind": "prompt",
            "id": prompt.id,
            "text": f"No decision on “{prompt.question}” (counted as the worst option)",
            "points": chosen,
        }
    return {
        "kind": "decision",
        "id": decision.id,
        "text": f"Chose “{option.label}” on “{prompt.question}” ({chosen:+g} points)",
        "points": chosen,
    }


def _effects_value(chosen: list[float], best: list[float], worst: list[float]) -> float:
    top, bottom = math.fsum(best), math.fsum(worst)
    return _clamp(100.0 * (math.fsum(chosen) - bottom) / (top - bottom))


def _observations(ex: ExerciseIn) -> dict[tuple[int, str], _Component]:
    """Latest rating per evaluator (by clock, then id), then the mean across evaluators."""
    latest: dict[tuple[int, str, int | None], ObservationIn] = {}
    for obs in sorted(ex.observations, key=lambda o: (o.clock_seconds, o.id)):
        if obs.rating in RATING_VALUES:
            latest[(obs.team_id, obs.criterion_key, obs.evaluator_id)] = obs
    out: dict[tuple[int, str], _Component] = defaultdict(_Component)
    for obs in sorted(latest.values(), key=lambda o: o.id):
        item = {"kind": "observation", "id": obs.id, "text": f"Evaluator rated {obs.rating}"}
        if obs.note:
            item["detail"] = obs.note
        out[(obs.team_id, obs.criterion_key)].add(RATING_VALUES[obs.rating], item)
    return out


def _timeliness(ex: ExerciseIn, decisions: Mapping) -> dict[tuple[int, str], _Component]:
    out: dict[tuple[int, str], _Component] = defaultdict(_Component)
    for prompt in _by_id(ex.prompts):
        # A free-text prompt (no options) measures nothing by its speed: only an
        # evaluator's rating of the answer scores it.
        if not prompt.deadline_seconds or not prompt.criteria or not prompt.options:
            continue
        for team in _by_id(ex.teams):
            decision = decisions.get((team.id, prompt.id))
            if not _asked(prompt, team.id, decision is not None):
                continue
            if decision is None:
                value, item = 0.0, {"kind": "prompt", "id": prompt.id}
                item["text"] = f"No decision before “{prompt.question}” closed"
            else:
                value = timeliness_value(decision.latency_seconds, prompt.deadline_seconds)
                item = {"kind": "timing", "id": decision.id}
                item["text"] = (
                    f"Decided “{prompt.question}” after {decision.latency_seconds:.0f} s "
                    f"(deadline {prompt.deadline_seconds:.0f} s)"
                )
            for key in sorted(set(prompt.criteria)):
                out[(team.id, key)].add(value, item)
    return out


# ---------------------------------------------------------------- share behaviour


@dataclass(frozen=True)
class WarnOpportunity:
    """Team ``team_id`` received ``release``; ``needed`` dependents did not."""

    team_id: int
    release: ReleaseIn
    needed: frozenset[int]
    warned: Mapping[int, float]  # dependent id -> seconds until warned


@dataclass(frozen=True)
class Warning:
    """Something a team made reach other teams: a share, or a consequence inject its own
    decision released (the provider's early warning to its customers)."""

    from_team_id: int
    audience_ids: frozenset[int]
    clock_seconds: float
    about_inject_id: int | None = None


def warnings_sent(ex: ExerciseIn) -> list[Warning]:
    """Every share and every consequence release with a known causing team, by time."""
    out = [
        Warning(s.from_team_id, s.audience_ids, s.clock_seconds, s.about_inject_id)
        for s in _by_id(ex.shares)
    ]
    out += [
        Warning(r.cause_team_id, r.team_ids, r.clock_seconds)
        for r in _by_id(ex.releases)
        if r.cause_team_id is not None
    ]
    return sorted(out, key=lambda w: (w.clock_seconds, w.from_team_id))


def _warns(warning: Warning | ShareIn, release: ReleaseIn) -> bool:
    if warning.about_inject_id is not None:
        return warning.about_inject_id == release.inject_id
    return warning.clock_seconds >= release.clock_seconds


def may_pass_on(tlp: str, holder: TeamIn, target: TeamIn) -> bool:
    """Whether ``holder``, having received something marked ``tlp``, may pass it to
    ``target`` (the relay rule of DESIGN.md)."""
    if tlp in PASSABLE_ANYWHERE:
        return True
    if tlp == "AMBER":
        return holder.role_key in target.depends_on
    if tlp == "AMBER+STRICT":
        return holder.organization_id == target.organization_id
    return False


def warn_opportunities(ex: ExerciseIn) -> list[WarnOpportunity]:
    """Every (team, release) where the team knew something that dependents of it did not
    and that its marking let it pass on to them."""
    sent_by_team: dict[int, list[Warning]] = defaultdict(list)
    for warning in warnings_sent(ex):
        sent_by_team[warning.from_team_id].append(warning)
    out = []
    for release in _by_id(ex.releases):
        for team in _by_id(t for t in ex.teams if t.id in release.team_ids):
            needed = frozenset(
                d.id
                for d in dependents_of(team, ex.teams)
                if d.id not in release.team_ids and may_pass_on(release.tlp, team, d)
            )
            if not needed:
                continue
            warned: dict[int, float] = {}
            for share in sent_by_team[team.id]:
                if not _warns(share, release):
                    continue
                delay = max(0.0, share.clock_seconds - release.clock_seconds)
                for dep in needed & share.audience_ids:
                    warned[dep] = min(delay, warned.get(dep, delay))
            out.append(WarnOpportunity(team.id, release, needed, warned))
    return out


def _info_sharing(ex: ExerciseIn, opps: list[WarnOpportunity]) -> dict[int, _Component]:
    out: dict[int, _Component] = defaultdict(_Component)
    for opp in opps:
        coverage = 100.0 * len(opp.warned) / len(opp.needed)
        value = coverage
        if opp.warned:
            speed = fmean(warn_speed_value(s) for s in sorted(opp.warned.values()))
            value = SHARING_COVERAGE_WEIGHT * coverage + (1 - SHARING_COVERAGE_WEIGHT) * speed
        text = (
            f"Warned {len(opp.warned)} of {len(opp.needed)} dependent team(s) "
            f"about “{opp.release.title}”"
        )
        if opp.warned:
            text += f" after {fmean(sorted(opp.warned.values())):.0f} s on average"
        out[opp.team_id].add(value, {"kind": "release", "id": opp.release.id, "text": text})
    for attempt in ex.attempts:  # TLP compliance, only where the marking refused something
        if attempt.refused:
            total = attempt.allowed + attempt.refused
            text = (
                f"{attempt.allowed} of {total} sharing attempt(s) within their TLP markings "
                f"({attempt.refused} over-share attempt(s) refused)"
            )
            value = 100.0 * attempt.allowed / total
            out[attempt.team_id].add(
                value, {"kind": "refusal", "id": attempt.team_id, "text": text}
            )
    return out


def _coordination(ex: ExerciseIn) -> dict[int, _Component]:
    """Share of a team's neighbours (upstream and dependents) it exchanged intel with; the
    requests for information put to it (answered, and how fast); for a coordinating body,
    how fast it warned every team after the first report reached it."""
    exchanged: dict[int, set[int]] = defaultdict(set)
    for share in _by_id(ex.shares):
        for other in share.audience_ids - {share.from_team_id}:
            exchanged[share.from_team_id].add(other)
            exchanged[other].add(share.from_team_id)
    out: dict[int, _Component] = {}
    for team in _by_id(ex.teams):
        neighbours = {t.id for t in dependents_of(team, ex.teams) + upstreams_of(team, ex.teams)}
        if not neighbours:
            continue
        hit = neighbours & exchanged[team.id]
        comp = _Component()
        comp.add(
            100.0 * len(hit) / len(neighbours),
            {
                "kind": "shares",
                "id": team.id,
                "text": f"Exchanged intel with {len(hit)} of {len(neighbours)} partner team(s)",
            },
        )
        out[team.id] = comp
    for rfi in _by_id(ex.rfis):
        if rfi.to_team_id is not None:
            out.setdefault(rfi.to_team_id, _Component()).add(*_rfi_item(rfi))
    for body in ex.coordinating:
        if body.report_clocks:
            out.setdefault(body.team_id, _Component()).add(*_warning_item(body))
    return out


def _rfi_item(rfi: RfiIn) -> tuple[float, dict]:
    """An RFI put to a team: answered fast scores like a fast warning, unanswered 0."""
    if rfi.answered_clock is None:
        return 0.0, {"kind": "rfi", "id": rfi.id, "text": "Left a request for information open"}
    seconds = rfi.answered_clock - rfi.asked_clock
    text = f"Answered a request for information after {seconds:.0f} s"
    return warn_speed_value(seconds), {"kind": "rfi", "id": rfi.id, "text": text}


def _warning_item(body: CoordinatingIn) -> tuple[float, dict]:
    """A coordinating body: time from the first report to its community-wide warning,
    scored like a warning; reports never passed on score 0."""
    item = {"kind": "warning", "id": body.team_id}
    reports = len(body.report_clocks)
    seconds = community_warning_delay(body)
    if seconds is None:
        return 0.0, {**item, "text": f"Received {reports} report(s), warned no one"}
    text = f"Warned every team {seconds:.0f} s after the first of {reports} report(s)"
    return warn_speed_value(seconds), {**item, "text": text}


def uninformed_decisions(ex: ExerciseIn) -> list[tuple[DecisionIn, ReleaseIn]]:
    """Decisions taken while an upstream team held a release the decider had not got and
    that its marking let it pass on to the decider (a TLP:RED note only its holder
    could read makes nobody uninformed).

    Informed means: the decider received the release itself, or any warning (a share, a
    consequence inject) reaching it about that release (or sent after it) before the
    decision.
    """
    teams = {t.id: t for t in ex.teams}
    sent = warnings_sent(ex)
    out = []
    for decision in _by_id(ex.decisions):
        team = teams.get(decision.team_id)
        if team is None:
            continue
        for release in _by_id(ex.releases):
            if not _passable_before(release, team, decision, ex.teams):
                continue
            if not any(
                team.id in w.audience_ids
                and _warns(w, release)
                and w.clock_seconds <= decision.clock_seconds
                for w in sent
            ):
                out.append((decision, release))
                break
    return out


def _passable_before(
    release: ReleaseIn, team: TeamIn, decision: DecisionIn, teams: Iterable[TeamIn]
) -> bool:
    """``release`` reached an upstream team of ``team`` that may pass it on to ``team``,
    before ``decision``, and ``team`` itself did not receive it."""
    if release.clock_seconds > decision.clock_seconds or team.id in release.team_ids:
        return False
    return any(
        t.id in release.team_ids and may_pass_on(release.tlp, t, team)
        for t in upstreams_of(team, teams)
    )


def _dependency_awareness(ex: ExerciseIn) -> dict[int, _Component]:
    blind = {d.id: r for d, r in uninformed_decisions(ex)}
    teams = {t.id: t for t in ex.teams}
    out: dict[int, _Component] = defaultdict(_Component)
    for decision in _by_id(ex.decisions):
        team = teams.get(decision.team_id)
        if team is None or not upstreams_of(team, ex.teams):
            continue
        release = blind.get(decision.id)
        item = {"kind": "decision", "id": decision.id}
        if release:
            item["text"] = "Decided without information an upstream team held"
            item["detail"] = f"“{release.title}”"
        else:
            item["text"] = "Decided with what upstream teams knew"
        out[team.id].add(0.0 if release else 100.0, item)
    return out


# ---------------------------------------------------------------- scores


def _latest_decisions(ex: ExerciseIn) -> dict[tuple[int, int], DecisionIn]:
    """One decision per team × prompt; should duplicates appear, the last by (clock, id)."""
    out: dict[tuple[int, int], DecisionIn] = {}
    for decision in sorted(ex.decisions, key=lambda d: (d.clock_seconds, d.id)):
        out[(decision.team_id, decision.prompt_id)] = decision
    return out


def compute_scores(ex: ExerciseIn) -> list[ScoreOut]:
    """A score for every team × criterion, sorted by team id then criterion order."""
    decisions = _latest_decisions(ex)
    effects = _effects(ex, decisions)
    observations = _observations(ex)
    timeliness = _timeliness(ex, decisions)
    behaviour = {
        "info_sharing": _info_sharing(ex, warn_opportunities(ex)),
        "coordination": _coordination(ex),
        "dependency_awareness": _dependency_awareness(ex),
    }
    out = []
    for team in _by_id(ex.teams):
        for criterion in ex.criteria:
            parts: dict[str, tuple[float, list[dict]]] = {}
            if (team.id, criterion.key) in effects:
                (chosen, best, worst), ev = effects[(team.id, criterion.key)]
                parts["effects"] = (_effects_value(chosen, best, worst), ev)
            for name, source in (("observations", observations), ("timeliness", timeliness)):
                comp = source.get((team.id, criterion.key))
                if comp and comp.values:
                    parts[name] = (fmean(comp.values), comp.evidence)
            metric = behaviour_of(criterion)
            comp = behaviour[metric].get(team.id) if metric else None
            if comp and comp.values:
                parts["behaviour"] = (fmean(comp.values), comp.evidence)
            out.append(_blend(team, criterion, parts))
    return out


def _blend(team: TeamIn, criterion: CriterionIn, parts: dict) -> ScoreOut:
    weights = COLLABORATION_WEIGHTS if criterion.group == COLLABORATION_GROUP else WEIGHTS
    used = {name: weights.get(name, 0.0) for name in parts if weights.get(name, 0.0) > 0}
    if not used:
        return ScoreOut(team.id, criterion.key, None, {}, ())
    total = math.fsum(used.values())
    value = math.fsum(parts[name][0] * w for name, w in sorted(used.items())) / total
    evidence = tuple(
        {**item, "component": name} for name in sorted(used) for item in parts[name][1]
    )
    components = {name: round(parts[name][0], 1) for name in sorted(used)}
    count = evidence_count(evidence)
    return ScoreOut(
        team.id,
        criterion.key,
        round(value, 1),
        components,
        evidence,
        count,
        confidence_of(count, frozenset(components)),
    )


def evidence_count(evidence: Iterable[Mapping]) -> int:
    """Independent items behind a score: a decision counts once, whether it feeds the
    effects, the timeliness or the dependency-awareness component."""
    kinds = {"timing": "decision"}
    return len({(kinds.get(i["kind"], i["kind"]), i["id"]) for i in evidence})


def confidence_of(count: int, components: frozenset[str]) -> str:
    if count <= 1 or components <= {"timeliness"}:
        return LOW
    if count >= HIGH_CONFIDENCE_ITEMS and len(components) >= 2:
        return HIGH
    return MEDIUM


# ---------------------------------------------------------------- gaps


def compute_gaps(ex: ExerciseIn, scores: Iterable[ScoreOut]) -> list[GapOut]:
    """Team, systemic and cascade gaps, most severe first (ties: kind, criterion, team)."""
    scores = list(scores)
    table = {(s.team_id, s.criterion_key): s.value for s in scores}
    confidence = {(s.team_id, s.criterion_key): s.confidence for s in scores}
    gaps = (
        _team_gaps(ex, table, confidence)
        + _systemic_gaps(ex, table, confidence)
        + _cascade_gaps(ex, table)
    )
    order = {"systemic": 0, "cascade": 1, "team": 2}
    return sorted(
        gaps,
        key=lambda g: (
            not g.headline,
            -g.severity,
            order[g.kind],
            g.criterion_key,
            g.team_id or 0,
            g.summary,
        ),
    )


def _team_gaps(ex: ExerciseIn, table: Mapping, confidence: Mapping) -> list[GapOut]:
    out = []
    for team in _by_id(ex.teams):
        for criterion in ex.criteria:
            value = table.get((team.id, criterion.key))
            if value is None or value >= criterion.threshold:
                continue
            out.append(
                GapOut(
                    "team",
                    criterion.key,
                    team.id,
                    round(criterion.threshold - value, 1),
                    f"{team.label} scored {value:g} on {criterion.title} "
                    f"(threshold {criterion.threshold:g}).",
                    {"score": value, "threshold": criterion.threshold},
                    confidence[(team.id, criterion.key)],
                )
            )
    return out


def _weakest(confidences: Iterable[str]) -> str:
    ranks = (LOW, MEDIUM, HIGH)
    return min(confidences, key=ranks.index)


def _names(names: list[str], limit: int = 8) -> str:
    """A readable list: the first ``limit`` names, then how many more."""
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def _systemic_gaps(ex: ExerciseIn, table: Mapping, confidence: Mapping) -> list[GapOut]:
    """≥ half of the scored teams (at least two), or every scored team of a sector with
    at least two teams, below threshold on the same criterion."""
    out = []
    for criterion in ex.criteria:
        scored = [t for t in _by_id(ex.teams) if table.get((t.id, criterion.key)) is not None]
        below = [t for t in scored if table[(t.id, criterion.key)] < criterion.threshold]
        if len(below) < 2:
            continue
        sectors = sorted(
            sector
            for sector in {t.sector for t in scored}
            if len(members := [t for t in scored if t.sector == sector]) >= 2
            and all(t in below for t in members)
        )
        if 2 * len(below) < len(scored) and not sectors:
            continue
        shortfall = fmean(criterion.threshold - table[(t.id, criterion.key)] for t in below)
        names = _names([t.organization for t in below])
        reason = (
            f"{len(below)} of {len(scored)} teams"
            if 2 * len(below) >= len(scored)
            else "every team of the " + ", ".join(sectors) + " sector"
        )
        out.append(
            GapOut(
                "systemic",
                criterion.key,
                None,
                round(shortfall, 1),
                f"{reason} fell below {criterion.threshold:g} on {criterion.title}: {names}.",
                {
                    "team_ids": [t.id for t in below],
                    "scores": {str(t.id): table[(t.id, criterion.key)] for t in below},
                    "sectors": sectors,
                    "scored_teams": len(scored),
                    "threshold": criterion.threshold,
                },
                # As weak as the weakest evidence of a team below: a pattern of single
                # small effects is listed, never headlined.
                _weakest(confidence[(t.id, criterion.key)] for t in below),
            )
        )
    return out


@dataclass(frozen=True)
class CascadeChain:
    decision: DecisionIn
    team: TeamIn
    prompt: PromptIn
    option: OptionIn
    releases: tuple[ReleaseIn, ...]
    dependents: tuple[TeamIn, ...]
    criteria: tuple[str, ...]  # criteria the option hurt, largest regret first
    regrets: Mapping[str, float] = field(default_factory=dict)

    @property
    def severity(self) -> float:
        return min(100.0, self.regrets[self.criteria[0]])


def best_play_scores(
    criteria: Sequence[CriterionIn], team: TeamIn, prompts: Sequence[PromptIn]
) -> list[ScoreOut]:
    """What a perfect team in ``team``'s seat scores, by this method: at every prompt put
    to it, the option with the best total effect (the validation's ideal team; ties: the
    lowest id), decided at a quarter of the deadline, and rated P by an evaluator on every
    criterion a prompt exercised. A criterion whose threshold even this play misses is
    one the scenario's options cannot credit (``scoring.perfect_play`` flags it to the
    author)."""
    decisions, observed = [], set()
    for number, prompt in enumerate(_by_id(prompts), start=1):
        if not prompt.options:
            continue  # free text: only an evaluator's rating scores it
        best = max(_by_id(prompt.options), key=lambda o: math.fsum(o.effects.values()))
        latency = (prompt.deadline_seconds or 0) / 4
        decisions.append(DecisionIn(number, team.id, prompt.id, best.id, latency, latency))
        observed |= _exercised(prompt) | set(prompt.criteria)
    keys = {c.key for c in criteria}
    observations = tuple(
        ObservationIn(number, team.id, key, 1, "P", 0.0)
        for number, key in enumerate(sorted(observed & keys), start=1)
    )
    asked = tuple(
        PromptIn(p.id, p.key, p.question, p.options, p.criteria, p.deadline_seconds, None)
        for p in prompts
    )
    play = ExerciseIn(tuple(criteria), (team,), asked, tuple(decisions), observations)
    return compute_scores(play)


def _exercised(prompt: PromptIn) -> set[str]:
    """Criteria on which the prompt's options differ materially (missing effects are 0)."""
    keys = {k for o in prompt.options for k in o.effects}
    return {
        k
        for k in keys
        if max(o.effects.get(k, 0.0) for o in prompt.options)
        - min(o.effects.get(k, 0.0) for o in prompt.options)
        >= MATERIAL_REGRET
    }


@dataclass(frozen=True)
class CascadeLink:
    """What one team's decisions released to another team: the consequence injects of
    the options it chose (``ReleaseIn.cause_team_id``), as (option label, inject title)
    pairs in release order. ``dependent``: the target depends on the source's role."""

    source: TeamIn
    target: TeamIn
    items: tuple[tuple[str, str], ...]
    dependent: bool


def cascade_map(ex: ExerciseIn) -> list[CascadeLink]:
    """Every source → target pair where a team's decision released a consequence inject
    to another team, good or bad — the map of what cascaded (``cascade_chains`` keeps
    only the decisions worse than an alternative). Ordered by source, then target id."""
    teams = {t.id: t for t in ex.teams}
    chosen = _chosen_options(ex)
    pairs: dict[tuple[int, int], list[tuple[str, str]]] = defaultdict(list)
    for release in sorted(ex.releases, key=lambda r: (r.clock_seconds, r.id)):
        source = teams.get(release.cause_team_id) if release.cause_team_id else None
        if source is None:
            continue
        option = next(
            (o for o in chosen.get(source.id, ()) if release.inject_id in o.consequence_inject_ids),
            None,
        )
        for target_id in sorted(release.team_ids - {source.id}):
            if target_id in teams:
                label = option.label if option else ""
                pairs[(source.id, target_id)].append((label, release.title))
    return [
        CascadeLink(
            teams[s],
            teams[t],
            tuple(items),
            teams[s].role_key in teams[t].depends_on,
        )
        for (s, t), items in sorted(pairs.items())
    ]


def _chosen_options(ex: ExerciseIn) -> dict[int, list[OptionIn]]:
    """Per team, the options its decisions chose, by decision id."""
    options = {o.id: o for p in ex.prompts for o in p.options}
    out: dict[int, list[OptionIn]] = defaultdict(list)
    for decision in _by_id(ex.decisions):
        if decision.option_id in options:
            out[decision.team_id].append(options[decision.option_id])
    return out


def regrets_of(prompt: PromptIn, option: OptionIn) -> dict[str, float]:
    """Per criterion the option hurt (a negative effect): how far it falls short of the
    prompt's best option on that criterion. Only material regrets count: a trade-off —
    best on most criteria, a little worse on one — is not a finding."""
    out = {}
    for key, chosen in option.effects.items():
        best = max(o.effects.get(key, 0.0) for o in prompt.options)
        if chosen < 0 and best - chosen >= MATERIAL_REGRET:
            out[key] = best - chosen
    return out


def cascade_chains(ex: ExerciseIn) -> list[CascadeChain]:
    """Upstream decisions worse than an available option (a material regret on a
    criterion the option hurt) whose consequence injects reached teams that depend on
    the decider."""
    teams = {t.id: t for t in ex.teams}
    prompts = {p.id: p for p in ex.prompts}
    out = []
    for decision in _by_id(ex.decisions):
        prompt, team = prompts.get(decision.prompt_id), teams.get(decision.team_id)
        option = (
            next((o for o in prompt.options if o.id == decision.option_id), None)
            if prompt
            else None
        )
        if option is None or team is None:
            continue
        regrets = regrets_of(prompt, option)
        if not regrets or not option.consequence_inject_ids:
            continue
        dependent_ids = {t.id for t in dependents_of(team, ex.teams)}
        releases = tuple(
            r
            for r in _by_id(ex.releases)
            if r.inject_id in option.consequence_inject_ids
            and r.cause_team_id in (None, team.id)
            and r.team_ids & dependent_ids
            and r.clock_seconds >= decision.clock_seconds
        )
        if not releases:
            continue
        hit = set().union(*(r.team_ids & dependent_ids for r in releases))
        dependents = tuple(teams[i] for i in sorted(hit))
        out.append(
            CascadeChain(
                decision,
                team,
                prompt,
                option,
                releases,
                dependents,
                tuple(sorted(regrets, key=lambda k: (-regrets[k], k))),
                regrets,
            )
        )
    return out


def _cascade_gaps(ex: ExerciseIn, table: Mapping) -> list[GapOut]:
    criteria = {c.key: c for c in ex.criteria}
    out = []
    for chain in cascade_chains(ex):
        keys = [k for k in chain.criteria if k in criteria]
        if not keys:
            continue
        injects = ", ".join(sorted({r.title for r in chain.releases}))
        deps = _names([t.organization for t in chain.dependents])
        out.append(
            GapOut(
                "cascade",
                keys[0],
                chain.team.id,
                round(min(100.0, chain.regrets[keys[0]]), 1),
                f"{chain.team.label} chose “{chain.option.label}”, "
                f"{chain.regrets[keys[0]]:g} points "
                f"short of the best option on {criteria[keys[0]].title}; its consequence "
                f"({injects}) reached {deps}.",
                {
                    "decision_id": chain.decision.id,
                    "prompt": chain.prompt.question,
                    "option": chain.option.label,
                    "effects": {k: chain.option.effects[k] for k in keys},
                    "regrets": {k: chain.regrets[k] for k in keys},
                    "release_ids": [r.id for r in chain.releases],
                    "injects": sorted({r.title for r in chain.releases}),
                    "dependents": [
                        {
                            "team_id": t.id,
                            "team": t.label,
                            "scores": {k: table.get((t.id, k)) for k in keys},
                        }
                        for t in chain.dependents
                    ],
                },
                # The decision and each release that carried it are the evidence.
                confidence_of(1 + len(chain.releases), frozenset({"effects", "releases"})),
            )
        )
    return out


# ---------------------------------------------------------------- collaboration metrics


def collaboration_metrics(ex: ExerciseIn) -> dict:
    """Exercise-wide and per-team share behaviour: sent vs. withheld, time to warn,
    decisions taken without information another team had."""
    opps = warn_opportunities(ex)
    blind = uninformed_decisions(ex)
    delays = sorted(s for o in opps for s in o.warned.values())
    per_team = {}
    for team in _by_id(ex.teams):
        mine = [o for o in opps if o.team_id == team.id]
        own_delays = sorted(s for o in mine for s in o.warned.values())
        per_team[team.id] = {
            "shares_sent": sum(1 for s in ex.shares if s.from_team_id == team.id),
            "shares_received": sum(
                1 for s in ex.shares if team.id in s.audience_ids and s.from_team_id != team.id
            ),
            "warn_opportunities": len(mine),
            "withheld": sum(1 for o in mine if not o.warned),
            "dependents_to_warn": sum(len(o.needed) for o in mine),
            "dependents_warned": sum(len(o.warned) for o in mine),
            "mean_seconds_to_warn": round(fmean(own_delays), 1) if own_delays else None,
            "uninformed_decisions": sum(1 for d, _ in blind if d.team_id == team.id),
        }
    return {
        "shares_sent": len(ex.shares),
        "warn_opportunities": len(opps),
        "withheld": sum(1 for o in opps if not o.warned),
        # The same sums as the per-team rows, so the summary and the table agree.
        "dependents_to_warn": sum(len(o.needed) for o in opps),
        "dependents_warned": sum(len(o.warned) for o in opps),
        "mean_seconds_to_warn": round(fmean(delays), 1) if delays else None,
        "uninformed_decisions": len(blind),
        "uninformed": [
            {"decision_id": d.id, "team_id": d.team_id, "release_id": r.id, "release": r.title}
            for d, r in blind
        ],
        "teams": per_team,
    }


# ---------------------------------------------------------------- headlines


@dataclass(frozen=True)
class CriterionSummary:
    """The mean of all teams on a criterion, and whether it may headline the summary."""

    key: str
    mean: float | None
    scored: int
    low_confidence: int  # scores backed by one item or by timeliness alone
    # Scored by at least two teams (or by every team of a one-team exercise).
    across_teams: bool = True

    @property
    def headline(self) -> bool:
        return self.mean is not None and self.low_confidence == 0 and self.across_teams


def summarize_criteria(
    keys: Iterable[str], scores: Iterable[tuple[str, float | None, str]], *, teams: int
) -> list[CriterionSummary]:
    """Per criterion key (in the given order), from (criterion key, value, confidence)
    rows of ``teams`` teams: the one mean that the tables, charts, summary and exports
    all show."""
    values: dict[str, list[float]] = defaultdict(list)
    low: dict[str, int] = defaultdict(int)
    for key, value, confidence in scores:
        if value is None:
            continue
        values[key].append(value)
        low[key] += confidence == LOW
    return [
        CriterionSummary(
            key,
            round(fmean(values[key]), 1) if values[key] else None,
            len(values[key]),
            low[key],
            len(values[key]) >= min(2, teams),
        )
        for key in keys
    ]


def strongest_and_weakest(
    summaries: list[CriterionSummary],
) -> tuple[CriterionSummary | None, CriterionSummary | None]:
    """The highest and lowest mean among the criteria that several teams were scored on,
    each with enough evidence; ties go to the earlier criterion."""
    eligible = [s for s in summaries if s.headline]
    if not eligible:
        return None, None
    order = {s.key: i for i, s in enumerate(summaries)}
    best = max(eligible, key=lambda s: (s.mean, -order[s.key]))
    worst = min(eligible, key=lambda s: (s.mean, order[s.key]))
    return best, worst
