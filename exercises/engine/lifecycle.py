"""An exercise's life: set up in the lobby, started, paused and resumed, moved from stage
to stage, ended; the facilitator's hot-wash notes.

The lifecycle events and ``stage.entered`` are visible to ``ALL`` (observers follow the
story); ``hotwash.saved`` to ``CONTROL``. The end is told to the apps above ``exercises``
by ``exercises.signals.exercise_ended``, once it has committed.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import Membership, Organization, User
from config.limits import TEXT_DOCUMENT
from exercises import clock, events, queries, signals
from exercises.engine.core import (
    Actor,
    EngineError,
    announce,
    audit,
    emit,
    locked,
    require_length,
    require_status,
)
from exercises.engine.injects import close_open_windows
from exercises.engine.preview import decision_inputs
from exercises.engine.rules import resolve_transition
from exercises.engine.timing import apply_due, carry_stage_work_left, release_stage_work_left
from exercises.models import Event, Exercise, Participant, Team
from scenarios.models import Role, Scenario, Stage, Transition

Status = Exercise.Status
Vis = Event.Visibility


# ---------------------------------------------------------------- setting up


def exercise_create(*, scenario: Scenario, name: str, created_by: User) -> Exercise:
    """A new exercise of a published scenario, in the lobby, with its creator as facilitator."""
    if not scenario.is_published:
        raise EngineError("Only a published scenario can be run.")
    if scenario.start_stage_id is None:
        raise EngineError("The scenario has no start stage.")
    name = name.strip()
    if not name:
        raise EngineError("Give the exercise a name.")
    with transaction.atomic():
        exercise = Exercise.objects.create(
            name=name, scenario=scenario, status=Status.LOBBY, created_by=created_by
        )
        Participant.objects.create(
            exercise=exercise, user=created_by, kind=Participant.Kind.FACILITATOR
        )
        audit(exercise, created_by, "exercise.create", str(scenario))
    return exercise


def team_add(*, exercise: Exercise, role: Role, organization: Organization, actor: User) -> Team:
    """Seat ``organization`` in ``role`` (one team per role) before the exercise ends."""
    with locked(exercise, facilitator=actor) as ex:
        require_status(ex, "add_team")
        if role.scenario_id != ex.scenario_id:
            raise EngineError("That role is not part of this scenario.")
        if Team.objects.filter(exercise=ex, role=role).exists():
            raise EngineError(f"The role {role.label} already has a team.")
        team = Team.objects.create(exercise=ex, role=role, organization=organization)
        audit(ex, actor, "team.add", str(team))
    return team


def participant_add(
    *,
    exercise: Exercise,
    user: User,
    kind: str,
    team: Team | None = None,
    actor: User,
) -> Participant:
    """Give ``user`` a seat: players need a team of this exercise, others must not have one."""
    if kind not in Participant.Kind.values:
        raise EngineError("Unknown participant role.")
    if (kind == Participant.Kind.PLAYER) != (team is not None):
        raise EngineError("Players, and only players, belong to a team.")
    with locked(exercise, facilitator=actor) as ex:
        require_status(ex, "add_participant")
        if team is not None and team.exercise_id != ex.pk:
            raise EngineError("That team is not part of this exercise.")
        if Participant.objects.filter(exercise=ex, user=user).exists():
            raise EngineError(f"{user} already has a seat in this exercise.")
        participant = Participant.objects.create(exercise=ex, user=user, kind=kind, team=team)
        audit(ex, actor, "participant.add", str(user), kind=kind, team=team.code if team else "")
    return participant


def team_join(*, join_code: str, user: User) -> Participant:
    """``user``, a member of the team's organization, joins the team as a player."""
    team = (
        Team.objects.select_related("exercise", "organization").filter(join_code=join_code).first()
    )
    if team is None:
        raise EngineError("That join code is not valid.")
    with locked(team.exercise) as ex:
        require_status(ex, "join")
        if not Membership.objects.filter(user=user, organization=team.organization_id).exists():
            raise EngineError(f"Only members of {team.organization} can join this team.")
        seat = Participant.objects.filter(exercise=ex, user=user).first()
        if seat is not None:
            if seat.team_id == team.pk:
                return seat
            raise EngineError("You already have another seat in this exercise.")
        return Participant.objects.create(
            exercise=ex, user=user, kind=Participant.Kind.PLAYER, team=team
        )


# ---------------------------------------------------------------- running


def exercise_start(*, exercise: Exercise, actor: User) -> None:
    """Lobby → running; the clock starts and the scenario's start stage is entered."""
    with locked(exercise, facilitator=actor) as ex:
        require_status(ex, "start")
        if not ex.teams.exists():
            raise EngineError("Add at least one team before starting.")
        now = clock.now()
        ex.status, ex.running_since, ex.started_at = Status.RUNNING, now, now
        ex.save(update_fields=["status", "running_since", "started_at"])
        announce(
            ex, events.EXERCISE_STARTED, "The exercise has started.", "exercise.start", actor=actor
        )
        _enter_stage(ex, ex.scenario.start_stage, actor=actor)


def exercise_pause(*, exercise: Exercise, actor: User) -> None:
    """Running → paused: the clock stops and pending timed work goes stale."""
    with locked(exercise, facilitator=actor) as ex:
        require_status(ex, "pause")
        _stop_clock(ex)
        ex.status = Status.PAUSED
        ex.epoch += 1
        ex.save(update_fields=["status", "epoch", "clock_offset_seconds", "running_since"])
        announce(
            ex, events.EXERCISE_PAUSED, "The exercise is paused.", "exercise.pause", actor=actor
        )


