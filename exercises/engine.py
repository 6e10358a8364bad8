"""The live exercise engine: the ONLY code that changes a running exercise.

Every public function takes keyword-only arguments, raises ``EngineError`` (a sentence a
user can read) on a rule violation, locks the exercise row (``select_for_update``; on
SQLite the IMMEDIATE transaction mode serialises writers instead), changes state, appends
its Event(s) in the same transaction (gap-free ``seq`` from ``Exercise.last_seq``) and
publishes them after commit. Facilitator actions are also written to the audit log.
``decision_submit`` writes the team's decision row before locking the exercise, in the
same transaction, so that the lock covers little more than the event (see its docstring).

Event visibility decisions:

- exercise lifecycle and ``stage.entered``: ``ALL`` (observers follow the story).
- ``inject.released``: control-only audience → ``CONTROL``; every team → ``ALL`` when the
  inject is TLP:CLEAR (observers may see it), otherwise ``TEAMS``; roles, sectors and
  cascade consequences → ``SOME`` with the target team ids.
- ``prompt.opened``/``prompt.closed``, ``decision.submitted``: ``SOME`` (the prompt's
  teams; the deciding team).
- ``share.created``: CLEAR → ``ALL``, GREEN → ``TEAMS``, otherwise ``SOME`` with the
  teams ``visibility.share_audience`` allows.
- ``observation.recorded``, ``hotwash.saved``: ``CONTROL``.

Time: the exercise clock excludes pauses. Timed injects, prompt openings, deadlines and
delayed consequences are all derived from the database by the pure ``due_actions``; the
idempotent ``sweep_exercise`` applies what is due, and every change schedules the next
sweep (``exercises.scheduler``) stamped with ``Exercise.epoch``. Pause, resume, stage
changes and the end bump the epoch, so a sweep scheduled earlier does nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from accounts.audit import audit_record
from accounts.models import Membership, Organization, User
from exercises import clock, decision_queries, events, signals
from exercises.models import (
    Decision,
    DecisionRevision,
    Event,
    Exercise,
    InjectRelease,
    Observation,
    Participant,
    PromptWindow,
    Share,
    Team,
)
from exercises.visibility import TeamInfo, share_audience, share_visibility
from scenarios.models import (
    Audience,
    Consequence,
    Criterion,
    Inject,
    Option,
    Prompt,
    Role,
    Scenario,
    Stage,
    Tlp,
    Transition,
)

Status = Exercise.Status
Vis = Event.Visibility


class EngineError(Exception):
    """A rule of the exercise was broken; the message is meant for the user."""


# ---------------------------------------------------------------- clock and locking


def exercise_clock(exercise: Exercise, *, now: datetime | None = None) -> float:
    """Seconds the exercise has been running, pauses excluded."""
    return clock.elapsed_seconds(exercise.clock_offset_seconds, exercise.running_since, at=now)


@contextmanager
def _locked(exercise: Exercise) -> Iterator[Exercise]:
    """Yield the exercise row locked for this transaction; after it commits, the caller's
    copy takes the committed state from the locked one (every change is saved through
    it), which spares a read per engine call."""
    with transaction.atomic():
        locked = _lock(exercise)
        yield locked
    _take_state(exercise, locked)


def _lock(exercise: Exercise) -> Exercise:
    """The exercise row, locked until the surrounding transaction ends."""
    return Exercise.objects.select_for_update().get(pk=exercise.pk)


def _take_state(exercise: Exercise, locked: Exercise) -> None:
    for column in Exercise._meta.concrete_fields:
        setattr(exercise, column.attname, getattr(locked, column.attname))


def _emit(
    exercise: Exercise,
    kind: str,
    payload: dict[str, Any],
    *,
    visibility: str,
    team_ids: Iterable[int] = (),
    actor: User | None = None,
) -> Event:
    return events.append_event(
        exercise=exercise,
        kind=kind,
        payload=payload,
        visibility=visibility,
        team_ids=list(team_ids),
        clock_seconds=exercise_clock(exercise),
        actor=actor,
    )


def _announce(
    ex: Exercise,
    kind: str,
    message: str,
    action: str,
    *,
    actor: User | None,
    visibility: str = Vis.ALL,
) -> None:
    """An event whose whole payload is ``message``, and its audit entry ``action``."""
    _emit(ex, kind, {"message": message}, visibility=visibility, actor=actor)
    _audit(ex, actor, action)


def _audit(
    exercise: Exercise, actor: User | None, action: str, target: str = "", **details
) -> None:
    audit_record(
        actor=actor, action=action, exercise_code=exercise.code, target=target, details=details
    )


def _require_facilitator(exercise: Exercise, actor: User | None) -> None:
    """Defence in depth: views check access first, the engine checks again."""
    if actor is None:
        return
    is_facilitator = Participant.objects.filter(
        exercise=exercise, user=actor, kind=Participant.Kind.FACILITATOR
    ).exists()
    if not is_facilitator:
        raise EngineError("Only a facilitator of this exercise can do that.")


def _require_status(exercise: Exercise, *allowed: str, action: str) -> None:
    if exercise.status not in allowed:
        raise EngineError(f"Cannot {action} while the exercise is {exercise.get_status_display()}.")


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
        _audit(exercise, created_by, "exercise.create", str(scenario))
    return exercise


def team_add(*, exercise: Exercise, role: Role, organization: Organization, actor: User) -> Team:
    """Seat ``organization`` in ``role`` (one team per role) before the exercise ends."""
    with _locked(exercise) as ex:
        _require_facilitator(ex, actor)
        _require_status(
            ex, Status.DRAFT, Status.LOBBY, Status.RUNNING, Status.PAUSED, action="add teams"
        )
        if role.scenario_id != ex.scenario_id:
            raise EngineError("That role is not part of this scenario.")
        if Team.objects.filter(exercise=ex, role=role).exists():
            raise EngineError(f"The role {role.label} already has a team.")
        team = Team.objects.create(exercise=ex, role=role, organization=organization)
        _audit(ex, actor, "team.add", str(team))
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
    with _locked(exercise) as ex:
        _require_facilitator(ex, actor)
        _require_status(
            ex, Status.DRAFT, Status.LOBBY, Status.RUNNING, Status.PAUSED, action="add people"
        )
        if team is not None and team.exercise_id != ex.pk:
            raise EngineError("That team is not part of this exercise.")
        if Participant.objects.filter(exercise=ex, user=user).exists():
            raise EngineError(f"{user} already has a seat in this exercise.")
        participant = Participant.objects.create(exercise=ex, user=user, kind=kind, team=team)
        _audit(ex, actor, "participant.add", str(user), kind=kind, team=team.code if team else "")
    return participant


def team_join(*, join_code: str, user: User) -> Participant:
    """``user``, a member of the team's organization, joins the team as a player."""
    team = (
        Team.objects.select_related("exercise", "organization").filter(join_code=join_code).first()
    )
    if team is None:
        raise EngineError("That join code is not valid.")
    with _locked(team.exercise) as ex:
        _require_status(ex, Status.LOBBY, Status.RUNNING, Status.PAUSED, action="join")
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


