"""Read-only view models of the collaboration panels: team threads, shares and relays
(and what the pages and their socket frames show of them). Like ``exercises.live_state``,
the page and the pushed fragments read the same functions, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from exercises import access, queries, room_queries, visibility
from exercises.clock import exercise_clock
from exercises.forms import MessageForm, RfiAnswerForm, RfiForm, new_client_token
from exercises.models import Exercise, Message, Participant, Rfi, Share, ShareReply, Team
from exercises.visibility import Viewer


@dataclass(frozen=True)
class Thread:
    team: Team
    messages: list[Message]


def room_collab(team: Team, *, last_seq: int) -> dict:
    """What the team room shows of the team's own thread."""
    return {
        "thread": Thread(team, room_queries.thread_messages(team.pk, upto=last_seq)),
        "message_form": MessageForm(),
    }


def control_collab(exercise: Exercise, *, last_seq: int) -> dict:
    """Every team's thread, for the control cell."""
    by_team: dict[int, list[Message]] = {}
    rows = Message.objects.filter(exercise=exercise, event_seq__lte=last_seq)
    for message in rows.select_related("author"):  # one read for every thread
        by_team.setdefault(message.team_id, []).append(message)
    teams = exercise.teams.select_related("organization", "role")
    threads = [Thread(team, by_team.get(team.pk, [])) for team in teams]
    return {"threads": threads, "message_form": MessageForm()}


def mark_known_recipients(shares: list[Share], team: Team) -> list[Share]:
    """Set ``recipients_known`` on each share: whether ``team`` may learn whom it was
    addressed to (``visibility.knows_recipients``). Returns the same list."""
    for share in shares:
        share.recipients_known = visibility.knows_recipients(
            tlp=share.tlp,
            reader_team_id=team.pk,
            from_team_id=share.from_team_id,
            recipient_ids=[r.pk for r in share.recipients.all()],
        )
    return shares


def readable_share(exercise: Exercise, team: Team, share_id: int) -> Share | None:
    """The share ``share_id`` of ``exercise`` if ``team`` may read it, else None."""
    share = exercise.shares.filter(pk=share_id).prefetch_related("recipients").first()
    if share is None:
        return None
    readers = visibility.share_readers(
        tlp=share.tlp,
        from_team_id=share.from_team_id,
        recipient_ids=[r.pk for r in share.recipients.all()],
        teams=queries.team_infos(exercise),
    )
    return share if team.pk in readers else None


def attach_replies(shares: list[Share], *, team: Team | None, last_seq: int) -> list[Share]:
    """Set ``visible_replies`` on each share: the replies ``team`` may read (all of them
    on its own shares, its own on the others'; every reply for the control cell,
    ``team`` None), oldest first, up to event ``last_seq`` (later ones arrive over the
    socket). Returns the same list."""
    if not shares:  # the start of an exercise: not even a query to build
        return shares
    rows = ShareReply.objects.filter(share__in=shares, event_seq__lte=last_seq)
    by_share: dict[int, list[ShareReply]] = {}
    for reply in rows.select_related("team__organization", "team__role", "author"):
        by_share.setdefault(reply.share_id, []).append(reply)
    for share in shares:
        replies = by_share.get(share.pk, [])
        if team is not None and share.from_team_id != team.pk:
            replies = [r for r in replies if r.team_id == team.pk]
        share.visible_replies = replies
    return shares


def summary_context(exercise: Exercise, team: Team) -> dict:
    """The community-summary form of a coordinating team: the reports addressed to it,
    newest first (the engine decides which markings the summary may take)."""
    reports = (
        exercise.shares.filter(recipients=team)
        .select_related("from_team__organization")
        .order_by("-created_at", "-id")
    )
    return {
        "exercise": exercise,
        "reports": list(reports),
        "markings": visibility.SUMMARY_MARKINGS,
        "client_token": new_client_token(),
    }


@dataclass(frozen=True)
class RelayChoice:
    team: Team
    allowed: bool
    checked: bool = False


