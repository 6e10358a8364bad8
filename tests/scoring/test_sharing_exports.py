"""STIX 2.1 and MISP exports of what was shared: valid STIX (stix2-validator), the official
TLP 2.0 markings, and each reader's export within their marking rights."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from stix2validator import ValidationOptions, validate_string

from demo.exercises import seed_demo_played_exercise
from demo.people import seed_demo_people
from exercises import engine
from scenarios.formats.fixtures import load_fixtures
from scenarios.models import Tlp
from scoring.access import ReportAccess, report_access
from scoring.exports import misp, stix
from tests.security.test_tlp import (
    ALL,
    PLAYERS,
    REPLY_READERS,
    SEES,
    isac_warns,
    reply_to_amber,
    shown,
)
from tests.security.world import TOKENS, build_world

# The OASIS ids of the TLP 2.0 marking definitions (cti-stix-common-objects), written out
# here rather than read from the code under test.
OFFICIAL = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "TLP:CLEAR",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "TLP:GREEN",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "TLP:AMBER",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "TLP:AMBER+STRICT",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "TLP:RED",
}


def validation(bundle: bytes):
    return validate_string(bundle.decode(), ValidationOptions(version="2.1", strict=True))


def markings(bundle: bytes) -> dict[str, str]:
    objects = json.loads(bundle)["objects"]
    return {o["id"]: o["name"] for o in objects if o["type"] == "marking-definition"}


# transaction=True: the played demo exercise is seeded outside a transaction.
@pytest.mark.django_db(transaction=True)
def test_the_demos_played_exercise_exports_a_valid_bundle():
    list(load_fixtures())
    exercise = seed_demo_played_exercise(seed_demo_people())
    bundle = stix.render(ReportAccess(exercise, "staff"))
    result = validation(bundle)
    assert result.is_valid, [str(e) for e in result.errors]
    assert not result.errors
    used = markings(bundle)
    assert used, "the demo shares intelligence"
    assert all(OFFICIAL[mid] == name for mid, name in used.items())
    assert exercise.shares.count() == sum(
        o["type"] == "report" for o in json.loads(bundle)["objects"]
    )


def relay_and_ask(world) -> None:
    """A relay (AMBER, to the bank) and an answered RFI on top of the world's shares."""
    engine.share_relay(
        exercise=world.exercise,
        share=world.shares[Tlp.AMBER],
        team=world.teams["cloud"],
        author=world.users["player_a"],
        recipients=[world.teams["bank"]],
        client_token="relay",
    )
    rfi = engine.rfi_ask(
        exercise=world.exercise,
        team=world.teams["cloud"],
        author=world.users["player_a"],
        question="stixquestionzq",
        tlp=Tlp.AMBER_STRICT,
        to_team=None,
        client_token="rfi",
    )
    engine.rfi_answer(
        exercise=world.exercise, rfi=rfi, author=world.users["facilitator"], answer="stixanswerzq"
    )


@pytest.mark.django_db
def test_shares_relays_and_rfis_export_as_valid_stix_with_the_five_markings():
    world = build_world(with_report=False)
    relay_and_ask(world)
    bundle = stix.render(ReportAccess(world.exercise, "staff"))
    result = validation(bundle)
    assert result.is_valid, [str(e) for e in result.errors]
    assert markings(bundle) == OFFICIAL
    objects = json.loads(bundle)["objects"]
    kinds = [o["type"] for o in objects]
    assert kinds.count("report") == 6  # five shares and the relay
    assert kinds.count("note") == 2  # the question and its answer
    (relationship,) = [o for o in objects if o["type"] == "relationship"]
    assert relationship["relationship_type"] == "derived-from"
    assert stix.render(ReportAccess(world.exercise, "staff")) == bundle  # stable ids


@pytest.mark.django_db
def test_each_reader_exports_only_what_their_markings_allow():
    world = build_world(with_report=False)
    relay_and_ask(world)
    for persona in (*PLAYERS, "observer", "evaluator", "facilitator"):
        acc = report_access(world.users[persona], world.exercise.code)
        for fmt, render in (("stix", stix.render), ("misp", misp.render)):
            text = render(acc).decode()
            assert shown(text) <= SEES[persona], (persona, fmt)
            sees_rfi = persona in ("player_a", "evaluator", "facilitator")
            assert ("stixquestionzq" in text) == sees_rfi, (persona, fmt)
        if persona in ("evaluator", "facilitator"):
            assert shown(text) == ALL
    # The bank reads the AMBER share as a dependent of the cloud: not whom it was for.
    bank = misp.render(report_access(world.users["player_bank"], world.exercise.code)).decode()
    assert str(world.teams["cloud"]) not in bank.split("honeyzq")[1].split("}")[0]


