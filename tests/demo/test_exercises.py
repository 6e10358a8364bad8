"""The demo exercises built from the shipped scenario and the demo people."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from demo.exercises import (
    EARLIER_DAYS,
    EARLIER_EXERCISE_NAME,
    PLAYED_EXERCISE_NAME,
    DemoError,
    _do_timed,
    seed_demo_earlier_exercise,
    seed_demo_exercise,
    seed_demo_played_exercise,
)
from demo.people import seed_demo_people
from demo.script import Release, Timed
from exercises import events
from exercises.models import Exercise, Participant
from scenarios.formats.fixtures import load_fixtures
from scenarios.models import Tlp
from scoring.access import trend_scope
from scoring.models import Gap, ImprovementItem, Score
from scoring.trends_collect import TrendFilter, trend_rubrics, trend_view


def test_it_seats_a_team_per_demo_organization_and_the_staff(db):
    list(load_fixtures())
    people = seed_demo_people()
    exercise = seed_demo_exercise(people)
    assert exercise.status == Exercise.Status.LOBBY
    assert sorted(exercise.teams.values_list("role__key", flat=True)) == sorted(
        ["cloud", "hospital", "bank", "water"]
    )
    players = exercise.participants.filter(kind=Participant.Kind.PLAYER)
    assert players.count() == sum(len(users) for users in people.players.values())
    assert set(exercise.participants.values_list("kind", flat=True)) == set(Participant.Kind.values)
    assert seed_demo_exercise(people) == exercise  # idempotent


def test_it_says_to_load_the_fixtures_first(db):
    with pytest.raises(DemoError, match="load_fixtures"):
        seed_demo_exercise(seed_demo_people())
    with pytest.raises(DemoError, match="load_fixtures"):
        seed_demo_played_exercise(seed_demo_people())
    assert not Exercise.objects.exists()


def test_it_names_the_step_whose_key_the_scenario_lacks(db):
    list(load_fixtures())
    people = seed_demo_people()
    exercise = seed_demo_exercise(people)
    where = "x.yaml: stages[0] (detection).steps[2] at 1:00"
    timed = Timed(at=timedelta(minutes=1), step=Release("no-such-inject"), where=where)
    with pytest.raises(DemoError, match=r"^x\.yaml: stages\[0\] \(detection\)\.steps\[2\]"):
        _do_timed(timed, exercise=exercise, teams={}, people=people)


def test_it_refuses_to_play_inside_a_transaction(db):
    list(load_fixtures())
    with pytest.raises(DemoError, match="outside a transaction"):
        seed_demo_played_exercise(seed_demo_people())


@pytest.fixture
def played(transactional_db, settings):
    """The played demo, seeded with the in-process scheduler ON: nothing may be scheduled."""
    settings.CASCADE_INPROCESS_SCHEDULER = True
    list(load_fixtures())
    people = seed_demo_people()
    with mock.patch("exercises.scheduler._scheduler.call_later") as call_later:
        exercise = seed_demo_played_exercise(people)
    call_later.assert_not_called()
    return exercise, people


def test_it_plays_the_demo_to_the_end_through_a_branch_with_every_team(played):
    exercise, people = played
    assert exercise.name == PLAYED_EXERCISE_NAME
    assert exercise.status == Exercise.Status.ENDED
    assert exercise.current_stage.key == "hotwash"
    assert "What went well" in exercise.hotwash_notes
    seated = set(exercise.participants.values_list("user__username", flat=True))
    everyone = [*people.staff.values(), *(u for users in people.players.values() for u in users)]
    assert seated == {user.username for user in everyone}
    stages = [e.payload["stage"] for e in exercise.events.filter(kind=events.STAGE_ENTERED)]
    # detection → clean-outage and extortion → joint-recovery are conditional branches.
    assert stages == [
        "detection",
        "clean-outage",
        "extortion",
        "joint-recovery",
        "public-pressure",
        "recovery",
        "hotwash",
    ]
    seqs = list(exercise.events.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))  # gap-free, written by the engine

    decisions = exercise.decisions.select_related("team__role", "prompt")
    assert {d.team.role.key for d in decisions} == {"cloud", "hospital", "bank", "water"}
    # On the simulated clock, timed work happens exactly when due: the prompt opened at
    # 2:00, the provider decided at 6:10; the hospital's timed inject came at 3:00.
    first = decisions.get(prompt__key="provider-first-move")
    assert first.latency_seconds == 250
    assert exercise.releases.get(inject__key="ehr-slow").clock_seconds == 180
    cascade = exercise.releases.get(release_key__startswith="csq:")
    assert cascade.inject.key == "tenant-outage-notice"
    assert len(cascade.team_ids) == 3  # every customer depends on the provider
    assert exercise.releases.filter(inject__key="reporter-call").exists()  # manual

    shares = exercise.shares.select_related("from_team__role")
    assert {s.tlp for s in shares} >= {Tlp.RED, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.GREEN, Tlp.CLEAR}
    assert "water" not in {s.from_team.role.key for s in shares}  # the team that withholds
    ratings = set(exercise.observations.values_list("rating", flat=True))
    assert ratings == {"P", "S", "M", "U"}
    assert exercise.ended_at < timezone.now() - timedelta(hours=6)

    assert seed_demo_played_exercise(people) == exercise  # idempotent
    assert Exercise.objects.count() == 1


def test_it_computes_a_report_with_scores_and_systemic_gaps(played, client):
    exercise, people = played
    assert Score.objects.filter(exercise=exercise, value__isnull=False).count() > 20
    # Isolating the platform is the scenario's good branch (+25 mitigation, −5 dependency
    # awareness): a trade-off, not a cascade gap.
    assert not Gap.objects.filter(exercise=exercise, kind=Gap.Kind.CASCADE).exists()
    assert Gap.objects.filter(exercise=exercise, kind=Gap.Kind.SYSTEMIC).exists()
    assert ImprovementItem.objects.filter(exercise=exercise).count() >= 5

    report = reverse("scoring:report", args=[exercise.code])
    for user in (people.staff["coordinator"], people.players["hospital"][0]):
        client.force_login(user)
        home = client.get(reverse("home"))
        assert f'href="{report}"' in home.content.decode()
        page = client.get(report)
        assert page.status_code == 200
        assert "Nimbus Cloud Services" in page.content.decode()


def test_it_plays_an_earlier_run_whose_completed_items_the_trends_follow(
    transactional_db, settings
):
    settings.CASCADE_INPROCESS_SCHEDULER = True
    list(load_fixtures())
    people = seed_demo_people()
    with mock.patch("exercises.scheduler._scheduler.call_later"):
        earlier = seed_demo_earlier_exercise(people)
        played = seed_demo_played_exercise(people)
        assert seed_demo_earlier_exercise(people) == earlier  # idempotent
    assert earlier.name == EARLIER_EXERCISE_NAME
    assert (played.ended_at - earlier.ended_at).days == EARLIER_DAYS
    assert not earlier.shares.exists()  # played without the sharing
    assert played.shares.exists()
    done = earlier.improvement_items.filter(status=ImprovementItem.Status.DONE)
    assert done.exists()
    assert all(earlier.ended_at.date() < i.completion_date < played.ended_at.date() for i in done)

    scope = trend_scope(people.staff["coordinator"])
    view = trend_view(
        scope, TrendFilter(rubric=trend_rubrics(scope).get()), by="organization", per="criterion"
    )
    credited = [
        step
        for series in view.series
        for step in series.steps
        if step.claimed and step.change > 0 and any(i.done for i in step.items)
    ]
    assert credited  # a coordinator sees a rise after a completed corrective action
    assert "after “Named warning contacts" in " ".join(step.summary for step in credited)
