"""The exercise socket: pushes timeline events to one participant's browser.

Protocol (see docs and ``exercises.fragments``): the browser opens
``/ws/exercises/<code>/`` and sends ``{"type": "hello", "last_seq": N}``; the consumer
replays every later event the viewer may see from the database, in ``seq`` order, then
forwards live pushes. ``{"type": "ping"}`` gets a heartbeat frame. Writes do not come
through here: they are htmx POSTs (CSRF, forms), which call the engine.

Guarantees per socket: events go out in increasing ``seq`` and never twice. Live pushes
that arrive before the hello are dropped (the replay reads them from the database).
Each push names the latest earlier event its socket may see (``prev_seq``, see
``exercises.broadcast``): if that one was not sent yet (two server processes may publish
consecutive events in either order, or a push was lost), the gap is read from the
database first; otherwise the push goes out at once, without touching the database,
even though it skips the seqs of events this viewer may not see.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.html import escape
from redis.exceptions import ConnectionError as RedisConnectionError

from config import metrics
from config.limits import SOCKET_MESSAGE_BYTES, SOCKET_MESSAGE_DEPTH
from exercises import access, broadcast, clock, engine, presence, queries, scheduler
from exercises.broadcast import EventPush
from exercises.fragments import render_event
from exercises.visibility import EventStub, Viewer, can_see_event, perspective_for
from scenarios.formats.parse import json_shape_problem

MAX_FRAME = SOCKET_MESSAGE_BYTES
# Keys and values a message may hold: a hello is 4, htmx's headers add a dozen.
MAX_MESSAGE_NODES = 200
# A seq past any real timeline, still a database integer (SQLite overflows past 2**63).
MAX_SEQ = 2**53


def read_db(fn):
    """Run a read-only database function in the worker pool, not the one thread shared by
    every consumer of the process (``thread_sensitive``): hundreds of sockets replaying or
    catching up at once then wait on the database in parallel, not in single file."""
    return database_sync_to_async(fn, thread_sensitive=False)


CLOSE_ANONYMOUS = 4401
CLOSE_FORBIDDEN = 4403


def visible_frames(
    exercise_id: int, viewer: Viewer, *, after: int, upto: int | None = None
) -> list[tuple[int, str]]:
    """``(seq, html)`` of the events after ``after`` (up to ``upto``) the viewer may see.

    Reads only ``seq`` and audience first: a player's catch-up usually finds nothing to
    send (the skipped events were other teams'), so no payload is loaded for them.
    """
    wanted = [
        seq
        for seq, visibility, team_ids in queries.event_stubs(exercise_id, after=after, upto=upto)
        if can_see_event(EventStub(visibility, team_ids), viewer=viewer)
    ]
    events = queries.events_by_seq(exercise_id, wanted)
    return [(e.seq, render_event(e, perspective=perspective_for(e, viewer=viewer))) for e in events]


def _resolve(user, code: str) -> tuple[int, Viewer, int | None] | None:
    """The exercise id, the viewer and the participant id (None: staff without a seat)."""
    try:
        exercise, participant = access.exercise_for(user, code)
    except (Http404, PermissionDenied):
        return None
    return exercise.pk, access.viewer_for(participant), participant.pk if participant else None


def page_viewer(viewer: Viewer, query_string: bytes) -> Viewer:
    """The viewer as the page that opened the socket shows events: ``?view=evaluate`` (the
    evaluator console) gets a control-cell member the evaluator's panels. Changes no
    right: the control cell sees every event either way."""
    view = parse_qs(query_string.decode("latin-1")).get("view", [""])[0]
    return replace(viewer, evaluating=viewer.is_control and view == "evaluate")


def heartbeat_frame() -> str:
    return (
        f'<span id="live-heartbeat" hx-swap-oob="true" hidden '
        f'data-at="{clock.now().isoformat()}"></span>'
    )


def error_frame(message: str) -> str:
    return f'<p id="live-error" hx-swap-oob="true" role="alert">{escape(message)}</p>'


class ExerciseConsumer(AsyncWebsocketConsumer):
    """One participant's socket on one exercise. Only pushes; accepts hello and ping."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_ANONYMOUS)
            return
        if scheduler.needs_recovery():
            await read_db(engine.recover_after_restart)()
        code = self.scope["url_route"]["kwargs"]["code"]
        resolved = await read_db(_resolve)(user, code)
        if resolved is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.exercise_id, viewer, self.participant_id = resolved
        self.viewer = page_viewer(viewer, self.scope.get("query_string", b""))
        self.last_sent: int | None = None  # None until the hello: nothing is sent before it
        self.joined = [
            *broadcast.groups_for(self.exercise_id, self.viewer),
            broadcast.user_group(user.pk),
        ]
        for group in self.joined:
            await self._join(group)
        await self.accept()
        metrics.socket_opened(self)
        await self._presence(presence.touch)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' own ``dispatch`` first runs ``close_old_connections`` in the one
        thread shared by every consumer of the process, for every message: with a
        thousand sockets, each pushed event waited on that thread a thousand times
        (a quarter of a server's CPU in bench/bench_live.py). These handlers reach the
        database only through ``read_db``, which closes stale connections itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def _join(self, group: str, *, attempts: int = 3) -> None:
        """Join a group. After Redis restarts, the first use of each pooled connection to
        the old server fails once; retry instead of failing the reconnecting client's
        handshake with a 500 (found by tests/services/test_faults.py)."""
        for attempt in range(1, attempts + 1):
            try:
                await self.channel_layer.group_add(group, self.channel_name)
                return
            except (RedisConnectionError, ConnectionError):
                if attempt == attempts:
                    raise
                await asyncio.sleep(0.05 * attempt)

    async def disconnect(self, code: int) -> None:
        metrics.socket_closed(self)
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        if hasattr(self, "joined"):
            await self._presence(presence.leave)

    async def _presence(self, change) -> None:
        """Record this socket's presence (``presence.touch`` / ``presence.leave``); seated
        participants only. Off the event loop: Redis or the cache may block."""
        if self.participant_id is not None:
            await sync_to_async(change, thread_sensitive=False)(
                self.exercise_id, self.participant_id, self.channel_name
            )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        message = self._parse(text_data, bytes_data)
        if isinstance(message, str):
            await self.send(text_data=error_frame(message))
            return
        handler = {"hello": self.on_hello, "ping": self.on_ping}.get(message["type"])
        if handler is None:
            await self.send(text_data=error_frame("Unknown message type."))
            return
        await handler(message)

    @staticmethod
    def _parse(text_data: str | None, bytes_data: bytes | None) -> dict[str, Any] | str:
        """The message, or a sentence saying what is wrong with it. Any input gets one of
        the two: the size is checked first, then the nesting by a flat scan (``json``
        recurses and would raise ``RecursionError`` on 2,000 ``[``), then the JSON."""
        if text_data is None:
            return "Send text frames."
        if len(text_data) > MAX_FRAME or len(text_data.encode(errors="surrogatepass")) > MAX_FRAME:
            return "Message too large."
        shape = json_shape_problem(
            text_data, max_depth=SOCKET_MESSAGE_DEPTH, max_nodes=MAX_MESSAGE_NODES
        )
        if shape is not None:
            return "Malformed message."
        try:
            message = json.loads(text_data)
        except ValueError:
            return "Malformed message."
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return "Malformed message."
        return message

    async def on_hello(self, message: dict[str, Any]) -> None:
        last_seq = message.get("last_seq") or 0
        if type(last_seq) is not int or not 0 <= last_seq <= MAX_SEQ:
            await self.send(text_data=error_frame("Malformed message."))
            return
        after = max(last_seq, self.last_sent or 0)
        self.last_sent = after
        await self._send_from_db(after=after)

    async def on_ping(self, message: dict[str, Any]) -> None:
        await self._presence(presence.touch)  # the heartbeat keeps the entry alive
        await self.send(text_data=heartbeat_frame())

    async def event_push(self, message: EventPush) -> None:
        """A live event from the channel layer (``type: event.push``)."""
        if self.last_sent is None or message["seq"] <= self.last_sent:
            return
        if self.last_sent < broadcast.previous_seq(message, self.viewer):
            await self._send_from_db(after=self.last_sent, upto=message["seq"] - 1)
        if message["seq"] > self.last_sent:
            await self.send(text_data=message["html"])
            metrics.frame_pushed(message)
            self.last_sent = message["seq"]

    async def session_end(self, message: broadcast.SessionEnd) -> None:
        """The user logged out or changed password (``broadcast.end_sessions``): leave
        every group first, so nothing more is sent while the close handshake runs."""
        await self.disconnect(CLOSE_ANONYMOUS)
        self.joined, self.last_sent = [], None
        await self.close(code=CLOSE_ANONYMOUS)

    async def _send_from_db(self, *, after: int, upto: int | None = None) -> None:
        frames = await read_db(visible_frames)(
            self.exercise_id, self.viewer, after=after, upto=upto
        )
        for seq, html in frames:
            await self.send(text_data=html)
            self.last_sent = seq
        metrics.frames_caught_up(len(frames))
