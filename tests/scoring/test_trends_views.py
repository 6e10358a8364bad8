"""The trends page and its downloads: who sees which organizations, filters, empty state."""

from __future__ import annotations

import pytest
from django.urls import reverse

from exercises.models import Exercise, Participant
from tests import factories

URL = reverse("scoring:trends")


@pytest.fixture
def runs(db, alice):
    return factories.make_trend_runs(facilitator=alice)


def page(client, user, **params) -> str:
    client.force_login(user)
    response = client.get(URL, params)
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_the_facilitator_every_organization_with_the_item_and_its_effect(
    client, alice, runs
):
    first, second, orgs = runs
    html = page(client, alice)
    for org in orgs.values():
        assert org.name in html
    assert first.name in html
    assert second.name in html
    assert "Score rose 22 points after “Rehearse the isolation runbook" in html
    assert "no change claimed: low-confidence evidence in Autumn run" in html
    assert "<svg" in html
    assert 'stroke-dasharray="5 4"' in html  # the bank's segment into a low point


def test_it_shows_a_coordinator_of_both_runs_everything(client, runs):
    first, second, orgs = runs
    coordinator = factories.make_user()
    for run in (first, second):
        factories.add_participant(run, Participant.Kind.COORDINATOR, coordinator)
    html = page(client, coordinator)
    assert all(org.name in html for org in orgs.values())


def test_it_shows_a_member_only_their_organization(client, runs):
    _, _, orgs = runs
    member = factories.make_user()
    factories.add_member(member, orgs["hospital"])
    html = page(client, member)
    assert orgs["hospital"].name in html
    assert "Score rose 22 points" in html
    assert orgs["bank"].name not in html
    assert orgs["cloud"].name not in html
    # not even through the filter: another organization's id shows nothing of it
    client.force_login(member)
    response = client.get(URL, {"organization": orgs["bank"].code})
    assert response.status_code == 422
    assert orgs["bank"].name not in response.content.decode()


def test_it_shows_a_player_of_one_run_only_their_organization(client, runs):
    first, _, orgs = runs
    player = factories.make_user()
    factories.add_player(first, first.teams.get(organization=orgs["bank"]), player)
    html = page(client, player)
    assert orgs["bank"].name in html
    assert orgs["hospital"].name not in html


def test_it_gives_a_facilitator_of_one_run_only_an_empty_state(client, runs):
    first, _, orgs = runs
    other = factories.make_user()
    factories.add_participant(first, Participant.Kind.FACILITATOR, other)
    html = page(client, other)
    assert "No trend yet" in html
    assert orgs["hospital"].name not in html


def test_it_shows_outsiders_nothing_and_sends_anonymous_users_to_log_in(client, mallory, runs):
    first, _, _ = runs
    html = page(client, mallory)
    assert "No trend yet" in html
    assert first.name not in html
    client.logout()
    assert client.get(URL).status_code == 302
    assert client.get(reverse("scoring:trends-export", args=["csv"])).status_code == 302


def test_it_filters_by_sector_and_group(client, alice, runs):
    _, _, orgs = runs
    html = page(client, alice, by="sector", per="group", group="RS")
    export = reverse("scoring:trends-export", args=["xlsx"])
    assert f'href="{export}?by=sector&amp;per=group&amp;group=RS"' in html  # same filters
    shown = html.split("series over")[1]  # past the filters, which name every choice
    assert f"<td>{orgs['hospital'].get_sector_display()}</td>" in shown
    assert f"<td>{orgs['hospital'].name}</td>" not in shown  # a row per sector
    assert f"— {orgs['hospital'].name}, due 2026-06-01" in shown  # whose item it was
    assert "Respond" in shown
    assert "Detect" not in shown


def test_it_refuses_a_foreign_organization_in_the_export(client, runs):
    _, _, orgs = runs
    member = factories.make_user()
    factories.add_member(member, orgs["hospital"])
    client.force_login(member)
    url = reverse("scoring:trends-export", args=["csv"])
    assert client.get(url, {"organization": orgs["bank"].code}).status_code == 404
    csv = client.get(url).content.decode()
    assert orgs["hospital"].name in csv
    assert orgs["bank"].name not in csv
    assert client.get(reverse("scoring:trends-export", args=["pdf"])).status_code == 404


def test_it_follows_one_organization_of_the_rubric_the_report_links_to(client, alice, runs):
    first, _, orgs = runs
    client.force_login(alice)
    report = client.get(reverse("scoring:report", args=[first.code])).content.decode()
    link = f"{URL}?rubric={first.scenario.rubric.key}"
    assert link in report
    html = page(client, alice, rubric=first.scenario.rubric.key, organization=orgs["bank"].code)
    shown = html.split("series over")[1]
    assert orgs["bank"].name in shown
    assert orgs["hospital"].name not in shown


def test_it_counts_runs_ended_at_the_same_instant_once_each(client, runs):
    first, second, orgs = runs
    Exercise.objects.filter(id=second.id).update(created_at=first.created_at)
    member = factories.make_user()
    factories.add_member(member, orgs["hospital"])
    assert "Score rose 22 points" in page(client, member)
