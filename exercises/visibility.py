"""Who may see what in a live exercise: pure TLP and visibility rules, no database access.

Everyone reads these rules (engine, consumers, pages, reports), so they live here once.

Words: an event's *visibility* (``Event.Visibility``) says who may see it; a share's
*readers* are the teams its TLP marking lets read it; a *perspective* is what a frame or
a page is rendered for: ``CONTROL`` (facilitators, evaluators, on the control console),
``EVALUATOR`` (the same people on the evaluator console: same events, other panels),
``OBSERVER``, ``TEAMS`` (every team alike) or one team (``team_perspective``). An
inject's or prompt's *audience* is the scenario's own word (``scenarios.models.Audience``):
who it is put to.

TLP 2.0 as Cascade enforces it for team-to-team shares:

- ``RED``: the named recipient teams only (and the sender).
- ``AMBER+STRICT``: the recipient organizations only, i.e. the recipient teams (and the sender).
- ``AMBER``: the recipients and the teams whose roles depend on a recipient's role (and the
  sender): "need to know" inside the recipients' supply chain.
- ``GREEN``: every team (the community), not observers.
- ``CLEAR``: every team and the observers.

The control cell (facilitators, evaluators) always sees everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from exercises.models import Event, Participant
from scenarios.models import Tlp

CONTROL_KINDS = frozenset({Participant.Kind.FACILITATOR, Participant.Kind.EVALUATOR})
OBSERVER_KINDS = frozenset({Participant.Kind.OBSERVER, Participant.Kind.COORDINATOR})

CONTROL = "control"
EVALUATOR = "evaluator"
CONTROL_PERSPECTIVES = frozenset({CONTROL, EVALUATOR})
OBSERVER = "observer"
TEAMS = "teams"
TEAM_PREFIX = "team-"


def team_perspective(team_id: int) -> str:
    """The perspective of one team's players (for events only some teams see)."""
    return f"{TEAM_PREFIX}{team_id}"


def perspective_team_id(perspective: str) -> int | None:
    """The team a ``team_perspective`` names; None for the other perspectives."""
    if not perspective.startswith(TEAM_PREFIX):
        return None
    return int(perspective.removeprefix(TEAM_PREFIX))


@dataclass(frozen=True)
class TeamInfo:
    """What the rules need about a team: its id, role key, the role keys it depends on,
    its organization (for relaying AMBER+STRICT) and whether its role is a coordinating
    body (an ISAC, a national CERT, a regulator)."""

    id: int
    role_key: str
    depends_on: frozenset[str] = field(default_factory=frozenset)
    organization_id: int | None = None
    coordinating: bool = False


@dataclass(frozen=True)
class Viewer:
    """Someone watching an exercise. ``kind`` is a Participant.Kind value; ``evaluating``:
    a control-cell member on the evaluator console (its frames carry that page's panels)."""

    kind: str
    team_id: int | None = None
    evaluating: bool = False

    @property
    def is_control(self) -> bool:
        return self.kind in CONTROL_KINDS

    @property
    def is_player(self) -> bool:
        return self.kind == Participant.Kind.PLAYER and self.team_id is not None


class EventLike(Protocol):
    visibility: str
    team_ids: list[int]


class EventStub(NamedTuple):
    """An event's audience alone (two columns), for choosing which rows to load whole."""

    visibility: str
    team_ids: list[int]


def share_readers(
    *, tlp: str, from_team_id: int, recipient_ids: Iterable[int], teams: Iterable[TeamInfo]
) -> frozenset[int]:
    """Ids of the teams that may read a share marked ``tlp`` (the sender always may)."""
    teams = list(teams)
    known = {team.id for team in teams}
    recipients = frozenset(recipient_ids) & known
    if tlp in (Tlp.CLEAR, Tlp.GREEN):
        return frozenset(known | {from_team_id})
    if tlp == Tlp.AMBER:
        recipient_roles = {team.role_key for team in teams if team.id in recipients}
        dependents = {team.id for team in teams if team.depends_on & recipient_roles}
        return frozenset(recipients | dependents | {from_team_id})
    if tlp in (Tlp.AMBER_STRICT, Tlp.RED):
        return frozenset(recipients | {from_team_id})
    raise ValueError(f"Unknown TLP marking {tlp!r}.")


# Relaying: a team that may read a share passes it on under the same marking (TLP 2.0).
RELAY_RULES = {
    Tlp.RED: "TLP:RED is for its named recipients only: it cannot be relayed.",
    Tlp.AMBER_STRICT: "TLP:AMBER+STRICT may be relayed only inside your own organization.",
    Tlp.AMBER: (
        "TLP:AMBER may be relayed only inside your own organization, to the teams "
        "that depend on yours and to a coordinating body."
    ),
    Tlp.GREEN: "TLP:GREEN may be relayed to any team of the exercise.",
    Tlp.CLEAR: "TLP:CLEAR may be relayed to anyone.",
}


