"""A coordinating body (an ISAC): members report to it whatever the dependency graph says,
it warns every team with a sanitized summary under a marking the reports allow; and
replies to shares, back to the sender's team only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from config.limits import SHARE_BURST, TEXT_MESSAGE
from exercises import engine, events, queries
from exercises.engine import EngineError
from exercises.models import Event, Share, ShareRefusal, ShareReply
from exercises.visibility import share_readers, summary_refusal
from scenarios.formats.fixtures import load_fixtures
from scenarios.models import Scenario, Tlp
from tests import factories
from tests.event_schemas import stored_event_errors

SUMMARY_TABLE = {
    # (summary marking, report markings): allowed
    (Tlp.GREEN, (Tlp.AMBER,)): True,
    (Tlp.GREEN, (Tlp.AMBER_STRICT, Tlp.GREEN)): True,
    (Tlp.GREEN, (Tlp.CLEAR,)): True,
    (Tlp.CLEAR, (Tlp.CLEAR,)): True,
    (Tlp.CLEAR, (Tlp.CLEAR, Tlp.GREEN)): False,
    (Tlp.CLEAR, (Tlp.AMBER,)): False,
    (Tlp.GREEN, (Tlp.RED,)): False,
    (Tlp.GREEN, (Tlp.AMBER, Tlp.RED)): False,
    (Tlp.AMBER, (Tlp.AMBER,)): False,
    (Tlp.RED, (Tlp.RED,)): False,
}


@pytest.mark.parametrize(("key", "allowed"), list(SUMMARY_TABLE.items()))
def test_a_summary_marking_follows_the_literal_table(key, allowed):
    tlp, reports = key
    assert (summary_refusal(tlp=tlp, original_tlps=reports) == "") is allowed


@pytest.fixture
def world(alice, bob, carol, org_a, org_b):
    """Running: the cloud (bob, org A), the hospital (carol, org B, depends on the cloud),
    the bank (dave, depends on the cloud), the airport (erin, org A) and the Sector ISAC
    (ivan), a coordinating body that depends on nobody and nobody on it."""
    scenario = factories.make_scenario()
    scenario.roles.create(key="airport", label="Airport", sector="transport", order=3)
    scenario.roles.create(
        key="isac", label="Sector ISAC", sector="finance", order=4, coordinating=True
    )
    exercise = factories.make_exercise(scenario, facilitator=alice)
    teams = {
        "cloud": factories.make_team(exercise, "cloud", org_a),
        "hospital": factories.make_team(exercise, "hospital", org_b),
        "bank": factories.make_team(exercise, "bank"),
        "airport": factories.make_team(exercise, "airport", org_a),
        "isac": factories.make_team(exercise, "isac"),
    }
    factories.add_player(exercise, teams["cloud"], bob)
    factories.add_player(exercise, teams["hospital"], carol)
    players = {"bob": bob, "carol": carol}
    for name, team in (("dave", "bank"), ("erin", "airport"), ("ivan", "isac")):
        players[name] = factories.add_player(exercise, teams[team], factories.make_user(name)).user
    engine.exercise_start(exercise=exercise, actor=alice)
    exercise.refresh_from_db()
    return {"exercise": exercise, **teams, **players}


def report(world, tlp, *, team="hospital", author="carol", to=("isac",), token="s"):
    return engine.share_create(
        exercise=world["exercise"],
        from_team=world[team],
        author=world[author],
        tlp=tlp,
        title=f"{tlp} ransomware note",
        body="Our EHR vendor's VPN appliance was the way in.",
        recipients=[world[t] for t in to],
        client_token=token,
    )


def summarize(world, reports, tlp=Tlp.GREEN, *, team="isac", author="ivan", token="w"):
    return engine.share_summarize(
        exercise=world["exercise"],
        team=world[team],
        author=world[author],
        reports=reports,
        tlp=tlp,
        title="Patch the VPN appliance now",
        body="A member was breached through an unpatched VPN appliance.",
        client_token=token,
    )


def readers(world, share):
    return share_readers(
        tlp=share.tlp,
        from_team_id=share.from_team_id,
        recipient_ids=[t.pk for t in share.recipients.all()],
        teams=queries.team_infos(world["exercise"]),
    )


# ---------------------------------------------------------------- reporting to it


@pytest.mark.django_db
def test_a_report_reaches_the_coordinating_body_under_its_marking(world):
    red = report(world, Tlp.RED, token="red")
    assert readers(world, red) == {world["hospital"].pk, world["isac"].pk}
    # The bank reads an AMBER share to the cloud as its dependent: it may relay it to the
    # ISAC (no dependency) but not to the airport (no dependency, not a coordinating body).
    amber = report(world, Tlp.AMBER, to=("cloud",), token="amber")
    engine.share_relay(
        exercise=world["exercise"],
        share=amber,
        team=world["bank"],
        author=world["dave"],
        recipients=[world["isac"]],
        client_token="r1",
    )
    with pytest.raises(EngineError, match="and to a coordinating body"):
        engine.share_relay(
            exercise=world["exercise"],
            share=amber,
            team=world["bank"],
            author=world["dave"],
            recipients=[world["airport"]],
            client_token="r2",
        )
    assert world["isac"].pk in Event.objects.get(kind=events.SHARE_RELAYED).team_ids


# ---------------------------------------------------------------- community warning


@pytest.mark.django_db
def test_the_coordinating_body_warns_every_team_without_naming_the_reporter(world):
    amber = report(world, Tlp.AMBER)
    assert world["airport"].pk not in readers(world, amber)
    warning = summarize(world, [amber])
    others = {world[t].pk for t in ("cloud", "hospital", "bank", "airport")}
    assert {t.pk for t in warning.recipients.all()} == others
    assert list(warning.summarizes.all()) == [amber]
    assert (warning.from_team, warning.tlp, warning.relayed_from) == (world["isac"], "GREEN", None)
    event = Event.objects.get(kind=events.SHARE_SUMMARIZED)
    assert (event.visibility, event.team_ids) == (Event.Visibility.TEAMS, [])
    assert event.payload["report_count"] == 1
    said = str({k: v for k, v in event.payload.items() if k != "recipient_labels"})
    assert all(word not in said for word in ("Hospital", "ransomware note", "EHR"))
    assert world["airport"].pk in readers(world, warning)
    assert summarize(world, [amber]).pk == warning.pk  # the same token: the same summary
    assert stored_event_errors() == []


@pytest.mark.django_db
def test_a_summary_the_reports_forbid_is_refused_and_counted(world):
    red = report(world, Tlp.RED, token="red")
    amber = report(world, Tlp.AMBER, team="cloud", author="bob", token="amber")
    with pytest.raises(EngineError, match="TLP:RED reports are for their named recipients"):
        summarize(world, [amber, red])
    with pytest.raises(EngineError, match="TLP:CLEAR would make the summary public"):
        summarize(world, [amber], Tlp.CLEAR, token="w2")
    refusals = list(ShareRefusal.objects.order_by("id"))
    assert [(r.share, r.team, r.tlp) for r in refusals] == [
        (red, world["isac"], "RED"),
        (amber, world["isac"], "AMBER"),
    ]
    assert len(refusals[0].target_ids) == 4
    assert Event.objects.filter(kind=events.SHARE_REFUSED).count() == 2
    # A marking that cannot reach every team is a wrong choice, not an over-share.
    with pytest.raises(EngineError, match="mark it TLP:GREEN or TLP:CLEAR"):
        summarize(world, [amber], Tlp.AMBER, token="w3")
    assert ShareRefusal.objects.count() == 2
    assert not Share.objects.filter(from_team=world["isac"]).exists()


@pytest.mark.django_db
def test_only_a_coordinating_body_summarizes_reports_addressed_to_it(world):
    to_isac = report(world, Tlp.GREEN, token="g")
    to_cloud = report(world, Tlp.AMBER, to=("cloud",), token="a")
    with pytest.raises(EngineError, match="Only a coordinating body"):
        summarize(world, [to_isac], team="cloud", author="bob")
    with pytest.raises(EngineError, match="reports addressed to your team"):
        summarize(world, [to_cloud])
    with pytest.raises(EngineError, match="Choose the reports"):
        summarize(world, [])
    with pytest.raises(EngineError, match="Only the team's players"):
        summarize(world, [to_isac], author="dave")


# ---------------------------------------------------------------- replies


def reply(world, share, *, team="cloud", author="bob", body="Thanks, we block it.", token="y"):
    return engine.share_reply(
        exercise=world["exercise"],
        share=share,
        team=world[team],
        author=world[author],
        body=body,
        client_token=token,
    )


@pytest.mark.django_db
def test_a_reply_goes_back_to_the_sender_only(world):
    amber = report(world, Tlp.AMBER, to=("cloud",))
    assert world["bank"].pk in readers(world, amber)  # a dependent of the cloud reads it
    answer = reply(world, amber)
    assert (answer.share, answer.team, answer.tlp) == (amber, world["cloud"], "AMBER")
    event = Event.objects.get(kind=events.SHARE_REPLIED)
    assert event.visibility == Event.Visibility.SOME
    assert event.team_ids == sorted([world["cloud"].pk, world["hospital"].pk])
    assert answer.event_seq == event.seq
    assert reply(world, amber).pk == answer.pk  # the same token
    reply(world, amber, team="bank", author="dave", token="b")  # any reader may reply
    assert stored_event_errors() == []


@pytest.mark.django_db
def test_a_reply_is_refused_to_the_sender_and_to_non_readers_and_limited(world):
    amber = report(world, Tlp.AMBER, to=("cloud",))
    with pytest.raises(EngineError, match="your team's own share"):
        reply(world, amber, team="hospital", author="carol")
    with pytest.raises(EngineError, match="cannot read that share"):
        reply(world, amber, team="airport", author="erin")
    with pytest.raises(EngineError, match="Write the reply"):
        reply(world, amber, body="  ")
    too_long = rf"The reply is longer than {TEXT_MESSAGE} characters"
    with pytest.raises(EngineError, match=too_long):
        reply(world, amber, body="x" * (TEXT_MESSAGE + 1))
    for n in range(SHARE_BURST):
        reply(world, amber, token=f"t{n}")
    with pytest.raises(EngineError, match="sending shares too fast"):
        reply(world, amber, token="over")
    assert ShareReply.objects.count() == SHARE_BURST


# ---------------------------------------------------------------- pages and POSTs


def url(name, world):
    return reverse(f"exercises:{name}", args=[world["exercise"].code])


@pytest.mark.django_db
def test_the_isac_room_offers_the_warning_form_with_the_reports_addressed_to_it(client, world):
    amber = report(world, Tlp.AMBER)
    report(world, Tlp.GREEN, to=("cloud",), token="other")  # not addressed to the ISAC
    client.force_login(world["ivan"])
    assert "Warn the community" in client.get(url("room", world)).text
    form = client.get(url("summary_form", world)).text
    assert f'value="{amber.pk}"' in form
    assert "GREEN ransomware note" not in form
    posted = {
        "reports": [str(amber.pk)],
        "tlp": "CLEAR",
        "title": "Patch now",
        "body": "Sanitized.",
        "client_token": "p1",
    }
    refused = client.post(url("summarize", world), posted, HTTP_HX_REQUEST="true").text
    assert "TLP:CLEAR would make the summary public" in refused
    assert 'value="Patch now"' in refused  # what was typed is kept
    sent = client.post(url("summarize", world), posted | {"tlp": "GREEN"}, HTTP_HX_REQUEST="true")
    assert "Warned every team" in sent.text
    client.force_login(world["erin"])  # the airport: not a coordinating body
    assert "Warn the community" not in client.get(url("room", world)).text
    assert client.get(url("summary_form", world)).status_code == 403
    assert client.post(url("summarize", world), posted).status_code == 403
    room = client.get(url("room", world)).text
    assert "Community warning" in room
    assert "Sanitized." in room
    assert "AMBER ransomware note" not in room


@pytest.mark.django_db
def test_a_reply_posted_from_the_room_is_threaded_under_the_share(client, world):
    amber = report(world, Tlp.AMBER, to=("cloud",))
    client.force_login(world["bob"])
    room = client.get(url("room", world)).text
    assert f'id="reply-form-{amber.pk}"' in room
    response = client.post(
        url("share_reply", world),
        {"share": amber.pk, "body": "Blocked it."},
        HTTP_HX_REQUEST="true",
    )
    assert 'name="body"' in response.text
    assert ShareReply.objects.get().body == "Blocked it."
    client.force_login(world["carol"])  # the sender reads it under its share, without a form
    room = client.get(url("room", world)).text
    assert "Blocked it." in room
    assert f'id="reply-form-{amber.pk}"' not in room
    client.force_login(world["dave"])  # the bank reads the share, not the cloud's reply
    assert "Blocked it." not in client.get(url("room", world)).text
    refused = client.post(
        url("share_reply", world), {"share": amber.pk, "body": ""}, HTTP_HX_REQUEST="true"
    )
    assert "Write the reply" in refused.text
    client.force_login(world["erin"])  # the airport cannot read it: no such share
    assert (
        client.post(url("share_reply", world), {"share": amber.pk, "body": "x"}).status_code == 404
    )


# ---------------------------------------------------------------- in a shipped scenario


@pytest.mark.django_db
def test_the_airport_scenarios_aviation_isac_hears_a_member_and_warns_the_sector(alice):
    """fixtures/scenarios/airport-supply-chain.yaml seats an Aviation ISAC: the network
    provider reports the beacons to it (no dependency links them) and its GREEN warning
    reaches the airline, which never read the report."""
    list(load_fixtures())
    scenario = Scenario.objects.get(key="airport-supply-chain")
    isac_role = scenario.roles.get(key="isac")
    assert isac_role.coordinating
    assert not isac_role.depends_on.exists()
    assert not isac_role.dependents.exists()
    exercise = factories.make_exercise(scenario, facilitator=alice)
    teams = {r.key: factories.make_team(exercise, r.key) for r in scenario.roles.all()}
    players = {k: factories.add_player(exercise, t).user for k, t in teams.items()}
    engine.exercise_start(exercise=exercise, actor=alice)
    exercise.refresh_from_db()
    beacons = engine.share_create(
        exercise=exercise,
        from_team=teams["telecom"],
        author=players["telecom"],
        tlp=Tlp.AMBER,
        title="Kiosks beacon to cdn-telemetry-sync[.]net",
        body="Release 7.4.2 kiosks resolve it every 60 s.",
        recipients=[teams["isac"]],
        client_token="beacons",
    )
    warning = engine.share_summarize(
        exercise=exercise,
        team=teams["isac"],
        author=players["isac"],
        reports=[beacons],
        tlp=Tlp.GREEN,
        title="Ground-handler release 7.4.2 beacons out",
        body="Block cdn-telemetry-sync[.]net; check kiosks running 7.4.2.",
        client_token="warn",
    )
    world = {"exercise": exercise}
    assert teams["airline"].pk not in readers(world, beacons)
    others = {t.pk for k, t in teams.items() if k != "isac"}
    assert {t.pk for t in warning.recipients.all()} == others
    assert others <= readers(world, warning)
