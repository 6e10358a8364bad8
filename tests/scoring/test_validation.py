"""Method validation: scripted plays of every shipped scenario with known right answers.

Each scenario is played three times by the scoring method's own inputs (collect.py's
dataclasses, built from the scenario as loaded from fixtures/): every team ideal (the
best option of every prompt, fast, warning every dependent about everything it may pass
on, rated P), every team negligent (the worst option, late, never sharing, rated U), and
every team mixed (ideal on even prompts, negligent on odd ones, rated S). The method must
order ideal > mixed > negligent on every criterion the play exercised, find no gap for
the ideal play, the expected gaps for the negligent one, and headline only exercised,
well-evidenced criteria.
"""

from __future__ import annotations

from itertools import count

import pytest

from scenarios.formats.fixtures import load_fixtures
from scenarios.models import Consequence, Inject, Prompt, Scenario
from scoring import method

SCENARIOS = ("cloud-ransomware", "payment-flood", "airport-supply-chain")
STAGE_SECONDS = 3600.0
SHARE_DELAY = 0.0  # the ideal team warns as soon as it knows
RATINGS = {"ideal": "P", "negligent": "U", "mixed": "S"}


@pytest.fixture
def shipped(db):
    list(load_fixtures())
    return {key: _scenario_data(key) for key in SCENARIOS}


def _scenario_data(key: str) -> dict:
    """What a play needs from a shipped scenario, read once from the database."""
    scenario = Scenario.objects.filter(key=key).order_by("-version").first()
    roles = list(scenario.roles.prefetch_related("depends_on").order_by("id"))
    teams = tuple(
        method.TeamIn(
            i + 1,
            role.label,
            role.key,
            role.sector,
            100 + i,
            role.label,
            frozenset(r.key for r in role.depends_on.all()),
        )
        for i, role in enumerate(roles)
    )
    criteria = tuple(
        method.CriterionIn(c.key, c.title, c.group, float(c.threshold), c.weight)
        for c in scenario.rubric.criteria.order_by("order", "key")
    )
    stages = list(scenario.stages.order_by("order", "id"))
    return {
        "teams": teams,
        "criteria": criteria,
        "stages": [
            (
                list(
                    stage.injects.exclude(release=Inject.Release.CONSEQUENCE)
                    .prefetch_related("audience_roles")
                    .order_by("order", "id")
                ),
                list(
                    stage.prompts.prefetch_related(
                        "audience_roles", "options__consequences__target_roles"
                    ).order_by("order", "id")
                ),
            )
            for stage in stages
        ],
    }


def _audience(item: Inject | Prompt, teams: tuple[method.TeamIn, ...]) -> frozenset[int]:
    if item.audience == "all":
        return frozenset(t.id for t in teams)
    if item.audience == "roles":
        keys = {r.key for r in item.audience_roles.all()}
        return frozenset(t.id for t in teams if t.role_key in keys)
    if item.audience == "sectors":
        return frozenset(t.id for t in teams if t.sector in item.audience_sectors)
    return frozenset()


def _targets(consequence: Consequence, team: method.TeamIn, teams) -> frozenset[int]:
    if consequence.target == Consequence.Target.DEPENDENTS:
        return frozenset(t.id for t in method.dependents_of(team, teams))
    if consequence.target == Consequence.Target.CHOOSER:
        return frozenset({team.id})
    if consequence.target == Consequence.Target.ROLES:
        keys = {r.key for r in consequence.target_roles.all()}
        return frozenset(t.id for t in teams if t.role_key in keys)
    return frozenset(t.id for t in teams)


def _pick(prompt: Prompt, profile: str, index: int):
    """The ideal option maximises the total of its effects, the negligent one minimises
    it; a mixed team alternates between them prompt by prompt."""
    options = list(prompt.options.all())
    if not options:
        return None
    ideal = profile == "ideal" or (profile == "mixed" and index % 2 == 0)
    total = lambda o: sum((o.effects or {}).values())  # noqa: E731
    return max(options, key=total) if ideal else min(options, key=total)


