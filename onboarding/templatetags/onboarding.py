"""``{% invitation_summary exercise %}``: the lobby's list of who was invited by email and who
accepted. A template tag, so the lobby (in ``exercises``) shows it without importing this
app, which sits above ``exercises``."""

from __future__ import annotations

from django import template

from exercises.models import Exercise

register = template.Library()


@register.inclusion_tag("onboarding/invitation_summary.html")
def invitation_summary(exercise: Exercise) -> dict:
    invitations = exercise.invitations.select_related("organization", "team__role").order_by(
        "organization__name", "name", "email"
    )
    return {"exercise": exercise, "invitations": invitations}
