"""HTML fragments pushed over the exercise socket (htmx ws extension, out-of-band swaps).

``iter_frames(event, perspectives)`` is drawn once per event by ``exercises.broadcast``
(one frame per group, the players' sent before the consoles' are drawn);
``render_frames`` is the same as a list; ``render_event`` renders one perspective,
e.g. per replayed event in the consumer. Perspectives (``exercises.visibility``):
``CONTROL`` (the control console), ``EVALUATOR`` (the evaluator console), ``OBSERVER``,
``TEAMS`` (every team alike: ``ALL``/``TEAMS`` events) and one team's (``SOME`` events).
A perspective's frames carry only panels its page has, so htmx never meets an
out-of-band swap without a target.

Every fragment starts with ``<!--seq:N-->`` so the browser can drop one it already showed.
Then comes the feed item (prepended to ``#feed``: newest first) and, depending on the event, panels
that replace their counterpart on the page. Panels show the exercise's *current* state
(from ``exercises.live_state``, the same code the pages use), so a replayed event
converges to what a fresh page load would show.

Cost matters here: an event's frames are rendered while its sockets wait, and decisions
(the most frequent event) are rendered in the submitting request. So a frequent event
redraws only what it changes (a decision: one cell / one status line; an inject: the
console's inject list), and what its frames read is loaded once for all audiences
(``_Sources``): a decision's frames for its team and the control cell are drawn from its
event's payload, without a query. Whether an inject cascaded is the payload's ``cascade``
flag, never its release key.

Size: a frame carries a share's body once (the feed item of a team shows a preview, the
body is in the team's share list; the console's share list shows a preview, the body is in
the feed), and no frame is longer than ``SOCKET_PUSH_BYTES``: a longer one (only a forged
or legacy event can make one, the engine's text limits keep real ones far smaller) is
replaced by a compact frame (``compact_frame``) whose feed item links to the page, which
renders the event whole over a normal GET.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property, lru_cache
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import Truncator

from config.limits import SOCKET_PUSH_BYTES
from exercises import collab_state, live_state, queries, visibility
from exercises import events as kinds
from exercises.clock import exercise_clock
from exercises.forms import RfiAnswerForm
from exercises.models import Event, Exercise, Participant, Share, Team
from exercises.visibility import (
    CONTROL,
    CONTROL_PERSPECTIVES,
    EVALUATOR,
    OBSERVER,
    TEAMS,
    Viewer,
    perspective_team_id,
)
from scenarios.models import Tlp

FEED_ITEM = "exercises/partials/feed_item.html"
STATUS_KINDS = frozenset(
    {
        kinds.EXERCISE_STARTED,
        kinds.EXERCISE_PAUSED,
        kinds.EXERCISE_RESUMED,
        kinds.EXERCISE_ENDED,
        kinds.STAGE_ENTERED,
    }
)
PROMPT_KINDS = frozenset({kinds.PROMPT_OPENED, kinds.PROMPT_CLOSED})
# Kinds shown in their own panel only, not in the feed: a busy team thread would bury
# the injects.
PANEL_ONLY_KINDS = frozenset({kinds.DISCUSSION_POSTED})
# The kinds whose feed item reads a look's flag (feed_item.html): ``is_control`` shows an
# inject's expected action, ``preview_shares`` cuts a share's body. The item of any other
# kind is the same markup for every look (test_fragments renders every kind to prove it).
CONTROL_LOOK_KINDS = frozenset({kinds.INJECT_RELEASED})
PREVIEW_LOOK_KINDS = frozenset({kinds.SHARE_CREATED, kinds.SHARE_SUMMARIZED})
SHARE_KINDS = frozenset({kinds.SHARE_CREATED, kinds.SHARE_RELAYED, kinds.SHARE_SUMMARIZED})
RFI_KINDS = frozenset({kinds.RFI_ASKED, kinds.RFI_ANSWERED})


class _Sources:
    """The rows an event's frames read, each loaded on first use and shared by perspectives."""

    def __init__(self, event: Event) -> None:
        self.event = event
        self._feed_items: dict[tuple[bool, bool], str] = {}

    @cached_property
    def exercise(self) -> Exercise:
        return queries.exercise_with_stage(self.event.exercise_id)

    @cached_property
    def prompt_key(self) -> str:
        return self.event.payload.get("prompt", "")

    @cached_property
    def decision(self) -> dict[str, Any] | None:
        """The decision as the event recorded it (its payload holds what the status line
        and the console cell show), shaped like a ``Decision`` for the templates. Read
        from the event, not the table: decisions are the busiest event, and a replayed
        frame then shows that revision, with the later ones following it in order."""
        payload = self.event.payload
        if "revision" not in payload:
            return None
        return {
            "option": {"label": payload["option_label"]} if payload.get("option") else None,
            "text": payload.get("text", ""),
            "revision": payload["revision"],
            "author": {"label": payload["author_label"]} if payload.get("author_label") else None,
        }

    def feed_item(self, *, is_control: bool, preview_shares: bool) -> str:
        """The event's feed item, rendered once per distinct look: the control and
        evaluator consoles' items are the same markup, and so are every team's; and a kind
        whose item ignores a flag has one look less (a decision's item is the same for its
        team and the consoles, so it is rendered once, not twice)."""
        key = (
            is_control and self.event.kind in CONTROL_LOOK_KINDS,
            preview_shares and self.event.kind in PREVIEW_LOOK_KINDS,
        )
        if key not in self._feed_items:
            context = {"event": self.event, "is_control": key[0], "preview_shares": key[1]}
            item = render_to_string(FEED_ITEM, context).strip()
            self._feed_items[key] = f'<div hx-swap-oob="afterbegin:#feed">{item}</div>'
        return self._feed_items[key]

    @cached_property
    def share(self) -> Share | None:
        return (
            Share.objects.filter(pk=self.event.payload.get("share_id"))
            .select_related("from_team__organization", "exercise", "author")
            .prefetch_related("recipients__organization", "summarizes__from_team__organization")
            .first()
        )


