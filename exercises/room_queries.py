"""Written-out reads of the team room page, which every player opens at the start of an
exercise (a thousand GETs in half a minute, issue 19). Built with the ORM, its reads
(``select_related`` over up to ten tables) spent more CPU compiling their SQL than the
database spent running it; the other teams, offered by two forms, were 99 teams built
with their organizations and roles for a code and a label each. Like
``exercises.queries`` (rows built by ``config.rows``), they run as they are on SQLite and
PostgreSQL; tests/exercises/test_room_queries.py holds them to the ORM's answers.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import prefetch_related_objects

from accounts.models import Organization, User
from config.rows import Rows, fetch_all
from exercises.models import Decision, Exercise, Message, PromptWindow, Rfi, Share, Team
from scenarios.models import Inject, Option, Prompt, Role

_q = connection.ops.quote_name

# Team.Meta.ordering (role order, then key); the label is Team.__str__.
_OTHER_TEAMS = f"""
SELECT t.code, o.name, r.label
FROM {Team._meta.db_table} t
JOIN {Organization._meta.db_table} o ON o.id = t.organization_id
JOIN {Role._meta.db_table} r ON r.id = t.role_id
WHERE t.exercise_id = %s AND t.id <> %s
ORDER BY r.{_q("order")}, r.key
"""


def other_team_choices(*, exercise_id: int, team_id: int) -> list[tuple[str, str]]:
    """The exercise's teams but ``team_id``, as the share and RFI forms offer them:
    (code, ``str(team)``) in ``Team.Meta.ordering``. Building the 99 other teams of a
    100-team exercise with their organizations and roles cost a tenth of a room page's
    CPU; their codes and labels are all the forms show."""
    with connection.cursor() as cursor:
        cursor.execute(_OTHER_TEAMS, [exercise_id, team_id])
        return [(code, f"{name} ({label})") for code, name, label in cursor.fetchall()]


_RFI_ROWS = (
    Rows(Rfi, "x"),
    Rows(Team, "ft"),
    Rows(Organization, "fo"),
    Rows(Role, "fr"),
    Rows(Team, "tt"),
    Rows(Organization, "tto"),
    Rows(Role, "ttr"),
    Rows(User, "ua"),
    Rows(User, "ub"),
    Rows(Inject, "ai"),
)
_TEAM_RFIS = f"""
SELECT {", ".join(rows.columns for rows in _RFI_ROWS)}
FROM {Rfi._meta.db_table} x
JOIN {Team._meta.db_table} ft ON ft.id = x.from_team_id
JOIN {Organization._meta.db_table} fo ON fo.id = ft.organization_id
JOIN {Role._meta.db_table} fr ON fr.id = ft.role_id
LEFT JOIN {Team._meta.db_table} tt ON tt.id = x.to_team_id
LEFT JOIN {Organization._meta.db_table} tto ON tto.id = tt.organization_id
LEFT JOIN {Role._meta.db_table} ttr ON ttr.id = tt.role_id
LEFT JOIN {User._meta.db_table} ua ON ua.id = x.asked_by_id
LEFT JOIN {User._meta.db_table} ub ON ub.id = x.answered_by_id
LEFT JOIN {Inject._meta.db_table} ai ON ai.id = x.answer_inject_id
WHERE x.exercise_id = %s AND (x.from_team_id = %s OR x.to_team_id = %s) AND x.asked_seq <= %s
ORDER BY x.asked_at DESC, x.id DESC
"""


def team_rfis(exercise: Exercise, team_id: int, *, upto: int) -> list[Rfi]:
    """The RFIs the team asked or was asked, up to event ``upto``, newest first, with what
    their item shows loaded (both teams with organization and role, who asked, who
    answered, the answer's inject; ``exercise`` as their exercise). The ORM's read, with
    ten tables in its ``select_related``, cost more to compile than to run."""
    rows = fetch_all(_TEAM_RFIS, [exercise.pk, team_id, team_id, upto], _RFI_ROWS)
    return [_rfi(exercise, built) for built in rows]


def _rfi(exercise: Exercise, built: list[Any]) -> Rfi:
    rfi, from_team, from_org, from_role, to_team, to_org, to_role, asked, answered, inject = built
    from_team.organization, from_team.role = from_org, from_role
    if to_team is not None:
        to_team.organization, to_team.role = to_org, to_role
    rfi.exercise, rfi.from_team, rfi.to_team = exercise, from_team, to_team
    rfi.asked_by, rfi.answered_by, rfi.answer_inject = asked, answered, inject
    return rfi


_MESSAGE_ROWS = (Rows(Message, "m"), Rows(User, "u"))
_THREAD = f"""
SELECT {", ".join(rows.columns for rows in _MESSAGE_ROWS)}
FROM {Message._meta.db_table} m
LEFT JOIN {User._meta.db_table} u ON u.id = m.author_id
WHERE m.team_id = %s AND m.event_seq <= %s
ORDER BY m.created_at, m.id
"""


def thread_messages(team_id: int, *, upto: int) -> list[Message]:
    """The team's thread, oldest first (``Message.Meta.ordering``), up to event ``upto``
    (the page's ``last_seq``: later messages arrive over the socket, so none is shown
    twice), with their authors."""
    messages = []
    for message, author in fetch_all(_THREAD, [team_id, upto], _MESSAGE_ROWS):
        message.author = author
        messages.append(message)
    return messages


_SHARE_ROWS = (Rows(Share, "s"), Rows(Team, "t"), Rows(Organization, "o"), Rows(Role, "r"))
_SHARES = f"""
SELECT {", ".join(rows.columns for rows in _SHARE_ROWS)}
FROM {Share._meta.db_table} s
JOIN {Team._meta.db_table} t ON t.id = s.from_team_id
JOIN {Organization._meta.db_table} o ON o.id = t.organization_id
JOIN {Role._meta.db_table} r ON r.id = t.role_id
WHERE s.exercise_id = %s
ORDER BY s.created_at DESC
"""


def exercise_shares(exercise: Exercise) -> list[Share]:
    """Every share of the exercise, newest first, with its sending team (organization
    and role), its recipients and the reports it summarizes: what the TLP rules and the
    share list read."""
    shares = []
    for share, team, organization, role in fetch_all(_SHARES, [exercise.pk], _SHARE_ROWS):
        team.organization, team.role = organization, role
        share.from_team = team
        shares.append(share)
    prefetch_related_objects(shares, "recipients", "summarizes")
    return shares


_WINDOW_ROWS = (
    Rows(PromptWindow, "w"),
    Rows(Prompt, "q"),
    Rows(Decision, "d"),
    Rows(Option, "o"),
    Rows(User, "u"),
)
_STAGE_WINDOWS = f"""
SELECT {", ".join(rows.columns for rows in _WINDOW_ROWS)}
FROM {PromptWindow._meta.db_table} w
JOIN {Prompt._meta.db_table} q ON q.id = w.prompt_id
LEFT JOIN {Decision._meta.db_table} d ON d.prompt_id = w.prompt_id AND d.team_id = %s
LEFT JOIN {Option._meta.db_table} o ON o.id = d.option_id
LEFT JOIN {User._meta.db_table} u ON u.id = d.author_id
WHERE w.exercise_id = %s AND q.stage_id = %s
"""


def stage_windows(exercise: Exercise, team_id: int) -> list[tuple[PromptWindow, Decision | None]]:
    """The windows opened in the exercise's current stage (with their prompts), each with
    the team's decision on it (with its option and author) or None: the room's decision
    cards. Every window, the team's or not (``team_ids`` says whose it is)."""
    params = [team_id, exercise.pk, exercise.current_stage_id]
    pairs = []
    for window, prompt, decision, option, author in fetch_all(_STAGE_WINDOWS, params, _WINDOW_ROWS):
        window.prompt = prompt
        if decision is not None:
            decision.prompt, decision.option, decision.author = prompt, option, author
        pairs.append((window, decision))
    return pairs
