"""Invitations by email: issue, the emailed link, accept (new account or signed in),
expired and reused links, consent, and the seat given through the engine."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry, Membership, User
from exercises.models import Participant
from onboarding.models import EmailInvitation
from onboarding.services import (
    InvitationError,
    InvitationUnusable,
    account_create_and_accept,
    invitation_accept,
    invitation_issue,
    invitation_redeemable,
    token_hash,
)
from tests import factories

NEW_PASSWORD = "a-long-and-unusual-passphrase-42"


@pytest.fixture
def seated(alice, org_a):
    exercise = factories.make_exercise(facilitator=alice)
    team = factories.make_team(exercise, "cloud", org_a)
    return exercise, team


def link_in(message) -> str:
    return re.search(r"http://testserver(/invite/[^/\s]+/)", message.body).group(1)


def test_the_token_is_not_stored_only_its_hash(alice, org_a):
    invitation, token = invitation_issue(email="dan@x.org", organization=org_a, invited_by=alice)
    assert token not in invitation.token_hash
    assert invitation.token_hash == token_hash(token)
    assert invitation_redeemable(token) == invitation


def test_inviting_again_replaces_the_pending_link(alice, org_a):
    _, first = invitation_issue(email="dan@x.org", organization=org_a, invited_by=alice)
    _, second = invitation_issue(email="DAN@x.org", organization=org_a, invited_by=alice)
    with pytest.raises(InvitationUnusable) as refused:
        invitation_redeemable(first)
    assert refused.value.reason == "unknown"
    assert invitation_redeemable(second).email == "DAN@x.org"


def test_an_expired_link_is_refused(alice, org_a):
    invitation, token = invitation_issue(email="dan@x.org", organization=org_a, invited_by=alice)
    EmailInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    with pytest.raises(InvitationUnusable) as refused:
        invitation_redeemable(token)
    assert refused.value.reason == "expired"


def test_a_link_works_once(alice, org_a):
    invitation, token = invitation_issue(email="dan@x.org", organization=org_a, invited_by=alice)
    user = account_create_and_accept(
        invitation=invitation, password=NEW_PASSWORD, display_name="Dan"
    )
    assert Membership.objects.filter(user=user, organization=org_a, is_admin=False).exists()
    with pytest.raises(InvitationUnusable) as refused:
        invitation_redeemable(token)
    assert refused.value.reason == "used"
    with pytest.raises(InvitationUnusable):
        invitation_accept(invitation=invitation, user=user)


def test_only_the_invited_address_accepts(alice, org_a, mallory):
    invitation, _ = invitation_issue(email="dan@x.org", organization=org_a, invited_by=alice)
    with pytest.raises(InvitationError, match=r"dan@x\.org"):
        invitation_accept(invitation=invitation, user=mallory)
    assert not Membership.objects.filter(user=mallory).exists()


def test_an_exercise_invitation_seats_the_player_through_the_engine(alice, org_a, seated):
    exercise, team = seated
    invitation, _ = invitation_issue(
        email="dan@x.org",
        organization=org_a,
        invited_by=alice,
        exercise=exercise,
        kind="player",
        team=team,
    )
    user = account_create_and_accept(
        invitation=invitation, password=NEW_PASSWORD, display_name="Dan"
    )
    seat = Participant.objects.get(exercise=exercise, user=user)
    assert (seat.kind, seat.team) == ("player", team)
    entry = AuditEntry.objects.get(action="participant.add", exercise_code=exercise.code)
    assert entry.actor == alice


def test_a_seat_the_engine_refuses_leaves_nothing_behind(alice, org_a, seated):
    exercise, team = seated
    invitation, token = invitation_issue(
        email="dan@x.org",
        organization=org_a,
        invited_by=alice,
        exercise=exercise,
        kind="player",
        team=team,
    )
    exercise.participants.filter(user=alice).delete()  # the inviter no longer facilitates
    with pytest.raises(InvitationError):
        account_create_and_accept(invitation=invitation, password=NEW_PASSWORD, display_name="Dan")
    assert not User.objects.filter(email="dan@x.org").exists()
    assert invitation_redeemable(token) == invitation  # still usable


def test_a_player_needs_a_team_of_the_invited_organization(alice, org_b, seated):
    exercise, team = seated
    with pytest.raises(InvitationError, match="not a team of"):
        invitation_issue(
            email="x@y.org",
            organization=org_b,
            invited_by=alice,
            exercise=exercise,
            kind="player",
            team=team,
        )
    with pytest.raises(InvitationError, match="only players"):
        invitation_issue(
            email="x@y.org", organization=org_b, invited_by=alice, exercise=exercise, kind="player"
        )


# ---------------------------------------------------------------- through the pages


def test_an_admin_invites_by_email_and_the_invitee_sets_a_password(client, bob, org_a):
    client.force_login(bob)
    url = reverse("onboarding:organization_invite", args=[org_a.code])
    client.post(url, {"email": "dan@x.org", "name": "Dan"})
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dan@x.org"]
    link = link_in(mail.outbox[0])
    client.logout()
    assert not User.objects.filter(email="dan@x.org").exists()  # nothing before accepting
    page = client.get(link)
    assert b"Choose a password" in page.content
    answer = client.post(
        link, {"display_name": "Dan", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert answer.status_code == 302
    assert answer.url == reverse("accounts:organization", args=[org_a.code])
    dan = User.objects.get(username="dan@x.org")
    assert Membership.objects.filter(user=dan, organization=org_a).exists()
    again = client.get(link)
    assert again.status_code == 410
    assert b"already been used" in again.content


def test_a_weak_password_is_refused_and_nothing_is_created(client, alice, org_a):
    _, token = invitation_issue(email="dan@x.org", organization=org_a, invited_by=alice)
    link = reverse("onboarding:redeem", args=[token])
    answer = client.post(link, {"display_name": "Dan", "password1": "123", "password2": "123"})
    assert answer.status_code == 400
    assert not User.objects.filter(email="dan@x.org").exists()


def test_an_existing_account_signs_in_then_accepts(client, alice, org_b, bob):
    bob.email = "bob@nimbus.example"
    bob.save()
    _, token = invitation_issue(email="Bob@Nimbus.example", organization=org_b, invited_by=alice)
    link = reverse("onboarding:redeem", args=[token])
    assert b"Sign in to accept" in client.get(link).content
    assert client.post(link).status_code == 200  # anonymous: told to sign in, nothing done
    assert not Membership.objects.filter(user=bob, organization=org_b).exists()
    client.force_login(bob)
    assert client.post(link).status_code == 302
    assert Membership.objects.filter(user=bob, organization=org_b).exists()


def test_declining_creates_nothing_and_spends_the_link(client, alice, org_a):
    _, token = invitation_issue(email="dan@x.org", organization=org_a, invited_by=alice)
    answer = client.post(reverse("onboarding:decline", args=[token]))
    assert answer.status_code == 200
    assert b"declined" in answer.content
    assert not User.objects.filter(email="dan@x.org").exists()
    assert client.get(reverse("onboarding:redeem", args=[token])).status_code == 410


def test_expired_and_unknown_links_get_a_clear_page(client, alice, org_a):
    invitation, token = invitation_issue(email="dan@x.org", organization=org_a, invited_by=alice)
    invitation.expires_at = timezone.now() - timedelta(seconds=1)
    invitation.save()
    expired = client.get(reverse("onboarding:redeem", args=[token]))
    assert expired.status_code == 410
    assert b"has expired" in expired.content
    unknown = client.get(reverse("onboarding:redeem", args=["nope"]))
    assert unknown.status_code == 404
    assert b"not valid" in unknown.content


def test_a_facilitator_invites_one_person_to_a_seat(client, alice, org_a, seated):
    exercise, team = seated
    client.force_login(alice)
    url = reverse("onboarding:exercise_invite", args=[exercise.code])
    answer = client.post(
        url, {"email": "dan@x.org", "organization": org_a.code, "kind": "player", "team": team.code}
    )
    assert answer.status_code == 302
    invitation = EmailInvitation.objects.get()
    assert (invitation.exercise, invitation.team, invitation.kind) == (exercise, team, "player")
    assert "Cloud provider team" in mail.outbox[0].body
    lobby = client.get(reverse("exercises:lobby", args=[exercise.code]))
    assert b"dan@x.org" in lobby.content
    assert b"invitation-pending" in lobby.content


def test_a_mail_server_failure_is_reported_not_a_500(client, bob, org_a, settings, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError

    monkeypatch.setattr("onboarding.services.send_mail", refuse)
    client.force_login(bob)
    url = reverse("onboarding:organization_invite", args=[org_a.code])
    answer = client.post(url, {"email": "dan@x.org"}, follow=True)
    assert "0 invitations sent; 1 could not be emailed" in answer.content.decode()
    assert EmailInvitation.objects.filter(email="dan@x.org").exists()


def test_an_address_used_as_a_username_signs_in_instead(client, alice, org_a):
    factories.make_user("dan@x.org")  # no email on record, but that username
    _, token = invitation_issue(email="dan@x.org", organization=org_a, invited_by=alice)
    page = client.get(reverse("onboarding:redeem", args=[token]))
    assert b"Sign in to accept" in page.content
