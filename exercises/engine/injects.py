"""Injects and prompts: releasing an inject to the teams its audience names, opening a
prompt to them for decisions and closing it.

Visibility of the events: an inject for the control cell only → ``CONTROL``; for every
team → ``ALL`` when TLP:CLEAR (observers may see it), otherwise ``TEAMS``; for roles,
sectors or as a consequence of a decision → ``SOME`` with the target teams. Prompts
opening and closing → ``SOME`` (the teams the prompt is put to).
"""

from __future__ import annotations

from collections.abc import Iterable

from exercises import clock, events, queries
from exercises.engine.core import (
    AUDIT,
    Actor,
    EngineError,
    audit,
    audit_row,
    emit,
    locked,
    require_status,
)
from exercises.engine.rules import inject_key
from exercises.models import Event, Exercise, InjectRelease, PromptWindow, Team
from exercises.writes import Table, Then
from scenarios.models import Audience, Inject, Prompt, Tlp

Vis = Event.Visibility


def inject_release(
    *,
    exercise: Exercise,
    inject: Inject,
    actor: Actor,
    release_key: str | None = None,
    team_ids: Iterable[int] | None = None,
) -> InjectRelease | None:
    """Release ``inject`` to its audience (or to ``team_ids``). Idempotent by
    ``release_key`` (default: once per inject); returns None when already released."""
    with locked(exercise, facilitator=actor) as ex:
        require_status(ex, "release")
        if inject.scenario_id != ex.scenario_id:
            raise EngineError("That inject is not part of this scenario.")
        return release(
            ex, inject, release_key=release_key, team_ids=team_ids, actor=actor, audited=True
        )


def release(
    ex: Exercise,
    inject: Inject,
    *,
    release_key: str | None,
    team_ids: Iterable[int] | None,
    actor: Actor,
    cascade: bool = False,
    audited: bool = False,
) -> InjectRelease | None:
    """Release ``inject`` unless ``release_key`` (default: once per inject) was released
    already (then None). ``cascade``: a consequence of a team's decision; ``audited``: a
    person's release, its audit entry written with it. Call holding the exercise lock."""
    key = release_key or inject_key(inject.pk)
    if queries.released(exercise_id=ex.pk, release_key=key):
        return None
    visibility, targets = _inject_visibility(ex, inject, team_ids)
    payload = events.InjectReleased(
        inject=inject.key,
        title=inject.title,
        body=inject.body,
        sender=inject.sender,
        channel=inject.channel,
        severity=inject.severity,
        tlp=inject.tlp,
        expected_action=inject.expected_action,
        release_key=key,
        cascade=cascade,
    )
    seconds = round(clock.exercise_clock(ex), 3)
    done = InjectRelease(
        exercise=ex, inject=inject, release_key=key, team_ids=targets, clock_seconds=seconds
    )
    # The release row and its audit entry go in the event's statement: two round trips
    # fewer under the lock before the players' frames leave.
    rows = [Then(_RELEASES, done, ref="event_id")]
    if audited:
        entry = audit_row(ex, actor, "inject.release", inject.key, release_key=key)
        rows.append(Then(AUDIT, entry))
    done.event = emit(
        ex,
        events.INJECT_RELEASED,
        payload,
        visibility=visibility,
        team_ids=targets,
        actor=actor,
        clock_seconds=seconds,
        then=rows,
    )
    return done


_RELEASES = Table(InjectRelease)


def _inject_visibility(
    ex: Exercise, inject: Inject, team_ids: Iterable[int] | None
) -> tuple[str, list[int]]:
    """The ``(Event.visibility, team_ids)`` of releasing ``inject`` (to ``team_ids`` when
    given, else to its audience)."""
    if team_ids is not None:
        teams = Team.objects.filter(exercise=ex, pk__in=list(team_ids))
        return Vis.SOME, sorted(set(teams.values_list("pk", flat=True)))
    if inject.audience == Audience.CONTROL:
        return Vis.CONTROL, []
    if inject.audience == Audience.ALL:
        return (Vis.ALL if inject.tlp == Tlp.CLEAR else Vis.TEAMS), []
    return Vis.SOME, addressed_team_ids(ex, inject)


