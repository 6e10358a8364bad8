"""TLP enforcement: every share marking × every kind of reader, on every surface.

The sender is the hospital, the named recipient the cloud. The bank depends on the cloud
(a dependent of the recipient); the airport is another team of the cloud's organization.
The expectation is the literal table below, not the code under test.
"""

from __future__ import annotations

import json
import zipfile
from io import BytesIO

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.limits import SHARE_EVERY_SECONDS
from exercises import clock, engine
from exercises.engine import EngineError
from exercises.engine.core import SYSTEM, locked
from exercises.engine.injects import release
from exercises.models import ShareRefusal
from exercises.visibility import TeamInfo, share_readers
from scenarios.models import Inject, Tlp
from scoring.access import report_access
from scoring.exports import csv as csv_export
from scoring.exports import json as json_export
from scoring.report import build_report
from tests import factories
from tests.security.test_authorization_matrix import frames_until_quiet, ws_open
from tests.security.world import TLPS, TOKENS, World, build_world, share_all
from tests.sockets import until_answered

ALL = frozenset(TLPS)
SEES = {
    "player_a": ALL,  # the named recipient
    "player_b": ALL,  # the sender
    "player_bank": frozenset({Tlp.AMBER, Tlp.GREEN, Tlp.CLEAR}),  # depends on the recipient
    "player_airport": frozenset({Tlp.GREEN, Tlp.CLEAR}),  # same organization, other team
    "observer": frozenset({Tlp.CLEAR}),
    "coordinator": frozenset({Tlp.CLEAR}),  # watches the live run like an observer
    "evaluator": ALL,
    "facilitator": ALL,
}
PLAYERS = ("player_a", "player_b", "player_bank", "player_airport")
LIVE_PAGE = {
    **dict.fromkeys(PLAYERS, "exercises:room"),
    "observer": "exercises:observe",
    "coordinator": "exercises:observe",
    "evaluator": "exercises:evaluate",
    "facilitator": "exercises:control",
}


def shown(text: str) -> frozenset[str]:
    """The markings whose share appears in ``text``."""
    return frozenset(tlp for tlp in TLPS if TOKENS[tlp] in text)


def client(world: World, persona: str) -> Client:
    c = Client()
    c.force_login(world.users[persona])
    return c


def test_it_computes_share_readerss_by_the_literal_tlp_table():
    cloud, hospital, bank, airport = 1, 2, 3, 4
    teams = [
        TeamInfo(cloud, "cloud"),
        TeamInfo(hospital, "hospital", frozenset({"cloud"})),
        TeamInfo(bank, "bank", frozenset({"cloud"})),
        TeamInfo(airport, "airport"),
    ]
    expected = {
        Tlp.RED: {cloud, hospital},
        Tlp.AMBER_STRICT: {cloud, hospital},
        Tlp.AMBER: {cloud, hospital, bank},
        Tlp.GREEN: {cloud, hospital, bank, airport},
        Tlp.CLEAR: {cloud, hospital, bank, airport},
    }
    for tlp, audience in expected.items():
        got = share_readers(tlp=tlp, from_team_id=hospital, recipient_ids=[cloud], teams=teams)
        assert got == audience, tlp
    # A recipient that is not a team of the exercise widens nothing.
    assert share_readers(tlp=Tlp.RED, from_team_id=hospital, recipient_ids=[99], teams=teams) == {
        hospital
    }


@pytest.mark.django_db
def test_it_shows_each_reader_only_their_shares_on_the_live_pages():
    world = build_world(with_report=False)
    code = world.exercise.code
    for persona, page in LIVE_PAGE.items():
        response = client(world, persona).get(reverse(page, kwargs={"code": code}))
        assert response.status_code == 200, persona
        assert shown(response.content.decode()) == SEES[persona], persona


@pytest.mark.django_db
def test_it_keeps_the_after_action_report_within_each_players_markings():
    world = build_world()
    code = world.exercise.code
    for persona in (*PLAYERS, "observer", "evaluator", "facilitator"):
        page = client(world, persona).get(reverse("scoring:report", kwargs={"code": code}))
        assert page.status_code == 200, persona
        assert shown(page.content.decode()) <= SEES[persona], persona
    facilitator_page = client(world, "facilitator").get(reverse("scoring:report", args=[code]))
    assert shown(facilitator_page.content.decode()) == ALL


