"""The observers' common operating picture: stage path, decided counts, shares by
marking, the cascade map and every TLP:CLEAR item (restricted ones are in the TLP matrix,
tests/security/test_tlp.py)."""

from __future__ import annotations

import pytest

from exercises import engine, live_state
from tests import factories

pytestmark = pytest.mark.django_db


def test_it_draws_the_storys_shape(alice, bob, carol, org_a, org_b):
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    hospital = factories.make_team(exercise, "hospital", org_b)
    bank = factories.make_team(exercise, "bank")
    factories.add_player(exercise, cloud, bob)
    factories.add_player(exercise, hospital, carol)
    engine.exercise_start(exercise=exercise, actor=alice)
    prompt = exercise.scenario.prompts.get(key="first-move")
    engine.decision_submit(
        exercise=exercise,
        team=cloud,
        prompt=prompt,
        author=bob,
        client_token="t",
        option=prompt.options.get(key="pay"),  # the AMBER leak reaches the cloud's dependents
    )
    news = exercise.scenario.injects.get(key="news")
    engine.inject_release(exercise=exercise, inject=news, actor=alice)
    for tlp, title in (("CLEAR", "Public IOCs"), ("GREEN", "Community note")):
        engine.share_create(
            exercise=exercise,
            from_team=hospital,
            author=carol,
            tlp=tlp,
            title=title,
            body="…",
            recipients=[cloud],
            client_token=tlp,
        )

    picture = live_state.observer_picture(exercise)
    assert picture["decided"] == [("What do you do first?", 1, 3)]
    assert dict(picture["shares_by_tlp"]) == {
        "CLEAR": 1,
        "GREEN": 1,
        "AMBER": 0,
        "AMBER+STRICT": 0,
        "RED": 0,
    }
    [hit] = picture["cascade"]
    assert hit.organizations == sorted([str(bank.organization), str(hospital.organization)])
    assert hit.title == ""  # the leak is TLP:AMBER: who was hit, not what
    assert [(i.kind, i.title) for i in picture["clear_items"]] == [
        ("inject", "News: outage"),
        ("share", "Public IOCs"),
    ]

    engine.exercise_advance(exercise=exercise, actor=alice)
    assert live_state.observer_picture(exercise)["stage_path"] == [
        "Ransomware detected",
        "Spread",
    ]
