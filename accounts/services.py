"""Membership rules: who may join, leave or administer an organization."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Membership, Organization, User


class MembershipError(Exception):
    """A membership change that the rules forbid; the message is shown to the user."""


def organization_create(
    *, name: str, sector: str, creator: User, description: str = ""
) -> Organization:
    """Create an organization whose creator becomes its first admin."""
    with transaction.atomic():
        organization = Organization.objects.create(
            name=name, sector=sector, description=description
        )
        Membership.objects.create(user=creator, organization=organization, is_admin=True)
    return organization


def membership_add(*, organization: Organization, user: User, is_admin: bool = False) -> Membership:
    """Add ``user`` to ``organization``; adding an existing member only updates the flag."""
    membership, created = Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"is_admin": is_admin}
    )
    if not created and membership.is_admin != is_admin:
        return membership_set_admin(membership=membership, is_admin=is_admin)
    return membership


def membership_set_admin(*, membership: Membership, is_admin: bool) -> Membership:
    with transaction.atomic():
        if not is_admin:
            _refuse_if_last_admin(membership)
        membership.is_admin = is_admin
        membership.save(update_fields=["is_admin"])
    return membership


def membership_remove(*, membership: Membership) -> None:
    """Remove a member; an organization always keeps at least one admin."""
    with transaction.atomic():
        _refuse_if_last_admin(membership)
        membership.delete()


def _refuse_if_last_admin(membership: Membership) -> None:
    if not membership.is_admin:
        return
    admins = (
        Membership.objects.select_for_update()
        .filter(organization_id=membership.organization_id, is_admin=True)
        .count()
    )
    if admins <= 1:
        raise MembershipError(
            f"{membership.user} is the last admin of {membership.organization}; "
            "make someone else an admin first."
        )
