"""The console's "next on the timeline": timed injects, prompt deadlines and delayed
consequences, soonest first, on the exercise clock (manual clock)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from exercises import clock, engine
from exercises.engine.rules import Action, ExerciseState, scheduled
from scenarios.models import Consequence
from tests import factories

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_scheduled_orders_stage_work_deadlines_and_consequences():
    state = ExerciseState(
        running=True,
        stage_started_at_clock=10.0,
        timed_injects=((1, 50.0),),
        stage_prompts=((5, 0.0),),
        opened_prompt_ids=frozenset({5}),
        open_deadlines=((5, 40.0),),
        pending_consequences=(
            Action(30.0, "release", 2, "csq:1:7", (8,), True),
            Action(20.0, "release", 3, "csq:2:7", (8,), True),
        ),
        released_keys=frozenset({"csq:2:7"}),
    )
    assert [(a.kind, a.object_id, a.due) for a in scheduled(state)] == [
        ("release", 2, 30.0),
        ("close", 5, 40.0),
        ("release", 1, 60.0),
    ]


@pytest.mark.django_db
def test_due_next_lists_what_the_clock_does_next(alice, bob, client):
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud")
    bank = factories.make_team(exercise, "bank")
    factories.add_player(exercise, cloud, bob)
    factories.add_timed_inject(exercise, "manual-ops", 300, title="Manual operations")
    Consequence.objects.filter(inject__key="leak").update(delay_seconds=120)
    prompt = exercise.scenario.prompts.get(key="first-move")
    with clock.use(clock.ManualClock(START)) as manual:
        engine.exercise_start(exercise=exercise, actor=alice)
        manual.advance(60)
        engine.decision_submit(
            exercise=exercise,
            team=cloud,
            prompt=prompt,
            author=bob,
            client_token="t",
            option=prompt.options.get(key="pay"),
        )
        items = engine.due_next(exercise=exercise)
        assert [(i.due, i.what, i.inject_key) for i in items] == [
            (180.0, f"Consequence: Your data is on a leak site (to {bank.organization})", ""),
            (300.0, "Timed inject: Manual operations", "manual-ops"),
            (600.0, "Deadline: What do you do first?", ""),
        ]
        client.force_login(alice)
        html = client.get(reverse("exercises:due_next", args=[exercise.code])).content.decode()
        assert 'data-deadline="300.0"' in html
        assert "Release now" in html
        # The body only: it is swapped inside the page's section, which stays.
        assert 'id="due-next"' not in html