class Play:
    """One scripted play of a scenario with every team on the same profile."""

    def __init__(self, data: dict, profile: str):
        self.data, self.profile = data, profile
        self.teams = data["teams"]
        self.ids = count(1)
        self.prompts, self.decisions, self.releases, self.shares, self.ratings = [], [], [], [], []
        self.exercised: dict[int, set[str]] = {t.id: set() for t in self.teams}
        self.criteria = {c.key for c in data["criteria"]}

    def run(self) -> method.ExerciseIn:
        for number, (injects, prompts) in enumerate(self.data["stages"]):
            clock = number * STAGE_SECONDS
            for inject in injects:
                self._release(inject, _audience(inject, self.teams), clock, None)
            for index, prompt in enumerate(prompts):
                self._put(prompt, clock, index)
        return method.ExerciseIn(
            criteria=self.data["criteria"],
            teams=self.teams,
            prompts=tuple(self.prompts),
            decisions=tuple(self.decisions),
            observations=tuple(self._observations()),
            releases=tuple(self.releases),
            shares=tuple(self.shares),
        )

    def _release(self, inject: Inject, to: frozenset[int], clock: float, cause: int | None):
        if not to:
            return
        release = method.ReleaseIn(
            next(self.ids), inject.id, inject.title, to, clock, cause, inject.tlp
        )
        self.releases.append(release)
        if self.profile == "negligent":
            return
        for team in (t for t in self.teams if t.id in to):
            needing = [
                d.id
                for d in method.dependents_of(team, self.teams)
                if d.id not in to and method.may_pass_on(inject.tlp, team, d)
            ]
            if needing:
                audience = frozenset({team.id, *needing})
                self.shares.append(
                    method.ShareIn(
                        next(self.ids),
                        team.id,
                        audience,
                        clock + SHARE_DELAY,
                        f"About {inject.title}",
                        inject.tlp,
                        inject.id,
                    )
                )

    def _put(self, prompt: Prompt, clock: float, index: int) -> None:
        asked = _audience(prompt, self.teams)
        options = tuple(
            method.OptionIn(
                o.id,
                o.key,
                o.label,
                {k: float(v) for k, v in (o.effects or {}).items()},
                frozenset(c.inject_id for c in o.consequences.all()),
            )
            for o in prompt.options.all()
        )
        deadline = float(prompt.deadline_seconds or 600)
        self.prompts.append(
            method.PromptIn(
                prompt.id,
                prompt.key,
                prompt.question,
                options,
                tuple(prompt.criteria or ()),
                deadline,
                asked,
            )
        )
        for team in (t for t in self.teams if t.id in asked):
            self._decide(team, prompt, clock, index, deadline)

    def _decide(self, team, prompt: Prompt, clock: float, index: int, deadline: float):
        option = _pick(prompt, self.profile, index)
        fast = self.profile == "ideal" or (self.profile == "mixed" and index % 2 == 0)
        latency = deadline / 4 if fast else 2 * deadline
        self.decisions.append(
            method.DecisionIn(
                next(self.ids),
                team.id,
                prompt.id,
                option.id if option else None,
                latency,
                clock + latency,
                "" if option else "Our lessons.",
            )
        )
        self.exercised[team.id] |= set(prompt.criteria or ())
        for o in prompt.options.all():
            self.exercised[team.id] |= set(o.effects or {})
        for consequence in option.consequences.all() if option else ():
            to = _targets(consequence, team, self.teams)
            self._release(consequence.inject, to - {team.id}, clock + latency, team.id)

    def _observations(self):
        rating = RATINGS[self.profile]
        for team in self.teams:
            for key in sorted(self.exercised[team.id] & self.criteria):
                yield method.ObservationIn(next(self.ids), team.id, key, 1, rating, 0.0)


def _scores(ex: method.ExerciseIn) -> dict[tuple[str, str], method.ScoreOut]:
    roles = {t.id: t.role_key for t in ex.teams}
    return {(roles[s.team_id], s.criterion_key): s for s in method.compute_scores(ex)}


def _plays(data: dict) -> dict[str, method.ExerciseIn]:
    return {profile: Play(data, profile).run() for profile in RATINGS}


