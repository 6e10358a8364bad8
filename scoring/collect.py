"""Load an exercise from the database into the scoring method's plain dataclasses.

A fixed number of queries whatever the size of the exercise; the scoring method never sees
an ORM object.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from exercises import visibility
from exercises.engine.rules import consequence_chooser
from exercises.models import (
    Decision,
    Event,
    Exercise,
    InjectRelease,
    Observation,
    PromptWindow,
    Rfi,
    Share,
    ShareRefusal,
    Team,
)
from exercises.visibility import TeamInfo
from scenarios.models import Consequence, Criterion, Prompt
from scoring import method


def load_exercise(exercise: Exercise) -> method.ExerciseIn:
    teams = _teams(exercise)
    team_ids = frozenset(t.id for t in teams)
    windows = {w.prompt_id: w for w in PromptWindow.objects.filter(exercise=exercise)}
    return method.ExerciseIn(
        criteria=_criteria(exercise),
        teams=teams,
        prompts=_prompts(exercise, windows, team_ids),
        decisions=_decisions(exercise, windows),
        observations=tuple(
            method.ObservationIn(
                o.id, o.team_id, o.criterion.key, o.evaluator_id, o.rating, o.clock_seconds, o.note
            )
            for o in Observation.objects.filter(exercise=exercise).select_related("criterion")
        ),
        releases=releases(exercise, team_ids),
        shares=_shares(exercise, teams),
        rfis=tuple(
            method.RfiIn(*row)
            for row in Rfi.objects.filter(exercise=exercise).values_list(
                "pk", "from_team_id", "to_team_id", "asked_clock", "answered_clock"
            )
        ),
        attempts=_attempts(exercise, team_ids),
        coordinating=coordinating_bodies(exercise),
    )


def _attempts(exercise: Exercise, team_ids: frozenset[int]) -> tuple:
    """Each team's shares and relays, and its refused over-share attempts."""
    allowed = Counter(Share.objects.filter(exercise=exercise).values_list("from_team", flat=True))
    refused = Counter(
        ShareRefusal.objects.filter(exercise=exercise).values_list("team_id", flat=True)
    )
    return tuple(
        method.SharingAttemptsIn(tid, allowed[tid], refused[tid])
        for tid in sorted(team_ids)
        if allowed[tid] or refused[tid]
    )


def coordinating_bodies(exercise: Exercise) -> tuple[method.CoordinatingIn, ...]:
    """The exercise's coordinating bodies: when each report of another team (a share or
    relay addressed to it) reached it, and when it sent each community warning."""
    bodies = list(
        Team.objects.filter(exercise=exercise, role__coordinating=True).values_list("id", flat=True)
    )
    addressed = Share.recipients.through.objects.filter(team_id__in=bodies).exclude(
        share__from_team_id__in=bodies
    )
    reports = defaultdict(list)
    for body, clock in addressed.values_list("team_id", "share__clock_seconds"):
        reports[body].append(clock)
    warnings = defaultdict(list)
    summaries = Share.objects.filter(from_team_id__in=bodies, summarizes__isnull=False)
    for body, clock in summaries.distinct().values_list("from_team_id", "clock_seconds"):
        warnings[body].append(clock)
    return tuple(
        method.CoordinatingIn(body, tuple(sorted(reports[body])), tuple(sorted(warnings[body])))
        for body in sorted(bodies)
    )


def criteria_for(exercise: Exercise) -> list[Criterion]:
    rubric_id = exercise.scenario.rubric_id
    return list(Criterion.objects.filter(rubric_id=rubric_id).order_by("order", "key"))


def _criteria(exercise: Exercise) -> tuple[method.CriterionIn, ...]:
    return tuple(
        method.CriterionIn(c.key, c.title, c.group, float(c.threshold), c.weight)
        for c in criteria_for(exercise)
    )


def _teams(exercise: Exercise) -> tuple[method.TeamIn, ...]:
    teams = Team.objects.filter(exercise=exercise).select_related("role", "organization")
    depends: dict[int, set[str]] = defaultdict(set)
    through = Team._meta.get_field("role").related_model.depends_on.through
    for row in through.objects.filter(from_role__scenario_id=exercise.scenario_id).values(
        "from_role_id", "to_role__key"
    ):
        depends[row["from_role_id"]].add(row["to_role__key"])
    return tuple(
        method.TeamIn(
            t.id,
            str(t),
            t.role.key,
            t.role.sector,
            t.organization_id,
            t.organization.name,
            frozenset(depends[t.role_id]),
        )
        for t in teams
    )