Panel = Callable[[_Sources], str]


def render_event(event: Event, *, perspective: str) -> str:
    """The frame for ``event`` seen from ``perspective``: feed item plus out-of-band panels.

    The replay path (a socket's catch-up, ``exercises.consumers``): a thousand sockets
    joining replay the same few events from a handful of perspectives, so a frame drawn
    from the event alone (``_replayable``) is rendered once per process and shared.
    Frames with a panel showing current state are rendered each time."""
    if _replayable(event, perspective):
        return _replay_frame(_ReplayKey(event), perspective)
    return render_frames(event, [perspective])[0]


class _ReplayKey:
    """An event as a cache key: its row and what it was written with (a test database
    rolled back reuses ids, never with the same exercise, seq and time)."""

    __slots__ = ("event", "key")

    def __init__(self, event: Event) -> None:
        self.event = event
        self.key = (event.pk, event.exercise_id, event.seq, event.created_at)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ReplayKey) and other.key == self.key


REPLAY_CACHE = 1024  # frames per process: ~1 KB each


@lru_cache(maxsize=REPLAY_CACHE)
def _replay_frame(key: _ReplayKey, perspective: str) -> str:
    return render_frames(key.event, [perspective])[0]


def _replayable(event: Event, perspective: str) -> bool:
    """Whether the frame is drawn from the event alone (its feed item and payload-only
    panels), so it is the same whenever it is rendered: an event is never changed."""
    return all(getattr(panel, "from_payload", False) for panel in _panels(event, perspective))


def _from_payload(panel: Panel) -> Panel:
    """Marks a panel drawn from the event's payload alone (``_replayable``)."""
    panel.from_payload = True  # type: ignore[attr-defined]
    return panel


def render_frames(event: Event, perspectives: Sequence[str]) -> list[str]:
    """One frame per perspective, in order, reading the shared rows once."""
    return list(iter_frames(event, perspectives))


def iter_frames(event: Event, perspectives: Sequence[str]) -> Iterator[str]:
    """``render_frames`` one at a time: the publisher sends the players' frames before
    the consoles' (the richest) are drawn."""
    sources = _Sources(event)
    for perspective in perspectives:
        yield _frame(sources, perspective)


def _frame(sources: _Sources, perspective: str) -> str:
    """The event's frame, or its compact frame when longer than ``SOCKET_PUSH_BYTES``."""
    event = sources.event
    parts = []
    if event.kind not in PANEL_ONLY_KINDS:
        parts.append(
            sources.feed_item(
                is_control=perspective in CONTROL_PERSPECTIVES,
                # A team's share list holds the body; its feed item shows a preview.
                preview_shares=perspective not in (*CONTROL_PERSPECTIVES, OBSERVER),
            )
        )
    parts += [render(sources) for render in _panels(event, perspective)]
    frame = f"<!--seq:{event.seq}-->" + "".join(p.strip() for p in parts if p)
    if len(frame.encode()) <= SOCKET_PUSH_BYTES:
        return frame
    return compact_frame(event, exercise_code=sources.exercise.code)


COMPACT_TEXT = 200  # characters of the event's sentence a compact frame shows


