"""Relaying shares under their TLP marking: the pure rule (a literal table), the engine
(chain, refusals counted), the room's relay form and the share's when/by whom/to whom."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from exercises import engine, events
from exercises.engine import EngineError
from exercises.models import Event, Share, ShareRefusal
from exercises.visibility import TeamInfo, knows_recipients, may_relay
from scenarios.models import Tlp
from tests import factories
from tests.event_schemas import stored_event_errors

# The relaying team is the cloud (org 1); a sibling team of org 1; the bank (org 2) depends
# on the cloud; the airport (org 3) neither; the ISAC (org 4) is a coordinating body,
# outside the dependency graph.
CLOUD = TeamInfo(1, "cloud", organization_id=1)
SIBLING = TeamInfo(2, "water", organization_id=1)
BANK = TeamInfo(3, "bank", frozenset({"cloud"}), organization_id=2)
AIRPORT = TeamInfo(4, "airport", organization_id=3)
ISAC = TeamInfo(5, "isac", organization_id=4, coordinating=True)
RELAY_TABLE = {
    #                 sibling (same org), dependent, unrelated, coordinating body
    Tlp.RED: (False, False, False, False),
    Tlp.AMBER_STRICT: (True, False, False, False),
    Tlp.AMBER: (True, True, False, True),
    Tlp.GREEN: (True, True, True, True),
    Tlp.CLEAR: (True, True, True, True),
}


@pytest.mark.parametrize("tlp", list(RELAY_TABLE))
def test_it_relays_by_the_literal_tlp_table(tlp):
    got = tuple(
        may_relay(tlp=tlp, relayer=CLOUD, target=target)
        for target in (SIBLING, BANK, AIRPORT, ISAC)
    )
    assert got == RELAY_TABLE[tlp]
    assert not may_relay(tlp=tlp, relayer=CLOUD, target=CLOUD)  # not to itself


def test_it_never_treats_teams_without_an_organization_as_one_organization():
    lone = TeamInfo(5, "lone")
    assert not may_relay(tlp=Tlp.AMBER_STRICT, relayer=lone, target=TeamInfo(6, "other"))


def test_it_tells_the_recipients_only_to_those_the_marking_lets_know():
    def knows(tlp, reader):
        return knows_recipients(tlp=tlp, reader_team_id=reader, from_team_id=1, recipient_ids=[2])

    assert [knows(Tlp.AMBER, r) for r in (None, 1, 2, 3)] == [True, True, True, False]
    assert knows(Tlp.GREEN, 3)
    assert knows(Tlp.CLEAR, 3)


# ---------------------------------------------------------------- engine


@pytest.fixture
def world(alice, bob, carol, org_a, org_b):
    """Running: the hospital (carol) shares with the cloud (bob, org A); the bank depends
    on the cloud; the airport is org A's other team; the hospital depends on the cloud too."""
    scenario = factories.make_scenario()
    scenario.roles.create(key="airport", label="Airport", sector="transport", order=3)
    exercise = factories.make_exercise(scenario, facilitator=alice)
    teams = {
        "cloud": factories.make_team(exercise, "cloud", org_a),
        "hospital": factories.make_team(exercise, "hospital", org_b),
        "bank": factories.make_team(exercise, "bank"),
        "airport": factories.make_team(exercise, "airport", org_a),
    }
    factories.add_player(exercise, teams["cloud"], bob)
    factories.add_player(exercise, teams["hospital"], carol)
    dave = factories.add_player(exercise, teams["bank"], factories.make_user("dave")).user
    erin = factories.add_player(exercise, teams["airport"], factories.make_user("erin")).user
    engine.exercise_start(exercise=exercise, actor=alice)
    exercise.refresh_from_db()
    return {"exercise": exercise, **teams, "dave": dave, "erin": erin}


def share(world, carol, tlp, token="s"):
    return engine.share_create(
        exercise=world["exercise"],
        from_team=world["hospital"],
        author=carol,
        tlp=tlp,
        title=f"{tlp} indicators",
        body="Hash abc",
        recipients=[world["cloud"]],
        client_token=token,
    )


def relay(world, original, team, author, targets, token="r"):
    return engine.share_relay(
        exercise=world["exercise"],
        share=original,
        team=world[team],
        author=author,
        recipients=[world[t] for t in targets],
        client_token=token,
    )


