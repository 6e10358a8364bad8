"""Demo exercises, so a newcomer can press Start in a lobby or open a finished report.

``seed_demo_exercise`` leaves one exercise in the lobby; ``seed_demo_played_exercise``
plays a second one from start to end through the engine, on a simulated clock, following
the script in ``fixtures/demo/`` (``demo.script``); its after-action report is computed
when it ends, as for any exercise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.utils.text import slugify

from demo.people import DEMO_ORGANIZATIONS, DemoPeople
from demo.script import (
    Decide,
    Open,
    Rate,
    Release,
    Script,
    Step,
    Timed,
    Warn,
    load_script,
    script_path,
)
from exercises import clock, engine
from exercises.models import Exercise, Participant, Team
from scenarios.models import Criterion, Scenario
from scoring.models import ImprovementItem
from scoring.services import improvement_update, report_ensure_fresh

DEMO_SCENARIO_KEY = "cloud-ransomware"
DEMO_EXERCISE_NAME = "Demo: ransomware at the shared cloud provider"
STAFF_SEATS = {
    "evaluator": Participant.Kind.EVALUATOR,
    "observer": Participant.Kind.OBSERVER,
    "coordinator": Participant.Kind.COORDINATOR,
}


class DemoError(Exception):
    pass


@transaction.atomic
def seed_demo_exercise(people: DemoPeople) -> Exercise:
    """The demo exercise in the lobby: one team per demo organization, every player seated,
    the demo evaluator, observer and coordinator added. Safe to run repeatedly: an
    existing demo exercise still in the lobby is returned as it is.

    Needs the shipped scenarios (``manage.py load_fixtures``) and ``seed_demo_people``.
    """
    facilitator = people.staff["facilitator"]
    existing = Exercise.objects.filter(
        name=DEMO_EXERCISE_NAME, created_by=facilitator, status=Exercise.Status.LOBBY
    ).first()
    if existing is not None:
        return existing
    exercise = engine.exercise_create(
        scenario=_demo_scenario(), name=DEMO_EXERCISE_NAME, created_by=facilitator
    )
    _seat_everyone(exercise, people)
    return exercise


def _demo_scenario(key: str = DEMO_SCENARIO_KEY) -> Scenario:
    scenario = (
        Scenario.objects.filter(key=key, status=Scenario.Status.PUBLISHED)
        .order_by("-version")
        .first()
    )
    if scenario is None:
        raise DemoError(f"Scenario {key!r} is not loaded: run load_fixtures first.")
    return scenario


def _seat_everyone(exercise: Exercise, people: DemoPeople) -> None:
    """One team per demo organization with its players, plus the demo staff."""
    facilitator = people.staff["facilitator"]
    for role in exercise.scenario.roles.all():
        organization = people.organizations.get(role.key)
        if organization is None:
            continue  # a role without a demo organization stays empty
        team = engine.team_add(
            exercise=exercise, role=role, organization=organization, actor=facilitator
        )
        for player in people.players.get(role.key, []):
            engine.team_join(join_code=team.join_code, user=player)
    for staff_key, kind in STAFF_SEATS.items():
        engine.participant_add(
            exercise=exercise, user=people.staff[staff_key], kind=kind, actor=facilitator
        )


# ---------------------------------------------------------------- the played demo exercise

PLAYED_EXERCISE_NAME = "Demo (completed): ransomware at the shared cloud provider"


def seed_demo_played_exercise(people: DemoPeople) -> Exercise:
    """A second demo exercise, played from start to end through the engine on a simulated
    clock yesterday morning, following the script in ``fixtures/demo/``, with its
    after-action report computed: so a newcomer sees a report with scores, gaps and an
    improvement plan at once.

    Safe to run repeatedly: the played demo exercise is returned when it exists (its
    report recomputed only when stale). Needs ``load_fixtures`` and ``seed_demo_people``;
    raises ``demo.script.ScriptError`` on a bad script before playing anything.
    """
    yesterday = clock.now() - timedelta(days=1)
    return _seed_played(
        people, name=PLAYED_EXERCISE_NAME, day=yesterday, steps=lambda script: script
    )


EARLIER_EXERCISE_NAME = "Demo (last quarter): ransomware at the shared cloud provider"
EARLIER_DAYS = 91  # before the completed demo: a quarter, so its plan fell due in between
ITEM_DUE_DAYS = 45  # after the earlier run: when its collaboration items were completed
# What the demo organizations did about the earlier run's collaboration findings.
CORRECTIVE_ACTIONS = {
    "info-sharing": "Named warning contacts and agreed TLP defaults with every dependent",
    "coordination": "Joined the sector crisis cell's standing call rota",
    "dependency-awareness": "Mapped the services we depend on, with a fallback for each",
    "graceful-degradation": "Rehearsed manual operation of the critical services",
    "public-communication": "Agreed joint holding statements with our providers",
}


def seed_demo_earlier_exercise(people: DemoPeople) -> Exercise:
    """The same scenario played by the same organizations a quarter before the completed
    demo, without the sharing (the script's ``warn`` steps, and the evaluator's ratings of
    collaboration, which describe that sharing, left out). Its improvement plan's
    collaboration items are then completed, by the demo coordinator, half-way to the next
    run: so the trends page (``scoring.trends``) shows what changed after them.

    Safe to run repeatedly, like ``seed_demo_played_exercise``.
    """
    day = clock.now() - timedelta(days=1 + EARLIER_DAYS)
    exercise = _seed_played(people, name=EARLIER_EXERCISE_NAME, day=day, steps=_without_sharing)
    due = (exercise.ended_at + timedelta(days=ITEM_DUE_DAYS)).date()
    coordinator = people.staff["coordinator"]
    items = exercise.improvement_items.filter(
        criterion__group=Criterion.Group.COLLABORATION, organization__isnull=False
    ).exclude(status=ImprovementItem.Status.DONE)
    for item in items.select_related("criterion", "exercise"):
        changes = {"completion_date": due, "status": ImprovementItem.Status.DONE}
        if not item.corrective_action and item.criterion.key in CORRECTIVE_ACTIONS:
            changes["corrective_action"] = CORRECTIVE_ACTIONS[item.criterion.key]
        improvement_update(item=item, actor=coordinator, changes=changes)
    return exercise


def _without_sharing(script: Script) -> Script:
    collaboration = set(
        Criterion.objects.filter(group=Criterion.Group.COLLABORATION).values_list("key", flat=True)
    )

    def kept(timed: Timed) -> bool:
        match timed.step:
            case Warn():
                return False
            case Rate(criterion=key):
                return key not in collaboration
        return True

    stages = tuple(
        replace(play, steps=tuple(t for t in play.steps if kept(t))) for play in script.stages
    )
    return replace(script, stages=stages)


def _seed_played(
    people: DemoPeople, *, name: str, day: datetime, steps: Callable[[Script], Script]
) -> Exercise:
    """Play the demo script (as ``steps`` edits it) from 08:45 on ``day``, unless an ended
    run named ``name`` exists; either way its report is up to date."""
    facilitator = people.staff["facilitator"]
    played = Exercise.objects.filter(name=name, created_by=facilitator)
    exercise = played.filter(status=Exercise.Status.ENDED).first()
    if exercise is None:
        script = load_script(script_path(), roles=[key for key, *_ in DEMO_ORGANIZATIONS])
        scenario = _demo_scenario(script.scenario)
        if transaction.get_connection().in_atomic_block:
            raise DemoError(
                "Seed the played demo outside a transaction: the timed work of each engine "
                "step is scheduled when that step commits."
            )
        played.delete()  # a run interrupted halfway: play it again from the start
        start = day.replace(hour=8, minute=45, second=0, microsecond=0)
        # No enclosing transaction: each engine call commits, so the sweeps it schedules
        # reach the simulated clock at once (on-commit work would otherwise wait to the end).
        # A manual clock: the played run reads like a real session (decisions minutes
        # after a prompt opened) without waiting in real time; it runs each timed sweep the
        # engine schedules as it moves past it, as the scheduler would in real time.
        with clock.use(clock.ManualClock(start)) as manual:
            exercise = engine.exercise_create(scenario=scenario, name=name, created_by=facilitator)
            try:
                _seat_everyone(exercise, people)
                manual.advance_to(start + timedelta(minutes=15))
                _play(steps(script), exercise, people, manual)
            except BaseException:
                exercise.delete()
                raise
    # Its end queued the report's computation; a real worker may not have run it yet, and
    # the command that seeds this prints the report's address.
    report_ensure_fresh(exercise=exercise)
    return exercise


def _play(
    script: Script, exercise: Exercise, people: DemoPeople, manual: clock.ManualClock
) -> None:
    facilitator = people.staff["facilitator"]
    engine.exercise_start(exercise=exercise, actor=facilitator)
    started = exercise.running_since
    teams = {team.role.key: team for team in exercise.teams.select_related("role")}
    for play in script.stages:
        if exercise.current_stage.key != play.stage:
            raise DemoError(
                f"The demo expected stage {play.stage!r}, not {exercise.current_stage.key!r}."
            )
        stage_start = started + timedelta(seconds=exercise.stage_started_at_clock)
        for timed in play.steps:
            manual.advance_to(stage_start + timed.at)
            exercise.refresh_from_db()
            _do_timed(timed, exercise=exercise, teams=teams, people=people)
        if play.then is None:
            break
        duration = exercise.current_stage.duration_seconds or 0
        manual.advance_to(stage_start + timedelta(seconds=duration))
        engine.exercise_advance(exercise=exercise, actor=facilitator)
        if exercise.current_stage.key != play.then:
            raise DemoError(f"The demo expected to branch to {play.then!r}.")
    manual.advance(6 * 60)
    engine.hotwash_save(exercise=exercise, actor=facilitator, notes=script.hotwash)
    manual.advance(60)
    engine.exercise_end(exercise=exercise, actor=facilitator)


def _do_timed(
    timed: Timed, *, exercise: Exercise, teams: dict[str, Team], people: DemoPeople
) -> None:
    """Play one step; a key the scenario does not have is the script's error, named so."""
    try:
        _do(timed.step, exercise=exercise, teams=teams, people=people)
    except ObjectDoesNotExist as exc:
        raise DemoError(f"{timed.where}: no such key in the scenario ({exc})") from exc