# ---------------------------------------------------------------- lifecycle


def exercise_start(*, exercise: Exercise, actor: User) -> None:
    """Lobby → running; the clock starts and the scenario's start stage is entered."""
    with _locked(exercise) as ex:
        _require_facilitator(ex, actor)
        _require_status(ex, Status.LOBBY, action="start")
        if not ex.teams.exists():
            raise EngineError("Add at least one team before starting.")
        now = clock.now()
        ex.status, ex.running_since, ex.started_at = Status.RUNNING, now, now
        ex.save(update_fields=["status", "running_since", "started_at"])
        _announce(
            ex, events.EXERCISE_STARTED, "The exercise has started.", "exercise.start", actor=actor
        )
        _enter_stage(ex, ex.scenario.start_stage, actor=actor)


def exercise_pause(*, exercise: Exercise, actor: User) -> None:
    """Running → paused: the clock stops and pending timed work goes stale."""
    with _locked(exercise) as ex:
        _require_facilitator(ex, actor)
        _require_status(ex, Status.RUNNING, action="pause")
        _stop_clock(ex)
        ex.status = Status.PAUSED
        ex.epoch += 1
        ex.save(update_fields=["status", "epoch", "clock_offset_seconds", "running_since"])
        _announce(
            ex, events.EXERCISE_PAUSED, "The exercise is paused.", "exercise.pause", actor=actor
        )


def exercise_resume(*, exercise: Exercise, actor: User) -> None:
    """Paused → running: the clock restarts and the remaining timed work is rescheduled."""
    with _locked(exercise) as ex:
        _require_facilitator(ex, actor)
        _require_status(ex, Status.PAUSED, action="resume")
        ex.status, ex.running_since = Status.RUNNING, clock.now()
        ex.epoch += 1
        ex.save(update_fields=["status", "running_since", "epoch"])
        _announce(
            ex, events.EXERCISE_RESUMED, "The exercise has resumed.", "exercise.resume", actor=actor
        )
        _apply_due(ex)


def exercise_advance(
    *, exercise: Exercise, actor: User, to_stage: Stage | None = None
) -> Stage | None:
    """Move to the next stage: ``to_stage`` overrides the branch, otherwise the transitions
    decide from the teams' decisions. Advancing from a terminal stage ends the exercise
    (returns None)."""
    with _locked(exercise) as ex:
        _require_facilitator(ex, actor)
        _require_status(ex, Status.RUNNING, Status.PAUSED, action="advance")
        if to_stage is not None and to_stage.scenario_id != ex.scenario_id:
            raise EngineError("That stage is not part of this scenario.")
        transitions = list(
            Transition.objects.filter(from_stage=ex.current_stage_id).select_related("to_stage")
        )
        if to_stage is None and not transitions:
            _end(ex, actor)
            return None
        target = to_stage or _resolve_for(ex, transitions)
        if target is None:
            raise EngineError("No transition applies and the stage has no default; choose a stage.")
        if to_stage is not None:
            _audit(ex, actor, "stage.override", to_stage.key, from_stage=ex.current_stage.key)
        _audit(ex, actor, "stage.advance", target.key)
        _enter_stage(ex, target, actor=actor)
        return target


