"""The exercise timeline: event kinds and their payloads, writing events, visibility marks.

Each kind has one payload type (a ``TypedDict``), one label (the feed's heading for a
kind without its own markup) and one sentence (a line of the after-action timeline and
the exports), in ``KINDS``. ``write_event`` stores the next event of an exercise;
``exercises.broadcast`` publishes it after the commit (the engine calls both).

Visibility marks (``Exercise.visibility_marks``): the seq of the latest event of each
visibility, kept under the exercise lock as events are written, so a push can name the
latest earlier event its sockets may see without reading the timeline back (with 100
teams deciding in turn, a team's previous event is ~100 events back). Shape:
``{"teams": seq of the latest ALL/TEAMS event, "all": of the latest ALL event,
"team": {team id as text: seq of its latest SOME event, only if later than "teams"},
"closed": seq of the latest prompt.closed event}``. ``exercises.broadcast.previous_visible``
reads the first three; a decision reads "closed" (``window_closed_since``).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, Union, get_args, get_origin, get_type_hints

from django.db import connection

from accounts.models import User
from config.rows import Rows
from exercises.models import Event, Exercise
from exercises.writes import Lead, Table, Then, Update

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
DISCUSSION_POSTED = "discussion.posted"
SHARE_RELAYED = "share.relayed"
SHARE_REFUSED = "share.refused"
RFI_ASKED = "rfi.asked"
RFI_ANSWERED = "rfi.answered"
SHARE_SUMMARIZED = "share.summarized"
SHARE_REPLIED = "share.replied"


# ---------------------------------------------------------------- payloads


class Announcement(TypedDict):
    """The exercise's lifecycle events and ``hotwash.saved``: a sentence, nothing more."""

    message: str


class StageEntered(TypedDict):
    stage: str
    title: str
    briefing: str


class InjectReleased(TypedDict):
    """``cascade``: released as a consequence of a team's decision (``release_key``
    then reads ``csq:<consequence>:<team>``; read the flag, not the key)."""

    inject: str
    title: str
    body: str
    sender: str
    channel: str
    severity: str
    tlp: str
    expected_action: str
    release_key: str
    cascade: bool


class PromptOption(TypedDict):
    key: str
    label: str
    id: int


class PromptOpened(TypedDict):
    prompt: str
    question: str
    kind: str
    options: list[PromptOption]
    deadline_clock: float | None


class PromptClosed(TypedDict):
    prompt: str
    question: str


class DecisionSubmitted(TypedDict):
    """What the team's status line and the console cell show, so their frames are drawn
    from the event alone (``exercises.fragments``)."""

    prompt: str
    question: str
    team_id: int
    team_code: str
    team_label: str
    option: str
    option_label: str
    text: str
    revision: int
    author_label: str
    latency_seconds: float


class ShareCreated(TypedDict):
    share_id: int
    from_team_id: int
    from_team_label: str
    tlp: str
    title: str
    body: str
    recipient_ids: list[int]
    recipient_labels: list[str]
    about_inject: str


class ShareRelayed(TypedDict):
    """A reader passed a share on under its marking; ``chain_labels``: the sending team of
    every hop, the original's first and this relay's last."""

    share_id: int
    relayed_from_id: int
    from_team_id: int
    from_team_label: str
    tlp: str
    title: str
    body: str
    recipient_ids: list[int]
    recipient_labels: list[str]
    chain_labels: list[str]


class ShareSummarized(TypedDict):
    """A coordinating body's sanitized summary to every team. ``report_count``: how many
    member reports it summarizes (which ones is in ``Share.summarizes``, for the control
    cell and the report: a summary does not name its sources to the teams)."""

    share_id: int
    from_team_id: int
    from_team_label: str
    tlp: str
    title: str
    body: str
    recipient_ids: list[int]
    recipient_labels: list[str]
    report_count: int


class ShareReplied(TypedDict):
    """A recipient's reply to a share, to the sender's team (``to_team_id``)."""

    reply_id: int
    share_id: int
    share_title: str
    team_id: int
    team_label: str
    to_team_id: int
    to_team_label: str
    tlp: str
    body: str
    author_label: str


class ShareRefused(TypedDict):
    """An over-share attempt the marking refused (control cell only)."""

    share_id: int
    team_id: int
    team_label: str
    tlp: str
    title: str
    target_labels: list[str]
    reason: str


class RfiAsked(TypedDict):
    """``to_team_id`` 0 and ``to_label`` "the control cell" for a question to control."""

    rfi_code: str
    from_team_id: int
    from_team_label: str
    to_team_id: int
    to_label: str
    tlp: str
    question: str
    author_label: str