def _do(step: Step, *, exercise: Exercise, teams: dict[str, Team], people: DemoPeople) -> None:
    scenario = exercise.scenario
    facilitator = people.staff["facilitator"]
    match step:
        case Release(inject=key):
            inject = scenario.injects.get(key=key)
            engine.inject_release(exercise=exercise, inject=inject, actor=facilitator)
        case Open(prompt=key):
            prompt = scenario.prompts.get(key=key)
            engine.prompt_open(exercise=exercise, prompt=prompt, actor=facilitator)
        case Decide():
            prompt = scenario.prompts.get(key=step.prompt)
            players = people.players[step.role]
            engine.decision_submit(
                exercise=exercise,
                team=teams[step.role],
                prompt=prompt,
                author=players[step.by % len(players)],
                client_token=f"demo:{step.prompt}",
                option=prompt.options.get(key=step.option) if step.option else None,
                text=step.text,
                rationale=step.rationale,
            )
        case Warn():
            engine.share_create(
                exercise=exercise,
                from_team=teams[step.role],
                author=people.players[step.role][0],
                tlp=step.tlp,
                title=step.title,
                body=step.body,
                recipients=[teams[role] for role in step.to],
                client_token=f"demo:{slugify(step.title)[:50]}",
                about_inject=scenario.injects.get(key=step.about) if step.about else None,
            )
        case Rate():
            engine.observation_record(
                exercise=exercise,
                team=teams[step.role],
                criterion=Criterion.objects.get(rubric=scenario.rubric_id, key=step.criterion),
                evaluator=people.staff["evaluator"],
                rating=step.rating,
                note=step.note,
            )
