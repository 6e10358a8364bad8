"""Read-only queries the engine and the pages share: the teams as the rules see them, the
decision path's reads, and the written-out reads of whole rows every live request or
engine call starts with (a user's seat, a prompt's window by key, the exercise lock).

Decisions are the hottest write of a live exercise. Built with the ORM, the decision
path's reads (each with EXISTS subqueries) cost 1.0-1.4 ms of CPU per call, nearly all
of it compiling the query, about a third of a decision's CPU; written out, 0.2 ms
(bench/README.md, "Third pass"). Their rows are built by ``config.rows``. They run as
they are on SQLite and PostgreSQL, and every decision test goes through them.
"""

from __future__ import annotations

from django.db import connection

from accounts.models import Organization
from config.rows import Rows, fetch_all, fetch_one, fetch_row, split
from exercises.models import (
    Decision,
    DecisionRevision,
    Event,
    Exercise,
    InjectRelease,
    Participant,
    PromptWindow,
    Team,
)
from exercises.visibility import TeamInfo
from scenarios.models import Consequence, Inject, Option, Prompt, Role, Scenario, Stage


def team_infos(exercise: Exercise) -> list[TeamInfo]:
    """The exercise's teams as the pure rules see them."""
    teams = (
        Team.objects.filter(exercise=exercise)
        .select_related("role")
        .prefetch_related("role__depends_on")
    )
    return [
        TeamInfo(
            id=team.pk,
            role_key=team.role.key,
            depends_on=frozenset(dep.key for dep in team.role.depends_on.all()),
            organization_id=team.organization_id,
            coordinating=team.role.coordinating,
        )
        for team in teams
    ]


# ---------------------------------------------------------------- rows, written out


# ---------------------------------------------------------------- the decision path

# Table names come from the models, so a renamed app or table cannot leave the SQL behind.
_WINDOWS = Rows(PromptWindow, "w")
# The two flags a decision's window carries: the user (the first %s) is a player of the
# team (the second); an option (given) has consequences.
_SEATED_FLAG = f"""EXISTS (SELECT 1 FROM {Participant._meta.db_table} p
               WHERE p.exercise_id = w.exercise_id AND p.user_id = %s AND p.team_id = %s)
         AS seated"""


def _cascades_flag(option_id: str) -> str:
    table = Consequence._meta.db_table
    return f"EXISTS (SELECT 1 FROM {table} c WHERE c.option_id = {option_id}) AS cascades"


_WINDOW = f"""
SELECT {_WINDOWS.columns},
       {_SEATED_FLAG},
       {_cascades_flag("%s")}
FROM {PromptWindow._meta.db_table} w
WHERE w.exercise_id = %s AND w.prompt_id = %s
"""

_DECISIONS = Rows(Decision, "d")
_TEAM_DECISION = f"""
SELECT {_DECISIONS.columns},
       EXISTS (SELECT 1 FROM {DecisionRevision._meta.db_table} r
               WHERE r.decision_id = d.id AND r.client_token = %s) AS replayed
FROM {Decision._meta.db_table} d
WHERE d.team_id = %s AND d.prompt_id = %s
"""

_WINDOW_OPEN = f"SELECT 1 FROM {PromptWindow._meta.db_table} WHERE id = %s AND closed_at IS NULL"


def prompt_window(
    *, exercise_id: int, prompt_id: int, user_id: int, team_id: int, option_id: int | None
) -> PromptWindow | None:
    """The prompt's window in the exercise, with ``seated`` (the user is a player of the
    team) and ``cascades`` (the option has consequences; False without an option)."""
    row = fetch_row(_WINDOW, [user_id, team_id, option_id, exercise_id, prompt_id])
    if row is None:
        return None
    window = _WINDOWS.build(row[:-2])
    window.seated, window.cascades = bool(row[-2]), bool(row[-1])  # SQLite: EXISTS is 0/1
    return window