class RfiAnswered(TypedDict):
    """``inject``: the key of the inject control released as the answer ("" if none)."""

    rfi_code: str
    from_team_id: int
    from_team_label: str
    to_label: str
    tlp: str
    question: str
    answer: str
    author_label: str
    seconds_to_answer: float
    inject: str


class DiscussionPosted(TypedDict):
    """A line of a team's thread; ``from_control``: posted by the simulation cell.
    ``mentions``: usernames of the teammates it names (their pages highlight it)."""

    message_id: int
    team_id: int
    team_label: str
    author_label: str
    from_control: bool
    body: str
    mentions: list[str]


class ObservationRecorded(TypedDict):
    observation_id: int
    team_id: int
    team_label: str
    criterion: str
    criterion_title: str
    rating: str
    note: str


# ---------------------------------------------------------------- the table of kinds


Sentence = Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class Kind:
    payload: type
    label: str
    sentence: Sentence


def _said(label: str) -> Sentence:
    return lambda p: label


def _inject_sentence(p: Mapping[str, Any]) -> str:
    tlp = f" (TLP:{p['tlp']})" if p.get("tlp") else ""
    return f"Inject released: {p.get('title', '')}{tlp}"


def _decision_sentence(p: Mapping[str, Any]) -> str:
    answer = p.get("option_label") or p.get("text") or "an answer"
    return f"{p.get('team_label', 'A team')} decided: {answer}"


def _share_sentence(p: Mapping[str, Any]) -> str:
    sender = p.get("from_team_label", "A team")
    return f"{sender} shared “{p.get('title', '')}” (TLP:{p.get('tlp', '')})"


def _relay_sentence(p: Mapping[str, Any]) -> str:
    chain = " → ".join(p.get("chain_labels", [])) or p.get("from_team_label", "A team")
    return f"Relayed “{p.get('title', '')}” (TLP:{p.get('tlp', '')}): {chain}"


def _summary_sentence(p: Mapping[str, Any]) -> str:
    sender = p.get("from_team_label", "A coordinating body")
    count = p.get("report_count", 0)
    return (
        f"{sender} warned every team: “{p.get('title', '')}” (TLP:{p.get('tlp', '')}), "
        f"a summary of {count} report(s)"
    )


def _reply_sentence(p: Mapping[str, Any]) -> str:
    team, to = p.get("team_label", "A team"), p.get("to_team_label", "the sender")
    return f"{team} replied to {to} about “{p.get('share_title', '')}”: {p.get('body', '')}"


def _refusal_sentence(p: Mapping[str, Any]) -> str:
    targets = ", ".join(p.get("target_labels", []))
    team = p.get("team_label", "A team")
    return (
        f"{team} was refused relaying “{p.get('title', '')}” (TLP:{p.get('tlp', '')}) to {targets}"
    )


def _rfi_asked_sentence(p: Mapping[str, Any]) -> str:
    asker = p.get("from_team_label", "A team")
    return f"{asker} asked {p.get('to_label', '')}: {p.get('question', '')}"


def _rfi_answered_sentence(p: Mapping[str, Any]) -> str:
    minutes = round(float(p.get("seconds_to_answer", 0)) / 60, 1)
    asker = p.get("from_team_label", "a team")
    return f"{p.get('to_label', '')} answered {asker} after {minutes} min: {p.get('answer', '')}"


def _discussion_sentence(p: Mapping[str, Any]) -> str:
    author = "Simulation cell" if p.get("from_control") else p.get("author_label", "Someone")
    return f"{author} in {p.get('team_label', 'a team')}'s thread: {p.get('body', '')}"


def _observation_sentence(p: Mapping[str, Any]) -> str:
    criterion = p.get("criterion_title", p.get("criterion", ""))
    return f"{p.get('team_label', 'A team')} rated {p.get('rating', '')} on {criterion}"