@pytest.mark.django_db
def test_it_renders_exports_with_the_requesters_markings_only():
    """Exports render the requester's view of the report: the control cell gets every
    share, and a player's view (were it exported) no more than the player may read."""
    world = build_world()
    for persona in (*PLAYERS, "evaluator", "facilitator"):
        report = build_report(report_access(world.users[persona], world.exercise.code))
        document = json.dumps(json_export.document(report), default=str)
        with zipfile.ZipFile(BytesIO(csv_export.render(report))) as archive:
            tables = "".join(archive.read(name).decode() for name in archive.namelist())
        assert shown(document) <= SEES[persona], persona
        assert shown(tables) <= SEES[persona], persona
        if persona in ("evaluator", "facilitator"):
            assert shown(document) == ALL, persona


async def _frames_by_persona(world: World, *, last_seq: int, action=None) -> dict[str, str]:
    sockets = {}
    for persona in SEES:
        communicator, connected, _ = await ws_open(world, persona)
        assert connected, persona
        await communicator.send_json_to({"type": "hello", "last_seq": last_seq})
        sockets[persona] = communicator
    owed = {persona: (await until_answered(c))[:-1] for persona, c in sockets.items()}
    if action is not None:
        await database_sync_to_async(action)()
    received = {}
    for persona, communicator in sockets.items():
        received[persona] = await _read_past_last_share(communicator, owed[persona])
        await communicator.disconnect()
    return received


async def _read_past_last_share(communicator, frames: list[str]) -> str:
    """After ``frames`` (the replay), frames up to the CLEAR share (the last one made, and
    everyone may read it), then whatever else arrives before the socket goes quiet: no
    guessing at render speed."""
    while not any(TOKENS[Tlp.CLEAR] in frame for frame in frames):
        frames.append(await communicator.receive_from(timeout=10))
    return "\n".join(frames + await frames_until_quiet(communicator, first_timeout=0.3))


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_fans_out_each_share_only_to_its_readers():
    world = await database_sync_to_async(build_world)(with_report=False, with_shares=False)
    await database_sync_to_async(world.exercise.refresh_from_db)()
    before = world.exercise.last_seq
    received = await _frames_by_persona(world, last_seq=before, action=lambda: share_all(world))
    for persona, text in received.items():
        assert shown(text) == SEES[persona], persona


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_replays_after_reconnect_only_what_each_reader_may_see():
    world = await database_sync_to_async(build_world)(with_report=False)
    for last_seq in (0, 2):  # a fresh page and a reconnect with some events already shown
        received = await _frames_by_persona(world, last_seq=last_seq)
        for persona, text in received.items():
            assert shown(text) == SEES[persona], (persona, last_seq)


PRIVATE = ("Cloud rationale: pay quietly", "Evaluator note on the cloud")


@pytest.mark.django_db
def test_it_keeps_a_teams_decisions_and_ratings_from_other_teams_and_observers():
    """Beyond shares: the cloud's decision rationale and the evaluator's note on the cloud
    reach the control cell, never another team's or an observer's pages or report."""
    world = build_world()
    code = {"code": world.exercise.code}
    pages = {
        "player_b": ("exercises:room", "scoring:report"),
        "player_bank": ("exercises:room", "scoring:report"),
        "observer": ("exercises:observe", "scoring:report"),
    }
    for persona, names in pages.items():
        for name in names:
            html = client(world, persona).get(reverse(name, kwargs=code)).content.decode()
            for secret in PRIVATE:
                assert secret not in html, (persona, name, secret)
    report = client(world, "facilitator").get(reverse("scoring:report", kwargs=code))
    for secret in PRIVATE:
        assert secret in report.content.decode(), secret
    own = client(world, "player_a").get(reverse("scoring:report", kwargs=code))
    assert PRIVATE[0] in own.content.decode()  # a team reads its own rationale


@pytest.mark.django_db
def test_observers_see_clear_consequence_injects_and_no_restricted_one():
    """A consequence inject goes to its target teams only (a SOME event); the observers'
    picture lists it when it is TLP:CLEAR, and never one of another marking."""
    world = build_world(with_report=False, with_shares=False)
    exercise = world.exercise
    for tlp in TLPS:
        inject = Inject.objects.create(
            scenario=exercise.scenario,
            stage=exercise.scenario.start_stage,
            key=f"csq-{TOKENS[tlp]}",
            title=f"Consequence {TOKENS[tlp]}",
            body=f"Body {TOKENS[tlp]}",
            tlp=tlp,
            release="consequence",
        )
        with locked(exercise) as ex:
            release(
                ex,
                inject,
                release_key=f"csq:{tlp}",
                team_ids=[world.teams["bank"].id],
                cascade=True,
                actor=SYSTEM,
            )
    for persona in ("observer", "coordinator"):
        for page in ("exercises:observe", "exercises:observer_picture"):
            html = client(world, persona).get(reverse(page, kwargs={"code": exercise.code}))
            assert shown(html.content.decode()) == {Tlp.CLEAR}, (persona, page)


