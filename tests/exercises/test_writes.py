"""The written-out writes (``exercises.writes``): the same stored columns and the same
instance state as ``save()``, on SQLite and PostgreSQL alike (run this file with
DATABASE_URL set for PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.audit import audit_entry
from accounts.models import AuditEntry
from exercises import engine, events
from exercises.models import Decision, DecisionRevision, Event, Exercise, InjectRelease, Team
from exercises.writes import Table, Then, Update
from scenarios.models import Prompt

pytestmark = pytest.mark.usefixtures("scheduled_sweeps")

WHEN = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def stored(instance: Any) -> dict[str, Any]:
    """The row of ``instance`` as the database holds it, the primary key left out: raw
    column values, before any converter (SQLite's datetimes and JSON as text)."""
    table = instance._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [instance.pk])
        names = [column[0] for column in cursor.description]
        row = dict(zip(names, cursor.fetchone(), strict=True))
    del row["id"]
    return row


def state(instance: Any) -> tuple:
    return instance._state.adding, instance._state.db, instance.pk is not None


def inserted_both_ways(make) -> tuple[dict, dict, Any]:
    """The row ``make()``'s instance gets from ``save()``, then (that row deleted) from
    ``Table.insert``; and the inserted instance."""
    by_orm = make()
    by_orm.save()
    expected, orm_state = stored(by_orm), state(by_orm)
    by_orm.delete()
    written = make()
    Table(type(written)).insert(written)
    assert state(written) == orm_state == (False, "default", True)
    return stored(written), expected, written


@pytest.fixture
def decided(running, bob):
    team = Team.objects.get(exercise=running, role__key="cloud")
    prompt = Prompt.objects.get(scenario=running.scenario, key="first-move")
    return running, team, prompt, prompt.options.first()


@pytest.mark.parametrize("with_option", [True, False])
def test_a_decision_and_its_revision_are_the_rows_save_writes(decided, bob, with_option):
    exercise, team, prompt, option = decided
    fields = {"option": option if with_option else None, "text": "Isolate «now»"}

    def decision() -> Decision:
        return Decision(
            exercise=exercise,
            team=team,
            prompt=prompt,
            rationale="",
            author=bob,
            revision=1,
            latency_seconds=12.345,
            submitted_at=WHEN,
            **fields,
        )

    row, expected, kept = inserted_both_ways(decision)
    assert row == expected

    def revision() -> DecisionRevision:
        return DecisionRevision(
            decision=kept,
            revision=1,
            author=None,
            client_token="tok-1",
            latency_seconds=0.5,
            submitted_at=WHEN,
            rationale="because",
            **fields,
        )

    row, expected, _ = inserted_both_ways(revision)
    assert row == expected


def test_an_event_is_the_row_save_writes(running, alice):
    seqs = iter([1000, 1001])

    def event() -> Event:
        return Event(
            exercise=running,
            seq=next(seqs),
            kind=events.DECISION_SUBMITTED,
            payload={"text": "Ünïcode “quoted”", "nested": {"a": [1, 2.5, None, True]}},
            visibility=Event.Visibility.SOME,
            team_ids=[3, 7],
            clock_seconds=61.5,
            actor=alice,
            created_at=WHEN,
        )

    row, expected, _ = inserted_both_ways(event)
    assert row.pop("seq") == 1001
    assert expected.pop("seq") == 1000
    assert row == expected


def test_an_update_writes_the_columns_save_writes(decided, bob, carol):
    exercise, team, prompt, option = decided
    marks = {"teams": 4, "all": 2, "team": {str(team.pk): 9}}
    before = stored(exercise)
    exercise.last_seq, exercise.visibility_marks = 9, marks
    exercise.save(update_fields=["last_seq", "visibility_marks"])
    expected = stored(exercise)
    assert expected != before
    Exercise.objects.filter(pk=exercise.pk).update(last_seq=0, visibility_marks={})
    Table(Exercise).update(exercise, ["last_seq", "visibility_marks"])
    assert stored(exercise) == expected

    decision = Decision.objects.create(
        exercise=exercise,
        team=team,
        prompt=prompt,
        author=bob,
        latency_seconds=1.0,
        submitted_at=WHEN,
    )
    original = stored(decision)
    decision.option, decision.text, decision.author, decision.revision = option, "Rev", carol, 2
    decision.save()
    expected = stored(decision)
    Decision.objects.filter(pk=decision.pk).update(**{
        "option": None, "text": original["text"], "author": bob, "revision": 1
    })  # fmt: skip
    Table(Decision).update(decision, ["option_id", "text", "author_id", "revision"])
    assert stored(decision) == expected