# Sentences read payloads with defaults: events written by hand (test factories, older
# rows) may lack a field, and a report must still render.
KINDS: dict[str, Kind] = {
    EXERCISE_STARTED: Kind(Announcement, "Exercise started", _said("Exercise started")),
    EXERCISE_PAUSED: Kind(Announcement, "Exercise paused", _said("Exercise paused")),
    EXERCISE_RESUMED: Kind(Announcement, "Exercise resumed", _said("Exercise resumed")),
    EXERCISE_ENDED: Kind(Announcement, "Exercise ended", _said("Exercise ended")),
    HOTWASH_SAVED: Kind(Announcement, "Hot-wash notes saved", _said("Hot-wash notes saved")),
    STAGE_ENTERED: Kind(
        StageEntered, "Stage entered", lambda p: f"Stage entered: {p.get('title', '')}"
    ),
    INJECT_RELEASED: Kind(InjectReleased, "Inject released", _inject_sentence),
    PROMPT_OPENED: Kind(
        PromptOpened, "Prompt opened", lambda p: f"Prompt opened: {p.get('question', '')}"
    ),
    PROMPT_CLOSED: Kind(
        PromptClosed, "Prompt closed", lambda p: f"Prompt closed: {p.get('question', '')}"
    ),
    DECISION_SUBMITTED: Kind(DecisionSubmitted, "Decision submitted", _decision_sentence),
    SHARE_CREATED: Kind(ShareCreated, "Share created", _share_sentence),
    OBSERVATION_RECORDED: Kind(ObservationRecorded, "Observation recorded", _observation_sentence),
    DISCUSSION_POSTED: Kind(DiscussionPosted, "Team discussion", _discussion_sentence),
    SHARE_RELAYED: Kind(ShareRelayed, "Share relayed", _relay_sentence),
    SHARE_REFUSED: Kind(ShareRefused, "Over-share refused", _refusal_sentence),
    RFI_ASKED: Kind(RfiAsked, "Request for information", _rfi_asked_sentence),
    RFI_ANSWERED: Kind(RfiAnswered, "RFI answered", _rfi_answered_sentence),
    SHARE_SUMMARIZED: Kind(ShareSummarized, "Community warning", _summary_sentence),
    SHARE_REPLIED: Kind(ShareReplied, "Reply to a share", _reply_sentence),
}


def _fallback(kind: str) -> str:
    return kind.replace(".", " ").capitalize()


def event_label(kind: str) -> str:
    """The kind's label ("Exercise paused"); an unknown kind spelled out."""
    entry = KINDS.get(kind)
    return entry.label if entry else _fallback(kind)


def event_sentence(kind: str, payload: Mapping[str, Any] | None) -> str:
    """One line telling what the event says ("Cloud decided: Isolate"), from its payload."""
    entry = KINDS.get(kind)
    return entry.sentence(payload or {}) if entry else _fallback(kind)


# ---------------------------------------------------------------- payload schemas


