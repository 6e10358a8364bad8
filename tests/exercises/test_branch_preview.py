"""The console's branch preview: the transition the current decisions would take, why,
and what undecided teams could change; it is the branch the engine then takes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.urls import reverse

from exercises import engine
from exercises.engine.rules import what_ifs
from exercises.visibility import TeamInfo
from tests import factories

TEAMS = [TeamInfo(id=1, role_key="cloud"), TeamInfo(id=2, role_key="hospital")]


def edge(target, condition=None, order=0):
    return SimpleNamespace(
        to_stage=target,
        is_default=condition is None,
        condition=condition or {},
        order=order,
        pk=order + 1,
    )


ISOLATE_ANY = {"mode": "any", "prompt": "p", "options": ["isolate"], "roles": []}
OPTIONS = {"p": ["isolate", "pay"]}


def test_what_ifs_lists_each_undecided_choice_that_changes_the_branch():
    default, contained = edge("spread"), edge("contained", ISOLATE_ANY)
    changes = what_ifs([default, contained], {}, TEAMS, options=OPTIONS)
    assert [(c.team_id, c.option_key, c.transition.to_stage) for c in changes] == [
        (1, "isolate", "contained"),
        (2, "isolate", "contained"),
    ]


def test_what_ifs_skips_decided_teams_and_teams_not_asked():
    default, contained = edge("spread"), edge("contained", ISOLATE_ANY)
    decided = {1: {"p": "pay"}}
    changes = what_ifs([default, contained], decided, TEAMS, options=OPTIONS)
    assert [(c.team_id, c.option_key) for c in changes] == [(2, "isolate")]
    not_asked = what_ifs(
        [default, contained], decided, TEAMS, options=OPTIONS, put_to={"p": frozenset({1})}
    )
    assert not_asked == []


def test_what_ifs_is_empty_once_nothing_left_can_change_it():
    default, contained = edge("spread"), edge("contained", ISOLATE_ANY)
    assert what_ifs([default, contained], {1: {"p": "isolate"}}, TEAMS, options=OPTIONS) == []


@pytest.fixture
def running(alice, bob, carol, org_a, org_b):
    exercise = factories.make_exercise(facilitator=alice)
    cloud = factories.make_team(exercise, "cloud", org_a)
    hospital = factories.make_team(exercise, "hospital", org_b)
    factories.add_player(exercise, cloud, bob)
    factories.add_player(exercise, hospital, carol)
    engine.exercise_start(exercise=exercise, actor=alice)
    return exercise, cloud, hospital


def decide(exercise, team, author, option):
    prompt = exercise.scenario.prompts.get(key="first-move")
    engine.decision_submit(
        exercise=exercise,
        team=team,
        prompt=prompt,
        author=author,
        client_token=f"{team.pk}-{option}",
        option=prompt.options.get(key=option),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("choices", "expected"),
    [((), "spread"), (("pay",), "spread"), (("pay", "isolate"), "contained")],
)
def test_the_preview_is_the_branch_the_engine_then_takes(
    running, alice, bob, carol, choices, expected
):
    exercise, cloud, hospital = running
    for (team, author), option in zip([(cloud, bob), (hospital, carol)], choices, strict=False):
        decide(exercise, team, author, option)
    preview = engine.branch_preview(exercise=exercise)
    taken = engine.exercise_advance(exercise=exercise, actor=alice)
    assert preview.stage == taken
    assert taken.key == expected


@pytest.mark.django_db
def test_the_preview_says_why_and_what_undecided_teams_could_change(running, bob, carol):
    exercise, cloud, hospital = running
    decide(exercise, cloud, bob, "pay")
    preview = engine.branch_preview(exercise=exercise)
    assert preview.stage.key == "spread"
    assert preview.reason == "No branch condition holds yet: the default branch."
    assert [(a.team, a.option, a.stage.key) for a in preview.alternatives] == [
        (str(hospital.organization), "Isolate affected systems", "contained")
    ]
    decide(exercise, hospital, carol, "isolate")
    preview = engine.branch_preview(exercise=exercise)
    assert preview.stage.key == "contained"
    assert preview.reason == (
        "Because at least one team chose “Isolate affected systems” on “What do you do first?”."
    )
    assert preview.alternatives == []


@pytest.mark.django_db
def test_the_console_shows_the_preview(running, client, alice):
    exercise, _, _ = running
    client.force_login(alice)
    for name in ("control", "branch_preview"):
        html = client.get(reverse(f"exercises:{name}", args=[exercise.code])).content.decode()
        # The page holds the section; a fetch answers with its body only, swapped inside
        # the section, which stays (and keeps a later frame's pending fetch).
        assert ('id="branch-preview"' in html) == (name == "control")
        assert 'Advancing now leads to <strong class="preview-target">Spread</strong>' in html
        assert "chose “Isolate affected systems”: <strong>Contained</strong>" in html
