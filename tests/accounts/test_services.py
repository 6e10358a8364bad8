from __future__ import annotations

import pytest
from django.db import IntegrityError

from accounts.models import Membership
from accounts.services import (
    MembershipError,
    membership_add,
    membership_remove,
    membership_set_admin,
    organization_create,
)
from tests.factories import add_member, make_organization, make_user

pytestmark = pytest.mark.django_db


def test_it_makes_the_creator_the_first_admin():
    user = make_user()
    organization = organization_create(name="Grid Co", sector="energy", creator=user)
    assert Membership.objects.get(organization=organization).is_admin


def test_it_keeps_one_membership_per_person_and_organization():
    user, organization = make_user(), make_organization()
    membership_add(organization=organization, user=user)
    membership_add(organization=organization, user=user)
    assert Membership.objects.filter(user=user, organization=organization).count() == 1
    with pytest.raises(IntegrityError):
        Membership.objects.create(user=user, organization=organization)


def test_it_lets_a_person_belong_to_several_organizations():
    user = make_user()
    for organization in (make_organization(), make_organization()):
        membership_add(organization=organization, user=user)
    assert user.organizations.count() == 2


def test_it_never_removes_or_demotes_the_last_admin():
    admin, organization = make_user(), make_organization()
    membership = add_member(admin, organization, is_admin=True)
    with pytest.raises(MembershipError, match="last admin"):
        membership_remove(membership=membership)
    with pytest.raises(MembershipError, match="last admin"):
        membership_set_admin(membership=membership, is_admin=False)
    assert Membership.objects.filter(pk=membership.pk, is_admin=True).exists()


def test_it_removes_an_admin_once_another_exists():
    organization = make_organization()
    first = add_member(make_user(), organization, is_admin=True)
    membership_add(organization=organization, user=make_user(), is_admin=True)
    membership_remove(membership=first)
    assert organization.memberships.filter(is_admin=True).count() == 1
