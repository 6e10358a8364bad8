"""Collaboration pages' POSTs: posting to a team's thread (players, and the control cell as
the simulation cell).

Views only translate: access helper → form → engine → the refreshed form. The message
itself reaches every page of the thread (the poster's too) over the exercise socket.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from exercises import access, engine
from exercises.collab_state import Thread
from exercises.engine import EngineError
from exercises.forms import MessageForm
from exercises.models import Exercise, Team


@login_required
@require_POST
def thread_post(request: HttpRequest, code: str) -> HttpResponse:
    """A player posts to their own team's thread."""
    exercise, team = access.require_player(request.user, code)
    post_url = reverse("exercises:thread_post", args=[code])
    return _post(request, exercise, team, post_url=post_url, back="exercises:room")


@login_required
@require_POST
def control_thread_post(request: HttpRequest, code: str, team_code: str) -> HttpResponse:
    """The control cell posts to a team's thread as the simulation cell."""
    exercise = access.require_facilitator(request.user, code)
    team = get_object_or_404(exercise.teams, code=team_code)
    post_url = reverse("exercises:control_thread_post", args=[code, team_code])
    return _post(request, exercise, team, post_url=post_url, back="exercises:control")


def _post(
    request: HttpRequest, exercise: Exercise, team: Team, *, post_url: str, back: str
) -> HttpResponse:
    form = MessageForm(request.POST)
    error, posted = "", False
    if form.is_valid():
        try:
            engine.message_post(
                exercise=exercise, team=team, author=request.user, **form.cleaned_data
            )
            posted = True
        except EngineError as exc:
            error = str(exc)
    if not request.htmx:
        if not posted:
            messages.error(request, error or "Check the message.")
        return redirect(back, code=exercise.code)
    context = {
        "thread": Thread(team, []),
        "message_form": MessageForm() if posted else form,
        "error": error,
        "post_url": post_url,
    }
    if back == "exercises:control":
        context.update(post_label=f"Post to {team} as the simulation cell", post_button="Post")
    # 200 with the error: htmx swaps no 4xx answer, and the player must read why.
    return render(request, "exercises/partials/message_form.html", context)
