"""Cross-exercise comparison: trends per organization × criterion."""

from __future__ import annotations

import pytest
from django.urls import reverse

from exercises.models import Team
from scoring.services import report_compute
from tests import factories


@pytest.fixture
def two_runs(db, alice):
    first, teams = factories.make_played_exercise(facilitator=alice, name="Spring run")
    second, _ = factories.make_played_from_scenario(first.scenario, facilitator=alice)
    for key, team in teams.items():
        Team.objects.filter(exercise=second, role__key=key).update(organization=team.organization)
    for run in (first, second):  # as when each run ended: pages only read scores
        report_compute(exercise=run)
    return first, second, teams


def test_it_offers_series_and_shows_a_trend(client, alice, two_runs):
    first, second, teams = two_runs
    client.force_login(alice)
    page = client.get(reverse("scoring:compare")).content.decode()
    series = f"scenario:{first.scenario.key}"
    assert series in page
    html = client.get(reverse("scoring:compare"), {"series": series}).content.decode()
    assert first.name in html
    assert second.name in html
    assert str(teams["cloud"].organization) in html
    assert "<polyline" in html  # a sparkline joins two runs


def test_it_shows_a_player_only_their_organization(client, bob, two_runs):
    first, second, teams = two_runs
    factories.add_player(first, teams["bank"], bob)
    factories.add_player(second, second.teams.get(role__key="bank"), factories.make_user())
    client.force_login(bob)
    series = f"scenario:{first.scenario.key}"
    # one readable run only: nothing to compare yet
    html = client.get(reverse("scoring:compare"), {"series": series}).content.decode()
    assert "Nothing to compare yet" in html
    second.participants.filter(kind="player").update(user=bob)
    html = client.get(reverse("scoring:compare"), {"series": series}).content.decode()
    assert str(teams["bank"].organization) in html
    assert str(teams["cloud"].organization) not in html


def test_it_shows_outsiders_nothing(client, mallory, two_runs):
    first, _, _ = two_runs
    client.force_login(mallory)
    html = client.get(
        reverse("scoring:compare"), {"series": f"scenario:{first.scenario.key}"}
    ).content.decode()
    assert "Nothing to compare yet" in html
    assert first.name not in html
