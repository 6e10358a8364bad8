"""Membership rules: who may join, leave or administer an organization."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Invitation, Membership, Organization, User


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


def invitation_create(
    *, organization: Organization, username: str, invited_by: User | None, is_admin: bool = False
) -> None:
    """Invite the active user called ``username`` (any case) unless they are a member.

    Returns nothing and does the same visible thing whether or not the user exists, so
    the answer never tells who has an account. ``invited_by`` is None for an invitation
    offered by single sign-on (``accounts.oidc``).
    """
    user = User.objects.filter(username__iexact=username.strip(), is_active=True).first()
    if user is None or organization.memberships.filter(user=user).exists():
        return
    Invitation.objects.update_or_create(
        organization=organization,
        user=user,
        defaults={"invited_by": invited_by, "is_admin": is_admin},
    )


def invitation_accept(*, invitation: Invitation) -> Membership:
    """The invitee says yes: the membership starts and the invitation is used up."""
    with transaction.atomic():
        membership = membership_add(
            organization=invitation.organization,
            user=invitation.user,
            is_admin=invitation.is_admin,
        )
        invitation.delete()
    return membership


def invitation_decline(*, invitation: Invitation) -> None:
    invitation.delete()


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
