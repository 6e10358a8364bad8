"""Who may author scenarios. Every authoring view goes through here.

Scenarios are not owned by organizations: any user with ``scenarios.author_scenario``
(the Facilitators group) may author any of them. Everyone else gets 403 before any
lookup, so a code's existence never leaks; an author gets 404 for an unknown code.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import User
from scenarios.models import Scenario

AUTHOR_PERMISSION = "scenarios.author_scenario"


def require_author(user: User) -> None:
    if not user.has_perm(AUTHOR_PERMISSION):
        raise PermissionDenied("Only facilitators can author scenarios.")


def scenario_for_author(user: User, code: str) -> Scenario:
    """The scenario with ``code`` for an author: 403 to non-authors, 404 if unknown."""
    require_author(user)
    scenario = Scenario.objects.select_related("rubric", "start_stage").filter(code=code).first()
    if scenario is None:
        raise Http404("No such scenario.")
    return scenario
