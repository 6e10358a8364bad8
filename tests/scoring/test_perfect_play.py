"""The editor's "what a perfect team scores" check: scoring's best play of a scenario
(method.best_play_scores), registered into the scenarios app's validation panel."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.urls import reverse

from scenarios import services
from scenarios.formats.fixtures import load_fixtures
from scenarios.models import Option, Scenario
from scoring import method as e
from tests import factories
from tests.scoring.test_method import CLOUD, criteria, teams, tiny


def test_a_perfect_team_takes_the_best_option_early_and_is_rated_p():
    scores = {
        s.criterion_key: s for s in e.best_play_scores(criteria(), teams()[0], tiny().prompts)
    }
    assert scores["respond"].value == 100.0  # "Isolate": best on respond, on time, rated P
    assert scores["detect"].value == 100.0
    assert scores["info-sharing"].value is None  # no prompt exercises it


def test_a_trade_off_it_cannot_recover_leaves_the_perfect_team_below_threshold():
    """The option best in total (+40 respond, −20 detect) is the worst on detect: even
    rated P, the perfect team's detect is (0 × .45 + 100 × .40) / .85."""
    prompt = tiny().prompts[0]
    options = (
        e.OptionIn(101, "isolate", "Isolate", {"respond": 40, "detect": -20}),
        e.OptionIn(102, "pay", "Pay", {"respond": -20, "detect": 20}),
    )
    scores = {
        s.criterion_key: s.value
        for s in e.best_play_scores(
            criteria(), teams()[CLOUD - 1], [replace(prompt, options=options)]
        )
    }
    assert scores["detect"] == 47.1
    assert scores["respond"] == 100.0


@pytest.fixture
def author(client, alice):
    user = factories.grant_authoring(alice)
    client.force_login(user)
    return user


def test_the_editor_flags_a_scenario_whose_best_play_misses_a_threshold(client, author):
    draft = factories.make_scenario(published=False, key="tiny")
    url = reverse("scenarios:scenario_detail", args=[draft.code])
    assert "A perfect" not in client.get(url).content.decode()
    Option.objects.filter(prompt__scenario=draft, key="isolate").update(
        effects={"respond": 40, "detect": -20}
    )
    Option.objects.filter(prompt__scenario=draft, key="pay").update(
        effects={"respond": -20, "detect": 20}
    )
    warnings = services.scenario_warnings(draft)
    flagged = [w for w in warnings if w.startswith("A perfect")]
    assert len(flagged) == draft.roles.count()  # the prompt is put to every role
    assert "team scores 47.1 on Detect (threshold 60)" in flagged[0]
    panel = client.get(url).content.decode()
    assert flagged[0].replace("'", "&#x27;") in panel


def test_every_shipped_scenarios_best_play_reaches_every_threshold(db):
    list(load_fixtures())
    for scenario in Scenario.objects.all():
        assert not [w for w in services.scenario_warnings(scenario) if w.startswith("A perfect")]