def payload_errors(kind: str, payload: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``payload`` for ``kind`` (empty when it matches its TypedDict
    exactly: every key, of its type, and no other). Tests check every emitted event."""
    entry = KINDS.get(kind)
    if entry is None:
        return [f"unknown kind {kind!r}"]
    return _mismatches(entry.payload, payload, kind)


def _mismatches(schema: type, value: Any, where: str) -> list[str]:
    if not isinstance(value, Mapping):
        return [f"{where}: {type(value).__name__}, not an object"]
    hints = get_type_hints(schema)
    errors = [f"{where}.{key}: unexpected" for key in value.keys() - hints.keys()]
    for key, hint in hints.items():
        if key not in value:
            errors.append(f"{where}.{key}: missing")
        else:
            errors += _type_errors(hint, value[key], f"{where}.{key}")
    return errors


def _type_errors(hint: Any, value: Any, where: str) -> list[str]:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        options = [_type_errors(arg, value, where) for arg in args]
        return [] if any(not errors for errors in options) else options[0]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__}, not a list"]
        return [
            e for i, item in enumerate(value) for e in _type_errors(args[0], item, f"{where}[{i}]")
        ]
    if isinstance(hint, type) and issubclass(hint, dict):  # a nested TypedDict
        return _mismatches(hint, value, where)
    wanted = (int, float) if hint is float else hint
    ok = isinstance(value, wanted) and not (hint is not bool and isinstance(value, bool))
    return [] if ok else [f"{where}: {value!r} is not {getattr(hint, '__name__', hint)}"]


# ---------------------------------------------------------------- references in payloads

# What each reference field of a payload names, for moving a timeline to another database
# (restoring a backup, ``scoring.backup``): database ids of teams, shares, share replies,
# messages, observations and prompt options (``PromptOption.id``), codes, and usernames.
# Every integer field of a payload is either here or a count (``revision``,
# ``report_count``); a test holds that.
# An id of 0 names nothing (``RfiAsked.to_team_id`` 0: the control cell).
PAYLOAD_REFERENCES: dict[str, str] = {
    "team_id": "team",
    "from_team_id": "team",
    "to_team_id": "team",
    "recipient_ids": "team",
    "share_id": "share",
    "relayed_from_id": "share",
    "reply_id": "reply",
    "message_id": "message",
    "observation_id": "observation",
    "id": "option",
    "team_code": "team_code",
    "rfi_code": "rfi_code",
    "mentions": "username",
}

Lookup = Callable[[str, Any], Any]


def remap_references(kind: str, payload: Mapping[str, Any], lookup: Lookup) -> dict[str, Any]:
    """``payload`` of ``kind`` with each reference field (``PAYLOAD_REFERENCES``, nested
    ones included) replaced by ``lookup(what, value)``; list fields item by item, ids of 0
    kept. Fields the kind's schema lacks are copied as they are. Raises ``ValueError`` for
    an unknown kind."""
    entry = KINDS.get(kind)
    if entry is None:
        raise ValueError(f"Unknown event kind {kind!r}.")
    return _remap(entry.payload, payload, lookup)


def _remap(schema: type, payload: Mapping[str, Any], lookup: Lookup) -> dict[str, Any]:
    out = dict(payload)
    for key, hint in get_type_hints(schema).items():
        if key not in out:
            continue
        what = PAYLOAD_REFERENCES.get(key)
        args = get_args(hint)
        nested = (
            get_origin(hint) is list and isinstance(args[0], type) and issubclass(args[0], dict)
        )
        if nested and isinstance(out[key], list):
            out[key] = [_remap(args[0], item, lookup) for item in out[key]]
        elif what and isinstance(out[key], list):
            out[key] = [_one(what, item, lookup) for item in out[key]]
        elif what:
            out[key] = _one(what, out[key], lookup)
    return out


def _one(what: str, value: Any, lookup: Lookup) -> Any:
    return value if value == 0 and not isinstance(value, bool) else lookup(what, value)


# ---------------------------------------------------------------- writing


# Written out (``exercises.writes``): every engine call writes through here.
_EXERCISES, _EVENTS = Table(Exercise), Table(Event)


def write_event(
    *,
    exercise: Exercise,
    kind: str,
    payload: Mapping[str, Any],
    visibility: str,
    clock_seconds: float,
    team_ids: list[int] | None = None,
    actor: User | None = None,
    then: Sequence[Then | Update] = (),
) -> tuple[Event, dict[str, Any]]:
    """Store the next event of ``exercise`` and move ``last_seq`` and the visibility marks
    with it; returns the event and the marks as they were before it (what
    ``broadcast.publish`` needs). Publishes nothing. ``then``: rows written after the event
    in the same statement (on PostgreSQL; ``writes.Table.insert``), a ``ref`` taking its id.

    Precondition: the caller holds the exercise row lock (``select_for_update`` inside
    ``transaction.atomic``) and passes the locked instance, so ``seq`` is gap-free and the
    marks are exact.
    """
    team_ids = sorted(set(team_ids or [])) if visibility == Event.Visibility.SOME else []
    event = _new_event(kind, payload, visibility, team_ids, clock_seconds, actor)
    seq = exercise.last_seq + 1
    marks_before = exercise.visibility_marks
    exercise.last_seq = seq
    exercise.visibility_marks = advance_marks(
        marks_before, seq, visibility, team_ids, closes_window=kind == PROMPT_CLOSED
    )
    event.exercise, event.seq = exercise, seq
    moved = Update(_EXERCISES, exercise, ["last_seq", "visibility_marks"])
    _EVENTS.insert(event, after=moved, then=then)
    return event, marks_before


def _new_event(
    kind: str,
    payload: Mapping[str, Any],
    visibility: str,
    team_ids: list[int],
    clock_seconds: float,
    actor: User | None,
) -> Event:
    """The event of ``kind``, not yet placed in its exercise's timeline (no ``seq``)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown event kind {kind!r}.")
    return Event(
        kind=kind,
        payload=dict(payload),
        visibility=visibility,
        team_ids=team_ids,
        clock_seconds=round(clock_seconds, 3),
        actor=actor,
    )


def write_team_event_if(
    *,
    exercise_id: int,
    kind: str,
    payload: Mapping[str, Any],
    team_id: int,
    clock_seconds: float,
    actor: User | None,
    then: Sequence[Then | Update],
    statuses: Sequence[str],
    running: tuple[float, datetime | None],
    closed_by: int,
) -> tuple[Exercise, Event, dict[str, Any]] | None:
    """PostgreSQL: lock the exercise and ``write_event`` an event only ``team_id`` sees
    (``SOME``), with ``then``, in one statement, if the locked exercise's status is one of
    ``statuses``, its clock is ``running`` (offset, running since) and no prompt closed
    after event ``closed_by``. Returns the locked exercise moved past the event, the event
    and the marks before it, as ``lock`` and ``write_event`` would; None, having written
    nothing, when a condition fails or the exercise is gone (the caller then takes the
    lock and checks in Python, which says why).

    ``lock`` then ``write_event`` hold the lock over two round trips, the caller's work
    between them and, when the server's cores are busy, the waits for a core (or for the
    interpreter's lock) after each answer: every other writer of the exercise waits
    meanwhile (bench/README.md, session 17). Here the lock is held from this statement to
    the commit. The marks are moved in SQL as ``advance_marks`` moves them."""
    event = _new_event(kind, payload, Event.Visibility.SOME, [team_id], clock_seconds, actor)
    event.exercise_id = exercise_id
    offset, since = running
    lead = Lead(
        sql=_LOCK_AND_MOVE,
        values=[exercise_id, str(team_id), list(statuses), offset, since, closed_by],
        gate="moved",
        fill={"seq": "moved.seq"},
        out=_LOCKED_OUT,
    )
    answer = _EVENTS.insert_gated(event, lead=lead, then=then)
    if answer is None or event.pk is None:
        return None
    exercise = _LOCKED_ROW.build(answer)
    marks_before = exercise.visibility_marks
    event.seq = exercise.last_seq = exercise.last_seq + 1
    exercise.visibility_marks = advance_marks(
        marks_before, event.seq, Event.Visibility.SOME, [team_id]
    )
    event.exercise = exercise
    return exercise, event, marks_before


def _lock_and_move() -> str:
    """``write_team_event_if``'s first ``WITH``s: the exercise row locked (``locked``) and,
    if the conditions hold, moved past one ``SOME`` event of one team (``moved``)."""
    q = connection.ops.quote_name
    table = q(Exercise._meta.db_table)
    column = {f.attname: q(f.column) for f in Exercise._meta.concrete_fields}
    seq, marks = column["last_seq"], column["visibility_marks"]

    def mark(key: str, empty: str) -> str:
        return f"COALESCE(locked.{marks} -> '{key}', '{empty}')"

    return f"""
locked AS (SELECT {Rows(Exercise, "e").columns} FROM {table} e WHERE e.id = %s FOR UPDATE),
moved AS (
  UPDATE {table} x
  SET {seq} = locked.{seq} + 1,
      {marks} = jsonb_build_object(
        'teams', {mark("teams", "0")}, 'all', {mark("all", "0")},
        'team', {mark("team", "{}")} || jsonb_build_object(%s::text, locked.{seq} + 1),
        'closed', {mark("closed", "0")})
  FROM locked
  WHERE x.id = locked.id
    AND locked.{column["status"]} = ANY(%s)
    AND locked.{column["clock_offset_seconds"]} = %s
    AND locked.{column["running_since"]} IS NOT DISTINCT FROM %s::timestamptz
    AND COALESCE((locked.{marks} ->> 'closed')::bigint, 0) <= %s
  RETURNING x.{seq} AS seq)"""


_LOCKED_ROW = Rows(Exercise, "locked")
_LOCKED_OUT = f"{_LOCKED_ROW.columns} FROM locked"
_LOCK_AND_MOVE = _lock_and_move()


def advance_marks(
    marks: dict[str, Any],
    seq: int,
    visibility: str,
    team_ids: list[int],
    *,
    closes_window: bool = False,
) -> dict[str, Any]:
    """The marks after event ``seq`` (pure); ``closes_window``: it is a prompt.closed event."""
    teams, latest_all = marks.get("teams", 0), marks.get("all", 0)
    closed = seq if closes_window else marks.get("closed", 0)
    team = dict(marks.get("team", {}))
    if visibility in (Event.Visibility.ALL, Event.Visibility.TEAMS):
        teams, team = seq, {}  # every team saw this one: earlier team entries are moot
        if visibility == Event.Visibility.ALL:
            latest_all = seq
    elif visibility == Event.Visibility.SOME:
        team.update({str(tid): seq for tid in team_ids})
    return {"teams": teams, "all": latest_all, "team": team, "closed": closed}


def window_closed_since(marks: dict[str, Any], seq: int) -> bool:
    """Whether a prompt window may have closed after event ``seq``, by the marks of the
    locked exercise (pure). Every close writes its prompt.closed event under that lock
    (``engine.injects.close_window``), so a window read after event ``seq`` is still as
    read when this says no."""
    return marks.get("closed", 0) > seq