def team_decision(
    *, team_id: int, prompt_id: int, client_token: str, lock: bool = False
) -> Decision | None:
    """The team's decision on the prompt, with ``replayed`` (``client_token`` is already
    one of its revisions); with ``lock``, its row locked until the transaction ends (on
    SQLite the IMMEDIATE transaction already holds the database's write lock)."""
    sql = _TEAM_DECISION
    if lock and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    row = fetch_row(sql, [client_token, team_id, prompt_id])
    if row is None:
        return None
    decision = _DECISIONS.build(row[:-1])
    decision.replayed = bool(row[-1])
    return decision


def window_still_open(window_id: int) -> bool:
    """Whether the prompt window is still open (call holding the exercise lock: a close
    takes it too)."""
    return fetch_row(_WINDOW_OPEN, [window_id]) is not None


# ------------------------------------------------- what every live request starts with

_SEAT_ROWS = (
    Rows(Participant, "p"),
    Rows(Exercise, "e"),
    Rows(Scenario, "s"),
    Rows(Team, "t"),
    Rows(Organization, "o"),
    Rows(Role, "r"),
)
_SEAT = f"""
SELECT {", ".join(rows.columns for rows in _SEAT_ROWS)}
FROM {Participant._meta.db_table} p
JOIN {Exercise._meta.db_table} e ON e.id = p.exercise_id
JOIN {Scenario._meta.db_table} s ON s.id = e.scenario_id
LEFT JOIN {Team._meta.db_table} t ON t.id = p.team_id
LEFT JOIN {Organization._meta.db_table} o ON o.id = t.organization_id
LEFT JOIN {Role._meta.db_table} r ON r.id = t.role_id
WHERE e.code = %s AND p.user_id = %s
"""


def seat(*, code: str, user_id: int) -> Participant | None:
    """The user's seat in the exercise with ``code`` (one per exercise), with its exercise
    (and the exercise's scenario) and its team (with organization and role) loaded: every
    live request starts here. Written out, like the decision path's reads: the same read
    built with the ORM's ``select_related`` spent more CPU compiling its six-table SQL than
    running it."""
    built = fetch_one(_SEAT, [code, user_id], _SEAT_ROWS)
    if built is None:
        return None
    participant, exercise, scenario, team, organization, role = built
    exercise.scenario = scenario
    participant.exercise = exercise
    if team is not None:
        team.organization, team.role = organization, role
    participant.team = team
    return participant


_OPTION_ROWS = Rows(Option, "o")
_ANSWER_ROWS = (_WINDOWS, Rows(Prompt, "q"))
_SEATED = sum(len(rows.attnames) for rows in _ANSWER_ROWS)  # the column after the prompt's
_ANSWER = f"""
SELECT {", ".join(rows.columns for rows in _ANSWER_ROWS)},
       {_SEATED_FLAG},
       {_OPTION_ROWS.columns},
       {_cascades_flag("o.id")}
FROM {PromptWindow._meta.db_table} w
JOIN {Prompt._meta.db_table} q ON q.id = w.prompt_id
LEFT JOIN {Option._meta.db_table} o ON o.prompt_id = q.id
WHERE w.exercise_id = %s AND q.scenario_id = %s AND q.key = %s
ORDER BY o.{connection.ops.quote_name("order")}, o.key
"""


