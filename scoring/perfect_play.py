"""The editor's "what a perfect team scores" check (registered into scenarios' validation
panel by ``ScoringConfig.ready``; scenarios does not import scoring).

For every role of a draft, the prompts put to it (audience all, its role, its sector)
are played by a perfect team (``method.best_play_scores``); every criterion on which that
team still scores below the rubric's threshold is flagged: the scenario's options, as
written, cannot credit even the best play there.
"""

from __future__ import annotations

from scenarios.models import Audience, Prompt, Role, Scenario
from scoring import method


def perfect_team_warnings(scenario: Scenario) -> list[str]:
    """One sentence per role × criterion a perfect team cannot reach; none without a
    rubric."""
    if scenario.rubric is None:
        return []
    criteria = tuple(
        method.CriterionIn(c.key, c.title, c.group, float(c.threshold), c.weight)
        for c in scenario.rubric.criteria.order_by("order", "key")
    )
    titles = {c.key: c for c in criteria}
    prompts = list(
        Prompt.objects.filter(scenario=scenario).prefetch_related("options", "audience_roles")
    )
    out = []
    for role in scenario.roles.all():
        team = method.TeamIn(role.id, role.label, role.key, role.sector, role.id, role.label)
        played = [_prompt_in(p) for p in prompts if _reaches(p, role)]
        for score in method.best_play_scores(criteria, team, played):
            criterion = titles[score.criterion_key]
            if score.value is not None and score.value < criterion.threshold:
                out.append(
                    f"A perfect {role.label} team scores {score.value:g} on {criterion.title} "
                    f"(threshold {criterion.threshold:g}): the options best overall on its "
                    "prompts are weak on it, so no play can reach it."
                )
    return out


def _reaches(prompt: Prompt, role: Role) -> bool:
    if prompt.audience == Audience.ALL:
        return True
    if prompt.audience == Audience.ROLES:
        return role in prompt.audience_roles.all()
    if prompt.audience == Audience.SECTORS:
        return role.sector in prompt.audience_sectors
    return False


def _prompt_in(prompt: Prompt) -> method.PromptIn:
    """The prompt as the method reads it; consequences play no part in a one-team play."""
    options = tuple(
        method.OptionIn(o.id, o.key, o.label, {k: float(v) for k, v in (o.effects or {}).items()})
        for o in prompt.options.all()
    )
    return method.PromptIn(
        prompt.id,
        prompt.key,
        prompt.question,
        options,
        tuple(prompt.criteria or ()),
        float(prompt.deadline_seconds) if prompt.deadline_seconds else None,
    )
