"""Collaboration metrics of threads, relays, RFIs and TLP compliance: the pure function by
hand-computed figures, and the report page showing them within the reader's rights."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from scoring.method import CoordinatingIn, community_warning_delay
from scoring.sharing_metrics import (
    ReleaseFact,
    RfiFact,
    ShareFact,
    first_share_delays,
    sharing_metrics,
)
from tests.scoring.test_sharing_exports import relay_and_ask
from tests.security.world import build_world

CLOUD, HOSPITAL, BANK = 1, 2, 3
SHARES = [
    ShareFact(CLOUD, 130.0, relay=False),
    ShareFact(CLOUD, 400.0, relay=False),
    ShareFact(HOSPITAL, 500.0, relay=True),
]
RELEASES = [
    ReleaseFact(frozenset({CLOUD, HOSPITAL}), 100.0),
    ReleaseFact(frozenset({CLOUD}), 300.0),
]
RFIS = [
    RfiFact(CLOUD, None, 50.0, 110.0),  # to control, answered after 60 s
    RfiFact(HOSPITAL, CLOUD, 200.0, 320.0),  # to the cloud, answered after 120 s
    RfiFact(BANK, CLOUD, 250.0, None),  # still open
]


def test_it_times_each_inject_to_the_teams_next_share():
    assert first_share_delays(CLOUD, SHARES, RELEASES) == [30.0, 100.0]
    assert first_share_delays(HOSPITAL, SHARES, RELEASES) == []  # a relay is not a share
    assert first_share_delays(BANK, SHARES, RELEASES) == []  # nothing reached the bank


def test_it_computes_the_figures_by_hand():
    got = sharing_metrics(
        team_ids=[CLOUD, HOSPITAL, BANK],
        messages=[CLOUD, CLOUD, HOSPITAL],
        shares=SHARES,
        refusals=[HOSPITAL],
        rfis=RFIS,
        releases=RELEASES,
    )
    assert got["teams"][CLOUD] == {
        "messages": 2,
        "shares": 2,
        "relays": 0,
        "refused": 0,
        "compliance": 100,
        "rfis_asked": 1,
        "rfis_answered": 1,
        "rfis_received": 2,
        "seconds_to_answer": 120.0,
        "seconds_to_first_share": 65.0,
        "reports_received": 0,
        "community_warnings": 0,
        "seconds_to_community_warning": None,
    }
    assert got["teams"][HOSPITAL]["compliance"] == 50  # one relay allowed, one refused
    assert got["teams"][BANK]["compliance"] is None  # never tried
    assert (got["messages"], got["relays"], got["refused"], got["compliance"]) == (3, 1, 1, 75)
    assert (got["rfis_asked"], got["rfis_answered"]) == (3, 2)
    assert (got["seconds_to_answer"], got["control_seconds_to_answer"]) == (90.0, 60.0)
    assert got["seconds_to_first_share"] == 65.0


ISAC = 4
# Reports reach the ISAC at 200 s and 260 s; it warns everyone at 150 s (before any
# report: not a warning about them), then at 560 s and 700 s.
WARNINGS = [
    ShareFact(ISAC, 150.0, relay=False, summary=True),
    ShareFact(ISAC, 560.0, relay=False, summary=True),
    ShareFact(ISAC, 700.0, relay=False, summary=True),
]
BODY = CoordinatingIn(ISAC, report_clocks=(260.0, 200.0), warning_clocks=(150.0, 560.0, 700.0))


def test_it_times_the_first_report_to_the_community_warning():
    assert community_warning_delay(BODY) == 360.0
    assert community_warning_delay(CoordinatingIn(ISAC, (), (560.0,))) is None  # no report
    assert community_warning_delay(CoordinatingIn(ISAC, (200.0,), (150.0,))) is None  # before
    got = sharing_metrics(
        team_ids=[CLOUD, ISAC],
        messages=[],
        shares=[*SHARES, *WARNINGS],
        refusals=[],
        rfis=[],
        releases=[],
        coordinating=[BODY],
    )
    isac = got["teams"][ISAC]
    assert (isac["reports_received"], isac["community_warnings"]) == (2, 3)
    assert isac["seconds_to_community_warning"] == 360.0
    assert got["teams"][CLOUD]["seconds_to_community_warning"] is None  # not a coordinating body
    assert (got["community_warnings"], got["seconds_to_community_warning"]) == (3, 360.0)


@pytest.mark.django_db
def test_the_report_shows_the_figures_and_only_the_readers_team_row():
    world = build_world(with_report=False)
    relay_and_ask(world)
    client = Client()
    client.force_login(world.users["facilitator"])
    page = client.get(reverse("scoring:report", args=[world.exercise.code])).text
    assert "Discussion, relays and requests for information" in page
    assert "Relays: 1." in page
    assert "RFIs asked: 1, answered: 1" in page
    # Each RFI is a timeline item: who asked whom, and the answer with its delay.
    assert "asked the control cell: stixquestionzq" in page
    assert "the control cell answered" in page
    assert "min: stixanswerzq" in page
    client.force_login(world.users["player_b"])
    page = client.get(reverse("scoring:report", args=[world.exercise.code])).text
    table = page.split('aria-labelledby="sharing-heading"')[1].split("</table>")[0]
    assert str(world.teams["hospital"]).replace("'", "&#x27;") in table
    assert str(world.teams["cloud"]) not in table