@pytest.mark.django_db
def test_an_amber_relay_reaches_the_dependent_and_keeps_the_chain(world, bob, carol):
    original = share(world, carol, Tlp.AMBER)
    first = relay(world, original, "cloud", bob, ["bank"])
    assert (first.relayed_from, first.tlp, first.from_team) == (original, "AMBER", world["cloud"])
    assert list(first.recipients.all()) == [world["bank"]]
    event = Event.objects.get(kind=events.SHARE_RELAYED)
    assert world["bank"].id in event.team_ids
    assert world["airport"].id not in event.team_ids
    assert relay(world, original, "cloud", bob, ["bank"]).pk == first.pk  # same token
    green = relay(world, share(world, carol, Tlp.GREEN, "g"), "cloud", bob, ["bank"], "r2")
    second = relay(world, green, "bank", world["dave"], ["airport"], "r3")
    assert [hop.from_team for hop in second.chain()] == [
        world["hospital"],
        world["cloud"],
        world["bank"],
    ]
    assert stored_event_errors() == []


@pytest.mark.django_db
def test_a_red_relay_is_refused_with_why_and_counted(world, bob, carol):
    original = share(world, carol, Tlp.RED)
    with pytest.raises(EngineError, match="TLP:RED is for its named recipients only"):
        relay(world, original, "cloud", bob, ["bank"])
    assert Share.objects.filter(relayed_from=original).count() == 0
    refusal = ShareRefusal.objects.get()
    assert (refusal.team, refusal.tlp, refusal.target_ids) == (
        world["cloud"],
        "RED",
        [world["bank"].id],
    )
    event = Event.objects.get(kind=events.SHARE_REFUSED)
    assert event.visibility == Event.Visibility.CONTROL
    assert stored_event_errors() == []


@pytest.mark.django_db
def test_amber_strict_stays_inside_the_relaying_organization(world, bob, carol):
    original = share(world, carol, Tlp.AMBER_STRICT)
    refused = re.escape(f"inside your own organization. Not relayed to: {world['bank']}.")
    with pytest.raises(EngineError, match=refused):
        relay(world, original, "cloud", bob, ["airport", "bank"])
    assert (
        relay(world, original, "cloud", bob, ["airport"], "r2").recipients.get() == world["airport"]
    )
    assert ShareRefusal.objects.count() == 1


@pytest.mark.django_db
def test_only_a_reader_relays_and_only_to_someone(world, bob, carol):
    original = share(world, carol, Tlp.RED)
    with pytest.raises(EngineError, match="cannot read that share"):
        relay(world, original, "bank", world["dave"], ["airport"])
    with pytest.raises(EngineError, match="at least one team"):
        relay(world, share(world, carol, Tlp.GREEN, "g"), "cloud", bob, [])
    assert not ShareRefusal.objects.exists()


# ---------------------------------------------------------------- pages


def url(name, world):
    return reverse(f"exercises:{name}", args=[world["exercise"].code])


@pytest.mark.django_db
def test_the_room_shows_when_by_whom_and_to_whom(client, world, bob, carol):
    share(world, carol, Tlp.AMBER)
    client.force_login(bob)  # a named recipient
    text = client.get(url("room", world)).text
    assert "(carol)" in text  # by whom
    assert 'title="Exercise clock">0:00<' in text  # when
    assert f"to {world['cloud'].organization}" in text
    client.force_login(world["dave"])  # reads it as a dependent of the cloud: not to whom
    text = client.get(url("room", world)).text
    assert "AMBER indicators" in text
    assert f"to {world['cloud'].organization}" not in text


@pytest.mark.django_db
def test_the_relay_form_explains_the_rule_and_a_refusal(client, world, bob, carol):
    original = share(world, carol, Tlp.RED)
    client.force_login(bob)
    form = client.get(url("relay_form", world), {"share": original.pk})
    assert "cannot be relayed" in form.text
    assert "not allowed by the marking" in form.text
    data = {"share": original.pk, "recipients": [world["bank"].code], "client_token": "x"}
    refused = client.post(url("relay", world), data, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200
    assert "Not relayed to: " in refused.text
    assert ShareRefusal.objects.count() == 1


@pytest.mark.django_db
def test_a_relay_from_the_room_goes_out(client, world, bob, carol):
    original = share(world, carol, Tlp.AMBER)
    client.force_login(bob)
    data = {"share": original.pk, "recipients": [world["bank"].code], "client_token": "x"}
    done = client.post(url("relay", world), data, HTTP_HX_REQUEST="true")
    assert "Relayed “AMBER indicators”" in done.text
    client.force_login(world["dave"])
    assert "Chain: " in client.get(url("room", world)).text


@pytest.mark.django_db
def test_a_share_the_team_cannot_read_is_not_found(client, world, carol):
    original = share(world, carol, Tlp.RED)
    client.force_login(world["erin"])  # the airport reads no RED share to the cloud
    assert client.get(url("relay_form", world), {"share": original.pk}).status_code == 404
    data = {"share": original.pk, "recipients": [world["bank"].code]}
    assert client.post(url("relay", world), data).status_code == 404
    assert client.get(url("relay_form", world), {"share": "1e9"}).status_code == 404