def exercise_end(*, exercise: Exercise, actor: User) -> None:
    """Running or paused → ended: the clock stops and open prompts close."""
    with _locked(exercise) as ex:
        _require_facilitator(ex, actor)
        _require_status(ex, Status.RUNNING, Status.PAUSED, action="end")
        _end(ex, actor)


def hotwash_save(*, exercise: Exercise, actor: User, notes: str) -> None:
    """Keep the facilitator's hot-wash notes (the debrief right after the exercise)."""
    with _locked(exercise) as ex:
        _require_facilitator(ex, actor)
        _require_status(ex, Status.RUNNING, Status.PAUSED, Status.ENDED, action="save the hot wash")
        ex.hotwash_notes = notes
        ex.save(update_fields=["hotwash_notes"])
        _announce(
            ex,
            events.HOTWASH_SAVED,
            "Hot-wash notes saved.",
            "hotwash.save",
            actor=actor,
            visibility=Vis.CONTROL,
        )


def _stop_clock(ex: Exercise) -> None:
    ex.clock_offset_seconds = exercise_clock(ex)
    ex.running_since = None


def _end(ex: Exercise, actor: User | None) -> None:
    _close_open_windows(ex, actor=actor)
    _stop_clock(ex)
    ex.status, ex.ended_at = Status.ENDED, clock.now()
    ex.epoch += 1
    ex.save(update_fields=["status", "ended_at", "epoch", "clock_offset_seconds", "running_since"])
    _announce(ex, events.EXERCISE_ENDED, "The exercise has ended.", "exercise.end", actor=actor)
    exercise_id = ex.pk
    transaction.on_commit(
        lambda: signals.exercise_ended.send(sender=Exercise, exercise_id=exercise_id)
    )


def _enter_stage(ex: Exercise, stage: Stage, *, actor: User | None) -> None:
    """Close the previous stage's prompts, record the briefing, then do what is due at 0."""
    _close_open_windows(ex, actor=actor)
    ex.current_stage = stage
    ex.stage_started_at_clock = exercise_clock(ex)
    ex.epoch += 1
    ex.save(update_fields=["current_stage", "stage_started_at_clock", "epoch"])
    payload = {"stage": stage.key, "title": stage.title, "briefing": stage.briefing}
    _emit(ex, events.STAGE_ENTERED, payload, visibility=Vis.ALL, actor=actor)
    _apply_due(ex)


# ---------------------------------------------------------------- transitions (pure)


def resolve_transition(
    transitions: Sequence[Transition],
    decisions_by_team: Mapping[int, Mapping[str, str]],
    teams: Sequence[TeamInfo],
    *,
    audiences: Mapping[str, frozenset[int]] | None = None,
) -> Stage | None:
    """The target of the first transition (non-defaults in order) whose condition holds,
    else the default's; None when neither.

    ``decisions_by_team``: team id → {prompt key: chosen option key}. ``audiences``:
    prompt key → team ids the prompt was put to (default: every team). A condition's
    ``roles`` narrows the teams counted; ``options`` empty means "any answer".
    """
    ordered = sorted(transitions, key=lambda t: (t.is_default, t.order, t.pk or 0))
    for transition in ordered:
        if transition.is_default:
            return transition.to_stage
        if condition_holds(transition.condition, decisions_by_team, teams, audiences=audiences):
            return transition.to_stage
    return None