def compact_frame(event: Event, *, exercise_code: str) -> str:
    """A frame of a few hundred bytes for ``event``, whatever its payload: the feed item
    with the event's sentence (truncated), its TLP marking if it has a valid one, and a
    link to the participant's own page, where the event is shown whole. No panel: the
    page, once opened, shows the current state."""
    marking = event.payload.get("tlp")
    context = {
        "event": event,
        "sentence": Truncator(kinds.event_sentence(event.kind, event.payload)).chars(COMPACT_TEXT),
        "tlp": marking if marking in Tlp.values else "",
        "url": reverse("exercises:exercise", args=[exercise_code]) + f"#event-{event.seq}",
    }
    item = render_to_string("exercises/partials/feed_item_compact.html", context)
    return f'<!--seq:{event.seq}--><div hx-swap-oob="afterbegin:#feed">{item.strip()}</div>'


def _panels(event: Event, perspective: str) -> list[Panel]:
    if perspective == EVALUATOR:  # the evaluator console: status, feed and ratings only
        panels = [_status_bar] if event.kind in STATUS_KINDS else []
        return [*panels, _ratings] if event.kind == kinds.OBSERVATION_RECORDED else panels
    if event.kind == kinds.DISCUSSION_POSTED:
        return [_from_payload(lambda src: _message_item(src, show_author=perspective == CONTROL))]
    if event.kind in RFI_KINDS:
        return [lambda src: _rfi_item(src, team_id=perspective_team_id(perspective))]
    if event.kind == kinds.SHARE_REPLIED:
        return [_reply_item]
    panels: list[Panel] = [_status_bar] if event.kind in STATUS_KINDS else []
    if perspective == CONTROL:
        return [*panels, *_control_updates(event)]
    if event.kind in STATUS_KINDS:
        panels.append(_briefing)
    team_id = perspective_team_id(perspective)
    if team_id is not None and (event.kind in PROMPT_KINDS or event.kind in STATUS_KINDS):
        panels.append(lambda src: _prompt_list(src.exercise, team_id))
    elif perspective == TEAMS and event.kind == kinds.STAGE_ENTERED:
        panels.append(lambda src: _prompt_list(src.exercise, None))  # a new stage: no prompt yet
    if team_id is not None and event.kind == kinds.DECISION_SUBMITTED:
        panels.append(_decision_status)
    if event.kind in SHARE_KINDS and perspective != OBSERVER:
        panels.append(lambda src: _share_item(src, team_id=team_id, can_relay=True, can_reply=True))
    return panels


def _status_bar(sources: _Sources) -> str:
    context = live_state.status_context(sources.exercise) | {"oob": True}
    return render_to_string("exercises/partials/status_bar.html", context)


def _briefing(sources: _Sources) -> str:
    context = live_state.status_context(sources.exercise) | {"oob": True}
    return render_to_string("exercises/partials/briefing.html", context)


def _prompt_list(exercise: Exercise, team_id: int | None) -> str:
    """The team's prompts of the current stage (forms carry no token: the page's JS adds one)."""
    items = []
    if team_id is not None and exercise.current_stage_id:
        team = Team.objects.get(pk=team_id)
        items = live_state.prompt_items(exercise, team, token=False)
    context = live_state.status_context(exercise) | {"prompt_items": items, "oob": True}
    return render_to_string("exercises/partials/prompt_list.html", context)


@_from_payload
def _decision_status(sources: _Sources) -> str:
    """Only the status line, so a teammate's half-written answer is not wiped."""
    context = {"decision": sources.decision}
    html = render_to_string("exercises/partials/decision_status.html", context)
    return f'<div id="prompt-{sources.prompt_key}-status" hx-swap-oob="innerHTML">{html}</div>'


def _share_item(
    sources: _Sources,
    *,
    team_id: int | None,
    target: str = "#shares-received",
    can_relay: bool = False,
    can_reply: bool = False,
    preview: bool = False,
) -> str:
    """The share prepended to a list. ``team_id``: the reading team (None for the control
    cell, and for the frame every team shares, which only GREEN and CLEAR shares reach)."""
    share = sources.share
    if share is None:
        return ""
    known = visibility.knows_recipients(
        tlp=share.tlp,
        reader_team_id=team_id,
        from_team_id=share.from_team_id,
        recipient_ids=[r.pk for r in share.recipients.all()],
    )
    context = {
        "share": share,
        "show_recipients": known,
        "show_sources": target == "#control-share-list",  # a summary's reporters: control only
        "can_relay": can_relay,
        "can_reply": can_reply,
        "reader_team_id": team_id,
        "preview": preview,
    }
    html = render_to_string("exercises/partials/share_item.html", context)
    return f'<ul hx-swap-oob="afterbegin:{target}">{html}</ul>'


@_from_payload
def _reply_item(sources: _Sources) -> str:
    """The reply appended under its share, drawn from the event alone (the same frame for
    both teams and the control cell: each page holds the share it replies to)."""
    p = sources.event.payload
    reply = {
        "id": p["reply_id"],
        "team_label": p["team_label"],
        "author_label": p["author_label"],
        "body": p["body"],
        "clock_seconds": sources.event.clock_seconds,
    }
    html = render_to_string("exercises/partials/reply_item.html", {"reply": reply})
    return f'<ul hx-swap-oob="beforeend:#replies-{p["share_id"]}">{html}</ul>'


