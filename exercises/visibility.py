"""Who may see what in a live exercise: pure TLP and audience rules, no database access.

Everyone reads these rules (engine, consumers, pages, reports), so they live here once.

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
from typing import Protocol

from exercises.models import Event, Participant
from scenarios.models import Tlp

CONTROL_KINDS = frozenset({Participant.Kind.FACILITATOR, Participant.Kind.EVALUATOR})
OBSERVER_KINDS = frozenset({Participant.Kind.OBSERVER, Participant.Kind.COORDINATOR})


@dataclass(frozen=True)
class TeamInfo:
    """What the rules need about a team: its id, role key and the role keys it depends on."""

    id: int
    role_key: str
    depends_on: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Viewer:
    """Someone watching an exercise. ``kind`` is a Participant.Kind value."""

    kind: str
    team_id: int | None = None

    @property
    def is_control(self) -> bool:
        return self.kind in CONTROL_KINDS

    @property
    def is_player(self) -> bool:
        return self.kind == Participant.Kind.PLAYER and self.team_id is not None


class EventLike(Protocol):
    visibility: str
    team_ids: list[int]


def share_audience(
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


def share_visibility(*, tlp: str, audience: frozenset[int]) -> tuple[str, list[int]]:
    """The stored ``(Event.visibility, team_ids)`` of a share.created event."""
    if tlp == Tlp.CLEAR:
        return Event.Visibility.ALL, []
    if tlp == Tlp.GREEN:
        return Event.Visibility.TEAMS, []
    return Event.Visibility.SOME, sorted(audience)


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


def audience_for(event: EventLike, *, viewer: Viewer) -> str:
    """The fragment audience an event is rendered for when ``viewer`` receives it.

    Matches what ``exercises.events.publish`` sends to the viewer's groups, so a replayed
    event looks exactly like the live one did.
    """
    if viewer.is_control:
        return "control"
    if not viewer.is_player:
        return "observer"
    if event.visibility in (Event.Visibility.ALL, Event.Visibility.TEAMS):
        return "teams"
    return f"team-{viewer.team_id}"
