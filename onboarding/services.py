"""Issuing, answering and mailing invitations by email (``onboarding.models``).

Contracts:

- ``invitation_issue`` returns the invitation and its token; the token exists only in the
  emailed link (the database keeps its SHA-256). Inviting the same address to the same
  organization and exercise again replaces the pending invitation, so only the newest
  link works.
- ``invitation_redeemable`` finds a pending, unexpired invitation by token or raises
  ``InvitationUnusable`` saying why (unknown, expired, already used or declined).
- ``invitation_accept`` and ``account_create_and_accept`` use the invitation once, under a
  row lock, in one transaction with the membership and the seat: either the person is
  in the organization (and seated) and the link is spent, or nothing changed.
- Seats are given by ``exercises.engine.participant_add`` acting as the inviter, so the
  engine's rules (the inviter still facilitates, the exercise still takes people, one
  seat per person) hold and the audit log names who invited.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Membership, Organization, User
from exercises import engine
from exercises.engine import EngineError
from exercises.models import Exercise, Participant, Team
from onboarding.models import EmailInvitation

State = EmailInvitation.State


class InvitationError(Exception):
    """An invitation that cannot be issued or accepted; the message is shown to the user."""


class InvitationUnusable(InvitationError):
    """The link does not lead to a pending invitation; ``reason`` names why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_issue(
    *,
    email: str,
    organization: Organization,
    invited_by: User,
    name: str = "",
    is_admin: bool = False,
    exercise: Exercise | None = None,
    kind: str = "",
    team: Team | None = None,
) -> tuple[EmailInvitation, str]:
    """A new pending invitation and the token of its link (valid for
    ``INVITATION_MAX_AGE_DAYS``). A player's seat needs a team of ``exercise`` sat by
    ``organization``; other seats have no team."""
    if exercise is not None:
        _check_seat(exercise=exercise, organization=organization, kind=kind, team=team)
    email = email.strip()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        EmailInvitation.objects.filter(
            email__iexact=email, organization=organization, exercise=exercise, state=State.PENDING
        ).delete()
        invitation = EmailInvitation.objects.create(
            email=email,
            name=name.strip(),
            organization=organization,
            is_admin=is_admin,
            exercise=exercise,
            kind=kind if exercise is not None else "",
            team=team,
            token_hash=token_hash(token),
            invited_by=invited_by,
            expires_at=timezone.now() + timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
        )
    return invitation, token


def _check_seat(*, exercise: Exercise, organization: Organization, kind: str, team: Team | None):
    if kind not in Participant.Kind.values:
        raise InvitationError("Unknown exercise role.")
    if (kind == Participant.Kind.PLAYER) != (team is not None):
        raise InvitationError("Players, and only players, sit in a team.")
    if team is not None and (
        team.exercise_id != exercise.pk or team.organization_id != organization.pk
    ):
        raise InvitationError(f"{team} is not a team of {organization} in this exercise.")


def invitation_send(*, invitation: EmailInvitation, link: str) -> None:
    """Email ``link`` (the redeem URL with the token) to the invitee."""
    context = {"invitation": invitation, "link": link, "days": settings.INVITATION_MAX_AGE_DAYS}
    subject = render_to_string("onboarding/email_subject.txt", context).strip()
    body = render_to_string("onboarding/email_body.txt", context)
    send_mail(subject, body, None, [invitation.email])


def invitation_redeemable(token: str) -> EmailInvitation:
    """The pending, unexpired invitation whose link carries ``token``."""
    invitation = (
        EmailInvitation.objects.select_related("organization", "exercise", "team__role")
        .filter(token_hash=token_hash(token))
        .first()
    )
    _require_pending(invitation)
    return invitation


def _require_pending(invitation: EmailInvitation | None) -> None:
    if invitation is None:
        raise InvitationUnusable("unknown", "This invitation link is not valid.")
    if invitation.state != State.PENDING:
        raise InvitationUnusable(
            "used", "This invitation link has already been used. Each link works once."
        )
    if invitation.expires_at <= timezone.now():
        raise InvitationUnusable(
            "expired", "This invitation link has expired. Ask whoever invited you for a new one."
        )


def existing_account(invitation: EmailInvitation) -> User | None:
    """The account registered with the invitation's address (or named by it), if any."""
    email = invitation.email
    return User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).first()


def invitation_accept(*, invitation: EmailInvitation, user: User) -> Membership:
    """``user`` (registered with the invited address) accepts: membership, seat, link spent."""
    if user.email.lower() != invitation.email.lower():
        raise InvitationError(
            f"This invitation is for {invitation.email}; you are signed in as {user.username}."
        )
    with transaction.atomic():
        locked = EmailInvitation.objects.select_for_update().get(pk=invitation.pk)
        _require_pending(locked)
        membership = _join(invitation=locked, user=user)
        locked.state, locked.user, locked.answered_at = State.ACCEPTED, user, timezone.now()
        locked.save(update_fields=["state", "user", "answered_at"])
    return membership


def account_create_and_accept(
    *, invitation: EmailInvitation, password: str, display_name: str
) -> User:
    """A new account for the invited address (its username is the address), accepted.

    The caller validates ``password`` with Django's validators first."""
    if existing_account(invitation) is not None:
        raise InvitationError("An account with this address exists: sign in to accept.")
    email = invitation.email.lower()
    with transaction.atomic():
        user = User.objects.create_user(
            username=email, email=email, password=password, display_name=display_name.strip()
        )
        invitation_accept(invitation=invitation, user=user)
    return user


def invitation_decline(*, invitation: EmailInvitation) -> None:
    with transaction.atomic():
        locked = EmailInvitation.objects.select_for_update().get(pk=invitation.pk)
        _require_pending(locked)
        locked.state, locked.answered_at = State.DECLINED, timezone.now()
        locked.save(update_fields=["state", "answered_at"])


def _join(*, invitation: EmailInvitation, user: User) -> Membership:
    membership, created = Membership.objects.get_or_create(
        user=user, organization=invitation.organization, defaults={"is_admin": invitation.is_admin}
    )
    if not created and invitation.is_admin and not membership.is_admin:
        membership.is_admin = True  # an invitation may promote, never demote
        membership.save(update_fields=["is_admin"])
    if invitation.exercise is not None:
        _seat(invitation=invitation, user=user)
    return membership


def _seat(*, invitation: EmailInvitation, user: User) -> None:
    seat = Participant.objects.filter(exercise=invitation.exercise, user=user).first()
    if seat is not None and seat.kind == invitation.kind and seat.team_id == invitation.team_id:
        return
    if invitation.invited_by is None:
        raise InvitationError("Whoever invited you has left; ask the facilitator again.")
    try:
        engine.participant_add(
            exercise=invitation.exercise,
            user=user,
            kind=invitation.kind,
            team=invitation.team,
            actor=invitation.invited_by,
        )
    except EngineError as exc:
        raise InvitationError(str(exc)) from None