# A team's thread: the team and the control cell, nobody else, whatever the organization.
THREAD_READERS = frozenset({"player_a", "evaluator", "facilitator"})
THREAD_WORDS = ("threadzq", "simcellzq")


def _post_to_cloud_thread(world: World) -> None:
    for author, word in (("player_a", THREAD_WORDS[0]), ("facilitator", THREAD_WORDS[1])):
        engine.message_post(
            exercise=world.exercise,
            team=world.teams["cloud"],
            author=world.users[author],
            body=f"{word} @erin",
        )


@pytest.mark.django_db
def test_it_shows_a_teams_thread_to_that_team_and_the_control_cell_only():
    """Live pages and reports: the airport (same organization as the cloud) reads nothing
    of the cloud's thread, nor does any other team, the observer or the coordinator's page."""
    world = build_world(with_report=False, with_shares=False)
    _post_to_cloud_thread(world)
    code = {"code": world.exercise.code}
    for persona, page in LIVE_PAGE.items():
        html = client(world, persona).get(reverse(page, kwargs=code)).content.decode()
        expected = persona in THREAD_READERS
        assert [w in html for w in THREAD_WORDS] == [expected, expected], persona
    for persona in (*PLAYERS, "observer"):
        html = client(world, persona).get(reverse("scoring:report", kwargs=code)).content.decode()
        if persona not in THREAD_READERS:
            assert not any(w in html for w in THREAD_WORDS), (persona, "report")


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_pushes_and_replays_a_teams_thread_to_its_readers_only():
    world = await database_sync_to_async(build_world)(with_report=False, with_shares=False)
    await database_sync_to_async(_post_to_cloud_thread)(world)
    for persona in SEES:
        communicator, connected, _ = await ws_open(world, persona)
        assert connected, persona
        await communicator.send_json_to({"type": "hello", "last_seq": 0})
        text = "\n".join((await until_answered(communicator))[:-1])
        expected = persona in THREAD_READERS
        assert [w in text for w in THREAD_WORDS] == [expected, expected], persona
        await communicator.disconnect()


# Relays by the cloud (the named recipient; org A) of each marking: to the airport (org A
# too) and to the bank (depends on the cloud). True: relayed; False: refused.
RELAYS = {
    Tlp.RED: {"airport": False, "bank": False},
    Tlp.AMBER_STRICT: {"airport": True, "bank": False},
    Tlp.AMBER: {"airport": True, "bank": True},
    Tlp.GREEN: {"airport": True, "bank": True},
    Tlp.CLEAR: {"airport": True, "bank": True},
}
SEES_AFTER_RELAYS = {
    **SEES,
    "player_airport": frozenset({Tlp.AMBER_STRICT, Tlp.AMBER, Tlp.GREEN, Tlp.CLEAR}),
}


@pytest.mark.django_db
def test_it_relays_each_marking_only_where_it_may_go():
    world = build_world(with_report=False)
    # One relay per share-rate interval: this test is about markings, not the team's rate.
    manual = clock.ManualClock(timezone.now())
    for tlp, targets in RELAYS.items():
        for target, allowed in targets.items():
            manual.advance(SHARE_EVERY_SECONDS)
            try:
                with clock.use(manual):
                    engine.share_relay(
                        exercise=world.exercise,
                        share=world.shares[tlp],
                        team=world.teams["cloud"],
                        author=world.users["player_a"],
                        recipients=[world.teams[target]],
                        client_token=f"{tlp}-{target}",
                    )
                relayed = True
            except EngineError:
                relayed = False
            assert relayed == allowed, (tlp, target)
    refused = sum(not ok for targets in RELAYS.values() for ok in targets.values())
    assert ShareRefusal.objects.filter(exercise=world.exercise).count() == refused
    code = world.exercise.code
    for persona, page in LIVE_PAGE.items():
        html = client(world, persona).get(reverse(page, kwargs={"code": code})).content.decode()
        assert shown(html) == SEES_AFTER_RELAYS[persona], persona


# An RFI of the cloud to the hospital: the two teams and the control cell read it.
RFI_READERS = frozenset({"player_a", "player_b", "evaluator", "facilitator"})


