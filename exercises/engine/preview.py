"""Branch preview for the control console: which transition the teams' current decisions
would take and why, and which single choice of an undecided team would change that.

Read-only; the same inputs (``decision_inputs``) and the same pure rules
(``rules.applicable_transition``) as ``exercise_advance``, so the preview is the branch
the engine then takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from exercises import queries
from exercises.engine.rules import applicable_transition, what_ifs
from exercises.models import Decision, Exercise, PromptWindow
from scenarios.models import Option, Prompt, Stage, Transition

MODE_WORDS = {
    Transition.Mode.ANY: "at least one team",
    Transition.Mode.ALL: "every team asked",
    Transition.Mode.NONE: "no team",
    Transition.Mode.MAJORITY: "most teams asked",
}


@dataclass(frozen=True)
class Alternative:
    """A sentence-ready what-if: ``team`` choosing ``option`` would lead to ``stage``."""

    team: str
    option: str
    question: str
    stage: Stage | None


@dataclass(frozen=True)
class BranchPreview:
    transition: Transition | None
    reason: str
    final: bool = False
    alternatives: list[Alternative] = field(default_factory=list)

    @property
    def stage(self) -> Stage | None:
        return self.transition.to_stage if self.transition else None


def decision_inputs(ex: Exercise) -> tuple[dict[int, dict[str, str]], dict[str, frozenset[int]]]:
    """Team id → {prompt key: chosen option key}, and prompt key → the team ids it was put to."""
    by_team: dict[int, dict[str, str]] = {}
    for decision in Decision.objects.filter(exercise=ex).select_related("prompt", "option"):
        answer = decision.option.key if decision.option else ""
        by_team.setdefault(decision.team_id, {})[decision.prompt.key] = answer
    windows = PromptWindow.objects.filter(exercise=ex).select_related("prompt")
    return by_team, {w.prompt.key: frozenset(w.team_ids) for w in windows}


def branch_preview(*, exercise: Exercise) -> BranchPreview | None:
    """Where advancing would lead now, why, and what undecided teams could change; None
    before the start."""
    if exercise.current_stage_id is None:
        return None
    transitions = list(
        Transition.objects.filter(from_stage=exercise.current_stage_id).select_related("to_stage")
    )
    if not transitions:
        return BranchPreview(None, "This is a final stage: advancing ends the exercise.", True)
    by_team, put_to = decision_inputs(exercise)
    teams = queries.team_infos(exercise)
    current = applicable_transition(transitions, by_team, teams, put_to=put_to)
    prompts = {p.key: p for p in Prompt.objects.filter(scenario=exercise.scenario_id)}
    options = _options(exercise)
    changes = what_ifs(
        transitions,
        by_team,
        teams,
        options={key: list(labels) for key, labels in options.items()},
        put_to=put_to,
    )
    names = {t.id: str(t.organization) for t in exercise.teams.select_related("organization")}
    return BranchPreview(
        current,
        _reason(current, prompts, options),
        alternatives=[
            Alternative(
                names[c.team_id],
                options[c.prompt_key][c.option_key],
                prompts[c.prompt_key].question,
                c.transition.to_stage if c.transition else None,
            )
            for c in changes
        ],
    )


def _options(exercise: Exercise) -> dict[str, dict[str, str]]:
    """Prompt key → {option key: label}, in the options' order."""
    result: dict[str, dict[str, str]] = {}
    rows = Option.objects.filter(prompt__scenario=exercise.scenario_id).select_related("prompt")
    for option in rows.order_by("prompt__order", "order"):
        result.setdefault(option.prompt.key, {})[option.key] = option.label
    return result


def _reason(
    transition: Transition | None,
    prompts: Mapping[str, Prompt],
    options: Mapping[str, Mapping[str, str]],
) -> str:
    """Why ``transition`` applies, as a sentence for the facilitator."""
    if transition is None:
        return "No condition holds and the stage has no default: choose a stage to advance."
    if transition.is_default:
        return "No branch condition holds yet: the default branch."
    condition = transition.condition
    prompt = prompts.get(condition.get("prompt", ""))
    labels = options.get(condition.get("prompt", ""), {})
    chosen = " or ".join(f"“{labels.get(k, k)}”" for k in condition.get("options") or [])
    mode = condition.get("mode")
    who = MODE_WORDS.get(mode, f"at least {condition.get('count') or 1} teams")
    roles = condition.get("roles") or []
    among = f" (among the {', '.join(roles)} roles)" if roles else ""
    what = f"chose {chosen}" if chosen else "answered"
    question = f" on “{prompt.question}”" if prompt else ""
    return f"Because {who}{among} {what}{question}."
