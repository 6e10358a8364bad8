"""Live delivery, both ends: who gets an event's frame, publishing it after the commit, and
how a socket tells from a push whether it missed something.

Groups (names built only by ``group_name``), one per perspective (``exercises.visibility``):

- ``CONTROL`` → ``exercise-<id>-control``: control consoles' sockets; every event.
- ``EVALUATOR`` → ``exercise-<id>-evaluators``: evaluator consoles' sockets; every event,
  with that page's panels (so no page receives a panel it has no target for).
- ``TEAMS`` → ``exercise-<id>``: every player socket; ``ALL`` and ``TEAMS`` events,
  rendered once for every team alike.
- a team → ``exercise-<id>-team-<team>``: that team's player sockets; ``SOME`` events
  listing the team, rendered once per team.
- ``OBSERVER`` → ``exercise-<id>-observers``: observer and coordinator sockets; ``ALL``.

So an event is rendered once per group, never once per socket.

Every socket also joins its user's group (``user_group`` → ``user-<id>``), whatever the
exercise: ``end_sessions`` sends it ``session.end`` when the user logs out or changes
password (``exercises.receivers``), and every socket of that user closes.

Each group's push also carries ``prev_seq``: the seq of the latest earlier event every
socket of that group may see (0 if none). A player socket is in two groups, so the
``TEAMS`` push adds ``team_prev`` (team id as text → seq of that team's latest earlier
``SOME`` event, for the teams that had one since the last ``ALL``/``TEAMS`` event). Both
come from the visibility marks as they were before the event (``exercises.events``), so
publishing reads nothing. A socket whose last sent seq is ``previous_seq(push)`` sends
the push at once; otherwise it missed something visible and reads the gap first.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Literal, NotRequired, TypedDict

from asgiref.sync import async_to_sync as _asgiref_async_to_sync
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from config import metrics
from config.per_process import PerProcess
from exercises import fragments
from exercises.models import Event
from exercises.visibility import (
    CONTROL,
    CONTROL_PERSPECTIVES,
    EVALUATOR,
    OBSERVER,
    TEAMS,
    Viewer,
    perspective_team_id,
    team_perspective,
)

logger = logging.getLogger(__name__)

Vis = Event.Visibility


class EventPush(TypedDict):
    """The channel-layer message a socket receives (``ExerciseConsumer.event_push``).

    ``prev_seq`` and ``team_prev`` are optional for the consumer: without them it treats
    every skipped seq as possibly visible and reads the gap (the safe, slower path).
    """

    type: Literal["event.push"]
    seq: int
    html: str
    prev_seq: NotRequired[int]
    team_prev: NotRequired[dict[str, int]]
    published_at: NotRequired[float]  # wall clock, for the fan-out latency (config.metrics)


class SessionEnd(TypedDict):
    """The channel-layer message that closes every socket of a user (``session_end``)."""

    type: Literal["session.end"]


# ---------------------------------------------------------------- groups


def user_group(user_id: int) -> str:
    """The group every socket of the user joins, in any exercise."""
    return f"user-{user_id}"


def group_name(exercise_id: int, perspective: str) -> str:
    """The channel-layer group of the sockets that see ``exercise_id`` from ``perspective``."""
    team_id = perspective_team_id(perspective)
    if team_id is not None:
        return f"exercise-{exercise_id}-team-{team_id}"
    suffix = {TEAMS: "", CONTROL: "-control", EVALUATOR: "-evaluators", OBSERVER: "-observers"}[
        perspective
    ]
    return f"exercise-{exercise_id}{suffix}"


def groups_for(exercise_id: int, viewer: Viewer) -> list[str]:
    """The groups of a viewer's perspectives (its socket also joins ``user_group``)."""
    if viewer.is_control:
        perspectives = [EVALUATOR if viewer.evaluating else CONTROL]
    elif viewer.is_player:
        perspectives = [TEAMS, team_perspective(viewer.team_id)]
    else:
        perspectives = [OBSERVER]
    return [group_name(exercise_id, p) for p in perspectives]


def routes(event: Event) -> list[tuple[str, str]]:
    """``(group, perspective)`` pairs an event goes to; the evaluator and control consoles
    always get it, last: the control frame is the richest to render and a handful of
    consoles can wait for it, while the teams' fan-out should not."""
    perspectives = []
    if event.visibility in (Vis.ALL, Vis.TEAMS):
        perspectives.append(TEAMS)
    if event.visibility == Vis.ALL:
        perspectives.append(OBSERVER)
    if event.visibility == Vis.SOME:
        perspectives += [team_perspective(tid) for tid in event.team_ids]
    perspectives += [EVALUATOR, CONTROL]
    return [(group_name(event.exercise_id, p), p) for p in perspectives]


# ---------------------------------------------------------------- the previous visible seq


def previous_visible(
    marks: dict[str, Any], seq: int, visibility: str, team_ids: list[int]
) -> dict[str, dict[str, Any]]:
    """Per perspective of ``routes``: ``prev_seq`` (and ``team_prev`` for ``TEAMS``) of
    event ``seq``, from the visibility marks before it (pure). Exact for every socket of
    the group, counting all the groups that socket is in."""
    result: dict[str, dict[str, Any]] = {
        CONTROL: {"prev_seq": seq - 1},
        EVALUATOR: {"prev_seq": seq - 1},
    }
    teams, team = marks.get("teams", 0), marks.get("team", {})
    if visibility == Vis.SOME:
        for tid in team_ids:
            result[team_perspective(tid)] = {"prev_seq": team.get(str(tid), teams)}
    elif visibility in (Vis.ALL, Vis.TEAMS):
        result[TEAMS] = {"prev_seq": teams, "team_prev": dict(team)}
        if visibility == Vis.ALL:
            result[OBSERVER] = {"prev_seq": marks.get("all", 0)}
    return result