def test_decisions_written_out_are_read_back_as_written(decided, bob, carol, alice):
    """Through the engine: a first answer and a revision, and their event, read back by
    the ORM with every value as the engine returned it."""
    exercise, team, prompt, option = decided
    args = {"exercise": exercise, "team": team, "prompt": prompt, "author": bob}
    first = engine.decision_submit(**args, option=option, client_token="t1", rationale="r")
    other = prompt.options.exclude(pk=option.pk).first()
    second = engine.decision_submit(**args, option=other, client_token="t2")
    assert (second.pk, second.revision) == (first.pk, 2)
    fresh = Decision.objects.get(pk=first.pk)
    for field in Decision._meta.concrete_fields:
        assert getattr(fresh, field.attname) == getattr(second, field.attname), field.name
    revisions = list(DecisionRevision.objects.filter(decision=fresh).order_by("revision"))
    assert [(r.revision, r.client_token, r.option_id, r.rationale) for r in revisions] == [
        (1, "t1", option.pk, "r"),
        (2, "t2", other.pk, ""),
    ]
    assert revisions[1].submitted_at == second.submitted_at
    assert revisions[1].latency_seconds == second.latency_seconds
    event = Event.objects.filter(exercise=exercise, kind=events.DECISION_SUBMITTED).latest("seq")
    assert (event.team_ids, event.payload["revision"]) == ([team.pk], 2)
    exercise.refresh_from_db()
    assert exercise.last_seq == Event.objects.filter(exercise=exercise).latest("seq").seq
    assert exercise.visibility_marks["team"][str(team.pk)] == event.seq


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite before 3.35 only")
def test_without_returning_the_id_is_the_cursors_lastrowid(running, monkeypatch):
    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    table = Table(Event)
    event = Event(exercise=running, seq=999, kind="exercise.paused", visibility="all")
    table.insert(event)
    assert Event.objects.get(exercise=running, seq=999).pk == event.pk


def test_an_update_sent_before_an_insert_writes_both_rows_in_one_statement_on_postgresql(
    decided, alice
):
    """``events.write_event``'s write: the exercise's ``last_seq`` and marks, then its
    event, as two ``save()`` calls would; one round trip on PostgreSQL."""
    exercise = decided[0]
    marks = {"teams": 4, "all": 2, "team": {"7": 5}, "closed": 3}

    def event(seq: int) -> Event:
        return Event(
            exercise=exercise, seq=seq, kind="exercise.paused", visibility="all", created_at=WHEN
        )

    exercise.last_seq, exercise.visibility_marks = 900, marks
    exercise.save(update_fields=["last_seq", "visibility_marks"])
    by_orm = event(900)
    by_orm.save()
    expected_exercise, expected_event = stored(exercise), stored(by_orm)
    by_orm.delete()
    Exercise.objects.filter(pk=exercise.pk).update(last_seq=0, visibility_marks={})

    written = event(900)
    with CaptureQueriesContext(connection) as captured:
        Table(Event).insert(
            written, after=Update(Table(Exercise), exercise, ["last_seq", "visibility_marks"])
        )
    assert len(captured) == (1 if connection.vendor == "postgresql" else 2)
    assert state(written) == (False, "default", True)
    assert stored(written) == expected_event
    assert stored(exercise) == expected_exercise


def test_an_inject_release_is_the_row_save_writes(running, alice):
    event = running.events.latest("seq")
    news = running.scenario.injects.get(key="news")
    keys = iter(["orm", "written"])

    def release() -> InjectRelease:
        return InjectRelease(
            exercise=running,
            inject=news,
            release_key=f"k-{next(keys)}",
            team_ids=[4, 2],
            event=event,
            released_at=WHEN,
            clock_seconds=12.5,
        )

    row, expected, _ = inserted_both_ways(release)
    assert row.pop("release_key") == "k-written"
    assert expected.pop("release_key") == "k-orm"
    assert row == expected


