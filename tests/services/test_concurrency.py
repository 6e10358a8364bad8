"""Simultaneous writes on PostgreSQL: many teams deciding at the same moment (each
decision stored once, the timeline gap-free) and several imports of one new scenario key
(each gets its own version). Threads have their own database connections, like server
processes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from exercises import engine
from exercises.models import Decision, DecisionRevision, Event, Role, Scenario
from exercises.scenario_format import dump_document, export_document, import_scenario
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


@pytest.mark.django_db(transaction=True)
def test_it_stores_every_simultaneous_decision_exactly_once_with_gap_free_seqs():
    assert connection.vendor == "postgresql"
    exercise, prompt, seats = build_world()
    options = list(prompt.options.all())
    barrier = threading.Barrier(len(seats))

    def submit(index: int) -> list[int]:
        team, player = seats[index]
        try:
            barrier.wait(timeout=30)
            ids = []
            # Each team sends its decision twice with the same token (a double click or a
            # retry after a timeout) and then revises it once with a new token.
            for token in ("first", "first", "second"):
                decision = engine.decision_submit(
                    exercise=exercise,
                    team=team,
                    prompt=prompt,
                    author=player,
                    client_token=f"{team.pk}-{token}",
                    option=options[(index + (token == "second")) % len(options)],
                )
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
def test_it_gives_simultaneous_imports_of_a_new_key_one_version_each():
    assert connection.vendor == "postgresql"
    document = export_document(factories.make_scenario())
    document["key"] = "brand-new"
    text = dump_document(document)
    importers = 6
    barrier = threading.Barrier(importers)

    def run(_: int) -> int:
        try:
            barrier.wait(timeout=30)
            return import_scenario(text).version
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=importers) as pool:
        versions = sorted(pool.map(run, range(importers)))

    assert versions == list(range(1, importers + 1))
    stored = Scenario.objects.filter(key="brand-new").order_by("version")
    assert [s.version for s in stored] == versions
    assert all(s.stages.count() == len(document["stages"]) for s in stored)
