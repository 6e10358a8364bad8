"""Branch resolution is a pure function over the teams' decisions: every mode."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from exercises.engine.rules import resolve_transition
from exercises.visibility import TeamInfo

TEAMS = [
    TeamInfo(id=1, role_key="cloud"),
    TeamInfo(id=2, role_key="hospital"),
    TeamInfo(id=3, role_key="bank"),
]


def edge(target, mode=None, *, options=("isolate",), roles=(), count=None, order=0):
    condition = {"mode": mode, "prompt": "p", "options": list(options), "roles": list(roles)}
    if count is not None:
        condition["count"] = count
    return SimpleNamespace(
        to_stage=target,
        is_default=mode is None,
        condition={} if mode is None else condition,
        order=order,
        pk=order + 1,
    )


def resolve(conditional, decisions, **kwargs):
    return resolve_transition([edge("default"), conditional], decisions, TEAMS, **kwargs)


def answers(*options):
    return {team_id: {"p": option} for team_id, option in enumerate(options, start=1) if option}


@pytest.mark.parametrize(
    ("mode", "decided", "expected"),
    [
        ("any", ("isolate", "pay", None), "branch"),
        ("any", ("pay", "pay", None), "default"),
        ("all", ("isolate", "isolate", "isolate"), "branch"),
        ("all", ("isolate", "isolate", None), "default"),
        ("none", ("pay", "wait", None), "branch"),
        ("none", ("pay", "isolate", None), "default"),
        ("majority", ("isolate", "isolate", "pay"), "branch"),
        ("majority", ("isolate", "pay", None), "default"),
    ],
)
def test_it_resolves_each_mode(mode, decided, expected):
    assert resolve(edge("branch", mode), answers(*decided)) == expected


def test_it_counts_at_least_n_teams():
    decisions = answers("isolate", "isolate", "pay")
    assert resolve(edge("branch", "at_least", count=2), decisions) == "branch"
    assert resolve(edge("branch", "at_least", count=3), decisions) == "default"


def test_it_narrows_to_the_named_roles():
    decisions = answers("pay", "isolate", "isolate")
    assert resolve(edge("branch", "all", roles=["hospital", "bank"]), decisions) == "branch"
    assert resolve(edge("branch", "all", roles=["cloud"]), decisions) == "default"


def test_it_counts_only_teams_the_prompt_was_put_to():
    decisions = answers("isolate", None, None)
    put_to = {"p": frozenset({1})}
    assert resolve(edge("branch", "all"), decisions, put_to=put_to) == "branch"
    assert resolve(edge("branch", "all"), decisions) == "default"


def test_it_treats_empty_options_as_any_answer():
    assert resolve(edge("branch", "all", options=()), answers("a", "b", "c")) == "branch"


def test_it_tries_conditions_in_order_before_the_default():
    first = edge("first", "any", order=1)
    second = edge("second", "any", order=0)
    decisions = answers("isolate")
    assert resolve_transition([edge("default"), first, second], decisions, TEAMS) == "second"


def test_it_returns_none_without_a_match_or_default():
    assert resolve_transition([edge("branch", "all")], {}, TEAMS) is None
