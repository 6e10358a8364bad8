"""TLP and audience rules (pure)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from exercises.visibility import TeamInfo, Viewer, can_see_event, share_readers

CLOUD = TeamInfo(id=1, role_key="cloud")
HOSPITAL = TeamInfo(id=2, role_key="hospital", depends_on=frozenset({"cloud"}))
BANK = TeamInfo(id=3, role_key="bank", depends_on=frozenset({"cloud"}))
AIRPORT = TeamInfo(id=4, role_key="airport", depends_on=frozenset({"bank"}))
TEAMS = [CLOUD, HOSPITAL, BANK, AIRPORT]


def audience(tlp, sender, recipients):
    return share_readers(tlp=tlp, from_team_id=sender, recipient_ids=recipients, teams=TEAMS)


def test_it_limits_red_to_named_recipients_and_sender():
    assert audience("RED", 2, [3]) == {2, 3}


def test_it_limits_amber_strict_to_recipient_organizations():
    assert audience("AMBER+STRICT", 1, [2]) == {1, 2}


def test_it_extends_amber_to_teams_depending_on_a_recipient():
    assert audience("AMBER", 2, [3]) == {2, 3, 4}
    assert audience("AMBER", 4, [1]) == {1, 2, 3, 4}


def test_it_gives_green_and_clear_to_every_team():
    assert audience("GREEN", 1, []) == {1, 2, 3, 4}
    assert audience("CLEAR", 1, []) == {1, 2, 3, 4}


def test_it_ignores_recipients_that_are_not_teams_of_the_exercise():
    assert audience("RED", 1, [99]) == {1}


def test_it_rejects_an_unknown_marking():
    with pytest.raises(ValueError, match="Unknown TLP"):
        audience("PURPLE", 1, [])


@pytest.mark.parametrize(
    ("visibility", "team_ids", "viewer", "expected"),
    [
        ("control", [], Viewer("facilitator"), True),
        ("control", [], Viewer("evaluator"), True),
        ("control", [], Viewer("player", 1), False),
        ("control", [], Viewer("observer"), False),
        ("some", [1], Viewer("player", 1), True),
        ("some", [1], Viewer("player", 2), False),
        ("some", [1], Viewer("observer"), False),
        ("some", [1], Viewer("evaluator"), True),
        ("teams", [], Viewer("player", 2), True),
        ("teams", [], Viewer("observer"), False),
        ("teams", [], Viewer("coordinator"), False),
        ("all", [], Viewer("observer"), True),
        ("all", [], Viewer("player", 3), True),
    ],
)
def test_it_decides_who_sees_an_event(visibility, team_ids, viewer, expected):
    event = SimpleNamespace(visibility=visibility, team_ids=team_ids)
    assert can_see_event(event, viewer=viewer) is expected
