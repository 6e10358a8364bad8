"""Roster import: a spreadsheet of people becomes invitations to an exercise.

Columns (header row, any order, any case): ``name``, ``email``, ``organization``,
``sector`` (needed only for an organization Cascade does not know yet), ``exercise role``
(facilitator, player, evaluator, observer, coordinator; player when empty) and ``team``
(the scenario role a player's team sits in, by key or label).

``read_roster`` reads the file within the hostile-input bounds (``config/limits.py``; the
XLSX through ``scenarios.formats.spreadsheet``) and returns plain entries; ``plan_roster``
checks them against the exercise and says, per line, what is wrong; ``roster_invite``
creates the missing organizations and teams and issues one invitation per person, in
one transaction. Nothing is created before the facilitator has seen the preview.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts.access import CREATE_ORGANIZATION
from accounts.models import Organization, Sector, User
from accounts.services import organization_create
from config.limits import MSEL_MAX_CELLS, MSEL_MAX_COLUMNS, ROSTER_MAX_ROWS
from exercises import engine
from exercises.engine import EngineError
from exercises.models import Exercise, Participant, Team
from onboarding.models import EmailInvitation
from onboarding.services import InvitationError, invitation_issue
from scenarios.formats.cells import restore_csv_text
from scenarios.formats.spreadsheet import SpreadsheetError, check_limit, xlsx_rows
from scenarios.models import Role

Kind = Participant.Kind
COLUMNS = ("name", "email", "organization", "sector", "exercise role", "team")
_ALIASES = {"role": "exercise role", "e-mail": "email", "organisation": "organization"}
_LENGTHS = {"name": 120, "email": 254, "organization": 160}


class RosterError(ValueError):
    """The file cannot be read as a roster; the message says why (never the file's text)."""


@dataclass
class Entry:
    """One person of the roster, as typed (``line`` is the spreadsheet row)."""

    line: int
    name: str
    email: str
    organization: str
    sector: str
    kind: str
    team: str
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_roster(data: bytes, fmt: str) -> list[Entry]:
    """The roster's people; ``RosterError`` for an unreadable or oversized file."""
    if fmt not in ("csv", "xlsx"):
        raise RosterError("upload a .csv or .xlsx file")
    rows = _csv_rows(data) if fmt == "csv" else _xlsx_rows(data)
    try:
        numbered = list(_bounded(rows))
    except SpreadsheetError as error:
        raise RosterError(str(error)) from None
    if not numbered:
        raise RosterError("the roster is empty")
    (_, header), people = numbered[0], numbered[1:]
    columns = _columns(header)
    if not people:
        raise RosterError("the roster has a header and nobody under it")
    return [_entry(number, row, columns) for number, row in people]


def _bounded(rows: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    cells = 0
    for number, row in enumerate(rows, start=1):
        cells += len(row)
        check_limit(number, ROSTER_MAX_ROWS + 1, "rows")
        check_limit(len(row), MSEL_MAX_COLUMNS, "columns")
        check_limit(cells, MSEL_MAX_CELLS, "cells")
        if any(row):
            yield number, row


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError("not UTF-8 text") from None
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            yield [restore_csv_text(cell.strip()) for cell in row]
    except csv.Error as error:
        raise RosterError(f"unreadable CSV: {error}") from None


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    for row in xlsx_rows(data, sheet_name="Roster"):
        yield ["" if cell is None else str(cell).strip() for cell in row]


def _columns(header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        name = " ".join(title.lower().replace("_", " ").split())
        name = _ALIASES.get(name, name)
        if name in COLUMNS and name not in columns:
            columns[name] = index
    missing = [name for name in ("email", "organization") if name not in columns]
    if missing:
        raise RosterError(f"the header row needs the column(s): {', '.join(missing)}")
    return columns


def _entry(number: int, row: list[str], columns: dict[str, int]) -> Entry:
    def cell(name: str) -> str:
        index = columns.get(name)
        return row[index] if index is not None and index < len(row) else ""

    entry = Entry(
        line=number,
        name=cell("name"),
        email=cell("email"),
        organization=cell("organization"),
        sector=cell("sector"),
        kind=cell("exercise role").lower() or Kind.PLAYER,
        team=cell("team"),
    )
    for name in ("name", "email", "organization", "sector", "kind", "team"):
        # PostgreSQL text cannot hold NUL: looked up as it is, the cell was a 500.
        if "\x00" in getattr(entry, name):
            entry.errors.append(f"{name} contains a NUL character")
            setattr(entry, name, getattr(entry, name).replace("\x00", ""))
    for name, limit in _LENGTHS.items():
        if len(getattr(entry, name)) > limit:
            entry.errors.append(f"{name} is longer than {limit} characters")
            setattr(entry, name, getattr(entry, name)[:limit])
    return entry


# ---------------------------------------------------------------- checking


def plan_roster(*, exercise: Exercise, entries: list[Entry], actor: User) -> list[Entry]:
    """``entries`` with the reasons each cannot be invited (``entry.errors``)."""
    roles = list(exercise.scenario.roles.all())
    teams = {team.role_id: team for team in exercise.teams.select_related("organization")}
    claimed: dict[int, str] = {}
    seen: set[str] = set()
    for entry in entries:
        _check_person(entry, seen)
        organization = _known_organization(entry.organization)
        _check_organization(entry, organization, actor)
        _check_seat(entry, roles, teams, claimed)
    return entries


def _check_person(entry: Entry, seen: set[str]) -> None:
    try:
        validate_email(entry.email)
    except ValidationError:
        entry.errors.append("email is not an address")
    if entry.email.lower() in seen:
        entry.errors.append("this address is on the roster twice")
    seen.add(entry.email.lower())
    if entry.kind not in Kind.values:
        entry.errors.append(f"exercise role must be one of: {', '.join(Kind.values)}")


def _check_organization(entry: Entry, organization: Organization | None, actor: User) -> None:
    if not entry.organization:
        entry.errors.append("organization is empty")
    elif organization is None:
        if _sector(entry.sector) is None:
            entry.errors.append("a new organization needs a sector: " + ", ".join(Sector.values))
        elif not actor.has_perm(CREATE_ORGANIZATION):
            entry.errors.append("you may not create organizations")


def _check_seat(
    entry: Entry, roles: list[Role], teams: dict[int, Team], claimed: dict[int, str]
) -> None:
    if entry.kind != Kind.PLAYER:
        if entry.team:
            entry.errors.append("only players sit in a team")
        return
    role = _role(roles, entry.team)
    if role is None:
        entry.errors.append(
            "team must name a role of the scenario: " + ", ".join(r.key for r in roles)
        )
        return
    team = teams.get(role.pk)
    holder = team.organization.name if team else claimed.setdefault(role.pk, entry.organization)
    if holder.lower() != entry.organization.lower():
        entry.errors.append(f"the {role.label} team belongs to {holder}")


def _known_organization(name: str) -> Organization | None:
    return Organization.objects.filter(name__iexact=name).first() if name else None


def _sector(text: str) -> str | None:
    text = text.strip().lower()
    for value, label in Sector.choices:
        if text in (value, label.lower()):
            return value
    return None


def _role(roles: list[Role], text: str) -> Role | None:
    text = text.strip().lower()
    return next((r for r in roles if text and text in (r.key.lower(), r.label.lower())), None)


# ---------------------------------------------------------------- inviting


def roster_invite(
    *, exercise: Exercise, entries: list[Entry], actor: User
) -> list[tuple[EmailInvitation, str]]:
    """Invite everyone on a checked roster (no entry may have errors): create the missing
    organizations (``actor`` becomes their first admin) and teams, then one invitation
    each. Returns the invitations with their link tokens; nothing is sent here."""
    plan_roster(exercise=exercise, entries=entries, actor=actor)
    if any(entry.errors for entry in entries):
        raise InvitationError("The roster has errors; fix them and upload it again.")
    roles = list(exercise.scenario.roles.all())
    issued = []
    try:
        with transaction.atomic():
            for entry in entries:
                organization = _known_organization(entry.organization) or organization_create(
                    name=entry.organization, sector=_sector(entry.sector), creator=actor
                )
                team = _team(exercise, roles, entry, organization, actor)
                issued.append(
                    invitation_issue(
                        email=entry.email,
                        name=entry.name,
                        organization=organization,
                        invited_by=actor,
                        exercise=exercise,
                        kind=entry.kind,
                        team=team,
                    )
                )
    except EngineError as exc:
        raise InvitationError(str(exc)) from None
    return issued


def _team(
    exercise: Exercise, roles: list[Role], entry: Entry, organization: Organization, actor: User
) -> Team | None:
    if entry.kind != Kind.PLAYER:
        return None
    role = _role(roles, entry.team)
    team = Team.objects.filter(exercise=exercise, role=role).first()
    return team or engine.team_add(
        exercise=exercise, role=role, organization=organization, actor=actor
    )