def _message_item(sources: _Sources, *, show_author: bool) -> str:
    """The message appended to its team's thread, drawn from the event alone."""
    p = sources.event.payload
    message = {
        "id": p["message_id"],
        "author_label": p["author_label"],
        "from_control": p["from_control"],
        "body": p["body"],
        "mentions": p["mentions"],
        "clock_seconds": sources.event.clock_seconds,
    }
    context = {"message": message, "show_author": show_author}
    html = render_to_string("exercises/partials/message_item.html", context)
    return f'<ul hx-swap-oob="beforeend:#thread-{p["team_id"]}">{html}</ul>'


def _rfi_item(sources: _Sources, *, team_id: int | None) -> str:
    """A new RFI on top of its readers' lists; an answered one replacing its item.
    ``team_id`` None: the control cell's list."""
    rfi = collab_state.event_rfi(sources.event)
    if rfi is None:
        return ""
    exercise = sources.exercise
    # The console's frame goes to facilitators (only they open it); a team's to its players.
    reader = (
        Viewer(kind=Participant.Kind.FACILITATOR)
        if team_id is None
        else Viewer(kind=Participant.Kind.PLAYER, team_id=team_id)
    )
    item = collab_state.rfi_item(rfi, reader=reader, now_clock=exercise_clock(exercise))
    context = {
        "item": item,
        "answer_form": RfiAnswerForm(exercise=exercise),
        "running": exercise.status == Exercise.Status.RUNNING,
        "oob": sources.event.kind == kinds.RFI_ANSWERED,
    }
    html = render_to_string("exercises/partials/rfi_item.html", context)
    if context["oob"]:
        return html
    target = "#rfi-list" if team_id is not None else "#control-rfi-list"
    return f'<ul hx-swap-oob="afterbegin:{target}">{html}</ul>'


def _control_updates(event: Event) -> list[Panel]:
    """What changes in the console. Frequent events (decisions, shares, injects) touch one
    cell, one list item or the inject list; the whole panel (with its team × prompt
    table) is redrawn only when the stage's state moves."""
    if event.kind == kinds.DECISION_SUBMITTED:
        return [_decision_cell]
    if event.kind in SHARE_KINDS:
        return [_control_share_item]
    if event.kind == kinds.INJECT_RELEASED:
        return [_inject_list]
    if event.kind in STATUS_KINDS or event.kind in PROMPT_KINDS:
        return [_control_panel]
    return []


def _ratings(sources: _Sources) -> str:
    """The evaluator console's ratings grid (the form next to it is left alone)."""
    context = live_state.evaluation_context(sources.exercise) | {"oob": True}
    return render_to_string("exercises/live/evaluate.html#ratings", context)


def _control_panel(sources: _Sources) -> str:
    context = live_state.control_context(sources.exercise) | {"oob": True}
    return render_to_string("exercises/live/control.html#control-panel", context)


def _inject_list(sources: _Sources) -> str:
    html = inject_list(sources.exercise)
    if (kept := _kept_inject_lists.get()) is not None:
        kept[sources.exercise.pk] = html
    return html


def inject_list(exercise: Exercise, *, error: str = "") -> str:
    """The console's inject list, swapped out of band: a release's console frame, and the
    answer to a release POST (with ``error`` above it when refused)."""
    context = live_state.inject_list_context(exercise) | {"oob": True, "error": error}
    return render_to_string("exercises/partials/inject_list.html", context)


# Open only inside ``keeping_inject_lists``: the lists drawn there, by exercise id.
_kept_inject_lists: ContextVar[dict[int, str] | None] = ContextVar(
    "kept_inject_lists", default=None
)


@contextmanager
def keeping_inject_lists() -> Iterator[dict[int, str]]:
    """While open, keep the console's inject list each release's frame draws (by exercise
    id), so the facilitator's answer to the release reuses it rather than drawing it again:
    the frames are drawn in the request's thread, when its transaction commits."""
    kept: dict[int, str] = {}
    token = _kept_inject_lists.set(kept)
    try:
        yield kept
    finally:
        _kept_inject_lists.reset(token)


@_from_payload
def _decision_cell(sources: _Sources) -> str:
    payload = sources.event.payload
    if sources.decision is None or "team_code" not in payload:
        return ""
    context = {
        "team": {"code": payload["team_code"]},
        "prompt": {"key": sources.prompt_key},
        "decision": sources.decision,
        "oob": True,
    }
    return render_to_string("exercises/partials/decision_cell.html", context)


def _control_share_item(sources: _Sources) -> str:
    # The console's list shows a preview: its feed item carries the body.
    return _share_item(sources, team_id=None, target="#control-share-list", preview=True)