def test_rows_written_after_an_insert_take_its_id_in_the_same_statement_on_postgresql(
    running, alice
):
    """``engine.injects.release``'s write: the exercise's update, the event, the release
    (its ``event_id`` the new event's) and the audit entry; the rows ``save()`` writes,
    in one round trip on PostgreSQL."""
    news = running.scenario.injects.get(key="news")
    marks = {"teams": 7, "all": 7, "team": {}, "closed": 0}
    seq = running.last_seq + 1

    def event() -> Event:
        return Event(
            exercise=running, seq=seq, kind="inject.released", visibility="all", created_at=WHEN
        )

    def rows(event: Event | None) -> tuple[InjectRelease, AuditEntry]:
        release = InjectRelease(
            exercise=running,
            inject=news,
            release_key="k",
            team_ids=[4, 2],
            event=event,
            released_at=WHEN,
            clock_seconds=12.5,
        )
        entry = audit_entry(
            actor=alice, action="inject.release", exercise_code=running.code, target="news", at=WHEN
        )
        return release, entry

    running.last_seq, running.visibility_marks = seq, marks
    running.save(update_fields=["last_seq", "visibility_marks"])
    by_orm = event()
    by_orm.save()
    orm_release, orm_entry = rows(by_orm)
    orm_release.save()
    orm_entry.save()
    expected = [stored(row) for row in (running, by_orm, orm_release, orm_entry)]
    orm_event_id = by_orm.pk
    for row in (orm_entry, orm_release, by_orm):
        row.delete()
    Exercise.objects.filter(pk=running.pk).update(last_seq=seq - 1, visibility_marks={})

    written = event()
    release, entry = rows(None)
    with CaptureQueriesContext(connection) as captured:
        Table(Event).insert(
            written,
            after=Update(Table(Exercise), running, ["last_seq", "visibility_marks"]),
            then=[
                Then(Table(InjectRelease), release, ref="event_id"),
                Then(Table(AuditEntry), entry),
            ],
        )
    assert len(captured) == (1 if connection.vendor == "postgresql" else 4)
    for row in (written, release, entry):
        assert state(row) == (False, "default", True)
    assert release.event_id == written.pk
    assert InjectRelease.objects.get(pk=release.pk).event_id == written.pk
    stored_release = stored(release)
    expected_release = expected[2]
    assert stored_release.pop("event_id") == written.pk
    assert expected_release.pop("event_id") == orm_event_id
    assert [stored(running), stored(written), stored_release, stored(entry)] == expected


def test_rows_written_with_an_event_refer_to_each_other_and_update_in_its_statement(decided, bob):
    """``engine.decisions``' write: with its event, a first answer (the revision's
    ``decision_id`` the new decision's id), then a revision (the decision's changed
    columns updated); each one round trip on PostgreSQL."""
    exercise, team, prompt, option = decided
    one_statement = connection.vendor == "postgresql"

    def written_with_an_event(then) -> Event:
        exercise.last_seq += 1
        event = Event(exercise=exercise, seq=exercise.last_seq, kind="decision.submitted")
        moved = Update(Table(Exercise), exercise, ["last_seq"])
        with CaptureQueriesContext(connection) as captured:
            Table(Event).insert(event, after=moved, then=then)
        assert len(captured) == (1 if one_statement else 2 + len(then))
        return event

    timing = {"latency_seconds": 3.5, "submitted_at": WHEN}
    decision = Decision(
        exercise=exercise, team=team, prompt=prompt, option=option, author=bob, revision=1, **timing
    )
    first = DecisionRevision(
        decision=decision, revision=1, option=option, client_token="a", **timing
    )
    written_with_an_event(
        [
            Then(Table(Decision), decision),
            Then(Table(DecisionRevision), first, ref="decision_id", of=decision),
        ]
    )
    assert state(decision) == state(first) == (False, "default", True)
    assert first.decision_id == decision.pk
    assert DecisionRevision.objects.get(pk=first.pk).decision_id == decision.pk

    decision.text, decision.revision = "Isolate the region", 2
    second = DecisionRevision(
        decision=decision, revision=2, text=decision.text, client_token="b", **timing
    )
    event = written_with_an_event(
        [
            Update(Table(Decision), decision, ["text", "revision"]),
            Then(Table(DecisionRevision), second),
        ]
    )
    assert Exercise.objects.get(pk=exercise.pk).last_seq == event.seq
    assert Decision.objects.filter(pk=decision.pk).values_list("text", "revision").get() == (
        "Isolate the region",
        2,
    )
    revisions = DecisionRevision.objects.filter(decision=decision).order_by("revision")
    assert [(r.pk, r.client_token) for r in revisions] == [(first.pk, "a"), (second.pk, "b")]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one statement on PostgreSQL")