def relay_context(
    exercise: Exercise, team: Team, share: Share, *, checked: frozenset[str] = frozenset()
) -> dict:
    """The relay form of ``share`` for ``team``: every other team, and whether the marking
    lets the team relay to it (shown as a hint; the engine decides)."""
    infos = {info.id: info for info in queries.team_infos(exercise)}
    others = exercise.teams.exclude(pk=team.pk).select_related("organization", "role")
    choices = [
        RelayChoice(
            other,
            visibility.may_relay(tlp=share.tlp, relayer=infos[team.pk], target=infos[other.pk]),
            other.code in checked,
        )
        for other in others
    ]
    return {
        "exercise": exercise,
        "share": share,
        "choices": choices,
        "rule": visibility.RELAY_RULES[share.tlp],
        "client_token": new_client_token(),
    }


# ---------------------------------------------------------------- requests for information


@dataclass(frozen=True)
class RfiItem:
    """An RFI as one reader sees it: ``can_answer`` when the reader is its addressee and
    it is open; ``age`` exercise-clock seconds since it was asked (for open ones)."""

    rfi: Rfi
    can_answer: bool
    age: float


def rfi_item(rfi: Rfi, *, reader: Viewer, now_clock: float) -> RfiItem:
    """The RFI as ``reader`` sees it; the answer form only for who may answer
    (``access.may_answer_rfi``)."""
    age = max(0.0, now_clock - rfi.asked_clock)
    return RfiItem(rfi, access.may_answer_rfi(reader, rfi), age)


def event_rfi(event) -> Rfi | None:
    """The RFI an ``rfi.*`` event is about, as it is now (an answered one shows its answer)."""
    return (
        _rfis_of(Rfi.objects.filter(exercise_id=event.exercise_id))
        .filter(code=event.payload.get("rfi_code"))
        .first()
    )


def _rfis_of(rows):
    return rows.select_related(
        "exercise",
        "from_team__organization",
        "from_team__role",
        "to_team__organization",
        "to_team__role",
        "asked_by",
        "answered_by",
        "answer_inject",
    )


def _rfis(exercise: Exercise):
    return _rfis_of(exercise.rfis.all()).order_by("-asked_at", "-id")


def room_rfis(
    exercise: Exercise,
    team: Team,
    *,
    last_seq: int,
    choices: list[tuple[str, str]] | None = None,
) -> dict:
    """The team's RFIs (asked by it or put to it, up to the page's ``last_seq``: later
    ones arrive over the socket), newest first, and the forms (``choices``: the other
    teams, ``room_queries.other_team_choices``, when the caller already read them)."""
    now_clock = exercise_clock(exercise)
    rows = room_queries.team_rfis(exercise, team.pk, upto=last_seq)
    reader = Viewer(kind=Participant.Kind.PLAYER, team_id=team.pk)
    return {
        "rfi_items": [rfi_item(r, reader=reader, now_clock=now_clock) for r in rows],
        "rfi_form": RfiForm(
            exercise=exercise,
            team=team,
            choices=choices,
            initial={"client_token": new_client_token()},
        ),
        "answer_form": RfiAnswerForm(exercise=exercise),
    }


def control_rfis(exercise: Exercise, *, reader: Viewer, last_seq: int | None = None) -> dict:
    """Every RFI for the control cell (up to ``last_seq``): open ones first (with their
    age), newest first. ``reader``: who reads the console (an evaluator answers none)."""
    now_clock = exercise_clock(exercise)
    rows = _rfis(exercise)
    if last_seq is not None:
        rows = rows.filter(asked_seq__lte=last_seq)
    items = [rfi_item(r, reader=reader, now_clock=now_clock) for r in rows]
    return {
        "control_rfi_items": sorted(items, key=lambda i: not i.rfi.is_open),
        "answer_form": RfiAnswerForm(exercise=exercise),
        "running": exercise.status == Exercise.Status.RUNNING,
    }
