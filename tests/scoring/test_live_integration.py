"""Scoring an exercise played through the live engine (the contract's real payloads)."""

from __future__ import annotations

import pytest

from exercises import engine
from exercises.models import PromptWindow
from scenarios.models import Inject, Prompt
from scoring.models import Gap, Score
from scoring.services import report_compute
from tests import factories


@pytest.fixture(autouse=True)
def no_scheduler(monkeypatch, settings):
    settings.CASCADE_INPROCESS_SCHEDULER = False
    monkeypatch.setattr("exercises.scheduler.schedule_sweep", lambda **kwargs: True)


def test_it_scores_a_run_played_through_the_engine(
    alice, bob, carol, org_a, org_b, django_capture_on_commit_callbacks
):
    exercise, cloud, hospital, bank, dave = factories.make_three_team_exercise(
        facilitator=alice,
        cloud_player=bob,
        hospital_player=carol,
        cloud_org=org_a,
        hospital_org=org_b,
    )
    with django_capture_on_commit_callbacks(execute=True):
        engine.exercise_start(exercise=exercise, actor=alice)
        siem = Inject.objects.get(scenario=exercise.scenario, key="siem-alert")
        engine.inject_release(exercise=exercise, inject=siem, actor=alice)
        prompt = Prompt.objects.get(scenario=exercise.scenario, key="first-move")
        if not PromptWindow.objects.filter(exercise=exercise, prompt=prompt).exists():
            engine.prompt_open(exercise=exercise, prompt=prompt, actor=alice)
        engine.share_create(
            exercise=exercise,
            from_team=cloud,
            author=bob,
            tlp="RED",
            title="Ransomware here",
            body="Expect outages.",
            recipients=[hospital],
            client_token="share-1",
            about_inject=siem,
        )
        for team, user, key in (
            (cloud, bob, "pay"),
            (hospital, carol, "isolate"),
            (bank, dave, "wait"),
        ):
            engine.decision_submit(
                exercise=exercise,
                team=team,
                prompt=prompt,
                author=user,
                client_token=f"t-{key}",
                option=prompt.options.get(key=key),
            )
        detect = exercise.scenario.rubric.criteria.get(key="detect")
        engine.observation_record(
            exercise=exercise, team=bank, criterion=detect, evaluator=alice, rating="U"
        )
        engine.exercise_end(exercise=exercise, actor=alice)
    report_compute(exercise=exercise)
    values = {
        (s.team.role.key, s.criterion.key): s.value
        for s in Score.objects.filter(exercise=exercise).select_related("team__role", "criterion")
    }
    assert (
        values[("hospital", "respond")] > values[("bank", "respond")] > values[("cloud", "respond")]
    )
    assert values[("cloud", "info-sharing")] is not None  # warned one of two dependents
    assert values[("bank", "dependency-awareness")] == 0.0  # decided without the SIEM news
    assert values[("hospital", "dependency-awareness")] == 100.0
    cascade = Gap.objects.get(exercise=exercise, kind="cascade")
    assert cascade.team == cloud
    assert {d["team_id"] for d in cascade.evidence["dependents"]} == {hospital.id, bank.id}
