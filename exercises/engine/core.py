"""What every engine verb does the same way: lock the exercise, check who acts and whether
the status allows it, write the event (published after commit) and the audit entry.

``SYSTEM`` is the actor of the work the exercise does by itself (timed injects, prompts
opening and closing on time, delayed consequences): a sentinel, not ``None``, so a verb
called without an actor fails loudly instead of skipping the facilitator check.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

from django.db import connection, transaction

from accounts.audit import audit_entry
from accounts.models import AuditEntry, User
from config import metrics
from exercises import broadcast, clock, events, queries, states
from exercises.models import Event, Exercise
from exercises.writes import Table, Then, Update


class EngineError(Exception):
    """A rule of the exercise was broken; the message is meant for the user."""


class SystemActor:
    """The exercise acting on its own schedule (see ``SYSTEM``)."""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM: Final = SystemActor()
Actor = User | SystemActor


def user_of(actor: Actor) -> User | None:
    """The user to record as having acted: nobody for the system."""
    return None if isinstance(actor, SystemActor) else actor


# ---------------------------------------------------------------- locking


@contextmanager
def locked(exercise: Exercise, *, facilitator: Actor | None = None) -> Iterator[Exercise]:
    """Yield the exercise row locked for this transaction; after it commits, the caller's
    copy takes the committed state from the locked one (every change is saved through
    it), which spares a read per engine call. ``facilitator``: the actor must facilitate
    the exercise (``lock``)."""
    with transaction.atomic():
        row = lock(exercise, facilitator=facilitator)
        yield row
    take_state(exercise, row)


def lock(exercise: Exercise, *, facilitator: Actor | None = None) -> Exercise:
    """The exercise row, locked until the surrounding transaction ends (on SQLite the
    IMMEDIATE transaction already holds the database's write lock). How long it waited
    for the lock and held it go to ``config.metrics``: the first after-commit callback
    (none is registered before the lock) marks the release.

    ``facilitator``: refuse unless this actor facilitates the exercise, read in the lock's
    own statement. Defence in depth: views check access first, the engine checks again,
    under the lock. The system actor passes (it only does what the scenario scheduled)."""
    user = user_of(facilitator) if facilitator is not None else None
    asked = time.perf_counter()
    row, facilitates = queries.exercise_for_update(exercise.pk, user_id=user.pk if user else None)
    taken = time.perf_counter()
    metrics.exercise_lock_taken(taken - asked)
    if user is not None and not facilitates:
        raise EngineError("Only a facilitator of this exercise can do that.")
    transaction.on_commit(lambda: metrics.exercise_lock_released(time.perf_counter() - taken))
    return row


def take_state(exercise: Exercise, row: Exercise) -> None:
    """Copy every column of ``row`` onto ``exercise``."""
    for column in Exercise._meta.concrete_fields:
        setattr(exercise, column.attname, getattr(row, column.attname))


# ---------------------------------------------------------------- checks


def require_length(text: str, *, limit: int, what: str, plural: bool = False) -> None:
    """Refuse ``text`` longer than ``limit`` characters (``config.limits``): the forms
    check the same limit, but the engine is the one door every entry point goes through,
    and a frame carrying the text must stay small (``exercises.fragments``)."""
    if len(text) > limit:
        verb = "are" if plural else "is"
        raise EngineError(f"{what} {verb} longer than {limit} characters ({len(text)}).")


def require_status(exercise: Exercise, action: str) -> None:
    """Refuse ``action`` unless the exercise's status allows it (``exercises.states``)."""
    if not states.allows(exercise.status, action):
        raise EngineError(states.refusal(exercise.status, action))


# ---------------------------------------------------------------- writing


def emit(
    exercise: Exercise,
    kind: str,
    payload: Mapping[str, Any],
    *,
    visibility: str,
    team_ids: Iterable[int] = (),
    actor: Actor,
    clock_seconds: float | None = None,
    then: Sequence[Then | Update] = (),
) -> Event:
    """Append the next event of the locked ``exercise`` and publish it after the commit.
    ``payload`` is the kind's ``TypedDict`` (``exercises.events``); ``clock_seconds``:
    the exercise clock's time of the event (default: now); ``then``: rows written with
    it (``events.write_event``)."""
    event, marks_before = events.write_event(
        exercise=exercise,
        kind=kind,
        payload=payload,
        visibility=visibility,
        team_ids=list(team_ids),
        clock_seconds=clock.exercise_clock(exercise) if clock_seconds is None else clock_seconds,
        actor=user_of(actor),
        then=then,
    )
    broadcast.publish(event, marks_before)
    return event


def emit_for_team_if(
    exercise: Exercise,
    kind: str,
    payload: Mapping[str, Any],
    *,
    team_id: int,
    action: str,
    actor: Actor,
    then: Sequence[Then | Update] = (),
    running: tuple[float, datetime | None],
    closed_by: int,
) -> Exercise | None:
    """``lock`` and ``emit`` an event only ``team_id`` sees, in one statement, if the
    locked exercise still allows ``action``, runs on the clock ``running`` (offset,
    running since: as the caller read it) and closed no prompt after event ``closed_by``
    (``events.write_team_event_if``). Returns the locked exercise moved past the event
    (published after the commit); None, having written nothing, when a condition fails or
    off PostgreSQL: ``lock`` and check then.

    Its lock metrics: the statement's time as the wait (an upper bound: it also wrote
    under the lock), the time from its answer to the commit as the hold (a lower bound)."""
    if connection.vendor != "postgresql":
        return None
    asked = time.perf_counter()
    written = events.write_team_event_if(
        exercise_id=exercise.pk,
        kind=kind,
        payload=payload,
        team_id=team_id,
        clock_seconds=clock.elapsed_seconds(*running),
        actor=user_of(actor),
        then=then,
        statuses=states.allowing(action),
        running=running,
        closed_by=closed_by,
    )
    if written is None:
        return None
    taken = time.perf_counter()
    metrics.exercise_lock_taken(taken - asked)
    transaction.on_commit(lambda: metrics.exercise_lock_released(time.perf_counter() - taken))
    row, event, marks_before = written
    broadcast.publish(event, marks_before)
    return row


def announce(
    exercise: Exercise,
    kind: str,
    message: str,
    action: str,
    *,
    actor: Actor,
    visibility: str = Event.Visibility.ALL,
) -> None:
    """An event whose whole payload is ``message``, and its audit entry ``action`` (in the
    event's statement)."""
    entry = Then(AUDIT, audit_row(exercise, actor, action))
    payload = events.Announcement(message=message)
    emit(exercise, kind, payload, visibility=visibility, actor=actor, then=[entry])


def audit(exercise: Exercise, actor: Actor, action: str, target: str = "", **details: Any) -> None:
    """Write the audit entry of an authoritative action (``audit_row``)."""
    AUDIT.insert(audit_row(exercise, actor, action, target, **details))


def audit_row(
    exercise: Exercise, actor: Actor, action: str, target: str = "", **details: Any
) -> AuditEntry:
    """The audit entry of an authoritative action, unsaved, stamped with the exercise
    clock's time (so a demo played on a manual clock has consistent times)."""
    return audit_entry(
        actor=user_of(actor),
        action=action,
        exercise_code=exercise.code,
        target=target,
        details=details,
        at=clock.now(),
    )


AUDIT = Table(AuditEntry)
