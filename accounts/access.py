"""Who may see and manage an organization. Every accounts view goes through here."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import Invitation, Membership, Organization, User

# Creating an organization is granted (to facilitators and admins), not open to everyone.
CREATE_ORGANIZATION = "accounts.add_organization"


def require_organization_creator(user: User) -> None:
    if not user.has_perm(CREATE_ORGANIZATION):
        raise PermissionDenied("Only facilitators and administrators create organizations.")


def invitation_for(user: User, code: str) -> Invitation:
    """``user``'s own pending invitation with ``code``; 404 for anyone else's."""
    invitation = (
        Invitation.objects.select_related("organization").filter(code=code, user=user).first()
    )
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def organization_for_member(user: User, code: str) -> tuple[Organization, Membership | None]:
    """The organization with ``code`` if ``user`` belongs to it (staff see all); else 404."""
    organization = Organization.objects.filter(code=code).first()
    if organization is None:
        raise Http404("No such organization.")
    membership = Membership.objects.filter(user=user, organization=organization).first()
    if membership is None and not user.is_staff:
        raise Http404("No such organization.")
    return organization, membership


def organization_for_admin(user: User, code: str) -> Organization:
    """The organization if ``user`` administers it: 404 to outsiders, 403 to plain members."""
    organization, membership = organization_for_member(user, code)
    if not user.is_staff and not (membership and membership.is_admin):
        raise PermissionDenied("Only the organization's admins can change its members.")
    return organization