def _ask_and_answer(world: World) -> None:
    rfi = engine.rfi_ask(
        exercise=world.exercise,
        team=world.teams["cloud"],
        author=world.users["player_a"],
        question="rfiquestionzq",
        tlp=Tlp.AMBER,
        to_team=world.teams["hospital"],
        client_token="tlp",
    )
    engine.rfi_answer(
        exercise=world.exercise, rfi=rfi, author=world.users["player_b"], answer="rfianswerzq"
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_shows_an_rfi_to_the_asker_the_addressee_and_control_only():
    world = await database_sync_to_async(build_world)(with_report=False, with_shares=False)
    await database_sync_to_async(_ask_and_answer)(world)
    code = {"code": world.exercise.code}

    def page(persona: str) -> str:
        return client(world, persona).get(reverse(LIVE_PAGE[persona], kwargs=code)).content.decode()

    for persona in LIVE_PAGE:
        html = await database_sync_to_async(page)(persona)
        expected = persona in RFI_READERS
        assert ["rfiquestionzq" in html, "rfianswerzq" in html] == [expected] * 2, persona
    for persona in SEES:
        communicator, connected, _ = await ws_open(world, persona)
        assert connected, persona
        await communicator.send_json_to({"type": "hello", "last_seq": 0})
        text = "\n".join((await until_answered(communicator))[:-1])
        expected = persona in RFI_READERS
        assert ["rfiquestionzq" in text, "rfianswerzq" in text] == [expected] * 2, persona
        await communicator.disconnect()


# A reply of the cloud (the named recipient) to the hospital's AMBER share: the two teams
# and the control cell read it; the bank, which reads the share as the cloud's dependent,
# does not read the reply.
REPLY_READERS = frozenset({"player_a", "player_b", "evaluator", "facilitator"})


def reply_to_amber(world: World) -> None:
    engine.share_reply(
        exercise=world.exercise,
        share=world.shares[Tlp.AMBER],
        team=world.teams["cloud"],
        author=world.users["player_a"],
        body="replybodyzq",
        client_token="tlp-reply",
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_shows_a_reply_to_the_two_teams_and_control_only():
    world = await database_sync_to_async(build_world)(with_report=False)
    await database_sync_to_async(reply_to_amber)(world)
    code = {"code": world.exercise.code}

    def page(persona: str, name: str) -> str:
        return client(world, persona).get(reverse(name, kwargs=code)).content.decode()

    for persona in LIVE_PAGE:
        html = await database_sync_to_async(page)(persona, LIVE_PAGE[persona])
        assert ("replybodyzq" in html) == (persona in REPLY_READERS), persona
        if persona in (*PLAYERS, "observer"):  # the coordinator owns the full report
            report = await database_sync_to_async(page)(persona, "scoring:report")
            assert ("replybodyzq" in report) == (persona in REPLY_READERS), (persona, "report")
    for persona in SEES:
        communicator, connected, _ = await ws_open(world, persona)
        assert connected, persona
        await communicator.send_json_to({"type": "hello", "last_seq": 0})
        text = "\n".join((await until_answered(communicator))[:-1])
        assert ("replybodyzq" in text) == (persona in REPLY_READERS), persona
        await communicator.disconnect()


def isac_warns(world: World, tlp: str) -> None:
    """The cloud reports AMBER to a Sector ISAC (a coordinating body, played by a new
    player), which warns every team at ``tlp``."""
    world.exercise.scenario.roles.create(
        key="isac", label="Sector ISAC", sector="finance", order=9, coordinating=True
    )
    isac = factories.make_team(world.exercise, "isac")
    ivan = factories.add_player(world.exercise, isac).user
    amber = engine.share_create(
        exercise=world.exercise,
        from_team=world.teams["cloud"],
        author=world.users["player_a"],
        tlp=Tlp.AMBER,
        title="isacreportzq",
        body="isacreportbodyzq",
        recipients=[isac],
        client_token="to-isac",
    )
    engine.share_summarize(
        exercise=world.exercise,
        team=isac,
        author=ivan,
        reports=[amber],
        tlp=tlp,
        title="isacwarningzq",
        body="isacwarningbodyzq",
        client_token="warn",
    )


@pytest.mark.django_db
def test_a_community_warning_reaches_every_team_and_the_report_it_sums_up_does_not():
    world = build_world(with_report=False, with_shares=False)
    isac_warns(world, Tlp.GREEN)
    code = {"code": world.exercise.code}
    for persona, name in LIVE_PAGE.items():
        html = client(world, persona).get(reverse(name, kwargs=code)).content.decode()
        sees_warning = persona not in ("observer", "coordinator")  # GREEN: teams, not observers
        sees_report = persona in ("player_a", "evaluator", "facilitator")
        assert ("isacwarningbodyzq" in html) == sees_warning, persona
        assert ("isacreportbodyzq" in html) == sees_report, persona
        assert ("isacreportzq" in html) == sees_report, persona  # no title in the summary
