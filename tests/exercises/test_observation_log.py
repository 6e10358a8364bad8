"""An evaluator's own observation log: revised or deleted by its evaluator only, while the
exercise is under way, each change audited; the page offers it and the views go through
the access rule."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEntry
from exercises import engine
from exercises.engine import EngineError
from exercises.models import Observation
from tests import factories


@pytest.fixture
def rated(alice, bob, org_a, django_capture_on_commit_callbacks):
    """A running exercise, its evaluator and one observation of theirs on the cloud team."""
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    factories.add_player(exercise, cloud, bob)
    evaluator = factories.add_participant(exercise, "evaluator").user
    with django_capture_on_commit_callbacks(execute=True):
        engine.exercise_start(exercise=exercise, actor=alice)
        observation = engine.observation_record(
            exercise=exercise,
            team=cloud,
            criterion=exercise.scenario.rubric.criteria.get(key="respond"),
            evaluator=evaluator,
            rating="S",
            note="Slow to isolate",
        )
    return exercise, evaluator, observation


def test_it_lets_the_evaluator_revise_their_observation_and_audits_it(rated):
    exercise, evaluator, observation = rated
    engine.observation_revise(
        exercise=exercise, observation=observation, evaluator=evaluator, rating="P", note="Fine"
    )
    observation.refresh_from_db()
    assert (observation.rating, observation.note) == ("P", "Fine")
    assert observation.revised_at is not None
    entry = AuditEntry.objects.get(action="observation.revise")
    assert (entry.target, entry.details) == (observation.code, {"rating": "P", "was": "S"})


def test_it_lets_the_evaluator_delete_their_observation_and_audits_it(rated):
    exercise, evaluator, observation = rated
    engine.observation_delete(exercise=exercise, observation=observation, evaluator=evaluator)
    assert not Observation.objects.filter(pk=observation.pk).exists()
    assert AuditEntry.objects.get(action="observation.delete").details["rating"] == "S"


def test_it_refuses_changes_by_anyone_else_even_the_facilitator(rated, alice):
    exercise, _evaluator, observation = rated
    with pytest.raises(EngineError, match="Only its evaluator"):
        engine.observation_revise(
            exercise=exercise, observation=observation, evaluator=alice, rating="U", note=""
        )
    with pytest.raises(EngineError, match="Only its evaluator"):
        engine.observation_delete(exercise=exercise, observation=observation, evaluator=alice)
    assert Observation.objects.get(pk=observation.pk).rating == "S"


def test_it_refuses_changes_once_the_exercise_ended(rated, alice):
    exercise, evaluator, observation = rated
    engine.exercise_end(exercise=exercise, actor=alice)
    with pytest.raises(EngineError, match="change observations"):
        engine.observation_revise(
            exercise=exercise, observation=observation, evaluator=evaluator, rating="P", note=""
        )
    with pytest.raises(EngineError, match="change observations"):
        engine.observation_delete(exercise=exercise, observation=observation, evaluator=evaluator)
    assert Observation.objects.filter(pk=observation.pk, rating="S").exists()


def test_it_refuses_a_rating_outside_the_scale(rated):
    exercise, evaluator, observation = rated
    with pytest.raises(EngineError, match="P, S, M or U"):
        engine.observation_revise(
            exercise=exercise, observation=observation, evaluator=evaluator, rating="X", note=""
        )


def test_the_page_offers_the_log_for_editing_until_the_end_and_no_ratings_grid(
    rated, client, alice
):
    exercise, evaluator, observation = rated
    client.force_login(evaluator)
    page = client.get(reverse("exercises:evaluate", args=[exercise.code])).content.decode()
    edit = reverse("exercises:observation_revise", args=[exercise.code, observation.code])
    assert edit in page
    assert "rating-grid" not in page
    assert "Latest rating per team" not in page
    engine.exercise_end(exercise=exercise, actor=alice)
    page = client.get(reverse("exercises:evaluate", args=[exercise.code])).content.decode()
    assert "Slow to isolate" in page
    assert edit not in page


def test_the_views_revise_and_delete_through_htmx(rated, client):
    exercise, evaluator, observation = rated
    client.force_login(evaluator)
    args = [exercise.code, observation.code]
    headers = {"HTTP_HX_REQUEST": "true"}
    revised = client.post(
        reverse("exercises:observation_revise", args=args),
        {"rating": "M", "note": "Paused too long"},
        **headers,
    )
    assert 'id="my-observations"' in revised.content.decode()
    assert "Paused too long" in revised.content.decode()
    assert Observation.objects.get(pk=observation.pk).rating == "M"
    client.post(reverse("exercises:observation_delete", args=args), **headers)
    assert not Observation.objects.filter(pk=observation.pk).exists()