def exercise_resume(*, exercise: Exercise, actor: User) -> None:
    """Paused → running: the clock restarts and the remaining timed work is rescheduled."""
    with locked(exercise, facilitator=actor) as ex:
        require_status(ex, "resume")
        ex.status, ex.running_since = Status.RUNNING, clock.now()
        ex.epoch += 1
        ex.save(update_fields=["status", "running_since", "epoch"])
        announce(
            ex, events.EXERCISE_RESUMED, "The exercise has resumed.", "exercise.resume", actor=actor
        )
        apply_due(ex)


def exercise_advance(
    *,
    exercise: Exercise,
    actor: User,
    to_stage: Stage | None = None,
    release_skipped: bool = False,
    carry_skipped: bool = False,
) -> Stage | None:
    """Move to the next stage: ``to_stage`` overrides the branch, otherwise the transitions
    decide from the teams' decisions. Advancing from a terminal stage ends the exercise
    (returns None). The stage's timed injects that have not fired
    (``timing.skipped_by_leaving`` lists them) never will, unless ``release_skipped``
    releases them first or ``carry_skipped`` keeps them due at their own time in the
    stages after."""
    if release_skipped and carry_skipped:
        raise EngineError("Release the skipped injects or carry them, not both.")
    with locked(exercise, facilitator=actor) as ex:
        require_status(ex, "advance")
        if to_stage is not None and to_stage.scenario_id != ex.scenario_id:
            raise EngineError("That stage is not part of this scenario.")
        transitions = _transitions(ex)
        if to_stage is None and not transitions:
            _release_first(ex, actor, release_skipped)
            _end(ex, actor)
            return None
        target = to_stage or _resolve_for(ex, transitions)
        if target is None:
            raise EngineError("No transition applies and the stage has no default; choose a stage.")
        _release_first(ex, actor, release_skipped)
        if carry_skipped:
            carried = carry_stage_work_left(ex)
            audit(ex, actor, "stage.carry", ex.current_stage.key, injects=carried)
        if to_stage is not None:
            audit(ex, actor, "stage.override", to_stage.key, from_stage=ex.current_stage.key)
        audit(ex, actor, "stage.advance", target.key)
        _enter_stage(ex, target, actor=actor)
        return target


def advance_target(*, exercise: Exercise, to_stage: Stage | None = None) -> Stage | None:
    """Where advancing now would lead (read-only): ``to_stage`` if given, else the stage the
    transitions pick from the current decisions; None when it would end the exercise or
    no transition applies."""
    return to_stage or _resolve_for(exercise, _transitions(exercise))


def _transitions(ex: Exercise) -> list[Transition]:
    return list(
        Transition.objects.filter(from_stage=ex.current_stage_id).select_related("to_stage")
    )


def _release_first(ex: Exercise, actor: Actor, release_skipped: bool) -> None:
    if release_skipped:
        release_stage_work_left(ex, actor=actor)


def exercise_end(*, exercise: Exercise, actor: User) -> None:
    """Running or paused → ended: the clock stops and open prompts close."""
    with locked(exercise, facilitator=actor) as ex:
        require_status(ex, "end")
        _end(ex, actor)


def hotwash_save(*, exercise: Exercise, actor: User, notes: str) -> None:
    """Keep the facilitator's hot-wash notes (the debrief right after the exercise)."""
    require_length(notes, limit=TEXT_DOCUMENT, what="The hot-wash notes", plural=True)
    with locked(exercise, facilitator=actor) as ex:
        require_status(ex, "hotwash")
        ex.hotwash_notes = notes
        ex.save(update_fields=["hotwash_notes"])
        announce(
            ex,
            events.HOTWASH_SAVED,
            "Hot-wash notes saved.",
            "hotwash.save",
            actor=actor,
            visibility=Vis.CONTROL,
        )


def _stop_clock(ex: Exercise) -> None:
    ex.clock_offset_seconds = clock.exercise_clock(ex)
    ex.running_since = None


def _end(ex: Exercise, actor: Actor) -> None:
    close_open_windows(ex, actor=actor)
    _stop_clock(ex)
    ex.status, ex.ended_at = Status.ENDED, clock.now()
    ex.epoch += 1
    ex.save(update_fields=["status", "ended_at", "epoch", "clock_offset_seconds", "running_since"])
    announce(ex, events.EXERCISE_ENDED, "The exercise has ended.", "exercise.end", actor=actor)
    exercise_id = ex.pk
    transaction.on_commit(
        lambda: signals.exercise_ended.send(sender=Exercise, exercise_id=exercise_id)
    )


def _enter_stage(ex: Exercise, stage: Stage, *, actor: Actor) -> None:
    """Close the previous stage's prompts, record the briefing, then do what is due at 0."""
    close_open_windows(ex, actor=actor)
    ex.current_stage = stage
    ex.stage_started_at_clock = clock.exercise_clock(ex)
    ex.epoch += 1
    ex.save(update_fields=["current_stage", "stage_started_at_clock", "epoch"])
    payload = events.StageEntered(stage=stage.key, title=stage.title, briefing=stage.briefing)
    emit(ex, events.STAGE_ENTERED, payload, visibility=Vis.ALL, actor=actor)
    apply_due(ex)


def _resolve_for(ex: Exercise, transitions: list[Transition]) -> Stage | None:
    """The stage the transitions lead to from the teams' current decisions."""
    by_team, put_to = decision_inputs(ex)
    return resolve_transition(transitions, by_team, queries.team_infos(ex), put_to=put_to)
