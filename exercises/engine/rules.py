"""The engine's pure rules: which transition applies, whom a consequence reaches, what is
due when. No database access: the other engine modules read the rows and call these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from exercises.visibility import TeamInfo
from scenarios.models import Consequence, Stage, Transition


def resolve_transition(
    transitions: Sequence[Transition],
    decisions_by_team: Mapping[int, Mapping[str, str]],
    teams: Sequence[TeamInfo],
    *,
    put_to: Mapping[str, frozenset[int]] | None = None,
) -> Stage | None:
    """The target of the first transition (non-defaults in order) whose condition holds,
    else the default's; None when neither.

    ``decisions_by_team``: team id → {prompt key: chosen option key}. ``put_to``:
    prompt key → team ids the prompt was put to (default: every team). A condition's
    ``roles`` narrows the teams counted; ``options`` empty means "any answer".
    """
    transition = applicable_transition(transitions, decisions_by_team, teams, put_to=put_to)
    return transition.to_stage if transition is not None else None


def applicable_transition(
    transitions: Sequence[Transition],
    decisions_by_team: Mapping[int, Mapping[str, str]],
    teams: Sequence[TeamInfo],
    *,
    put_to: Mapping[str, frozenset[int]] | None = None,
) -> Transition | None:
    """The transition ``resolve_transition`` follows (see there); None when none applies."""
    ordered = sorted(transitions, key=lambda t: (t.is_default, t.order, t.pk or 0))
    for transition in ordered:
        if transition.is_default:
            return transition
        if condition_holds(transition.condition, decisions_by_team, teams, put_to=put_to):
            return transition
    return None


@dataclass(frozen=True)
class WhatIf:
    """If team ``team_id``, undecided on ``prompt_key``, chose ``option_key``, the decisions
    would follow ``transition`` instead (None: no transition would apply)."""

    team_id: int
    prompt_key: str
    option_key: str
    transition: Transition | None


def what_ifs(
    transitions: Sequence[Transition],
    decisions_by_team: Mapping[int, Mapping[str, str]],
    teams: Sequence[TeamInfo],
    *,
    options: Mapping[str, Sequence[str]],
    put_to: Mapping[str, frozenset[int]] | None = None,
) -> list[WhatIf]:
    """Each single choice an undecided team could still make that would change the branch
    (pure). Only prompts a condition reads count; a team is undecided on a prompt put to
    it (or not opened yet) that it has not answered. ``options``: prompt key → option keys."""
    current = applicable_transition(transitions, decisions_by_team, teams, put_to=put_to)
    read = dict.fromkeys(t.condition.get("prompt", "") for t in transitions if not t.is_default)
    changes = []
    for prompt_key in (key for key in read if key):
        asked = (put_to or {}).get(prompt_key)
        for team in teams:
            answered = decisions_by_team.get(team.id, {})
            if prompt_key in answered or (asked is not None and team.id not in asked):
                continue
            for option in options.get(prompt_key, ()):
                chosen = {**decisions_by_team, team.id: {**answered, prompt_key: option}}
                then = applicable_transition(transitions, chosen, teams, put_to=put_to)
                if then is not current:
                    changes.append(WhatIf(team.id, prompt_key, option, then))
    return changes


def condition_holds(
    condition: Mapping[str, Any],
    decisions_by_team: Mapping[int, Mapping[str, str]],
    teams: Sequence[TeamInfo],
    *,
    put_to: Mapping[str, frozenset[int]] | None = None,
) -> bool:
    """Whether a transition condition (see ``Transition``) holds for the decisions."""
    prompt_key = condition.get("prompt", "")
    roles = set(condition.get("roles") or [])
    options = set(condition.get("options") or [])
    asked = (put_to or {}).get(prompt_key)
    eligible = [
        team
        for team in teams
        if (not roles or team.role_key in roles) and (asked is None or team.id in asked)
    ]
    chosen = [
        team
        for team in eligible
        if (answer := decisions_by_team.get(team.id, {}).get(prompt_key)) is not None
        and (not options or answer in options)
    ]
    mode = condition.get("mode")
    if mode == Transition.Mode.ANY:
        return len(chosen) >= 1
    if mode == Transition.Mode.ALL:
        return bool(eligible) and len(chosen) == len(eligible)
    if mode == Transition.Mode.NONE:
        return not chosen
    if mode == Transition.Mode.MAJORITY:
        return len(chosen) * 2 > len(eligible)
    if mode == Transition.Mode.AT_LEAST:
        return len(chosen) >= int(condition.get("count") or 1)
    return False


def consequence_targets(
    consequence: Consequence,
    *,
    chooser: TeamInfo,
    teams: Sequence[TeamInfo],
    role_keys: Iterable[str] = (),
) -> list[int]:
    """Team ids a consequence of ``chooser``'s choice reaches (pure)."""
    if consequence.target == Consequence.Target.CHOOSER:
        return [chooser.id]
    if consequence.target == Consequence.Target.ALL:
        return sorted(team.id for team in teams)
    if consequence.target == Consequence.Target.ROLES:
        wanted = set(role_keys)
        return sorted(team.id for team in teams if team.role_key in wanted)
    return sorted(team.id for team in teams if chooser.role_key in team.depends_on)