def may_relay(*, tlp: str, relayer: TeamInfo, target: TeamInfo) -> bool:
    """Whether ``relayer`` (a reader of a share marked ``tlp``) may pass it to ``target``:
    RED never; AMBER+STRICT inside the relayer's organization; AMBER also to the teams
    whose roles depend on the relayer's role and to a coordinating body (reporting to
    the ISAC is its members' need to know, whatever the dependency graph says); GREEN and
    CLEAR to every team. Pure."""
    if target.id == relayer.id:
        return False
    same_org = relayer.organization_id is not None and (
        target.organization_id == relayer.organization_id
    )
    if tlp == Tlp.RED:
        return False
    if tlp == Tlp.AMBER_STRICT:
        return same_org
    if tlp == Tlp.AMBER:
        return same_org or target.coordinating or relayer.role_key in target.depends_on
    if tlp in (Tlp.GREEN, Tlp.CLEAR):
        return True
    raise ValueError(f"Unknown TLP marking {tlp!r}.")


# A coordinating body's sanitized summary goes to every team, so only a marking every team
# may read fits it; the reports it summarizes bound it (docs/collaboration.md).
SUMMARY_MARKINGS = (Tlp.GREEN, Tlp.CLEAR)


def summary_refusal(*, tlp: str, original_tlps: Iterable[str]) -> str:
    """Why a coordinating body may not send a summary marked ``tlp`` of reports marked
    ``original_tlps`` to every team, or "" when it may. GREEN or CLEAR only (every team
    reads it); never of a RED report (its named recipients only, however sanitized);
    CLEAR (public) only when every report is CLEAR. AMBER and AMBER+STRICT reports may be
    summarized at GREEN: members report to the coordinating body so that it warns the
    community without naming them. Pure."""
    originals = set(original_tlps)
    if tlp not in SUMMARY_MARKINGS:
        return "A community summary reaches every team: mark it TLP:GREEN or TLP:CLEAR."
    if Tlp.RED in originals:
        return (
            "TLP:RED reports are for their named recipients only: they cannot be "
            "summarized for the community."
        )
    if tlp == Tlp.CLEAR and originals != {Tlp.CLEAR}:
        return (
            "TLP:CLEAR would make the summary public, and not every report it summarizes "
            "is TLP:CLEAR: mark it TLP:GREEN."
        )
    return ""


def knows_recipients(
    *, tlp: str, reader_team_id: int | None, from_team_id: int, recipient_ids: Iterable[int]
) -> bool:
    """Whether a reader of a share may learn whom it was addressed to. The control cell
    (``reader_team_id=None``), the sender and the named recipients may; so may everyone
    for GREEN and CLEAR (community sharing). A team reading an AMBER share as a dependent
    of a recipient learns only that it reached them. Pure."""
    if reader_team_id is None or tlp in (Tlp.GREEN, Tlp.CLEAR):
        return True
    return reader_team_id == from_team_id or reader_team_id in set(recipient_ids)


def share_visibility(*, tlp: str, readers: frozenset[int]) -> tuple[str, list[int]]:
    """The stored ``(Event.visibility, team_ids)`` of a share.created event."""
    if tlp == Tlp.CLEAR:
        return Event.Visibility.ALL, []
    if tlp == Tlp.GREEN:
        return Event.Visibility.TEAMS, []
    return Event.Visibility.SOME, sorted(readers)


def can_see_event(event: EventLike, *, viewer: Viewer) -> bool:
    """Control sees everything; observers ``ALL`` only; players ``ALL``/``TEAMS`` and ``SOME``
    when their team is listed."""
    if viewer.is_control:
        return True
    if event.visibility == Event.Visibility.ALL:
        return True
    if not viewer.is_player:
        return False
    if event.visibility == Event.Visibility.TEAMS:
        return True
    return event.visibility == Event.Visibility.SOME and viewer.team_id in event.team_ids


def perspective_for(event: EventLike, *, viewer: Viewer) -> str:
    """The perspective an event is rendered from when ``viewer`` receives it.

    Matches what ``exercises.broadcast`` sends to the viewer's groups, so a replayed
    event looks exactly like the live one did.
    """
    if viewer.is_control:
        return EVALUATOR if viewer.evaluating else CONTROL
    if not viewer.is_player:
        return OBSERVER
    if event.visibility in (Event.Visibility.ALL, Event.Visibility.TEAMS):
        return TEAMS
    return team_perspective(viewer.team_id)


def page_perspective(viewer: Viewer) -> str:
    """The perspective a viewer's live page is rendered from (its feed, its panels)."""
    if viewer.is_control:
        return EVALUATOR if viewer.evaluating else CONTROL
    if viewer.is_player:
        return team_perspective(viewer.team_id)
    return OBSERVER


def viewer_for_perspective(perspective: str) -> Viewer:
    """Someone who sees what ``perspective`` shows (for filtering a page's feed)."""
    team_id = perspective_team_id(perspective)
    if team_id is not None:
        return Viewer(kind=Participant.Kind.PLAYER, team_id=team_id)
    if perspective == EVALUATOR:
        return Viewer(kind=Participant.Kind.EVALUATOR, evaluating=True)
    kind = Participant.Kind.FACILITATOR if perspective == CONTROL else Participant.Kind.OBSERVER
    return Viewer(kind=kind)
