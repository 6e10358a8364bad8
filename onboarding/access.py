"""Who may invite by email. Every onboarding view goes through here (or through the
access module of the app whose object it is: ``accounts.access``, ``exercises.access``).

Redeeming a link needs no seat: the token in the link is the capability, and accepting
needs the account registered with the invited address (``services.invitation_accept``).
"""

from __future__ import annotations

from accounts.access import organization_for_admin
from accounts.models import Organization, User
from exercises.access import require_facilitator
from exercises.models import Exercise


def organization_inviter(user: User, code: str) -> Organization:
    """The organization if ``user`` administers it: 404 outsiders, 403 plain members."""
    return organization_for_admin(user, code)


def exercise_inviter(user: User, code: str) -> Exercise:
    """The exercise if ``user`` facilitates it: 404 outsiders, 403 other participants."""
    return require_facilitator(user, code)
