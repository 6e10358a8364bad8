"""Invitations sent by email: how people from other organizations get into Cascade.

An ``EmailInvitation`` offers membership of an organization and, for an exercise, a seat
(a team for a player, or another kind of seat). It turns into a ``Membership`` (and a
``Participant``) only when the invitee follows the emailed link and accepts, so nobody
is put anywhere without their consent. The link carries a random token; only its
SHA-256 is stored, so a database read does not hand out working links.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Organization, new_code
from exercises.models import Exercise, Participant, Team


class EmailInvitation(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Invited"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)
    email = models.EmailField()
    name = models.CharField(max_length=120, blank=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="email_invitations"
    )
    is_admin = models.BooleanField(default=False)
    # An exercise seat offered with the membership: a player sits in ``team``.
    exercise = models.ForeignKey(
        Exercise, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    kind = models.CharField(max_length=12, choices=Participant.Kind.choices, blank=True)
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    answered_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="email_invitations",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(exercise__isnull=True) & models.Q(kind=""))
                | (models.Q(exercise__isnull=False) & ~models.Q(kind="")),
                name="a_seat_needs_an_exercise_and_a_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} invited to {self.organization}"
