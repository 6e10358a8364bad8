from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Organization, User
from demo.exercises import EARLIER_EXERCISE_NAME, PLAYED_EXERCISE_NAME
from demo.people import DEMO_PASSWORD
from exercises.models import Exercise, Participant
from scenarios.models import Scenario

# transaction=True: the played demo exercise is seeded outside a transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def test_it_seeds_people_in_four_organizations_of_different_sectors_idempotently(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    assert Organization.objects.count() == 4
    assert len(set(Organization.objects.values_list("sector", flat=True))) == 4
    facilitator = User.objects.get(username="facilitator")
    assert facilitator.check_password(DEMO_PASSWORD)
    assert facilitator.has_perm("scenarios.author_scenario")
    assert facilitator.has_perm("exercises.run_exercise")
    assert not User.objects.get(username="nimbus1").has_perm("scenarios.author_scenario")
    printed = capsys.readouterr().out
    assert DEMO_PASSWORD in printed
    assert "nimbus1" in printed


def test_it_seeds_the_scenarios_a_demo_exercise_ready_to_start_and_a_played_one(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    keys = set(Scenario.objects.filter(status="published").values_list("key", flat=True))
    assert {"cloud-ransomware", "payment-flood", "airport-supply-chain"} <= keys
    exercise = Exercise.objects.get(status=Exercise.Status.LOBBY)
    assert exercise.teams.count() == 4
    players = exercise.participants.filter(kind=Participant.Kind.PLAYER)
    assert set(players.values_list("user__username", flat=True)) == {
        "nimbus1",
        "nimbus2",
        "stmarys1",
        "stmarys2",
        "harbor1",
        "harbor2",
        "metrowater1",
    }
    kinds = set(exercise.participants.values_list("kind", flat=True))
    assert kinds == {"facilitator", "player", "evaluator", "observer", "coordinator"}
    printed = capsys.readouterr().out
    assert "is in the lobby" in printed
    ended = Exercise.objects.exclude(pk=exercise.pk)  # two more, not two per run
    assert set(ended.values_list("name", "status")) == {
        (PLAYED_EXERCISE_NAME, Exercise.Status.ENDED),
        (EARLIER_EXERCISE_NAME, Exercise.Status.ENDED),
    }
    played = ended.get(name=PLAYED_EXERCISE_NAME)
    assert reverse("scoring:report", args=[played.code]) in printed
    assert reverse("scoring:trends") in printed
