"""Simultaneous writes on PostgreSQL: many teams deciding at the same moment (each
decision stored once, the timeline gap-free), one team's players and double clicks at the
same moment, a decision overtaken by the prompt closing or the clock stopping while it
waits for the exercise lock, and several imports of one new scenario key (each gets its
own version). Threads have their own database connections, like server processes."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from exercises import engine
from exercises.engine import decisions
from exercises.models import Decision, DecisionRevision, Event
from scenarios.formats import dump_document, export_document, import_scenario
from scenarios.models import Role, Scenario
from tests import factories

TEAMS = 16


def build_world():
    alice = factories.make_user("alice")
    exercise = factories.make_exercise(facilitator=alice)
    scenario = exercise.scenario
    for n in range(TEAMS - 3):
        Role.objects.create(
            scenario=scenario, key=f"extra-{n}", label=f"Extra {n}", sector="energy", order=10 + n
        )
    seats = []
    for role in scenario.roles.all():
        team = factories.make_team(exercise, role.key)
        seats.append((team, factories.add_player(exercise, team).user))
    engine.exercise_start(exercise=exercise, actor=alice)
    prompt = scenario.prompts.get(key="first-move")
    engine.prompt_open(exercise=exercise, prompt=prompt, actor=alice)
    return exercise, prompt, seats


def decide(exercise, team, player, token: str, option):
    """``player`` answers for ``team`` with ``option`` (whose prompt must be open)."""
    return engine.decision_submit(
        exercise=exercise,
        team=team,
        prompt=option.prompt,
        author=player,
        client_token=token,
        option=option,
    )


@pytest.mark.django_db(transaction=True)
def test_it_stores_every_simultaneous_decision_exactly_once_with_gap_free_seqs():
    assert connection.vendor == "postgresql"
    exercise, prompt, seats = build_world()
    options = list(prompt.options.all())
    barrier = threading.Barrier(len(seats))

    def submit(index: int) -> list[int]:
        team, player = seats[index]
        try:
            barrier.wait(timeout=5)
            ids = []
            # Each team sends its decision twice with the same token (a double click or a
            # retry after a timeout) and then revises it once with a new token.
            for token in ("first", "first", "second"):
                option = options[(index + (token == "second")) % len(options)]
                decision = decide(exercise, team, player, f"{team.pk}-{token}", option)
                ids.append(decision.pk)
            return ids
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(seats)) as pool:
        results = list(pool.map(submit, range(len(seats))))

    assert all(len(set(ids)) == 1 for ids in results)  # one Decision row per team
    assert Decision.objects.filter(exercise=exercise).count() == len(seats)
    assert DecisionRevision.objects.filter(decision__exercise=exercise).count() == 2 * len(seats)
    submitted = Event.objects.filter(exercise=exercise, kind="decision.submitted")
    assert submitted.count() == 2 * len(seats)
    exercise.refresh_from_db()
    seqs = list(
        Event.objects.filter(exercise=exercise).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, exercise.last_seq + 1))


@pytest.mark.django_db(transaction=True)
def test_one_teams_players_and_double_clicks_at_the_same_moment_each_count_once():
    """Two first answers of one team at once, or one token sent twice at once, meet on the
    decision's unique constraints and the loser decides again (a revision, or the replay)
    instead of failing."""
    exercise, prompt, seats = build_world()
    team = seats[0][0]
    players = [factories.add_player(exercise, team).user for _ in range(4)]
    options = list(prompt.options.all())
    calls = [(players[n % 4], f"token-{n % 4}", options[n % 2]) for n in range(8)]
    barrier = threading.Barrier(len(calls))

    def submit(call) -> int:
        player, token, option = call
        try:
            barrier.wait(timeout=5)
            return decide(exercise, team, player, token, option).pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        ids = set(pool.map(submit, calls))

    assert len(ids) == 1
    revisions = DecisionRevision.objects.filter(decision__team=team).order_by("revision")
    assert [r.revision for r in revisions] == [1, 2, 3, 4]
    assert sorted(r.client_token for r in revisions) == [f"token-{n}" for n in range(4)]
    assert Decision.objects.get(team=team).revision == 4
    events = Event.objects.filter(exercise=exercise, kind="decision.submitted")
    assert sorted(e.payload["revision"] for e in events) == [1, 2, 3, 4]


def overtaken_decision(
    monkeypatch, exercise, prompt, seat, overtake, go: threading.Event | None = None
) -> tuple[list, object]:
    """Run a decision that stops just before the statement that takes the exercise lock
    and writes it (``emit_for_team_if``; its decision row read), call ``overtake()``
    meanwhile, then let it go on. Returns when it reached that statement each time and its
    outcome (the decision or the EngineError). ``go``: set by ``overtake`` to let the
    decision go on before it returns."""
    real_emit, arrivals, go = decisions.emit_for_team_if, [], go or threading.Event()

    def gated(*args, **kwargs):
        if threading.current_thread().name == "decider":
            arrivals.append(time.monotonic())
            go.wait(timeout=5)
        return real_emit(*args, **kwargs)

    monkeypatch.setattr(decisions, "emit_for_team_if", gated)
    team, player = seat
    outcome = []

    def run() -> None:
        try:
            outcome.append(decide(exercise, team, player, "late", prompt.options.first()))
        except engine.EngineError as exc:
            outcome.append(exc)
        finally:
            connection.close()

    decider = threading.Thread(target=run, name="decider")
    decider.start()
    deadline = time.monotonic() + 30
    while not arrivals and time.monotonic() < deadline:
        time.sleep(0.01)
    overtake()
    go.set()
    decider.join(timeout=5)
    return arrivals, outcome[0]


@pytest.mark.django_db(transaction=True)
def test_a_decision_waiting_for_the_lock_is_refused_if_the_prompt_closes_meanwhile(monkeypatch):
    exercise, prompt, seats = build_world()
    alice = exercise.participants.get(kind="facilitator").user

    def close() -> None:
        engine.prompt_close(exercise=exercise, prompt=prompt, actor=alice)

    _, outcome = overtaken_decision(monkeypatch, exercise, prompt, seats[0], close)

    assert isinstance(outcome, engine.EngineError)
    assert "not open" in str(outcome)
    assert not Decision.objects.filter(team=seats[0][0]).exists()
    kinds = list(Event.objects.filter(exercise=exercise).order_by("seq").values_list("kind"))
    assert kinds[-1] == ("prompt.closed",)


@pytest.mark.django_db(transaction=True)
def test_a_decision_blocked_on_the_lock_while_the_prompt_closes_is_refused(monkeypatch):
    """The decision's statement waits for the lock that an uncommitted close holds, then
    reads the exercise as the close left it (PostgreSQL re-reads a row it waited for) and
    writes nothing; the checks under the lock then refuse it."""
    exercise, prompt, seats = build_world()
    alice = exercise.participants.get(kind="facilitator").user

    def close_while_it_waits() -> None:
        with transaction.atomic():
            engine.prompt_close(exercise=exercise, prompt=prompt, actor=alice)
            threading.Timer(0.05, go.set).start()  # the decider's statement starts
            assert waits_for_a_lock(DecisionRevision._meta.db_table, timeout=30)

    go = threading.Event()
    seat = seats[0]
    _, outcome = overtaken_decision(monkeypatch, exercise, prompt, seat, close_while_it_waits, go)

    assert isinstance(outcome, engine.EngineError)
    assert "not open" in str(outcome)
    assert not Decision.objects.filter(team=seats[0][0]).exists()
    kinds = list(Event.objects.filter(exercise=exercise).order_by("seq").values_list("kind"))
    assert kinds[-1] == ("prompt.closed",)


def waits_for_a_lock(text: str, *, timeout: float) -> bool:
    """Whether, within ``timeout`` seconds, another session's statement containing
    ``text`` waits for a lock (PostgreSQL's ``pg_stat_activity``)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND pid <> pg_backend_pid() AND query LIKE %s",
                [f"%{text}%"],
            )
            if cursor.fetchone():
                return True
            time.sleep(0.01)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_decision_overtaken_by_a_pause_and_resume_is_timed_on_the_new_clock(monkeypatch):
    exercise, prompt, seats = build_world()
    alice = exercise.participants.get(kind="facilitator").user

    def pause_a_second() -> None:
        engine.exercise_pause(exercise=exercise, actor=alice)
        time.sleep(1.0)
        engine.exercise_resume(exercise=exercise, actor=alice)

    arrivals, outcome = overtaken_decision(monkeypatch, exercise, prompt, seats[0], pause_a_second)

    assert isinstance(outcome, Decision)
    assert len(arrivals) == 2  # measured again on the resumed clock, then stored
    assert arrivals[1] - arrivals[0] >= 1.0
    window = exercise.prompt_windows.get(prompt=prompt)
    exercise.refresh_from_db()
    since_open = engine.exercise_clock(exercise) - window.opened_at_clock
    assert 0 <= outcome.latency_seconds <= since_open  # the paused second not counted
    assert Decision.objects.get(team=seats[0][0]).revision == 1


@pytest.mark.django_db(transaction=True)
def test_it_gives_simultaneous_imports_of_a_new_key_one_version_each():
    assert connection.vendor == "postgresql"
    document = export_document(factories.make_scenario())
    document["key"] = "brand-new"
    text = dump_document(document)
    importers = 6
    barrier = threading.Barrier(importers)

    def run(_: int) -> int:
        try:
            barrier.wait(timeout=5)
            return import_scenario(text).version
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=importers) as pool:
        versions = sorted(pool.map(run, range(importers)))

    assert versions == list(range(1, importers + 1))
    stored = Scenario.objects.filter(key="brand-new").order_by("version")
    assert [s.version for s in stored] == versions
    assert all(s.stages.count() == len(document["stages"]) for s in stored)
