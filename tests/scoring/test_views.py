"""After-action pages: who reads what, editing the plan, recompute, lists."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scoring.access import ReportAccess
from scoring.models import ImprovementItem
from scoring.report import build_report
from scoring.services import report_compute
from tests import factories
from tests.scoring.plays import leak_after_the_bank_decided


@pytest.fixture
def played(db, alice):
    exercise, teams = factories.make_played_exercise(facilitator=alice)
    leak_after_the_bank_decided(exercise)
    report_compute(exercise=exercise)
    return exercise, teams


def _url(exercise, name="scoring:report", *args):
    return reverse(name, args=[exercise.code, *args])


def test_it_shows_the_full_report_to_the_facilitator(client, alice, played):
    exercise, teams = played
    client.force_login(alice)
    response = client.get(_url(exercise))
    assert response.status_code == 200
    html = response.content.decode()
    for team in teams.values():
        assert str(team.organization) in html
    assert "Cascade gap" in html
    assert "Systemic gap" in html
    assert "bank decided wait" in html  # decisions table
    assert "<svg" in html
    assert "Cascade chains" in html
    assert "the bank heard about the ransomware last" in html  # hot-wash
    assert 'id="audit"' in html
    assert "Recompute scores" in html
    # every score explains itself, linking to its decisions and observations
    assert "What made each score" in html
    assert "Evaluator rated P: hospital detection" in html
    assert "Decided without information an upstream team held: “SIEM: mass encryption”" in html
    assert 'href="#observation-' in html


def test_it_shows_a_player_only_their_team_and_aggregates(client, bob, played):
    exercise, teams = played
    factories.add_player(exercise, teams["bank"], bob)
    client.force_login(bob)
    response = client.get(_url(exercise))
    assert response.status_code == 200
    html = response.content.decode()
    assert "bank decided wait" in html
    assert "hospital decided isolate" not in html
    assert "cloud decided pay" not in html
    assert "Ransomware on our hosts" not in html  # RED share to the hospital only
    assert "Decided without information an upstream team held" in html
    assert "SIEM: mass encryption" not in html  # what the cloud knew stays the cloud's
    assert "bank detection" not in html  # evaluators' notes are for the control cell
    # other teams appear in the overview's team list only, never with scores or gaps
    for key in ("hospital", "cloud"):
        assert f">{teams[key]}</text>" not in html  # no heatmap row
        assert f"Scores of {teams[key]}" not in html  # no team chart
    assert f">{teams['bank']}</text>" in html
    assert f"Scores of {teams['bank']}" in html
    assert f"{teams['cloud']} chose" not in html  # the cascade gap is the cloud's
    assert "All teams (mean)" in html
    assert 'id="audit"' not in html
    assert "Recompute scores" not in html
    assert "the bank heard" not in html
    assert "Team debrief (PDF)" in html  # the one export a player gets
    assert 'value="json"' not in html


def test_it_shows_observers_aggregates_only(client, carol, played):
    exercise, teams = played
    factories.add_participant(exercise, "observer", carol)
    client.force_login(carol)
    html = client.get(_url(exercise)).content.decode()
    assert "All teams (mean)" in html
    for team in teams.values():
        assert f">{team}</text>" not in html
        assert f"Scores of {team}" not in html
    assert "decided" not in html


def test_it_hides_reports_from_outsiders(client, mallory, played):
    exercise, _ = played
    client.force_login(mallory)
    item = ImprovementItem.objects.filter(exercise=exercise).first()
    assert client.get(_url(exercise)).status_code == 404
    assert client.post(_url(exercise, "scoring:recompute")).status_code == 404
    assert client.get(_url(exercise, "scoring:item-edit", item.code)).status_code == 404
    assert (
        client.post(_url(exercise, "scoring:export-create"), {"format": "json"}).status_code == 404
    )
    assert exercise.name not in client.get(reverse("scoring:list")).content.decode()
    assert item.observation not in client.get(reverse("scoring:plan")).content.decode()


def test_it_requires_login(client, played):
    exercise, _ = played
    response = client.get(_url(exercise))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_it_lets_only_editors_recompute_and_edit(client, bob, played):
    exercise, teams = played
    factories.add_player(exercise, teams["hospital"], bob)
    client.force_login(bob)
    item = ImprovementItem.objects.filter(exercise=exercise).first()
    assert client.post(_url(exercise, "scoring:recompute")).status_code == 403
    assert client.get(_url(exercise, "scoring:item-edit", item.code)).status_code == 403


def test_it_edits_an_improvement_item_inline(client, alice, played):
    exercise, teams = played
    client.force_login(alice)
    item = ImprovementItem.objects.filter(exercise=exercise).first()
    form = client.get(_url(exercise, "scoring:item-edit", item.code), HTTP_HX_REQUEST="true")
    assert form.status_code == 200
    assert "<form" in form.content.decode()
    data = {
        "observation": item.observation,
        "recommendation": item.recommendation,
        "corrective_action": "Sign a sharing agreement",
        "capability_element": "organization",
        "organization": teams["cloud"].organization.id,
        "point_of_contact": "CISO",
        "start_date": "2026-12-01",
        "completion_date": "2027-03-01",
        "status": "in_progress",
    }
    row = client.post(_url(exercise, "scoring:item-edit", item.code), data, HTTP_HX_REQUEST="true")
    assert row.status_code == 200
    assert "Sign a sharing agreement" in row.content.decode()
    item.refresh_from_db()
    assert (item.status, item.point_of_contact) == ("in_progress", "CISO")
    bad = client.post(
        _url(exercise, "scoring:item-edit", item.code),
        {**data, "completion_date": "2026-01-01"},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 422
    assert "cannot be before the start" in bad.content.decode()


def test_it_recomputes_on_request(client, alice, played):
    exercise, _ = played
    client.force_login(alice)
    response = client.post(_url(exercise, "scoring:recompute"))
    assert response.status_code == 302


def test_it_lists_reports_and_filters_the_plan(client, alice, played):
    exercise, teams = played
    client.force_login(alice)
    listing = client.get(reverse("scoring:list")).content.decode()
    assert exercise.name in listing
    assert "<td>Facilitator</td>" in listing
    org = teams["bank"].organization
    html = client.get(reverse("scoring:plan"), {"organization": org.id}).content.decode()
    assert str(org) in html
    assert "Nothing" not in html
    html = client.get(reverse("scoring:plan"), {"status": "done"}).content.decode()
    assert "No improvement items match" in html


def test_it_lists_a_players_own_organization_items_only(client, bob, played):
    exercise, teams = played
    factories.add_player(exercise, teams["bank"], bob)
    client.force_login(bob)
    html = client.get(reverse("scoring:plan")).content.decode()
    assert str(teams["bank"].organization) in html
    assert str(teams["cloud"].organization) not in html
    assert exercise.name in html


def test_it_renders_empty_states_before_anything_happened(client, alice):
    exercise = factories.make_exercise(facilitator=alice)
    client.force_login(alice)
    html = client.get(_url(exercise)).content.decode()
    assert "This exercise had no teams" in html
    assert "No gaps" in html
    assert "No improvement items" in html
    factories.make_team(exercise, "cloud")
    exercise.scenario.rubric = None
    exercise.scenario.save(update_fields=["rubric"])
    response = client.get(_url(exercise))
    assert response.status_code == 200
    assert "No scores to show" in response.content.decode()


def test_it_gives_the_coordinator_the_whole_timeline_like_the_control_cell(played):
    exercise, _ = played
    coordinator = build_report(ReportAccess(exercise, "coordinator"))
    facilitator = build_report(ReportAccess(exercise, "facilitator"))
    assert coordinator.timeline == facilitator.timeline
    assert len(coordinator.timeline) == exercise.events.count()
    assert any(e["kind"] == "share.created" for e in coordinator.timeline)  # a RED share
    observer = build_report(ReportAccess(exercise, "observer"))
    assert len(observer.timeline) < len(coordinator.timeline)
