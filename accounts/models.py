"""People and the organizations they belong to.

Organization membership is global; the roles a person plays in an exercise are
per exercise and live in ``exercises``.
"""

from __future__ import annotations

import secrets
import string

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from config.limits import TEXT_BRIEF


class Sector(models.TextChoices):
    ENERGY = "energy", "Energy"
    FINANCE = "finance", "Finance"
    HEALTHCARE = "healthcare", "Healthcare"
    TRANSPORT = "transport", "Transport"
    TELECOM = "telecom", "Telecommunications"
    CLOUD_IT = "cloud_it", "Cloud / IT services"
    WATER = "water", "Water"
    GOVERNMENT = "government", "Government"
    MANUFACTURING = "manufacturing", "Manufacturing"


# Letters and digits only: a code is safe as a URL segment, a file name and a command
# argument (a leading "-" would be read as an option). 62**12 is about 2**71.
CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 12


def new_code() -> str:
    """An unguessable URL code (never expose primary keys)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class User(AbstractUser):
    display_name = models.CharField(max_length=120, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def label(self) -> str:
        return str(self)


class Organization(models.Model):
    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)
    name = models.CharField(max_length=160, unique=True)
    sector = models.CharField(max_length=20, choices=Sector.choices)
    description = models.TextField(blank=True, max_length=TEXT_BRIEF)
    members = models.ManyToManyField(User, through="Membership", related_name="organizations")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    is_admin = models.BooleanField(default=False)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")
        ]
        ordering = ["organization__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization}"


class Invitation(models.Model):
    """An admin's offer of membership; it becomes a ``Membership`` only when the invitee
    accepts it, so nobody is put in an organization without their consent."""

    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="invitations_sent"
    )
    is_admin = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_invitation_per_org")
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} invited to {self.organization}"


class AuditEntry(models.Model):
    """Who did what with authority: facilitator and coordinator actions, never edited.

    ``exercise_code`` (not a foreign key) keeps the entry readable after an exercise
    is deleted, and keeps this app free of a dependency on ``exercises``.
    """

    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_entries"
    )
    actor_label = models.CharField(max_length=160)
    action = models.CharField(max_length=60)
    exercise_code = models.CharField(max_length=16, blank=True, db_index=True)
    target = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label}: {self.action} {self.target}"