def inject_key(inject_id: int) -> str:
    """The release key of an inject released to its own audience (once per exercise)."""
    return f"inject:{inject_id}"


def consequence_key(consequence_id: int, team_id: int) -> str:
    """The release key of a consequence of ``team_id``'s choice (once per team)."""
    return f"csq:{consequence_id}:{team_id}"


def consequence_chooser(release_key: str) -> int | None:
    """The choosing team of a consequence release (``consequence_key``), else None."""
    parts = release_key.split(":")
    if len(parts) == 3 and parts[0] == "csq" and parts[2].isdigit():
        return int(parts[2])
    return None


@dataclass(frozen=True)
class Action:
    """Something due at ``due`` (exercise clock): release an inject, open or close a prompt.
    ``team_ids``: a release's targets instead of the inject's audience; ``cascade``: the
    release is a consequence of a team's decision."""

    due: float
    kind: str  # "release" | "open" | "close"
    object_id: int
    release_key: str = ""
    team_ids: tuple[int, ...] | None = None
    cascade: bool = False


@dataclass(frozen=True)
class ExerciseState:
    """What ``due_actions`` needs, read from the database under the exercise lock."""

    running: bool
    stage_started_at_clock: float
    timed_injects: tuple[tuple[int, float], ...] = ()  # (inject id, offset)
    stage_prompts: tuple[tuple[int, float], ...] = ()  # (prompt id, open offset)
    opened_prompt_ids: frozenset[int] = frozenset()
    open_deadlines: tuple[tuple[int, float], ...] = ()  # (prompt id, deadline clock)
    pending_consequences: tuple[Action, ...] = ()
    released_keys: frozenset[str] = field(default_factory=frozenset)
    carried_injects: tuple[tuple[int, float], ...] = ()  # (inject id, due clock)


ACTION_ORDER = {"release": 0, "open": 1, "close": 2}


def _in_order(actions: list[Action]) -> list[Action]:
    return sorted(actions, key=lambda a: (a.due, ACTION_ORDER[a.kind], a.object_id))


def stage_work_left(state: ExerciseState) -> list[Action]:
    """The current stage's scripted work not done yet, in due order (pure): its unreleased
    timed injects and its prompts not opened. Leaving the stage (advance, override) skips
    all of it; delayed consequences are not in it, as they follow the teams' decisions
    whatever the stage."""
    start = state.stage_started_at_clock
    work = [
        Action(start + offset, "release", inject_id, inject_key(inject_id))
        for inject_id, offset in state.timed_injects
        if inject_key(inject_id) not in state.released_keys
    ]
    work += [
        Action(start + offset, "open", prompt_id)
        for prompt_id, offset in state.stage_prompts
        if prompt_id not in state.opened_prompt_ids
    ]
    return _in_order(work)


def carry_over(state: ExerciseState) -> list[tuple[int, float]]:
    """What carrying the stage's skipped work into the next stage keeps (pure): each
    unreleased timed inject with the time it was due. Prompts not opened are not carried:
    they belong to their stage's decisions and branches."""
    return [(a.object_id, a.due) for a in stage_work_left(state) if a.kind == "release"]


def carried_left(state: ExerciseState) -> list[Action]:
    """Injects carried from stages left earlier, not released yet (pure)."""
    return [
        Action(due, "release", inject_id, inject_key(inject_id))
        for inject_id, due in state.carried_injects
        if inject_key(inject_id) not in state.released_keys
    ]


def scheduled(state: ExerciseState) -> list[Action]:
    """Everything the exercise clock will still do, in due order (pure): the stage's timed
    injects and prompt openings, injects carried from earlier stages, open prompts'
    deadlines, delayed consequences."""
    candidates = stage_work_left(state) + carried_left(state)
    candidates += [
        Action(deadline, "close", prompt_id) for prompt_id, deadline in state.open_deadlines
    ]
    candidates += [
        a for a in state.pending_consequences if a.release_key not in state.released_keys
    ]
    return _in_order(candidates)


def due_actions(state: ExerciseState, now_clock: float) -> tuple[list[Action], float | None]:
    """What is due at ``now_clock`` (in order) and when the next thing falls due (pure)."""
    if not state.running:
        return [], None
    candidates = scheduled(state)
    due = [a for a in candidates if a.due <= now_clock + 1e-6]
    later = [a.due for a in candidates if a.due > now_clock + 1e-6]
    return due, (min(later) if later else None)