def test_a_team_event_written_at_once_moves_the_exercise_as_write_event_does(decided, bob):
    """``events.write_team_event_if``: the lock, the checks, the exercise's move, the event
    and the rows written with it in one round trip, the marks moved in SQL as
    ``advance_marks`` moves them."""
    exercise, team, prompt, option = decided
    marks = {"teams": 4, "all": 2, "team": {"7": 5}, "closed": 3}
    Exercise.objects.filter(pk=exercise.pk).update(last_seq=900, visibility_marks=marks)
    exercise.refresh_from_db()
    decision = Decision(
        exercise=exercise, team=team, prompt=prompt, option=option, author=bob, revision=1,
        latency_seconds=1.5, submitted_at=WHEN,
    )  # fmt: skip
    revision = DecisionRevision(
        decision=decision, revision=1, option=option, author=bob, client_token="t",
        latency_seconds=1.5, submitted_at=WHEN,
    )  # fmt: skip
    args = {
        "exercise_id": exercise.pk,
        "kind": events.DECISION_SUBMITTED,
        "payload": {"revision": 1},
        "team_id": team.pk,
        "clock_seconds": 12.3456,
        "actor": bob,
        "statuses": ["running"],
        "running": (exercise.clock_offset_seconds, exercise.running_since),
        "closed_by": 3,
    }
    then = [
        Then(Table(Decision), decision),
        Then(Table(DecisionRevision), revision, ref="decision_id", of=decision),
    ]
    with CaptureQueriesContext(connection) as sent:
        moved, event, before = events.write_team_event_if(**args, then=then)
    assert len(sent) == 1
    assert before == marks
    expected = events.advance_marks(marks, 901, Event.Visibility.SOME, [team.pk])
    stored_exercise = Exercise.objects.get(pk=exercise.pk)
    assert (stored_exercise.last_seq, stored_exercise.visibility_marks) == (901, expected)
    assert (moved.last_seq, moved.visibility_marks) == (901, expected)
    row = Event.objects.get(pk=event.pk)
    assert (row.seq, row.team_ids, row.visibility) == (901, [team.pk], "some")
    assert (row.clock_seconds, row.actor, row.payload) == (12.346, bob, {"revision": 1})
    assert (event.seq, event.exercise) == (901, moved)
    assert DecisionRevision.objects.get(pk=revision.pk).decision_id == decision.pk
    assert Decision.objects.get(pk=decision.pk).revision == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one statement on PostgreSQL")
@pytest.mark.parametrize(
    "changed",
    [
        {"statuses": ["paused"]},
        {"running": (999.0, None)},
        {"closed_by": 2},  # a prompt closed at event 3, after the caller's event 2
    ],
)
def test_a_team_event_is_not_written_at_once_when_the_exercise_moved(decided, bob, changed):
    exercise, team, prompt, _ = decided
    marks = {"teams": 4, "all": 2, "team": {}, "closed": 3}
    Exercise.objects.filter(pk=exercise.pk).update(last_seq=900, visibility_marks=marks)
    exercise.refresh_from_db()
    revision = DecisionRevision(
        decision=Decision.objects.create(
            exercise=exercise, team=team, prompt=prompt, author=bob, latency_seconds=1.0,
            submitted_at=WHEN,
        ),
        revision=2, author=bob, client_token="t", latency_seconds=1.0, submitted_at=WHEN,
    )  # fmt: skip
    args = {
        "exercise_id": exercise.pk,
        "kind": events.DECISION_SUBMITTED,
        "payload": {},
        "team_id": team.pk,
        "clock_seconds": 1.0,
        "actor": bob,
        "statuses": ["running"],
        "running": (exercise.clock_offset_seconds, exercise.running_since),
        "closed_by": 3,
    } | changed
    then = [Then(Table(DecisionRevision), revision)]
    assert events.write_team_event_if(**args, then=then) is None
    assert revision.pk is None
    assert not DecisionRevision.objects.exists()
    assert not Event.objects.filter(exercise=exercise, seq=901).exists()
    stored_exercise = Exercise.objects.get(pk=exercise.pk)
    assert (stored_exercise.last_seq, stored_exercise.visibility_marks) == (900, marks)
