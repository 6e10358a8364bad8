"""The exercise timeline: event kinds, channel-layer groups, appending and publishing.

Groups (names built only here):

- ``group_control``: facilitator and evaluator sockets; receives every event.
- ``group_all``: every player socket of every team; receives ``ALL`` and ``TEAMS`` events,
  rendered once with the audience ``"teams"``.
- ``group_team``: the player sockets of one team; receives ``SOME`` events listing the team,
  rendered once per team with the audience ``"team-<id>"``.
- ``group_observers``: observer and coordinator sockets; receives ``ALL`` events only.

So an event is rendered once per audience group, never once per socket.

Each group's message also carries ``prev_seq``: the seq of the latest earlier event every
socket of that group may see (0 if none). A player socket is in two groups, so the
``group_all`` message adds ``team_prev`` (team id as text → seq of that team's latest
earlier ``SOME`` event, for the teams that had one since the last ``ALL``/``TEAMS``
event). Both come from ``Exercise.audience_marks``, kept as events are appended, so
publishing reads nothing. A consumer that already sent ``prev_seq`` sends the push at
once; otherwise it missed something visible and reads the gap from the database first.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypedDict

from asgiref.sync import async_to_sync as _asgiref_async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from accounts.models import User
from exercises.models import Event, Exercise

logger = logging.getLogger(__name__)

EXERCISE_STARTED = "exercise.started"
EXERCISE_PAUSED = "exercise.paused"
EXERCISE_RESUMED = "exercise.resumed"
EXERCISE_ENDED = "exercise.ended"
STAGE_ENTERED = "stage.entered"
INJECT_RELEASED = "inject.released"
PROMPT_OPENED = "prompt.opened"
PROMPT_CLOSED = "prompt.closed"
DECISION_SUBMITTED = "decision.submitted"
SHARE_CREATED = "share.created"
OBSERVATION_RECORDED = "observation.recorded"
HOTWASH_SAVED = "hotwash.saved"

KINDS = frozenset(
    {
        EXERCISE_STARTED,
        EXERCISE_PAUSED,
        EXERCISE_RESUMED,
        EXERCISE_ENDED,
        STAGE_ENTERED,
        INJECT_RELEASED,
        PROMPT_OPENED,
        PROMPT_CLOSED,
        DECISION_SUBMITTED,
        SHARE_CREATED,
        OBSERVATION_RECORDED,
        HOTWASH_SAVED,
    }
)


class EventPush(TypedDict, total=False):
    """The channel-layer message a consumer receives (handled by ``event_push``).

    ``prev_seq`` and ``team_prev`` are optional for the consumer: without them it treats
    every skipped seq as possibly visible and reads the gap (the safe, slower path).
    """

    type: Literal["event.push"]
    seq: int
    html: str
    prev_seq: int
    team_prev: dict[str, int]


def group_all(exercise_id: int) -> str:
    return f"exercise-{exercise_id}"


def group_team(exercise_id: int, team_id: int) -> str:
    return f"exercise-{exercise_id}-team-{team_id}"


def group_control(exercise_id: int) -> str:
    return f"exercise-{exercise_id}-control"


def group_observers(exercise_id: int) -> str:
    return f"exercise-{exercise_id}-observers"


def append_event(
    *,
    exercise: Exercise,
    kind: str,
    payload: dict[str, Any],
    visibility: str,
    clock_seconds: float,
    team_ids: list[int] | None = None,
    actor: User | None = None,
) -> Event:
    """Append the next event of ``exercise`` and publish it once the transaction commits.

    Precondition: the caller holds the exercise row lock (``select_for_update`` inside
    ``transaction.atomic``) and passes the locked instance, so ``seq`` is gap-free and
    ``audience_marks`` is exact.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown event kind {kind!r}.")
    event, previous = write_event(
        exercise=exercise,
        kind=kind,
        payload=payload,
        visibility=visibility,
        clock_seconds=round(clock_seconds, 3),
        team_ids=team_ids,
        actor=actor,
    )
    transaction.on_commit(lambda: publish(event, previous))
    return event


def write_event(
    *,
    exercise: Exercise,
    kind: str,
    payload: dict[str, Any],
    visibility: str,
    clock_seconds: float,
    team_ids: list[int] | None = None,
    actor: User | None = None,
) -> tuple[Event, dict[str, dict[str, Any]]]:
    """Store the next event and move ``last_seq`` and the audience marks with it; returns
    the event and its ``previous_visible``. Publishes nothing (``append_event`` does; test
    factories call this directly)."""
    team_ids = sorted(set(team_ids or [])) if visibility == Event.Visibility.SOME else []
    seq = exercise.last_seq + 1
    previous = previous_visible(exercise.audience_marks, seq, visibility, team_ids)
    exercise.last_seq = seq
    exercise.audience_marks = advance_marks(exercise.audience_marks, seq, visibility, team_ids)
    exercise.save(update_fields=["last_seq", "audience_marks"])
    event = Event.objects.create(
        exercise=exercise,
        seq=seq,
        kind=kind,
        payload=payload,
        visibility=visibility,
        team_ids=team_ids,
        clock_seconds=clock_seconds,
        actor=actor,
    )
    return event, previous