def _prompts(exercise: Exercise, windows: dict, team_ids: frozenset[int]) -> tuple:
    consequences: dict[int, set[int]] = defaultdict(set)
    for option_id, inject_id in Consequence.objects.filter(
        option__prompt__scenario_id=exercise.scenario_id
    ).values_list("option_id", "inject_id"):
        consequences[option_id].add(inject_id)
    out = []
    for prompt in Prompt.objects.filter(scenario_id=exercise.scenario_id).prefetch_related(
        "options"
    ):
        window = windows.get(prompt.id)
        asked = None
        if window is not None:
            asked = frozenset(window.team_ids) & team_ids if window.team_ids else team_ids
        options = tuple(
            method.OptionIn(
                o.id,
                o.key,
                o.label,
                {k: float(v) for k, v in (o.effects or {}).items()},
                frozenset(consequences[o.id]),
            )
            for o in prompt.options.all()
        )
        deadline = (
            window.deadline_clock - window.opened_at_clock
            if window and window.deadline_clock
            else None
        )
        out.append(
            method.PromptIn(
                prompt.id,
                prompt.key,
                prompt.question,
                options,
                tuple(prompt.criteria or ()),
                deadline or prompt.deadline_seconds,
                asked,
            )
        )
    return tuple(out)


def _decisions(exercise: Exercise, windows: dict) -> tuple[method.DecisionIn, ...]:
    out = []
    for d in Decision.objects.filter(exercise=exercise):
        window = windows.get(d.prompt_id)
        opened = window.opened_at_clock if window else 0.0
        out.append(
            method.DecisionIn(
                d.id,
                d.team_id,
                d.prompt_id,
                d.option_id,
                d.latency_seconds,
                opened + d.latency_seconds,
                d.text,
            )
        )
    return tuple(out)


def releases(exercise: Exercise, team_ids: frozenset[int]) -> tuple[method.ReleaseIn, ...]:
    """Who among ``team_ids`` received each inject release of ``exercise``, from its
    timeline event's audience (the scoring method and the sharing metrics read this)."""
    out = []
    for r in InjectRelease.objects.filter(exercise=exercise).select_related("inject", "event"):
        visibility = r.event.visibility
        if visibility == Event.Visibility.CONTROL:
            received = frozenset()
        elif visibility == Event.Visibility.SOME:
            received = frozenset(r.event.team_ids or r.team_ids) & team_ids
        else:
            received = team_ids
        cause = consequence_chooser(r.release_key)
        out.append(
            method.ReleaseIn(
                r.id, r.inject_id, r.inject.title, received, r.clock_seconds, cause, r.inject.tlp
            )
        )
    return tuple(out)


def _shares(exercise: Exercise, teams: tuple[method.TeamIn, ...]) -> tuple[method.ShareIn, ...]:
    recipients: dict[int, set[int]] = defaultdict(set)
    for share_id, team_id in Share.recipients.through.objects.filter(
        share__exercise=exercise
    ).values_list("share_id", "team_id"):
        recipients[share_id].add(team_id)
    out = []
    for s in Share.objects.filter(exercise=exercise):
        audience = share_readers(s.tlp, s.from_team_id, recipients[s.id], teams)
        out.append(
            method.ShareIn(
                s.id, s.from_team_id, audience, s.clock_seconds, s.title, s.tlp, s.about_inject_id
            )
        )
    return tuple(out)


def share_readers(
    tlp: str, from_team_id: int, recipient_ids: set[int], teams: tuple[method.TeamIn, ...]
) -> frozenset[int]:
    """Team ids that may read a share, by the live exercise's TLP rules."""
    infos = [TeamInfo(t.id, t.role_key, t.depends_on) for t in teams]
    return visibility.share_readers(
        tlp=tlp, from_team_id=from_team_id, recipient_ids=recipient_ids, teams=infos
    )
