"""Roster import: reading CSV/XLSX within bounds, the per-line preview, and inviting
everyone in one step (new organizations and teams included)."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from accounts.models import Membership, Organization
from config.limits import ROSTER_MAX_ROWS
from exercises.models import Team
from onboarding.models import EmailInvitation
from onboarding.roster import RosterError, plan_roster, read_roster, roster_invite
from onboarding.services import InvitationError
from tests import factories

HEADER = "Name,Email,Organization,Sector,Exercise role,Team\n"
ROSTER = HEADER + (
    "Dan Cloud,dan@nimbus.example,Nimbus Cloud,,player,cloud\n"
    "Eve Care,eve@mary.example,St. Mary's Hospital,,player,Hospital\n"
    "Fay Bank,fay@bank.example,First Bank,finance,player,bank\n"
    "Gus Watch,gus@gov.example,Ministry,government,observer,\n"
)


@pytest.fixture
def exercise(alice, org_a, org_b):
    alice = factories.grant_authoring(alice)
    exercise = factories.make_exercise(facilitator=alice)
    factories.make_team(exercise, "cloud", org_a)
    return exercise


def test_it_reads_csv_with_any_column_order_and_case():
    entries = read_roster(b"EMAIL;team;organisation\nx@y.org;cloud;Org\n", "csv")
    assert [(e.line, e.email, e.organization, e.team, e.kind) for e in entries] == [
        (2, "x@y.org", "Org", "cloud", "player")
    ]


def test_it_reads_the_same_roster_from_xlsx():
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Roster"
    for line in ROSTER.strip().split("\n"):
        sheet.append(line.split(","))
    buffer = io.BytesIO()
    workbook.save(buffer)
    from_xlsx = read_roster(buffer.getvalue(), "xlsx")
    from_csv = read_roster(ROSTER.encode(), "csv")
    assert [e.as_dict() for e in from_xlsx] == [e.as_dict() for e in from_csv]


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b"", "csv", "empty"),
        (b"name,email\n", "csv", r"needs the column\(s\): organization"),
        (b"email,organization\n", "csv", "nobody under it"),
        (b"\xff\xfe", "csv", "not UTF-8"),
        (b"PK\x03\x04junk", "xlsx", "not an XLSX"),
        (b"email,organization\n" + b"a@b.c,O\n" * (ROSTER_MAX_ROWS + 1), "csv", "rows"),
        (b"email,organization" + b",x" * 100 + b"\n", "csv", "columns"),
        (b"x", "pdf", "upload a .csv or .xlsx"),
    ],
)
def test_it_refuses_unreadable_or_oversized_rosters(data, fmt, message):
    with pytest.raises(RosterError, match=message):
        read_roster(data, fmt)


def test_the_preview_says_what_is_wrong_on_each_line(exercise, alice, org_b):
    roster = HEADER + (
        "A,not-an-address,Nimbus Cloud,,player,cloud\n"
        "B,b@x.org,Nimbus Cloud,,player,cloud\n"
        "C,b@x.org,Nimbus Cloud,,observer,cloud\n"
        "D,d@x.org,St. Mary's Hospital,,player,cloud\n"
        "E,e@x.org,Brand New,,player,bank\n"
        "F,f@x.org,Nimbus Cloud,,captain,\n"
        "G,g@x.org,Nimbus Cloud,,player,submarine\n"
    )
    entries = plan_roster(
        exercise=exercise, entries=read_roster(roster.encode(), "csv"), actor=alice
    )
    errors = {entry.name: " | ".join(entry.errors) for entry in entries}
    assert errors["A"] == "email is not an address"
    assert errors["B"] == ""
    assert errors["C"] == "this address is on the roster twice | only players sit in a team"
    assert errors["D"] == "the Cloud provider team belongs to Nimbus Cloud"
    assert errors["E"].startswith("a new organization needs a sector")
    assert errors["F"].startswith("exercise role must be one of")
    assert errors["G"].startswith("team must name a role of the scenario")


def test_a_nul_character_in_any_cell_is_an_error_on_its_line_not_a_crash(exercise, alice):
    """PostgreSQL text cannot hold NUL: the organization's lookup with one was a 500
    (found by tests/security/test_fuzz_inputs.py against PostgreSQL)."""
    roster = HEADER + "H\x00,h@x.org,\x00,,player,cloud\nI,i@x.org,Nimbus\x00 Cloud,,player,t\x00\n"
    entries = plan_roster(
        exercise=exercise, entries=read_roster(roster.encode(), "csv"), actor=alice
    )
    first, second = entries
    assert "name contains a NUL character" in first.errors
    assert "organization contains a NUL character" in first.errors
    assert "organization contains a NUL character" in second.errors
    assert "team contains a NUL character" in second.errors
    assert not any("\x00" in value for e in entries for value in (e.name, e.organization, e.team))


def test_two_new_organizations_cannot_claim_one_role(exercise, alice):
    roster = HEADER + "A,a@x.org,One,energy,player,bank\nB,b@x.org,Two,energy,player,bank\n"
    entries = plan_roster(
        exercise=exercise, entries=read_roster(roster.encode(), "csv"), actor=alice
    )
    assert entries[1].errors == ["the Bank team belongs to One"]


def test_only_a_creator_of_organizations_may_bring_new_ones(exercise, mallory):
    roster = HEADER + "A,a@x.org,Brand New,energy,observer,\n"
    (entry,) = plan_roster(
        exercise=exercise, entries=read_roster(roster.encode(), "csv"), actor=mallory
    )
    assert entry.errors == ["you may not create organizations"]


def test_it_invites_everyone_creating_organizations_and_teams(exercise, alice):
    entries = read_roster(ROSTER.encode(), "csv")
    issued = roster_invite(exercise=exercise, entries=entries, actor=alice)
    assert len(issued) == 4
    bank = Organization.objects.get(name="First Bank")
    assert bank.sector == "finance"
    assert Team.objects.get(exercise=exercise, role__key="bank").organization == bank
    assert Team.objects.get(exercise=exercise, role__key="hospital").organization.name == (
        "St. Mary's Hospital"
    )
    seats = {(i.email, i.kind, i.team.role.key if i.team else "") for i, _ in issued}
    assert ("gus@gov.example", "observer", "") in seats
    # Invited, not members: membership waits for each person's answer.
    assert not Membership.objects.filter(user__email__endswith=".example").exists()


def test_a_roster_with_errors_invites_nobody(exercise, alice):
    entries = read_roster((ROSTER + "X,bad,Nimbus Cloud,,player,cloud\n").encode(), "csv")
    with pytest.raises(InvitationError, match="has errors"):
        roster_invite(exercise=exercise, entries=entries, actor=alice)
    assert not EmailInvitation.objects.exists()
    assert not Organization.objects.filter(name="First Bank").exists()


def test_the_pages_preview_then_send_one_email_each(client, exercise, alice):
    client.force_login(alice)
    upload = SimpleUploadedFile("people.csv", ROSTER.encode())
    preview = client.post(
        reverse("onboarding:roster_preview", args=[exercise.code]), {"roster": upload}
    )
    assert preview.status_code == 200
    assert b"Send 4 invitations" in preview.content
    assert not EmailInvitation.objects.exists()  # nothing before the facilitator sends
    sent = client.post(reverse("onboarding:roster_send", args=[exercise.code]))
    assert sent.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == [
        "dan@nimbus.example",
        "eve@mary.example",
        "fay@bank.example",
        "gus@gov.example",
    ]
    again = client.post(reverse("onboarding:roster_send", args=[exercise.code]), follow=True)
    assert b"no previewed roster" in again.content  # one roster, one send
    assert len(mail.outbox) == 4


def test_an_unreadable_upload_is_a_form_error(client, exercise, alice):
    client.force_login(alice)
    upload = SimpleUploadedFile("people.xlsx", b"not a zip")
    answer = client.post(
        reverse("onboarding:roster_preview", args=[exercise.code]), {"roster": upload}
    )
    assert answer.status_code == 400
    assert b"The roster cannot be read: not an XLSX workbook" in answer.content
