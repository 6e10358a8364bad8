"""Fixtures shared by the live page tests."""

from __future__ import annotations

import pytest

from exercises import engine
from tests import factories


@pytest.fixture
def exercise(alice, bob, carol, org_a, org_b):
    """A lobby exercise: bob plays the cloud provider (org A), carol the hospital (org B)."""
    ex = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(ex, "cloud", org_a)
    hospital = factories.make_team(ex, "hospital", org_b)
    factories.add_player(ex, cloud, bob)
    factories.add_player(ex, hospital, carol)
    return ex


@pytest.fixture
def running(exercise, alice):
    engine.exercise_start(exercise=exercise, actor=alice)
    exercise.refresh_from_db()
    return exercise
