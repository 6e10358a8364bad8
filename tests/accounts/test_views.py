from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import Invitation, Membership
from tests.factories import PASSWORD, add_member, make_user

pytestmark = pytest.mark.django_db


def test_it_logs_in_with_the_right_password_and_lands_home(client, bob):
    response = client.post(reverse("accounts:login"), {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert "Welcome, Bob Cloud" in client.get(reverse("home")).content.decode()


def test_it_refuses_a_wrong_password_with_a_message(client, bob):
    response = client.post(reverse("accounts:login"), {"username": "bob", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_it_sends_anonymous_visitors_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_it_shows_an_organization_to_its_members(client, bob, org_a):
    client.force_login(bob)
    response = client.get(reverse("accounts:organization", args=[org_a.code]))
    assert response.status_code == 200
    assert "Nimbus Cloud" in response.content.decode()


def test_it_hides_an_organization_from_outsiders(client, mallory, org_a):
    client.force_login(mallory)
    response = client.get(reverse("accounts:organization", args=[org_a.code]))
    assert response.status_code == 404


def test_it_invites_and_the_invitee_joins_only_on_accepting(client, bob, org_a):
    dave = make_user("dave")
    client.force_login(bob)
    response = client.post(
        reverse("accounts:member_add", args=[org_a.code]), {"username": "DAVE"}, follow=True
    )
    assert "If “DAVE” has an account, they are invited" in response.content.decode()
    assert not Membership.objects.filter(user=dave, organization=org_a).exists()
    invitation = Invitation.objects.get(user=dave, organization=org_a, is_admin=False)
    client.force_login(dave)
    assert "Nimbus Cloud" in client.get(reverse("accounts:invitations")).content.decode()
    client.post(reverse("accounts:invitation_accept", args=[invitation.code]))
    assert Membership.objects.filter(user=dave, organization=org_a, is_admin=False).exists()
    assert not Invitation.objects.exists()


def test_it_lets_the_invitee_decline(client, bob, org_a):
    dave = make_user("dave")
    invitation = Invitation.objects.create(organization=org_a, user=dave, invited_by=bob)
    client.force_login(dave)
    response = client.post(reverse("accounts:invitation_decline", args=[invitation.code]))
    assert response.status_code == 302
    assert not Invitation.objects.exists()
    assert not Membership.objects.filter(user=dave, organization=org_a).exists()


def test_it_lets_no_one_else_answer_an_invitation(client, bob, mallory, org_a):
    invitation = Invitation.objects.create(organization=org_a, user=make_user("dave"))
    client.force_login(mallory)
    response = client.post(reverse("accounts:invitation_accept", args=[invitation.code]))
    assert response.status_code == 404
    assert not Membership.objects.filter(user=mallory, organization=org_a).exists()


def test_it_answers_the_same_whether_or_not_the_username_exists(client, bob, org_a):
    make_user("dave")
    client.force_login(bob)
    url = reverse("accounts:member_add", args=[org_a.code])
    answers = []
    for name in ("dave", "ghost"):
        response = client.post(url, {"username": name}, follow=True)
        shown = [str(m).replace(name, "NAME") for m in response.context["messages"]]
        answers.append((response.redirect_chain, shown))
    assert answers[0] == answers[1]
    assert Invitation.objects.count() == 1


def test_it_forbids_plain_members_from_managing(client, org_a):
    member = make_user("erin")
    add_member(member, org_a)
    client.force_login(member)
    response = client.post(reverse("accounts:member_add", args=[org_a.code]), {"username": "erin"})
    assert response.status_code == 403


def test_it_denies_outsiders_member_management_with_404(client, mallory, org_a):
    client.force_login(mallory)
    response = client.post(reverse("accounts:member_add", args=[org_a.code]), {"username": "x"})
    assert response.status_code == 404


def test_it_lets_only_permitted_people_create_organizations(client, mallory):
    client.force_login(mallory)
    response = client.post(
        reverse("accounts:organization_new"), {"name": "Metro Water", "sector": "water"}
    )
    assert response.status_code == 403
    assert not Membership.objects.filter(user=mallory).exists()


def test_it_creates_an_organization_with_its_creator_as_admin(client, mallory):
    mallory.user_permissions.add(Permission.objects.get(codename="add_organization"))
    client.force_login(mallory)
    response = client.post(
        reverse("accounts:organization_new"), {"name": "Metro Water", "sector": "water"}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=mallory)
    assert membership.is_admin
    assert membership.organization.sector == "water"
