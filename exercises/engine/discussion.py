"""Team discussion: each team's live thread, read by its players and the control cell.

``discussion.posted`` is ``SOME`` with the thread's team only: the team's sockets and the
control cell get it, no other team and no observer. A facilitator posts as the
*simulation cell* (``from_control``), playing someone outside the exercise (a regulator,
a vendor). ``@username`` of a teammate is a mention: the message carries the names and
the mentioned player's page highlights it.
"""

from __future__ import annotations

import re

from accounts.models import User
from config.limits import TEXT_MESSAGE
from exercises import events
from exercises.clock import exercise_clock
from exercises.engine.core import EngineError, emit, locked, require_length, require_status
from exercises.engine.rate_limits import MESSAGES, take
from exercises.models import Event, Exercise, Message, Participant, Team

MENTION = re.compile(r"(?<![\w@])@([\w.@+-]+)")


def mentioned(body: str, usernames: list[str]) -> list[str]:
    """The ``usernames`` that ``body`` mentions as ``@name`` (case-insensitive; a trailing
    full stop is punctuation), in the order of ``usernames``. Pure."""
    said = {match.rstrip(".").casefold() for match in MENTION.findall(body)}
    return [name for name in usernames if name.casefold() in said]


def message_post(*, exercise: Exercise, team: Team, author: User, body: str) -> Message:
    """Post ``body`` to ``team``'s thread, as one of its players or, for a facilitator of
    the exercise, as the simulation cell. Raises ``EngineError`` when the author may not
    post there, the text is empty or too long, or the author posts too fast."""
    body = body.strip()
    with locked(exercise) as ex:
        require_status(ex, "discuss")
        from_control = _check_author(ex, team=team, author=author)
        _check_body(body)
        take(MESSAGES, exercise_id=ex.pk, subject=f"user-{author.pk}")
        teammates = list(
            Participant.objects.filter(exercise=ex, team=team)
            .exclude(user=author)
            .values_list("user__username", flat=True)
        )
        message = Message.objects.create(
            exercise=ex,
            team=team,
            author=author,
            from_control=from_control,
            body=body,
            mentions=mentioned(body, sorted(teammates)),
            clock_seconds=exercise_clock(ex),
        )
        payload = events.DiscussionPosted(
            message_id=message.pk,
            team_id=team.pk,
            team_label=str(team),
            author_label=author.get_username(),
            from_control=from_control,
            body=body,
            mentions=message.mentions,
        )
        event = emit(
            ex,
            events.DISCUSSION_POSTED,
            payload,
            visibility=Event.Visibility.SOME,
            team_ids=[team.pk],
            actor=author,
        )
        message.event_seq = event.seq
        message.save(update_fields=["event_seq"])
        return message


def _check_author(ex: Exercise, *, team: Team, author: User) -> bool:
    """Whether the author posts as the control cell; refuses anyone else but the team."""
    if team.exercise_id != ex.pk:
        raise EngineError("That team is not part of this exercise.")
    seat = Participant.objects.filter(exercise=ex, user=author).first()
    if seat is not None and seat.kind == Participant.Kind.FACILITATOR:
        return True
    if seat is None or seat.team_id != team.pk:
        raise EngineError("Only the team's players and the control cell post in its thread.")
    return False


def _check_body(body: str) -> None:
    if not body:
        raise EngineError("Write a message first.")
    require_length(body, limit=TEXT_MESSAGE, what="The message")