def answer_window(
    exercise: Exercise, key: str, *, user_id: int, team_id: int
) -> PromptWindow | None:
    """The exercise's window (one per prompt) of its scenario's prompt ``key`` as the user
    answers it for the team: its ``prompt``, ``seated`` (the user is a player of the team)
    and ``options`` (the prompt's, in their order, each with ``cascades``: it has
    consequences). Everything a decide POST reads before the engine's lock, in one
    statement (``engine.decision_submit``'s ``window``): a round trip fewer is ~0.5 ms of
    the machine's CPU per decision (bench/README.md, "Tenth pass")."""
    params = [user_id, team_id, exercise.pk, exercise.scenario_id, key]
    with connection.cursor() as cursor:
        cursor.execute(_ANSWER, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    window, prompt = split(rows[0], _ANSWER_ROWS)
    window.prompt, window.seated = prompt, bool(rows[0][_SEATED])  # SQLite: EXISTS is 0/1
    window.options = []
    for row in rows:
        option = _OPTION_ROWS.build(row[_SEATED + 1 : -1])
        if option is not None:  # a prompt without options: one row, the LEFT JOIN's nulls
            option.cascades = bool(row[-1])
            window.options.append(option)
    return window


_OPTIONS = f"""
SELECT {_OPTION_ROWS.columns} FROM {Option._meta.db_table} o
WHERE o.prompt_id = %s ORDER BY o.{connection.ops.quote_name("order")}, o.key
"""


def prompt_options(prompt_id: int) -> list[Option]:
    """The prompt's options in their order (``Option.Meta.ordering``), for a decision form
    drawn without its window's (``answer_window``). Written out: the ORM's query costs
    ~4x the CPU."""
    with connection.cursor() as cursor:
        cursor.execute(_OPTIONS, [prompt_id])
        return [_OPTION_ROWS.build(row) for row in cursor.fetchall()]


_EXERCISE_ROW = Rows(Exercise, "e")


_STAGED_ROWS = (_EXERCISE_ROW, Rows(Scenario, "s"), Rows(Stage, "g"))
_STAGED = f"""
SELECT {", ".join(rows.columns for rows in _STAGED_ROWS)}
FROM {Exercise._meta.db_table} e
JOIN {Scenario._meta.db_table} s ON s.id = e.scenario_id
LEFT JOIN {Stage._meta.db_table} g ON g.id = e.current_stage_id
WHERE e.id = %s
"""


def exercise_with_stage(exercise_id: int) -> Exercise:
    """The exercise with its scenario and its current stage (None before the start)
    loaded: what an event's frames read (``fragments``), once per event. Written out: the
    same read built with the ORM's ``select_related`` cost ~1 ms of CPU per event."""
    built = fetch_one(_STAGED, [exercise_id], _STAGED_ROWS)
    if built is None:
        raise Exercise.DoesNotExist(f"No exercise {exercise_id}.")
    exercise, scenario, stage = built
    exercise.scenario, exercise.current_stage = scenario, stage
    return exercise


# The exercise row to lock, alone (every engine call, the decisions' included) or with
# whether a user facilitates it (every engine verb a facilitator calls, ``engine.core.lock``).
_FACILITATES = f"""EXISTS (SELECT 1 FROM {Participant._meta.db_table} p
        WHERE p.exercise_id = e.id AND p.user_id = %s AND p.kind = %s)"""
_LOCKED, _LOCKED_FACILITATES = (
    f"SELECT {columns} FROM {Exercise._meta.db_table} e WHERE e.id = %s"
    for columns in (_EXERCISE_ROW.columns, f"{_EXERCISE_ROW.columns}, {_FACILITATES}")
)


def exercise_for_update(exercise_id: int, *, user_id: int | None = None) -> tuple[Exercise, bool]:
    """The exercise row, locked until the surrounding transaction ends (on SQLite the
    IMMEDIATE transaction already holds the database's write lock), and whether the user
    ``user_id`` facilitates it (False without one). Written out, and in one statement:
    every engine call takes the lock, and a facilitator's verb asked the second in a round
    trip of its own, under the lock, a wait every writer of the exercise shares. Without
    ``user_id`` (a decision, the hottest write) the statement reads the row alone."""
    if user_id is None:
        sql, params = _LOCKED, [exercise_id]
    else:
        sql, params = _LOCKED_FACILITATES, [user_id, Participant.Kind.FACILITATOR, exercise_id]
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    row = fetch_row(sql, params)
    if row is None:
        raise Exercise.DoesNotExist(f"No exercise {exercise_id}.")
    exercise = _EXERCISE_ROW.build(row[: len(_EXERCISE_ROW.attnames)])
    return exercise, user_id is not None and bool(row[-1])  # SQLite: EXISTS is 0/1


# ---------------------------------------------------------------- the console's inject list

# What the list shows of an inject (``partials/inject_rows.html``): a field it shows must
# be read here, or the instance loads it with a query of its own.
_STAGE_INJECT_ROWS = Rows(
    Inject,
    "i",
    ["id", "key", "title", "channel", "channel_label", "tlp", "release", "offset_seconds"],
)
_STAGE_INJECTS = f"""
SELECT {_STAGE_INJECT_ROWS.columns},
       EXISTS (SELECT 1 FROM {InjectRelease._meta.db_table} r
               WHERE r.exercise_id = %s AND r.inject_id = i.id) AS released
FROM {Inject._meta.db_table} i
WHERE i.stage_id = %s AND i.{connection.ops.quote_name("release")} <> %s
ORDER BY {", ".join(f"i.{connection.ops.quote_name(f)}" for f in Inject._meta.ordering)}
"""


def stage_injects(*, exercise_id: int, stage_id: int) -> list[tuple]:
    """The stage's scripted injects (consequences are not scripted) in their order
    (``Inject.Meta.ordering``), each the values of its shown fields and ``released``
    (released in this exercise), as the database returns them: hashable, so the list
    drawn from them is rendered once (``fragments.inject_list``). ``stage_inject`` makes
    the instance. Written out: every inject release reads it, for the console's frame."""
    with connection.cursor() as cursor:
        cursor.execute(_STAGE_INJECTS, [exercise_id, stage_id, Inject.Release.CONSEQUENCE])
        return cursor.fetchall()


def stage_inject(row: tuple) -> Inject:
    """The inject of a ``stage_injects`` row (its other fields deferred)."""
    return _STAGE_INJECT_ROWS.build(row[:-1])


def stage_inject_released(row: tuple) -> bool:
    """Whether the inject of a ``stage_injects`` row was released in the exercise."""
    return bool(row[-1])  # SQLite: EXISTS is 0/1


# ---------------------------------------------------------------- an inject's release

_INJECT_ROWS = Rows(Inject, "i")
_INJECT_BY_KEY = f"""
SELECT {_INJECT_ROWS.columns} FROM {Inject._meta.db_table} i
WHERE i.scenario_id = %s AND i.key = %s
"""
_RELEASED = f"""
SELECT 1 FROM {InjectRelease._meta.db_table} WHERE exercise_id = %s AND release_key = %s
"""


def inject_by_key(*, scenario_id: int, key: str) -> Inject | None:
    """The scenario's inject ``key`` (unique per scenario). Written out: it starts every
    release POST."""
    built = fetch_one(_INJECT_BY_KEY, [scenario_id, key], [_INJECT_ROWS])
    return None if built is None else built[0]


def released(*, exercise_id: int, release_key: str) -> bool:
    """Whether ``release_key`` was released in the exercise (``engine.injects.release``
    asks it holding the lock, before writing the release's event)."""
    return fetch_row(_RELEASED, [exercise_id, release_key]) is not None


# A socket's catch-up (``exercises.consumers.visible_frames``): every connect replays the
# events after its page's last, and a push that finds a gap reads it. Built with the ORM,
# its two reads cost a third of a handshake's CPU, most of it building the queries and the
# instances (bench/README.md, "Where it stands, session 11").
_EVENT_ROWS = Rows(Event, "ev")
_STUB_ROWS = Rows(Event, "ev", ["seq", "visibility", "team_ids"])
_EVENTS_AFTER = f"""
SELECT {_STUB_ROWS.columns} FROM {Event._meta.db_table} ev
WHERE ev.exercise_id = %s AND ev.seq > %s"""


def event_stubs(exercise_id: int, *, after: int, upto: int | None = None) -> list[list]:
    """``[seq, visibility, team_ids]`` of the exercise's events after seq ``after`` (up to
    ``upto``), in no order: who may see each, without its payload."""
    sql, params = _EVENTS_AFTER, [exercise_id, after]
    if upto is not None:
        sql, params = f"{sql} AND ev.seq <= %s", [*params, upto]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [_STUB_ROWS.convert(row) for row in cursor.fetchall()]


def events_by_seq(exercise_id: int, seqs: list[int]) -> list[Event]:
    """The exercise's events of ``seqs``, whole, in seq order."""
    if not seqs:
        return []
    marks = ", ".join(["%s"] * len(seqs))
    sql = f"""
SELECT {_EVENT_ROWS.columns} FROM {Event._meta.db_table} ev
WHERE ev.exercise_id = %s AND ev.seq IN ({marks}) ORDER BY ev.seq"""
    return [built[0] for built in fetch_all(sql, [exercise_id, *seqs], [_EVENT_ROWS])]
