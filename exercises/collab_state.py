"""Read-only view models of the collaboration panels: team threads, shares and relays
(and what the pages and their socket frames show of them). Like ``exercises.live_state``,
the page and the pushed fragments read the same functions, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from exercises import queries, visibility
from exercises.forms import MessageForm, new_client_token
from exercises.models import Exercise, Message, Share, Team


@dataclass(frozen=True)
class Thread:
    team: Team
    messages: list[Message]


def thread_messages(team: Team, *, upto: int | None = None) -> list[Message]:
    """The team's thread, oldest first, up to event ``upto`` (the page's ``last_seq``:
    later messages arrive over the socket, so none is shown twice)."""
    messages = Message.objects.filter(team=team).select_related("author")
    if upto is not None:
        messages = messages.filter(event_seq__lte=upto)
    return list(messages)


def room_collab(team: Team, *, last_seq: int) -> dict:
    """What the team room shows of the team's own thread."""
    return {
        "thread": Thread(team, thread_messages(team, upto=last_seq)),
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
