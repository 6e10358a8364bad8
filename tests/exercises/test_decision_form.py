"""A prompt asking for an option and an explanation shows one box for the why, not an
"Explain" box and a "Rationale" box."""

from __future__ import annotations

import pytest
from django.urls import reverse

from exercises import engine
from exercises.forms import DecisionForm
from scenarios.models import Prompt
from tests import factories


@pytest.fixture
def first_move(db, alice):
    exercise = factories.make_exercise(facilitator=alice)
    return exercise, exercise.scenario.prompts.get(key="first-move")


def test_a_choice_prompt_keeps_its_optional_rationale(first_move):
    _, prompt = first_move
    assert set(DecisionForm(prompt=prompt).fields) == {"option", "rationale", "client_token"}


def test_a_choice_and_explanation_prompt_has_one_box_for_the_why(first_move):
    _, prompt = first_move
    prompt.kind = Prompt.Kind.CHOICE_TEXT
    prompt.save()
    form = DecisionForm(prompt=prompt)
    assert set(form.fields) == {"option", "text", "client_token"}
    assert "evaluators read it" in form.fields["text"].help_text


def test_the_room_shows_one_textarea_for_such_a_prompt(first_move, alice, bob, org_a, client):
    exercise, prompt = first_move
    prompt.kind = Prompt.Kind.CHOICE_TEXT
    prompt.save()
    cloud = factories.make_team(exercise, "cloud", org_a)
    factories.add_player(exercise, cloud, bob)
    engine.exercise_start(exercise=exercise, actor=alice)
    client.force_login(bob)
    page = client.get(reverse("exercises:room", args=[exercise.code])).content.decode()
    card = page[page.index('id="prompt-first-move"') : page.index("</article>")]
    assert card.count("<textarea") == 1
    assert "Why this choice" in card