def previous_seq(push: EventPush, viewer: Viewer) -> int:
    """The latest seq before ``push`` that ``viewer``'s socket may see: the publisher's
    ``prev_seq`` (and, for a player, its team's entry in ``team_prev``); without them,
    the seq just before, so any skipped seq is read from the database."""
    previous = push.get("prev_seq")
    if previous is None:
        return push["seq"] - 1
    if viewer.is_player:
        team_prev = push.get("team_prev") or {}
        previous = max(previous, team_prev.get(str(viewer.team_id), 0))
    return previous


# ---------------------------------------------------------------- publishing


def publish(event: Event, marks_before: dict[str, Any]) -> None:
    """Send ``event`` to its groups once the surrounding transaction commits (at once
    outside one). ``marks_before``: the visibility marks before it (``write_event``)."""
    transaction.on_commit(lambda: _send(event, marks_before))


def _send(event: Event, marks_before: dict[str, Any]) -> None:
    """Render the event once per group and hand the pushes to the channel layer.

    A messenger failure is logged, not raised: the event is already committed, and
    clients catch up from the database when they reconnect.
    """
    try:
        pairs = routes(event)
        frames = fragments.iter_frames(event, [perspective for _, perspective in pairs])
        previous = previous_visible(marks_before, event.seq, event.visibility, event.team_ids)

        def pushes(batch: list[tuple[str, str]]) -> list[tuple[str, EventPush]]:
            return [
                (group, EventPush(type="event.push", seq=event.seq, html=html, **previous[p]))
                for (group, p), html in zip(batch, frames, strict=False)
            ]

        # An event for every team: the players' frames go first, before the consoles' are
        # drawn (``routes`` puts the consoles last): an inject's console frame redraws its
        # inject list, several ms that a thousand sockets need not wait for. An event for
        # some teams (a decision) reaches a few sockets: one hop to the sending loop, not
        # two (~0.1 ms of CPU each, on the busiest write).
        players = len(pairs)
        if event.visibility in (Vis.ALL, Vis.TEAMS):
            players -= sum(1 for _, p in pairs if p in CONTROL_PERSPECTIVES)
        for batch in (pairs[:players], pairs[players:]):
            if batch:
                _deliver(pushes(batch))
        metrics.event_published(event.kind)
    except Exception:
        logger.exception("Could not publish event %s of exercise %s", event.seq, event.exercise_id)


def end_sessions(user_id: int) -> None:
    """Close every open socket of the user, once the surrounding transaction commits (at
    once outside one). Logged, not raised: the logout or password change stands, and the
    sockets' sessions no longer authenticate a reconnect."""

    def send() -> None:
        try:
            _deliver([(user_group(user_id), SessionEnd(type="session.end"))])
        except Exception:
            logger.exception("Could not close the sockets of user %s", user_id)

    transaction.on_commit(send)


SEND_TIMEOUT = 10.0  # seconds; a hung Redis must not hold the request forever


def _deliver(messages: list[tuple[str, EventPush | SessionEnd]]) -> None:
    """Send the messages in order (frames of one event: ``routes`` order), the first
    failure raised (the later ones are then not sent).

    One coroutine awaits every group's send, so a batch costs one hop to the sending
    loop, not one per group (``_send`` sends two: the players', then the consoles'):
    each hop (two thread switches and a future) cost ~0.1 ms of CPU, and channels_redis
    has no multi-group send. Awaited one by one, not gathered, so the groups receive in
    ``routes`` order. The timeout (``SEND_TIMEOUT``) bounds the whole batch."""
    layer = get_channel_layer()

    async def send_all() -> None:
        for group, message in messages:
            await layer.group_send(group, metrics.stamped(message))

    async_to_sync(send_all, layer=layer)()


def async_to_sync(
    send: Callable[..., Awaitable[None]], *, layer: BaseChannelLayer | None = None
) -> Callable[..., None]:
    """Call a channel-layer coroutine function (``group_send``) from sync code.

    asgiref's ``async_to_sync`` from a plain thread (the bench, a Celery task, a test)
    starts a new event loop per call, and channels_redis opens a new Redis connection
    per loop: ~2 ms per group, more than rendering a decision's frames. So Redis layers
    send from one long-lived loop per process, whose connections are reused (~0.2 ms).
    The in-memory layer's queues belong to the server's loop, so it keeps asgiref's
    (which runs on that loop when called from a view). ``layer``: the layer ``send`` uses,
    when it is not one of its methods.
    """
    if isinstance(getattr(send, "__self__", layer), InMemoryChannelLayer):
        return _asgiref_async_to_sync(send)

    def call(*args: Any) -> None:
        future = asyncio.run_coroutine_threadsafe(send(*args), _sender.get())
        try:
            future.result(timeout=SEND_TIMEOUT)
        except TimeoutError:
            future.cancel()
            raise

    return call


def _start_sender_loop() -> asyncio.AbstractEventLoop:
    """A sending loop running in a thread of its own."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="cascade-publish", daemon=True).start()
    return loop


# This process's sending loop, started on first use (config.per_process).
_sender = PerProcess(_start_sender_loop)
