"""The exercise's state machine: its statuses and which action each status allows.

One table (``RULES``) answers "may this be done now?" for the engine (which refuses with
``refusal``'s sentence) and for the pages (``exercise.can("advance")`` in code,
``{% if exercise.can.advance %}`` in templates), so a button is shown exactly when the
engine would accept its action. Status changes themselves (lobby → running ⇄ paused →
ended) are the engine's lifecycle verbs; this module only says what each status permits.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    LOBBY = "lobby", "Lobby"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"


@dataclass(frozen=True)
class Rule:
    """The statuses an action is allowed in, and the action as a refusal names it."""

    phrase: str
    statuses: frozenset[str]


def _rule(phrase: str, *statuses: Status) -> Rule:
    return Rule(phrase, frozenset(statuses))


SETTING_UP = (Status.DRAFT, Status.LOBBY, Status.RUNNING, Status.PAUSED)
UNDER_WAY = (Status.RUNNING, Status.PAUSED)

RULES: dict[str, Rule] = {
    "add_team": _rule("add teams", *SETTING_UP),
    "add_participant": _rule("add people", *SETTING_UP),
    "join": _rule("join", Status.LOBBY, *UNDER_WAY),
    "start": _rule("start", Status.LOBBY),
    "pause": _rule("pause", Status.RUNNING),
    "resume": _rule("resume", Status.PAUSED),
    "advance": _rule("advance", *UNDER_WAY),
    "end": _rule("end", *UNDER_WAY),
    "release": _rule("release injects", *UNDER_WAY),
    "open_prompt": _rule("open prompts", *UNDER_WAY),
    "decide": _rule("decide", Status.RUNNING),
    "share": _rule("share", *UNDER_WAY),
    "discuss": _rule("post to a team's thread", *UNDER_WAY),
    "rfi": _rule("ask or answer requests for information", *UNDER_WAY),
    "observe": _rule("record observations", *UNDER_WAY, Status.ENDED),
    # An evaluator's log is theirs to correct while play goes on; at the end it stands.
    "revise_observation": _rule("change observations", *UNDER_WAY),
    "hotwash": _rule("save the hot wash", *UNDER_WAY, Status.ENDED),
}


class UnknownAction(LookupError):
    """An action the table does not name (a typo): loud, also in templates, which would
    otherwise read a missing key as false."""


def allows(status: str, action: str) -> bool:
    """Whether an exercise in ``status`` allows ``action`` (a key of ``RULES``)."""
    return status in _rule_for(action).statuses


def allowing(action: str) -> list[str]:
    """The statuses that allow ``action``, in a stable order (a statement's parameter)."""
    return sorted(_rule_for(action).statuses)


def _rule_for(action: str) -> Rule:
    rule = RULES.get(action)
    if rule is None:
        raise UnknownAction(f"No exercise action {action!r}.")
    return rule


def refusal(status: str, action: str) -> str:
    """The sentence refusing ``action`` in ``status``."""
    return f"Cannot {RULES[action].phrase} while the exercise is {Status(status).label}."


class Permits:
    """What an exercise's status allows: ``permits("advance")`` in code, ``permits.advance``
    in a template (which reads it by key and must not call it)."""

    do_not_call_in_templates = True

    def __init__(self, status: str) -> None:
        self.status = status

    def __call__(self, action: str) -> bool:
        return allows(self.status, action)

    def __getitem__(self, action: str) -> bool:
        return allows(self.status, action)
