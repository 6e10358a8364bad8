"""Read-only view models of the collaboration panels: team threads (and what the pages and
their socket frames show of them). Like ``exercises.live_state``, the page and the pushed
fragments read the same functions, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from exercises.forms import MessageForm
from exercises.models import Exercise, Message, Team


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
