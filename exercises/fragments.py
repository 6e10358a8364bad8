"""HTML fragments pushed over the exercise socket (htmx ws extension, out-of-band swaps).

``render_frames(event, perspectives)`` is called once per event by
``exercises.broadcast`` (one frame per group); ``render_event`` renders one perspective,
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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from django.template.loader import render_to_string

from exercises import events as kinds
from exercises import live_state
from exercises.models import Event, Exercise, Share, Team
from exercises.visibility import (
    CONTROL,
    CONTROL_PERSPECTIVES,
    EVALUATOR,
    OBSERVER,
    TEAMS,
    perspective_team_id,
)

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


class _Sources:
    """The rows an event's frames read, each loaded on first use and shared by perspectives."""

    def __init__(self, event: Event) -> None:
        self.event = event

    @cached_property
    def exercise(self) -> Exercise:
        return Exercise.objects.select_related("scenario", "current_stage").get(
            pk=self.event.exercise_id
        )

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

    @cached_property
    def share(self) -> Share | None:
        return (
            Share.objects.filter(pk=self.event.payload.get("share_id"))
            .select_related("from_team__organization")
            .prefetch_related("recipients__organization")
            .first()
        )


Panel = Callable[[_Sources], str]


def render_event(event: Event, *, perspective: str) -> str:
    """The frame for ``event`` seen from ``perspective``: feed item plus out-of-band panels."""
    return render_frames(event, [perspective])[0]


def render_frames(event: Event, perspectives: Sequence[str]) -> list[str]:
    """One frame per perspective, in order, reading the shared rows once."""
    sources = _Sources(event)
    return [_frame(sources, perspective) for perspective in perspectives]


def _frame(sources: _Sources, perspective: str) -> str:
    event = sources.event
    context = {"event": event, "is_control": perspective in CONTROL_PERSPECTIVES}
    item = render_to_string(FEED_ITEM, context)
    parts = [f'<div hx-swap-oob="afterbegin:#feed">{item.strip()}</div>']
    parts += [render(sources) for render in _panels(event, perspective)]
    return f"<!--seq:{event.seq}-->" + "".join(p.strip() for p in parts if p)


def _panels(event: Event, perspective: str) -> list[Panel]:
    panels: list[Panel] = [_status_bar] if event.kind in STATUS_KINDS else []
    if perspective == CONTROL:
        return [*panels, *_control_updates(event)]
    if perspective == EVALUATOR:
        return [*panels, _ratings] if event.kind == kinds.OBSERVATION_RECORDED else panels
    if event.kind in STATUS_KINDS:
        panels.append(_briefing)
    team_id = perspective_team_id(perspective)
    if team_id is not None and (event.kind in PROMPT_KINDS or event.kind in STATUS_KINDS):
        panels.append(lambda src: _prompt_list(src.exercise, team_id))
    elif perspective == TEAMS and event.kind == kinds.STAGE_ENTERED:
        panels.append(lambda src: _prompt_list(src.exercise, None))  # a new stage: no prompt yet
    if team_id is not None and event.kind == kinds.DECISION_SUBMITTED:
        panels.append(_decision_status)
    if event.kind == kinds.SHARE_CREATED and perspective != OBSERVER:
        panels.append(_share_item)
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


def _decision_status(sources: _Sources) -> str:
    """Only the status line, so a teammate's half-written answer is not wiped."""
    context = {"decision": sources.decision}
    html = render_to_string("exercises/partials/decision_status.html", context)
    return f'<div id="prompt-{sources.prompt_key}-status" hx-swap-oob="innerHTML">{html}</div>'


def _share_item(
    sources: _Sources,
    *,
    target: str = "#shares-received",
    show_recipients: bool = False,
) -> str:
    share = sources.share
    if share is None:
        return ""
    context = {"share": share, "show_recipients": show_recipients}
    html = render_to_string("exercises/partials/share_item.html", context)
    return f'<ul hx-swap-oob="afterbegin:{target}">{html}</ul>'


def _control_updates(event: Event) -> list[Panel]:
    """What changes in the console. Frequent events (decisions, shares, injects) touch one
    cell, one list item or the inject list; the whole panel (with its team × prompt
    table) is redrawn only when the stage's state moves."""
    if event.kind == kinds.DECISION_SUBMITTED:
        return [_decision_cell]
    if event.kind == kinds.SHARE_CREATED:
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
    context = live_state.inject_list_context(sources.exercise) | {"oob": True}
    return render_to_string("exercises/partials/inject_list.html", context)


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
    return _share_item(sources, target="#control-share-list", show_recipients=True)