def condition_holds(
    condition: Mapping[str, Any],
    decisions_by_team: Mapping[int, Mapping[str, str]],
    teams: Sequence[TeamInfo],
    *,
    audiences: Mapping[str, frozenset[int]] | None = None,
) -> bool:
    """Whether a transition condition (see ``Transition``) holds for the decisions."""
    prompt_key = condition.get("prompt", "")
    roles = set(condition.get("roles") or [])
    options = set(condition.get("options") or [])
    put_to = (audiences or {}).get(prompt_key)
    eligible = [
        team
        for team in teams
        if (not roles or team.role_key in roles) and (put_to is None or team.id in put_to)
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


def team_infos(exercise: Exercise) -> list[TeamInfo]:
    """The exercise's teams as the pure rules see them."""
    teams = (
        Team.objects.filter(exercise=exercise)
        .select_related("role")
        .prefetch_related("role__depends_on")
    )
    return [
        TeamInfo(
            id=team.pk,
            role_key=team.role.key,
            depends_on=frozenset(dep.key for dep in team.role.depends_on.all()),
        )
        for team in teams
    ]


def _resolve_for(ex: Exercise, transitions: list[Transition]) -> Stage | None:
    decisions = Decision.objects.filter(exercise=ex).select_related("prompt", "option")
    by_team: dict[int, dict[str, str]] = {}
    for decision in decisions:
        answer = decision.option.key if decision.option else ""
        by_team.setdefault(decision.team_id, {})[decision.prompt.key] = answer
    windows = PromptWindow.objects.filter(exercise=ex).select_related("prompt")
    audiences = {w.prompt.key: frozenset(w.team_ids) for w in windows}
    return resolve_transition(transitions, by_team, team_infos(ex), audiences=audiences)


# ---------------------------------------------------------------- injects


def inject_release(
    *,
    exercise: Exercise,
    inject: Inject,
    actor: User | None = None,
    release_key: str | None = None,
    team_ids: Iterable[int] | None = None,
) -> InjectRelease | None:
    """Release ``inject`` to its audience (or to ``team_ids``). Idempotent by
    ``release_key`` (default: once per inject); returns None when already released."""
    with _locked(exercise) as ex:
        _require_facilitator(ex, actor)
        _require_status(ex, Status.RUNNING, Status.PAUSED, action="release injects")
        if inject.scenario_id != ex.scenario_id:
            raise EngineError("That inject is not part of this scenario.")
        release = _release(ex, inject, release_key=release_key, team_ids=team_ids, actor=actor)
        if release is not None and actor is not None:
            _audit(ex, actor, "inject.release", inject.key, release_key=release.release_key)
        return release


def _release(
    ex: Exercise,
    inject: Inject,
    *,
    release_key: str | None,
    team_ids: Iterable[int] | None,
    actor: User | None,
) -> InjectRelease | None:
    key = release_key or f"inject:{inject.pk}"
    if InjectRelease.objects.filter(exercise=ex, release_key=key).exists():
        return None
    visibility, targets = _inject_audience(ex, inject, team_ids)
    payload = {
        "inject": inject.key,
        "title": inject.title,
        "body": inject.body,
        "sender": inject.sender,
        "channel": inject.channel,
        "severity": inject.severity,
        "tlp": inject.tlp,
        "expected_action": inject.expected_action,
        "release_key": key,
    }
    event = _emit(
        ex, events.INJECT_RELEASED, payload, visibility=visibility, team_ids=targets, actor=actor
    )
    return InjectRelease.objects.create(
        exercise=ex,
        inject=inject,
        release_key=key,
        team_ids=targets,
        event=event,
        clock_seconds=event.clock_seconds,
    )


def _inject_audience(
    ex: Exercise, inject: Inject, team_ids: Iterable[int] | None
) -> tuple[str, list[int]]:
    teams = Team.objects.filter(exercise=ex)
    if team_ids is not None:
        return Vis.SOME, sorted(
            set(teams.filter(pk__in=list(team_ids)).values_list("pk", flat=True))
        )
    if inject.audience == Audience.CONTROL:
        return Vis.CONTROL, []
    if inject.audience == Audience.ALL:
        return (Vis.ALL if inject.tlp == Tlp.CLEAR else Vis.TEAMS), []
    return Vis.SOME, _audience_team_ids(ex, inject)


def _audience_team_ids(ex: Exercise, item: Inject | Prompt) -> list[int]:
    """Team ids an inject's or prompt's audience names."""
    teams = Team.objects.filter(exercise=ex)
    if item.audience == Audience.ROLES:
        teams = teams.filter(role__in=item.audience_roles.all())
    elif item.audience == Audience.SECTORS:
        teams = teams.filter(role__sector__in=item.audience_sectors)
    elif item.audience == Audience.CONTROL:
        return []
    return sorted(teams.values_list("pk", flat=True))


# ---------------------------------------------------------------- prompts


def prompt_open(*, exercise: Exercise, prompt: Prompt, actor: User | None = None) -> PromptWindow:
    """Open ``prompt`` for decisions by its audience (once; reopening returns the window)."""
    with _locked(exercise) as ex:
        _require_facilitator(ex, actor)
        _require_status(ex, Status.RUNNING, Status.PAUSED, action="open prompts")
        if prompt.scenario_id != ex.scenario_id:
            raise EngineError("That prompt is not part of this scenario.")
        window = _open(ex, prompt, actor=actor)
        if actor is not None:
            _audit(ex, actor, "prompt.open", prompt.key)
        return window


def prompt_close(*, exercise: Exercise, prompt: Prompt, actor: User | None = None) -> PromptWindow:
    """Close ``prompt``: no more decisions or revisions."""
    with _locked(exercise) as ex:
        _require_facilitator(ex, actor)
        window = PromptWindow.objects.filter(exercise=ex, prompt=prompt).first()
        if window is None:
            raise EngineError("That prompt was never opened.")
        _close(ex, window, actor=actor)
        if actor is not None:
            _audit(ex, actor, "prompt.close", prompt.key)
        return window


def _open(ex: Exercise, prompt: Prompt, *, actor: User | None) -> PromptWindow:
    existing = PromptWindow.objects.filter(exercise=ex, prompt=prompt).first()
    if existing is not None:
        return existing
    opened_at = exercise_clock(ex)
    team_ids = _audience_team_ids(ex, prompt)
    deadline = opened_at + prompt.deadline_seconds if prompt.deadline_seconds else None
    window = PromptWindow.objects.create(
        exercise=ex,
        prompt=prompt,
        team_ids=team_ids,
        opened_at=clock.now(),
        opened_at_clock=opened_at,
        deadline_clock=deadline,
    )
    payload = {
        "prompt": prompt.key,
        "question": prompt.question,
        "kind": prompt.kind,
        "options": [{"key": o.key, "label": o.label, "id": o.pk} for o in prompt.options.all()],
        "deadline_clock": deadline,
    }
    _emit(ex, events.PROMPT_OPENED, payload, visibility=Vis.SOME, team_ids=team_ids, actor=actor)
    return window


def _close(ex: Exercise, window: PromptWindow, *, actor: User | None) -> None:
    if window.closed_at is not None:
        return
    window.closed_at = clock.now()
    window.save(update_fields=["closed_at"])
    payload = {"prompt": window.prompt.key, "question": window.prompt.question}
    _emit(
        ex,
        events.PROMPT_CLOSED,
        payload,
        visibility=Vis.SOME,
        team_ids=window.team_ids,
        actor=actor,
    )


def _close_open_windows(ex: Exercise, *, actor: User | None) -> None:
    for window in PromptWindow.objects.filter(exercise=ex, closed_at__isnull=True).select_related(
        "prompt"
    ):
        _close(ex, window, actor=actor)


# ---------------------------------------------------------------- decisions


DECISION_ATTEMPTS = 3


class _Retry(Exception):
    """The exercise moved (paused, resumed) between reading it and locking it: decide again."""


def decision_submit(
    *,
    exercise: Exercise,
    team: Team,
    prompt: Prompt,
    author: User,
    client_token: str,
    option: Option | None = None,
    text: str = "",
    rationale: str = "",
) -> Decision:
    """Record ``team``'s answer to an open prompt, or a new revision of it.

    The same ``client_token`` twice returns the decision unchanged and writes no event.
    Consequences of the chosen option are released (at once or after their delay).

    Decisions are the hottest write, so the exercise row is locked last and briefly: the
    team's decision row is written first, under its own row lock (which orders one team's
    submissions), and the exercise lock covers only re-checking that the prompt is still
    open, the event and the commit. Two first answers of one team at once, or one token
    sent twice at once, meet on a unique constraint; the loser decides again and finds
    the other's row (a revision, or the replay).
    """
    client_token = client_token.strip()[:64]
    if not client_token:
        raise EngineError("The submission is missing its token; reload the page.")
    fields = {"text": text.strip(), "rationale": rationale.strip()}
    for attempt in range(DECISION_ATTEMPTS):
        try:
            return _decide(exercise, team, prompt, author, client_token, option, **fields)
        except (IntegrityError, _Retry):
            if attempt == DECISION_ATTEMPTS - 1:
                raise EngineError("Others were deciding at the same moment; try again.") from None
    raise AssertionError("unreachable")


def _decide(
    exercise: Exercise,
    team: Team,
    prompt: Prompt,
    author: User,
    client_token: str,
    option: Option | None,
    *,
    text: str,
    rationale: str,
) -> Decision:
    mine = {"team_id": team.pk, "prompt_id": prompt.pk, "client_token": client_token}
    try:
        opened = _open_window_for(exercise, team=team, prompt=prompt, author=author, option=option)
        _check_answer(prompt, option=option, text=text)
    except EngineError:
        # A resubmission of an accepted answer stays a no-op once the prompt has closed.
        if (decision := decision_queries.team_decision(**mine)) and decision.replayed:
            return decision
        raise
    running = (exercise.clock_offset_seconds, exercise.running_since)
    latency = round(clock.elapsed_seconds(*running) - opened.opened_at_clock, 3)
    team_label, author_label = str(team), author.label  # related rows: read before any lock
    with transaction.atomic():
        decision = decision_queries.team_decision(**mine, lock=True)
        if decision and decision.replayed:
            return decision
        decision = _store_decision(
            exercise,
            decision,
            team=team,
            prompt=prompt,
            author=author,
            option=option,
            text=text,
            rationale=rationale,
            latency=latency,
            client_token=client_token,
        )
        ex = _lock(exercise)
        _recheck_window(ex, opened, running=running, copy=exercise)
        payload = {
            "prompt": prompt.key,
            "question": prompt.question,
            "team_id": team.pk,
            "team_code": team.code,
            "team_label": team_label,
            "option": option.key if option else "",
            "option_label": option.label if option else "",
            "text": decision.text,
            "revision": decision.revision,
            "author_label": author_label,
            "latency_seconds": latency,
        }
        _emit(
            ex,
            events.DECISION_SUBMITTED,
            payload,
            visibility=Vis.SOME,
            team_ids=[team.pk],
            actor=author,
        )
        if opened.cascades:  # nothing else falls due because of a decision
            _apply_due(ex)
    _take_state(exercise, ex)
    return decision


def _open_window_for(
    exercise: Exercise, *, team: Team, prompt: Prompt, author: User, option: Option | None
) -> PromptWindow:
    """The prompt's window with ``seated`` and ``cascades`` (``decision_queries``), read
    before any lock. Raises unless the team may decide now, as far as this and the
    caller's copy of the exercise tell; ``_recheck_window`` confirms it under the lock."""
    if team.exercise_id != exercise.pk:
        raise EngineError("That team is not part of this exercise.")
    _require_status(exercise, Status.RUNNING, action="decide")
    window = decision_queries.prompt_window(
        exercise_id=exercise.pk,
        prompt_id=prompt.pk,
        user_id=author.pk,
        team_id=team.pk,
        option_id=option.pk if option else None,
    )
    if window is None:
        if not Participant.objects.filter(exercise=exercise, user=author, team=team).exists():
            raise EngineError("Only the team's players can decide for it.")
        raise EngineError("This prompt is not open for decisions.")
    if not window.seated:
        raise EngineError("Only the team's players can decide for it.")
    if not window.is_open:
        raise EngineError("This prompt is not open for decisions.")
    if team.pk not in window.team_ids:
        raise EngineError("This prompt was not put to your team.")
    return window


def _check_answer(prompt: Prompt, *, option: Option | None, text: str) -> None:
    if option is not None and option.prompt_id != prompt.pk:
        raise EngineError("That option does not belong to this prompt.")
    needs_option = prompt.kind in (Prompt.Kind.CHOICE, Prompt.Kind.CHOICE_TEXT)
    if needs_option and option is None:
        raise EngineError("Choose one of the options.")
    if prompt.kind == Prompt.Kind.TEXT and option is not None:
        raise EngineError("This prompt takes a written answer, not an option.")
    if prompt.kind in (Prompt.Kind.TEXT, Prompt.Kind.CHOICE_TEXT) and not text:
        raise EngineError("Write your answer.")


def _recheck_window(
    ex: Exercise, window: PromptWindow, *, running: tuple[float, datetime | None], copy: Exercise
) -> None:
    """Under the exercise lock (``ex``): it still runs on the clock (``running``) the latency was
    measured with (else the caller's ``copy`` is brought up to date and ``_Retry``), and
    the window was not closed meanwhile (a close takes this lock too, so the answer holds
    until the commit)."""
    _require_status(ex, Status.RUNNING, action="decide")
    if (ex.clock_offset_seconds, ex.running_since) != running:
        _take_state(copy, ex)
        raise _Retry
    if not decision_queries.window_still_open(window.pk):
        raise EngineError("This prompt is not open for decisions.")


def _store_decision(
    ex: Exercise,
    decision: Decision | None,
    *,
    team: Team,
    prompt: Prompt,
    author: User,
    option: Option | None,
    text: str,
    rationale: str,
    latency: float,
    client_token: str,
) -> Decision:
    now = clock.now()
    if decision is None:
        decision = Decision(exercise=ex, team=team, prompt=prompt, revision=0)
    decision.option, decision.text, decision.rationale = option, text, rationale
    decision.author, decision.latency_seconds, decision.submitted_at = author, latency, now
    decision.revision += 1
    decision.save()
    DecisionRevision.objects.create(
        decision=decision,
        revision=decision.revision,
        option=option,
        text=text,
        rationale=rationale,
        author=author,
        client_token=client_token,
        latency_seconds=latency,
        submitted_at=now,
    )
    return decision


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


# ---------------------------------------------------------------- shares and observations


def share_create(
    *,
    exercise: Exercise,
    from_team: Team,
    author: User,
    tlp: str,
    title: str,
    body: str,
    recipients: Iterable[Team],
    client_token: str,
    about_inject: Inject | None = None,
) -> Share:
    """Pass intelligence to other teams; the TLP marking decides who can read it.

    The same ``client_token`` from the same team returns the existing share.
    """
    recipients = [team for team in recipients if team.pk != from_team.pk]
    title, body, client_token = title.strip(), body.strip(), client_token.strip()[:64]
    with _locked(exercise) as ex:
        existing = Share.objects.filter(from_team=from_team, client_token=client_token).first()
        if existing is not None:
            return existing
        _check_share(
            ex,
            from_team=from_team,
            author=author,
            tlp=tlp,
            title=title,
            body=body,
            recipients=recipients,
            client_token=client_token,
        )
        infos = team_infos(ex)
        audience = share_audience(
            tlp=tlp,
            from_team_id=from_team.pk,
            recipient_ids=[t.pk for t in recipients],
            teams=infos,
        )
        share = Share.objects.create(
            exercise=ex,
            from_team=from_team,
            author=author,
            tlp=tlp,
            title=title,
            body=body,
            about_inject=about_inject,
            client_token=client_token,
            clock_seconds=exercise_clock(ex),
        )
        share.recipients.set(recipients)
        visibility, team_ids = share_visibility(tlp=tlp, audience=audience)
        payload = {
            "share_id": share.pk,
            "from_team_id": from_team.pk,
            "from_team_label": str(from_team),
            "tlp": tlp,
            "title": title,
            "body": body,
            "recipient_ids": sorted(t.pk for t in recipients),
            "recipient_labels": [str(t) for t in recipients],
            "about_inject": about_inject.key if about_inject else "",
        }
        _emit(
            ex,
            events.SHARE_CREATED,
            payload,
            visibility=visibility,
            team_ids=team_ids,
            actor=author,
        )
        return share


def _check_share(
    ex: Exercise,
    *,
    from_team: Team,
    author: User,
    tlp: str,
    title: str,
    body: str,
    recipients: list[Team],
    client_token: str,
) -> None:
    _require_status(ex, Status.RUNNING, Status.PAUSED, action="share")
    if from_team.exercise_id != ex.pk or any(t.exercise_id != ex.pk for t in recipients):
        raise EngineError("Shares go between teams of this exercise.")
    if not Participant.objects.filter(exercise=ex, user=author, team=from_team).exists():
        raise EngineError("Only the team's players can share for it.")
    if tlp not in Tlp.values:
        raise EngineError("Choose a TLP marking.")
    if tlp in (Tlp.RED, Tlp.AMBER_STRICT, Tlp.AMBER) and not recipients:
        raise EngineError(f"TLP:{tlp} needs at least one recipient team.")
    if not title or not body:
        raise EngineError("A share needs a title and a message.")
    if not client_token:
        raise EngineError("The submission is missing its token; reload the page.")


def observation_record(
    *,
    exercise: Exercise,
    team: Team,
    criterion: Criterion,
    evaluator: User,
    rating: str,
    note: str = "",
) -> Observation:
    """An evaluator's (or facilitator's) P/S/M/U rating of a team on a rubric criterion."""
    with _locked(exercise) as ex:
        _require_status(
            ex, Status.RUNNING, Status.PAUSED, Status.ENDED, action="record observations"
        )
        allowed = (Participant.Kind.EVALUATOR, Participant.Kind.FACILITATOR)
        if not Participant.objects.filter(exercise=ex, user=evaluator, kind__in=allowed).exists():
            raise EngineError("Only evaluators and facilitators record observations.")
        if team.exercise_id != ex.pk:
            raise EngineError("That team is not part of this exercise.")
        if criterion.rubric_id != ex.scenario.rubric_id:
            raise EngineError("That criterion is not in this scenario's rubric.")
        if rating not in Observation.Rating.values:
            raise EngineError("Rate with P, S, M or U.")
        observation = Observation.objects.create(
            exercise=ex,
            team=team,
            criterion=criterion,
            evaluator=evaluator,
            rating=rating,
            note=note.strip(),
            clock_seconds=exercise_clock(ex),
        )
        payload = {
            "observation_id": observation.pk,
            "team_id": team.pk,
            "team_label": str(team),
            "criterion": criterion.key,
            "criterion_title": criterion.title,
            "rating": rating,
            "note": observation.note,
        }
        _emit(ex, events.OBSERVATION_RECORDED, payload, visibility=Vis.CONTROL, actor=evaluator)
        return observation


# ---------------------------------------------------------------- timed work


@dataclass(frozen=True)
class Action:
    """Something due at ``due`` (exercise clock): release an inject, open or close a prompt."""

    due: float
    kind: str  # "release" | "open" | "close"
    object_id: int
    release_key: str = ""
    team_ids: tuple[int, ...] | None = None


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


def due_actions(state: ExerciseState, now_clock: float) -> tuple[list[Action], float | None]:
    """What is due at ``now_clock`` (in order) and when the next thing falls due (pure)."""
    if not state.running:
        return [], None
    start = state.stage_started_at_clock
    candidates = [
        Action(start + offset, "release", inject_id, f"inject:{inject_id}")
        for inject_id, offset in state.timed_injects
        if f"inject:{inject_id}" not in state.released_keys
    ]
    candidates += [
        Action(start + offset, "open", prompt_id)
        for prompt_id, offset in state.stage_prompts
        if prompt_id not in state.opened_prompt_ids
    ]
    candidates += [
        Action(deadline, "close", prompt_id) for prompt_id, deadline in state.open_deadlines
    ]
    candidates += [
        a for a in state.pending_consequences if a.release_key not in state.released_keys
    ]
    order = {"release": 0, "open": 1, "close": 2}
    candidates.sort(key=lambda a: (a.due, order[a.kind], a.object_id))
    due = [a for a in candidates if a.due <= now_clock + 1e-6]
    later = [a.due for a in candidates if a.due > now_clock + 1e-6]
    return due, (min(later) if later else None)


def _state(ex: Exercise) -> ExerciseState:
    if ex.status != Status.RUNNING:
        return ExerciseState(running=False, stage_started_at_clock=ex.stage_started_at_clock)
    stage_id = ex.current_stage_id
    timed = Inject.objects.filter(stage=stage_id, release=Inject.Release.TIMED)
    windows = list(PromptWindow.objects.filter(exercise=ex))
    released = frozenset(
        InjectRelease.objects.filter(exercise=ex).values_list("release_key", flat=True)
    )
    return ExerciseState(
        running=True,
        stage_started_at_clock=ex.stage_started_at_clock,
        timed_injects=tuple(timed.values_list("pk", "offset_seconds")),
        stage_prompts=tuple(
            Prompt.objects.filter(stage=stage_id).values_list("pk", "open_offset_seconds")
        ),
        opened_prompt_ids=frozenset(w.prompt_id for w in windows),
        open_deadlines=tuple(
            (w.prompt_id, w.deadline_clock)
            for w in windows
            if w.closed_at is None and w.deadline_clock is not None
        ),
        pending_consequences=tuple(_pending_consequences(ex, released)),
        released_keys=released,
    )


def _pending_consequences(ex: Exercise, released: frozenset[str]) -> Iterator[Action]:
    """Unreleased consequences of every team's current choice, due ``delay`` after it.

    Most options have no consequence, so the scenario's consequences are read first and
    the decisions only when there are some.
    """
    by_option: dict[int, list[Consequence]] = {}
    scenario_consequences = Consequence.objects.filter(
        option__prompt__scenario=ex.scenario_id
    ).prefetch_related("target_roles")
    for consequence in scenario_consequences:
        by_option.setdefault(consequence.option_id, []).append(consequence)
    if not by_option:
        return
    decisions = Decision.objects.filter(exercise=ex, option__in=list(by_option))
    opened = dict(
        PromptWindow.objects.filter(exercise=ex).values_list("prompt_id", "opened_at_clock")
    )
    infos = {info.id: info for info in team_infos(ex)}
    for decision in decisions:
        decided_at = opened.get(decision.prompt_id, 0.0) + decision.latency_seconds
        for consequence in by_option[decision.option_id]:
            key = f"csq:{consequence.pk}:{decision.team_id}"
            if key in released:
                continue
            targets = consequence_targets(
                consequence,
                chooser=infos[decision.team_id],
                teams=list(infos.values()),
                role_keys=[role.key for role in consequence.target_roles.all()],
            )
            yield Action(
                decided_at + consequence.delay_seconds,
                "release",
                consequence.inject_id,
                key,
                tuple(targets),
            )


def _apply_due(ex: Exercise, *, reschedule: bool = False) -> None:
    """Do everything due now and schedule the next sweep. Call holding the exercise lock.

    ``reschedule``: schedule the next sweep even if one was already asked for (that one
    may have died with the process holding it)."""
    actions, next_due = due_actions(_state(ex), exercise_clock(ex))
    for action in actions:
        if action.kind == "release":
            inject = Inject.objects.get(pk=action.object_id)
            _release(
                ex, inject, release_key=action.release_key, team_ids=action.team_ids, actor=None
            )
        elif action.kind == "open":
            _open(ex, Prompt.objects.get(pk=action.object_id), actor=None)
        else:
            window = PromptWindow.objects.select_related("prompt").get(
                exercise=ex, prompt=action.object_id
            )
            _close(ex, window, actor=None)
    if next_due is not None:
        _schedule(ex, next_due, again=reschedule)


def _schedule(ex: Exercise, due_clock: float, *, again: bool = False) -> None:
    from exercises import scheduler

    exercise_id, epoch = ex.pk, ex.epoch
    delay = max(due_clock - exercise_clock(ex), 0.0)
    transaction.on_commit(
        lambda: scheduler.schedule_sweep(
            exercise_id=exercise_id, epoch=epoch, due_clock=due_clock, delay=delay, again=again
        )
    )


def sweep_exercise(exercise_id: int, *, epoch: int | None = None, reschedule: bool = False) -> bool:
    """Apply whatever is due for the exercise; idempotent. Returns False when there is no
    such exercise or ``epoch`` is stale (the exercise was paused, resumed or moved on).
    ``reschedule``: see ``sweep_running_exercises``."""
    exercise = Exercise.objects.filter(pk=exercise_id).first()
    if exercise is None:
        return False
    try:
        with _locked(exercise) as ex:
            if epoch is not None and ex.epoch != epoch:
                return False
            _apply_due(ex, reschedule=reschedule)
    except IntegrityError:
        # Another process released the same key first: releasing is idempotent.
        return False
    return True


def sweep_running_exercises() -> int:
    """Sweep every running exercise and schedule its next sweep anew; how many.

    For a process that starts after one holding scheduled sweeps died: the embedded
    default's timers live in memory, and a Celery worker killed outright keeps its
    reserved countdown tasks from the broker until the transport's visibility timeout.
    What fell due meanwhile is released now; a duplicate sweep does nothing.
    """
    ids = list(Exercise.objects.filter(status=Status.RUNNING).values_list("pk", flat=True))
    for exercise_id in ids:
        sweep_exercise(exercise_id, reschedule=True)
    return len(ids)
