"""Collaboration pages' POSTs: posting to a team's thread (players, and the control cell as
the simulation cell), relaying a share, asking and answering requests for information.

Views only translate: access helper → form → engine → the refreshed form. The message
itself reaches every page of the thread (the poster's too) over the exercise socket.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from config.limits import TEXT_MESSAGE
from exercises import access, collab_state, engine
from exercises.collab_state import Thread
from exercises.engine import EngineError
from exercises.forms import MessageForm, RfiAnswerForm, RfiForm, new_client_token
from exercises.models import Exercise, Share, Team


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
    context["as_control"] = back == "exercises:control"
    # 200 with the error: htmx swaps no 4xx answer, and the player must read why.
    return render(request, "exercises/partials/message_form.html", context)


def _share_for(exercise: Exercise, team: Team, raw: str | None) -> Share:
    """The share named by ``raw`` (its id, from the query or the form) that the team may
    read; 404 otherwise (an id reveals nothing about shares the team cannot read)."""
    share_id = int(raw) if raw and raw.isdigit() and len(raw) < 12 else None
    share = collab_state.readable_share(exercise, team, share_id) if share_id else None
    if share is None:
        raise Http404("No such share.")
    return share


@login_required
def relay_form(request: HttpRequest, code: str) -> HttpResponse:
    """The form relaying one share, loaded into its item on demand."""
    exercise, team = access.require_player(request.user, code)
    share = _share_for(exercise, team, request.GET.get("share"))
    context = collab_state.relay_context(exercise, team, share)
    return render(request, "exercises/partials/relay_form.html", context)


@login_required
@require_POST
def relay(request: HttpRequest, code: str) -> HttpResponse:
    """Relay a share; a refusal (the marking, the rate) is shown in the form, with why."""
    exercise, team = access.require_player(request.user, code)
    share = _share_for(exercise, team, request.POST.get("share"))
    codes = frozenset(request.POST.getlist("recipients"))
    recipients = list(exercise.teams.filter(code__in=codes))
    try:
        relayed = engine.share_relay(
            exercise=exercise,
            share=share,
            team=team,
            author=request.user,
            recipients=recipients,
            client_token=request.POST.get("client_token", ""),
        )
    except EngineError as exc:
        if not request.htmx:
            messages.error(request, str(exc))
            return redirect("exercises:room", code=code)
        context = collab_state.relay_context(exercise, team, share, checked=codes)
        return render(request, "exercises/partials/relay_form.html", context | {"error": str(exc)})
    if not request.htmx:
        messages.success(request, f"Relayed “{relayed.title}”.")
        return redirect("exercises:room", code=code)
    return render(request, "exercises/partials/relay_done.html", {"relay": relayed})


@login_required
@require_POST
def reply(request: HttpRequest, code: str) -> HttpResponse:
    """Reply to a share's sender; the reply reaches both teams' pages over the socket,
    the form comes back empty (or with why it was refused)."""
    exercise, team = access.require_player(request.user, code)
    share = _share_for(exercise, team, request.POST.get("share"))
    error = ""
    try:
        engine.share_reply(
            exercise=exercise,
            share=share,
            team=team,
            author=request.user,
            body=request.POST.get("body", ""),
            # A form pushed over the socket carries no token: each POST is its own reply.
            client_token=request.POST.get("client_token") or new_client_token(),
        )
    except EngineError as exc:
        error = str(exc)
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("exercises:room", code=code)
    context = {"share": share, "error": error, "exercise": exercise, "sent": not error}
    return render(request, "exercises/partials/reply_form.html", context)


@login_required
def summary_form(request: HttpRequest, code: str) -> HttpResponse:
    """A coordinating body's community-summary form, with the reports addressed to it now."""
    exercise, team = access.require_coordinating_player(request.user, code)
    context = collab_state.summary_context(exercise, team)
    return render(request, "exercises/partials/summary_form.html", context)


@login_required
@require_POST
def summarize(request: HttpRequest, code: str) -> HttpResponse:
    """Send a community summary; a refusal (the marking, the rate) is shown in the form."""
    exercise, team = access.require_coordinating_player(request.user, code)
    ids = [int(raw) for raw in request.POST.getlist("reports") if raw.isdigit() and len(raw) < 12]
    reports = list(exercise.shares.filter(pk__in=ids))
    try:
        sent = engine.share_summarize(
            exercise=exercise,
            team=team,
            author=request.user,
            reports=reports,
            tlp=request.POST.get("tlp", ""),
            title=request.POST.get("title", ""),
            body=request.POST.get("body", ""),
            client_token=request.POST.get("client_token", ""),
        )
    except EngineError as exc:
        if not request.htmx:
            messages.error(request, str(exc))
            return redirect("exercises:room", code=code)
        context = collab_state.summary_context(exercise, team) | {
            "error": str(exc),
            "posted": request.POST,
            "checked": {r.pk for r in reports},
        }
        return render(request, "exercises/partials/summary_form.html", context)
    if not request.htmx:
        messages.success(request, f"Warned every team: “{sent.title}”.")
        return redirect("exercises:room", code=code)
    return render(request, "exercises/partials/summary_done.html", {"summary": sent})


@login_required
@require_POST
def rfi_ask(request: HttpRequest, code: str) -> HttpResponse:
    """A team asks the control cell or another team; the RFI arrives over the socket."""
    exercise, team = access.require_player(request.user, code)
    form = RfiForm(request.POST, exercise=exercise, team=team)
    error, asked = "", None
    if form.is_valid():
        data = form.cleaned_data
        try:
            asked = engine.rfi_ask(
                exercise=exercise,
                team=team,
                author=request.user,
                question=data["question"],
                tlp=data["tlp"],
                to_team=data["to"],
                client_token=data["client_token"],
            )
        except EngineError as exc:
            error = str(exc)
    if not request.htmx:
        if asked:
            messages.success(request, f"Asked {asked.addressee_label}.")
        else:
            messages.error(request, error or "Check the request form.")
        return redirect("exercises:room", code=code)
    if asked:
        form = RfiForm(exercise=exercise, team=team, initial={"client_token": new_client_token()})
    context = {"exercise": exercise, "rfi_form": form, "error": error, "asked": asked}
    return render(request, "exercises/partials/rfi_form.html", context)


@login_required
@require_POST
def rfi_answer(request: HttpRequest, code: str, rfi_code: str) -> HttpResponse:
    """The addressee answers; htmx gets the RFI's item back (the socket brings it too)."""
    exercise, participant, rfi = access.require_rfi(request.user, code, rfi_code)
    form = RfiAnswerForm(request.POST, exercise=exercise)
    error = ""
    if form.is_valid():
        try:
            rfi = engine.rfi_answer(
                exercise=exercise, rfi=rfi, author=request.user, **form.cleaned_data
            )
        except EngineError as exc:
            error = str(exc)
    else:
        error = f"Write an answer of at most {TEXT_MESSAGE} characters."
    back = "exercises:room" if participant.team_id else "exercises:control"
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(back, code=code)
    reader = access.viewer_for(participant)
    item = collab_state.rfi_item(rfi, reader=reader, now_clock=engine.exercise_clock(exercise))
    running = exercise.status == Exercise.Status.RUNNING
    context = {"item": item, "error": error, "answer_form": form, "running": running}
    return render(request, "exercises/partials/rfi_item.html", context)