@pytest.mark.parametrize("key", SCENARIOS)
def test_it_orders_ideal_over_mixed_over_negligent_on_every_exercised_criterion(shipped, key):
    plays = _plays(shipped[key])
    ideal, mixed, negligent = (_scores(plays[p]) for p in ("ideal", "mixed", "negligent"))
    compared = 0
    for cell, score in ideal.items():
        if score.value is None:
            assert negligent[cell].value is None
            continue
        assert score.value > negligent[cell].value, cell
        assert score.value >= mixed[cell].value >= negligent[cell].value, cell
        compared += 1
    assert compared >= 3 * len(shipped[key]["teams"])


@pytest.mark.parametrize("key", SCENARIOS)
def test_it_finds_no_gap_for_the_ideal_play(shipped, key):
    ex = _plays(shipped[key])["ideal"]
    assert method.compute_gaps(ex, method.compute_scores(ex)) == []
    assert method.collaboration_metrics(ex)["uninformed_decisions"] == 0


@pytest.mark.parametrize("key", SCENARIOS)
def test_it_finds_the_negligent_plays_gaps(shipped, key):
    ex = _plays(shipped[key])["negligent"]
    scores = method.compute_scores(ex)
    gaps = method.compute_gaps(ex, scores)
    team_gaps = {(g.team_id, g.criterion_key) for g in gaps if g.kind == "team"}
    scored = {(s.team_id, s.criterion_key) for s in scores if s.value is not None}
    assert team_gaps == scored  # every exercised criterion of every team
    systemic = {g.criterion_key for g in gaps if g.kind == "systemic"}
    shared = {k for _, k in scored if sum(1 for _, k2 in scored if k2 == k) >= 2}
    assert systemic == shared
    assert method.collaboration_metrics(ex)["withheld"] > 0


def test_it_finds_the_negligent_providers_cascade_in_the_ransomware_scenario(shipped):
    """The negligent provider investigates first (no consequence) and pays the ransom:
    the leak it triggers reaches every customer, 40 points short of the best option."""
    ex = _plays(shipped["cloud-ransomware"])["negligent"]
    gaps = method.compute_gaps(ex, method.compute_scores(ex))
    cascades = [g for g in gaps if g.kind == "cascade"]
    cloud = next(t.id for t in ex.teams if t.role_key == "cloud")
    assert [(g.team_id, g.criterion_key, g.severity) for g in cascades] == [(cloud, "gv-rm", 40.0)]
    assert cascades[0].headline
    ideal = _plays(shipped["cloud-ransomware"])["ideal"]
    assert method.cascade_chains(ideal) == []


def test_the_airport_scenarios_aviation_isac_is_scored_on_warning_the_sector(shipped):
    """The coordinating body of airport-supply-chain is put one choice of its own (warn the
    sector now, or wait): the ideal ISAC passes info-sharing and coordination, the
    negligent one fails both."""
    plays = _plays(shipped["airport-supply-chain"])
    ideal, negligent = _scores(plays["ideal"]), _scores(plays["negligent"])
    for criterion in ("info-sharing", "coordination"):
        assert ideal[("isac", criterion)].value >= 60 > negligent[("isac", criterion)].value


@pytest.mark.parametrize("key", SCENARIOS)
@pytest.mark.parametrize("profile", ["ideal", "negligent"])
def test_it_headlines_only_exercised_well_evidenced_criteria(shipped, key, profile):
    play = Play(shipped[key], profile)
    ex = play.run()
    scores = method.compute_scores(ex)
    summaries = method.summarize_criteria(
        [c.key for c in ex.criteria],
        ((s.criterion_key, s.value, s.confidence) for s in scores),
        teams=len(ex.teams),
    )
    best, worst = method.strongest_and_weakest(summaries)
    exercised = set().union(*play.exercised.values())
    assert best is not None
    assert worst is not None
    for line in (best, worst):
        assert line.key in exercised
        assert all(
            s.confidence != method.LOW
            for s in scores
            if s.criterion_key == line.key and s.value is not None
        )