def routes(event: Event) -> list[tuple[str, str]]:
    """``(group, audience)`` pairs an event goes to; control always gets it, last: its
    fragment is the richest to render and a handful of consoles can wait for it, while
    the teams' fan-out should not."""
    exercise_id = event.exercise_id
    pairs = []
    if event.visibility in (Event.Visibility.ALL, Event.Visibility.TEAMS):
        pairs.append((group_all(exercise_id), "teams"))
    if event.visibility == Event.Visibility.ALL:
        pairs.append((group_observers(exercise_id), "observer"))
    if event.visibility == Event.Visibility.SOME:
        pairs += [(group_team(exercise_id, tid), f"team-{tid}") for tid in event.team_ids]
    return [*pairs, (group_control(exercise_id), "control")]


def publish(event: Event, previous: dict[str, dict[str, Any]]) -> None:
    """Render the event once per audience group and send it to the channel layer, each
    group's message with its ``previous`` entry (``previous_visible`` when appended).

    A messenger failure is logged, not raised: the event is already committed, and
    clients catch up from the database when they reconnect.
    """
    from exercises.fragments import render_frames

    try:
        pairs = routes(event)
        frames = render_frames(event, [audience for _, audience in pairs])
        _deliver(
            [
                (
                    group,
                    EventPush(type="event.push", seq=event.seq, html=html, **previous[audience]),
                )
                for (group, audience), html in zip(pairs, frames, strict=True)
            ]
        )
    except Exception:
        logger.exception("Could not publish event %s of exercise %s", event.seq, event.exercise_id)


# Audience marks (``Exercise.audience_marks``): the seq of the latest event of each kind of
# audience, kept under the exercise lock as events are appended, so a push can name the
# latest earlier event its sockets may see without reading the timeline back (with 100
# teams deciding in turn, a team's previous event is ~100 events back). Shape:
# ``{"teams": seq of the latest ALL/TEAMS event, "all": of the latest ALL event,
#   "team": {team id as text: seq of its latest SOME event, only if later than "teams"}}``.


def advance_marks(
    marks: dict[str, Any], seq: int, visibility: str, team_ids: list[int]
) -> dict[str, Any]:
    """The marks after appending event ``seq`` (pure)."""
    teams, latest_all = marks.get("teams", 0), marks.get("all", 0)
    team = dict(marks.get("team", {}))
    if visibility in (Event.Visibility.ALL, Event.Visibility.TEAMS):
        teams, team = seq, {}  # every team saw this one: earlier team entries are moot
        if visibility == Event.Visibility.ALL:
            latest_all = seq
    elif visibility == Event.Visibility.SOME:
        team.update({str(tid): seq for tid in team_ids})
    return {"teams": teams, "all": latest_all, "team": team}


def previous_visible(
    marks: dict[str, Any], seq: int, visibility: str, team_ids: list[int]
) -> dict[str, dict[str, Any]]:
    """Per audience of ``routes``: ``prev_seq`` (and ``team_prev`` for ``"teams"``) of event
    ``seq``, from the marks before it (pure). Exact for every socket of the group,
    counting all the groups that socket is in."""
    result: dict[str, dict[str, Any]] = {"control": {"prev_seq": seq - 1}}
    teams, team = marks.get("teams", 0), marks.get("team", {})
    if visibility == Event.Visibility.SOME:
        for tid in team_ids:
            result[f"team-{tid}"] = {"prev_seq": team.get(str(tid), teams)}
    elif visibility in (Event.Visibility.ALL, Event.Visibility.TEAMS):
        result["teams"] = {"prev_seq": teams, "team_prev": dict(team)}
        if visibility == Event.Visibility.ALL:
            result["observer"] = {"prev_seq": marks.get("all", 0)}
    return result


SEND_TIMEOUT = 10.0  # seconds; a hung Redis must not hold the request forever
_sender: tuple[int, asyncio.AbstractEventLoop] | None = None
_sender_lock = threading.Lock()


def _deliver(messages: list[tuple[str, EventPush]]) -> None:
    """Send every frame of one event, in ``routes`` order."""
    layer = get_channel_layer()
    for group, message in messages:
        async_to_sync(layer.group_send)(group, message)


def async_to_sync(send: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Call a channel-layer coroutine function (``group_send``) from sync code.

    asgiref's ``async_to_sync`` from a plain thread (the bench, a Celery task, a test)
    starts a new event loop per call, and channels_redis opens a new Redis connection
    per loop: ~2 ms per group, more than rendering a decision's frames. So Redis layers
    send from one long-lived loop per process, whose connections are reused (~0.2 ms).
    The in-memory layer's queues belong to the server's loop, so it keeps asgiref's
    (which runs on that loop when called from a view).
    """
    if isinstance(getattr(send, "__self__", None), InMemoryChannelLayer):
        return _asgiref_async_to_sync(send)

    def call(*args: Any) -> None:
        future = asyncio.run_coroutine_threadsafe(send(*args), _sender_loop())
        try:
            future.result(timeout=SEND_TIMEOUT)
        except TimeoutError:
            future.cancel()
            raise

    return call


def _sender_loop() -> asyncio.AbstractEventLoop:
    """This process's sending loop, started on first use (and again in a forked child)."""
    global _sender
    with _sender_lock:
        if _sender is None or _sender[0] != os.getpid():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="cascade-publish", daemon=True)
            thread.start()
            _sender = (os.getpid(), loop)
        return _sender[1]