@pytest.mark.django_db
def test_misp_attributes_carry_tlp_tags():
    world = build_world(with_report=False)
    document = json.loads(misp.render(ReportAccess(world.exercise, "staff")))
    tags = {a["Tag"][0]["name"] for a in document["Event"]["Attribute"]}
    assert tags == {"tlp:red", "tlp:amber+strict", "tlp:amber", "tlp:green", "tlp:clear"}


@pytest.mark.django_db
def test_the_report_page_and_the_command_offer_both_formats(tmp_path):
    world = build_world(with_report=False)
    client = Client()
    client.force_login(world.users["player_airport"])
    page = client.get(reverse("scoring:report", args=[world.exercise.code])).text
    url = reverse("scoring:sharing-export", args=[world.exercise.code, "stix"])
    assert url in page
    response = client.get(url)
    assert response["Content-Disposition"].endswith('-stix.json"')
    assert shown(response.content.decode()) == SEES["player_airport"]
    bad = reverse("scoring:sharing-export", args=[world.exercise.code, "xml"])
    assert client.get(bad).status_code == 404
    out = tmp_path / "bundle.json"
    call_command("export_report", world.exercise.code, "--format", "stix", "-o", str(out))
    assert validation(out.read_bytes()).is_valid
    call_command("export_report", world.exercise.code, "--format", "misp", "-o", str(out))
    assert json.loads(out.read_bytes())["Event"]["Attribute"]


@pytest.mark.django_db
def test_a_community_warning_exports_to_every_team_without_the_report_it_sums_up():
    world = build_world(with_report=False, with_shares=False)
    isac_warns(world, Tlp.GREEN)
    staff = stix.render(ReportAccess(world.exercise, "staff"))
    result = validation(staff)
    assert result.is_valid, [str(e) for e in result.errors]
    reports = [o for o in json.loads(staff)["objects"] if o["type"] == "report"]
    assert {tuple(r["labels"]) for r in reports} == {("share",), ("community-warning",)}
    for persona in ("player_b", "player_airport"):  # neither read the AMBER report
        acc = report_access(world.users[persona], world.exercise.code)
        for render in (stix.render, misp.render):
            text = render(acc).decode()
            assert "isacwarningbodyzq" in text, persona
            assert "isacreportbodyzq" not in text, persona
    airport = misp.render(report_access(world.users["player_airport"], world.exercise.code))
    assert "Community warning (a sanitized summary) from" in airport.decode()


@pytest.mark.django_db
def test_a_reply_exports_as_a_note_about_the_share_it_answers():
    world = build_world(with_report=False)
    reply_to_amber(world)  # the cloud (org A) replies to the hospital's AMBER share
    bundle = stix.render(ReportAccess(world.exercise, "staff"))
    result = validation(bundle)
    assert result.is_valid, [str(e) for e in result.errors]
    objects = {o["id"]: o for o in json.loads(bundle)["objects"]}
    (note,) = [o for o in objects.values() if o.get("content") == "replybodyzq"]
    assert note["type"] == "note"
    (share,) = note["object_refs"]
    assert TOKENS[Tlp.AMBER] in objects[share]["description"]
    assert objects[note["created_by_ref"]]["name"] == world.orgs["a"].name
    assert [OFFICIAL[m] for m in note["object_marking_refs"]] == ["TLP:AMBER"]
    attributes = json.loads(misp.render(ReportAccess(world.exercise, "staff")))["Event"]
    (reply,) = [a for a in attributes["Attribute"] if a["value"] == "replybodyzq"]
    assert reply["Tag"] == [{"name": "tlp:amber"}]
    assert reply["comment"].startswith(f"Reply of {world.teams['cloud']} to the share")


@pytest.mark.django_db
def test_a_reply_exports_only_to_the_two_teams_and_full_readers():
    world = build_world(with_report=False)
    reply_to_amber(world)
    # The bank reads the AMBER share (a dependent of the cloud) yet is a third team here.
    for persona in (*PLAYERS, "observer", "evaluator", "coordinator", "facilitator"):
        acc = report_access(world.users[persona], world.exercise.code)
        reads = persona in REPLY_READERS or acc.full
        for fmt, render in (("stix", stix.render), ("misp", misp.render)):
            assert ("replybodyzq" in render(acc).decode()) == reads, (persona, fmt)
    assert not report_access(world.users["player_bank"], world.exercise.code).full
