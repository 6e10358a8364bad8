"""Bringing people in by email, in real browsers: a facilitator imports a roster of twelve
people from four organizations; each invitee opens their link from the outbox, sets a
password and lands in their team's room; spent and expired links are refused; nobody is a
member before accepting."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organization, User
from exercises.models import Participant
from onboarding.services import invitation_issue
from scenarios.models import Role
from tests import factories
from tests.e2e.conftest import login
from tests.factories import PASSWORD

NEW_PASSWORD = "a-long-and-unusual-passphrase-42"
TEAMS = [  # organization, sector (for the new ones), scenario role
    ("Nimbus Cloud", "", "cloud", "Cloud provider"),
    ("St. Mary's Hospital", "", "hospital", "Hospital"),
    ("First Bank", "finance", "bank", "Bank"),
    ("Harbour Airport", "transport", "airport", "Airport"),
]


def roster_csv() -> bytes:
    lines = ["name,email,organization,sector,exercise role,team"]
    for org, sector, role, _ in TEAMS:
        for n in range(1, 4):
            lines.append(
                f"{role.title()} Person {n},{role}{n}@example.org,{org},{sector},player,{role}"
            )
    return ("\n".join(lines) + "\n").encode()


def link_of(message) -> str:
    return re.search(r"https?://[^/\s]+(/invite/[^/\s]+/)", message.body).group(1)


@pytest.mark.django_db(transaction=True)
def test_a_roster_of_twelve_people_joins_through_emailed_links(
    new_live_context, alice, org_a, org_b
):
    alice = factories.grant_authoring(alice)
    exercise = factories.make_exercise(facilitator=alice)
    Role.objects.create(
        scenario=exercise.scenario, key="airport", label="Airport", sector="transport", order=3
    )
    factories.make_team(exercise, "cloud", org_a)

    # The facilitator uploads the roster, reads the preview, sends.
    facilitator = login(new_live_context(), "alice", PASSWORD)
    facilitator.goto(reverse("exercises:lobby", args=[exercise.code]))
    facilitator.get_by_role("link", name="Invite people or import a roster").click()
    facilitator.get_by_label("Roster file").set_input_files(
        {"name": "roster.csv", "mimeType": "text/csv", "buffer": roster_csv()}
    )
    facilitator.get_by_role("button", name="Preview the roster").click()
    assert facilitator.locator("td", has_text="ready").count() == 12
    facilitator.get_by_role("button", name="Send 12 invitations").click()
    facilitator.get_by_text("12 invitations sent.").wait_for()

    assert len(mail.outbox) == 12
    links = {message.to[0]: link_of(message) for message in mail.outbox}
    assert Organization.objects.filter(name__in=[t[0] for t in TEAMS]).count() == 4
    invited = Membership.objects.filter(user__email__endswith="@example.org")
    assert not invited.exists()  # nobody is a member before accepting

    # One invitee opens the link and leaves without accepting: still nobody.
    invitee = new_live_context()
    page = invitee.new_page()
    page.goto(links["cloud1@example.org"])
    page.get_by_role("heading", name="You are invited to Nimbus Cloud").wait_for()
    assert not User.objects.filter(email="cloud1@example.org").exists()
    assert not invited.exists()

    # Each invitee sets a password and lands in their team's room.
    for org, _, role, label in TEAMS:
        for n in range(1, 4):
            email = f"{role}{n}@example.org"
            invitee.clear_cookies()
            page.goto(links[email])
            page.get_by_label("Your name").fill(f"{role.title()} Person {n}")
            page.get_by_label("Password:", exact=True).fill(NEW_PASSWORD)
            page.get_by_label("Password again").fill(NEW_PASSWORD)
            page.get_by_role("button", name="Create my account and accept").click()
            page.wait_for_url(f"**{reverse('exercises:room', args=[exercise.code])}")
            page.get_by_text(f"Team room · {org} as {label}").wait_for()
            seat = Participant.objects.get(exercise=exercise, user__email=email)
            assert (seat.kind, seat.team.role.key, seat.team.organization.name) == (
                "player",
                role,
                org,
            )
    assert invited.count() == 12

    # A spent link and an expired link are refused with a clear page.
    invitee.clear_cookies()
    page.goto(links["bank2@example.org"])
    page.get_by_text("This invitation link has already been used.").wait_for()
    late, token = invitation_issue(email="late@example.org", organization=org_a, invited_by=alice)
    late.expires_at = timezone.now() - timedelta(minutes=1)
    late.save(update_fields=["expires_at"])
    page.goto(reverse("onboarding:redeem", args=[token]))
    page.get_by_text("This invitation link has expired.").wait_for()
    assert not User.objects.filter(email="late@example.org").exists()

    # The lobby shows who accepted, and the teams' members.
    facilitator.goto(reverse("exercises:lobby", args=[exercise.code]))
    assert facilitator.locator("#lobby-invitations td.invitation-accepted").count() == 12
    assert facilitator.get_by_role("cell", name="Airport Person 3").count() >= 1
