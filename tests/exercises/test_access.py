"""Who may see and run an exercise."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.http import Http404

from exercises import access
from exercises.visibility import Viewer
from tests import factories


@pytest.fixture
def seated(alice, bob, org_a):
    exercise = factories.make_exercise(facilitator=alice)
    team = factories.make_team(exercise, "cloud", org_a)
    factories.add_player(exercise, team, bob)
    evaluator = factories.add_participant(exercise, "evaluator").user
    observer = factories.add_participant(exercise, "observer").user
    return exercise, team, evaluator, observer


def test_it_hides_the_exercise_from_outsiders(seated, mallory):
    exercise = seated[0]
    for check in (
        access.exercise_for,
        access.require_facilitator,
        access.require_player,
        access.require_evaluator,
    ):
        with pytest.raises(Http404):
            check(mallory, exercise.code)
    with pytest.raises(Http404):
        access.exercise_for(mallory, "no-such-code")


def test_it_forbids_players_the_control_cell(seated, bob):
    exercise = seated[0]
    with pytest.raises(PermissionDenied):
        access.require_facilitator(bob, exercise.code)
    with pytest.raises(PermissionDenied):
        access.require_evaluator(bob, exercise.code)
    assert access.require_player(bob, exercise.code) == (exercise, seated[1])


def test_it_lets_each_seat_do_its_job(seated, alice):
    exercise, _team, evaluator, observer = seated
    assert access.require_facilitator(alice, exercise.code) == exercise
    assert access.require_evaluator(alice, exercise.code) == exercise
    assert access.require_evaluator(evaluator, exercise.code) == exercise
    with pytest.raises(PermissionDenied):
        access.require_player(alice, exercise.code)
    with pytest.raises(PermissionDenied):
        access.require_facilitator(observer, exercise.code)


def test_it_lets_staff_look_but_not_act(seated):
    exercise = seated[0]
    staff = factories.make_user("sam", is_staff=True)
    assert access.exercise_for(staff, exercise.code) == (exercise, None)
    assert access.viewer_for(None) == Viewer("observer")
    with pytest.raises(PermissionDenied):
        access.require_facilitator(staff, exercise.code)


def test_it_builds_viewers_from_seats(seated, alice, bob):
    exercise, team, _, _observer = seated
    _, bob_seat = access.exercise_for(bob, exercise.code)
    _, alice_seat = access.exercise_for(alice, exercise.code)
    assert access.viewer_for(bob_seat) == Viewer("player", team.pk)
    assert access.viewer_for(alice_seat).is_control


def test_it_lets_only_facilitators_set_up_exercises(alice, bob):
    alice.user_permissions.add(Permission.objects.get(codename="run_exercise"))
    alice = type(alice).objects.get(pk=alice.pk)  # a fresh permission cache
    assert access.can_run_exercises(alice)
    access.require_runner(alice)
    assert not access.can_run_exercises(bob)
    with pytest.raises(PermissionDenied):
        access.require_runner(bob)