def addressed_team_ids(ex: Exercise, item: Inject | Prompt) -> list[int]:
    """Ids of the exercise's teams that an inject's or prompt's audience names."""
    teams = Team.objects.filter(exercise=ex)
    if item.audience == Audience.ROLES:
        teams = teams.filter(role__in=item.audience_roles.all())
    elif item.audience == Audience.SECTORS:
        teams = teams.filter(role__sector__in=item.audience_sectors)
    elif item.audience == Audience.CONTROL:
        return []
    return sorted(teams.values_list("pk", flat=True))


# ---------------------------------------------------------------- prompts


def prompt_open(*, exercise: Exercise, prompt: Prompt, actor: Actor) -> PromptWindow:
    """Open ``prompt`` for decisions by its audience (once; reopening returns the window)."""
    with locked(exercise, facilitator=actor) as ex:
        require_status(ex, "open_prompt")
        if prompt.scenario_id != ex.scenario_id:
            raise EngineError("That prompt is not part of this scenario.")
        window = open_window(ex, prompt, actor=actor)
        audit(ex, actor, "prompt.open", prompt.key)
        return window


def prompt_close(*, exercise: Exercise, prompt: Prompt, actor: Actor) -> PromptWindow:
    """Close ``prompt``: no more decisions or revisions."""
    with locked(exercise, facilitator=actor) as ex:
        window = PromptWindow.objects.filter(exercise=ex, prompt=prompt).first()
        if window is None:
            raise EngineError("That prompt was never opened.")
        close_window(ex, window, actor=actor)
        audit(ex, actor, "prompt.close", prompt.key)
        return window


def open_window(ex: Exercise, prompt: Prompt, *, actor: Actor) -> PromptWindow:
    """Open ``prompt`` to the teams its audience names, once. Call holding the lock."""
    existing = PromptWindow.objects.filter(exercise=ex, prompt=prompt).first()
    if existing is not None:
        return existing
    opened_at = clock.exercise_clock(ex)
    team_ids = addressed_team_ids(ex, prompt)
    deadline = opened_at + prompt.deadline_seconds if prompt.deadline_seconds else None
    window = PromptWindow.objects.create(
        exercise=ex,
        prompt=prompt,
        team_ids=team_ids,
        opened_at=clock.now(),
        opened_at_clock=opened_at,
        deadline_clock=deadline,
    )
    payload = events.PromptOpened(
        prompt=prompt.key,
        question=prompt.question,
        kind=prompt.kind,
        options=[
            events.PromptOption(key=o.key, label=o.label, id=o.pk) for o in prompt.options.all()
        ],
        deadline_clock=deadline,
    )
    emit(ex, events.PROMPT_OPENED, payload, visibility=Vis.SOME, team_ids=team_ids, actor=actor)
    return window


def close_window(ex: Exercise, window: PromptWindow, *, actor: Actor) -> None:
    """Close the window if open (idempotent). Call holding the lock."""
    if window.closed_at is not None:
        return
    window.closed_at = clock.now()
    window.save(update_fields=["closed_at"])
    payload = events.PromptClosed(prompt=window.prompt.key, question=window.prompt.question)
    emit(
        ex,
        events.PROMPT_CLOSED,
        payload,
        visibility=Vis.SOME,
        team_ids=window.team_ids,
        actor=actor,
    )


def close_open_windows(ex: Exercise, *, actor: Actor) -> None:
    """Close every prompt still open (a new stage, the end). Call holding the lock."""
    windows = PromptWindow.objects.filter(exercise=ex, closed_at__isnull=True)
    for window in windows.select_related("prompt"):
        close_window(ex, window, actor=actor)
