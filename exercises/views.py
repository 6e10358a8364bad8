"""Live exercise pages: list, lobby, join, control console, team room, evaluator, observer.

Views only translate: access helper → form → engine function → render. Button
POSTs come from htmx and get the refreshed panel back (the socket brings the
timeline); without JavaScript they redirect back to the page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from exercises import access, collab_state, engine, fragments, live_state, queries
from exercises.engine import EngineError
from exercises.forms import (
    TLP_HELP,
    AdvanceForm,
    DecisionForm,
    ExerciseForm,
    HotwashForm,
    ObservationForm,
    ObservationRevisionForm,
    ParticipantAddForm,
    ShareForm,
    TeamAddForm,
    new_client_token,
)
from exercises.models import Exercise, Participant, Team
from exercises.room_queries import other_team_choices
from exercises.visibility import CONTROL, EVALUATOR, Viewer, page_perspective

# ---------------------------------------------------------------- list, new, entry


@login_required
def exercise_list(request: HttpRequest) -> HttpResponse:
    context = {
        "seats": live_state.seats_for(request.user),
        "can_run": access.can_run_exercises(request.user),
    }
    return render(request, "exercises/live/exercise_list.html", context)


@login_required
def exercise_new(request: HttpRequest) -> HttpResponse:
    access.require_runner(request.user)
    form = ExerciseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            exercise = engine.exercise_create(created_by=request.user, **form.cleaned_data)
        except EngineError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Exercise created. Now seat a team in each role.")
            return redirect("exercises:lobby", code=exercise.code)
    return render(request, "exercises/live/exercise_new.html", {"form": form})


@login_required
def exercise_enter(request: HttpRequest, code: str) -> HttpResponse:
    """Send each participant to their own page of the exercise."""
    exercise, participant = access.exercise_for(request.user, code)
    if participant is None:  # staff without a seat: the read-only feed
        return redirect("exercises:observe", code=exercise.code)
    return redirect(live_state.seat_url(participant))


# ---------------------------------------------------------------- lobby and join


@login_required
def lobby(request: HttpRequest, code: str) -> HttpResponse:
    exercise = access.require_facilitator(request.user, code)
    return render(request, "exercises/live/lobby.html", _lobby_context(request, exercise))


@login_required
def branch_preview(request: HttpRequest, code: str) -> HttpResponse:
    """The console's branch preview, fetched again as decisions arrive."""
    exercise = access.require_facilitator(request.user, code)
    context = {"exercise": exercise, "preview": engine.branch_preview(exercise=exercise)}
    return render(request, "exercises/partials/branch_preview.html#preview-body", context)


@login_required
def due_next(request: HttpRequest, code: str) -> HttpResponse:
    """The console's "next on the timeline", fetched again as the exercise moves."""
    exercise = access.require_facilitator(request.user, code)
    context = {"exercise": exercise, "due_items": engine.due_next(exercise=exercise)}
    return render(request, "exercises/partials/due_next.html#due-body", context)


@login_required
def presence_panel(request: HttpRequest, code: str) -> HttpResponse:
    """Who has the exercise open now (the lobby and the console poll it)."""
    exercise = access.require_facilitator(request.user, code)
    context = live_state.presence_context(exercise)
    return render(request, "exercises/partials/presence.html", context)


def _lobby_context(request: HttpRequest, exercise: Exercise, **forms) -> dict:
    teams = exercise.teams.select_related("role", "organization").prefetch_related("members__user")
    join_links = {
        team.id: request.build_absolute_uri(reverse("exercises:join", args=[team.join_code]))
        for team in teams
    }
    return live_state.presence_context(exercise) | {
        "exercise": exercise,
        "teams": [(team, join_links[team.id]) for team in teams],
        "staff": exercise.participants.exclude(kind=Participant.Kind.PLAYER).select_related("user"),
        "team_form": forms.get("team_form") or TeamAddForm(exercise=exercise),
        "participant_form": forms.get("participant_form") or ParticipantAddForm(),
    }


@login_required
@require_POST
def team_add(request: HttpRequest, code: str) -> HttpResponse:
    exercise = access.require_facilitator(request.user, code)
    form = TeamAddForm(request.POST, exercise=exercise)
    if form.is_valid():
        try:
            team = engine.team_add(exercise=exercise, actor=request.user, **form.cleaned_data)
        except EngineError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{team} seated.")
            return redirect("exercises:lobby", code=exercise.code)
    context = _lobby_context(request, exercise, team_form=form)
    return render(request, "exercises/live/lobby.html", context, status=400)


@login_required
@require_POST
def participant_add(request: HttpRequest, code: str) -> HttpResponse:
    exercise = access.require_facilitator(request.user, code)
    form = ParticipantAddForm(request.POST)
    if form.is_valid():
        try:
            engine.participant_add(
                exercise=exercise,
                user=form.cleaned_data["username"],
                kind=form.cleaned_data["kind"],
                actor=request.user,
            )
        except EngineError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{form.cleaned_data['username']} added.")
            return redirect("exercises:lobby", code=exercise.code)
    context = _lobby_context(request, exercise, participant_form=form)
    return render(request, "exercises/live/lobby.html", context, status=400)


@login_required
def join(request: HttpRequest, join_code: str) -> HttpResponse:
    team = get_object_or_404(
        Team.objects.select_related("exercise", "organization", "role"), join_code=join_code
    )
    error = ""
    if request.method == "POST":
        try:
            engine.team_join(join_code=join_code, user=request.user)
        except EngineError as exc:
            error = str(exc)
        else:
            return redirect("exercises:room", code=team.exercise.code)
    context = {
        "team": team,
        "exercise": team.exercise,
        "error": error,
        "is_member": team.organization.memberships.filter(user=request.user).exists(),
        "already_joined": team.members.filter(user=request.user).exists(),
    }
    return render(request, "exercises/live/join.html", context, status=400 if error else 200)


# ---------------------------------------------------------------- control console


@login_required
def control(request: HttpRequest, code: str) -> HttpResponse:
    exercise = access.require_facilitator(request.user, code)
    context = live_state.page_context(exercise, perspective=CONTROL)
    context.update(live_state.control_context(exercise))
    context.update(live_state.presence_context(exercise))
    context["preview"] = engine.branch_preview(exercise=exercise)
    context["due_items"] = engine.due_next(exercise=exercise)
    context["advance_form"] = AdvanceForm(exercise=exercise)
    context["hotwash_form"] = HotwashForm(initial={"notes": exercise.hotwash_notes})
    context.update(collab_state.control_collab(exercise, last_seq=context["last_seq"]))
    collab_state.attach_replies(context["shares"], team=None, last_seq=context["last_seq"])
    facilitator = Viewer(kind=Participant.Kind.FACILITATOR)
    rfis = collab_state.control_rfis(exercise, reader=facilitator, last_seq=context["last_seq"])
    context.update(rfis)
    return render(request, "exercises/live/control.html", context)


def _control_action(
    request: HttpRequest, code: str, action, *, injects_only: bool = False
) -> HttpResponse:
    """Run ``action(exercise)``; answer htmx with the refreshed panel (``injects_only``:
    its inject list, all a release changes there), others with a redirect."""
    exercise = access.require_facilitator(request.user, code)
    error = ""
    with fragments.keeping_inject_lists() as drawn:
        try:
            action(exercise)
        except EngineError as exc:
            error = str(exc)
    if error:  # else the engine's lock left the committed state on it (engine.core.locked)
        exercise.refresh_from_db()
    if not request.htmx:
        if error:
            messages.error(request, error)
        target = "lobby" if exercise.can("start") else "control"
        return redirect(f"exercises:{target}", code=exercise.code)
    if injects_only:  # the panel's team x prompt table is a dozen queries a release never changes
        # Swapped out of band, as the console's frame is (the button swaps nothing): a
        # release answers with the list its frame drew, not a second drawing of it.
        return HttpResponse(drawn.get(exercise.pk) or fragments.inject_list(exercise, error=error))
    context = live_state.control_context(exercise)
    context.update(error=error, advance_form=AdvanceForm(exercise=exercise))
    return render(request, "exercises/live/control.html#control-panel", context)


@login_required
@require_POST
def start(request: HttpRequest, code: str) -> HttpResponse:
    response = _control_action(
        request, code, lambda ex: engine.exercise_start(exercise=ex, actor=request.user)
    )
    if request.htmx and response.status_code == 200:
        exercise = Exercise.objects.get(code=code)
        if not exercise.can("start"):  # started: the lobby page is done
            response["HX-Redirect"] = reverse("exercises:control", args=[code])
    return response


@login_required
@require_POST
def pause(request: HttpRequest, code: str) -> HttpResponse:
    return _control_action(
        request, code, lambda ex: engine.exercise_pause(exercise=ex, actor=request.user)
    )


@login_required
@require_POST
def resume(request: HttpRequest, code: str) -> HttpResponse:
    return _control_action(
        request, code, lambda ex: engine.exercise_resume(exercise=ex, actor=request.user)
    )


@login_required
@require_POST
def advance(request: HttpRequest, code: str) -> HttpResponse:
    def act(exercise: Exercise) -> None:
        form = AdvanceForm(request.POST, exercise=exercise)
        if not form.is_valid():
            raise EngineError("Choose a stage of this scenario.")
        engine.exercise_advance(
            exercise=exercise,
            actor=request.user,
            to_stage=form.cleaned_data["to_stage"],
            release_skipped=form.cleaned_data["release_skipped"],
            carry_skipped=form.cleaned_data["carry_skipped"],
        )

    return _control_action(request, code, act)


@login_required
def advance_confirm(request: HttpRequest, code: str) -> HttpResponse:
    """Before advancing or overriding: where it leads and what of the stage will then
    never fire (a dialog for htmx, a page without JavaScript)."""
    exercise = access.require_facilitator(request.user, code)
    form = AdvanceForm(request.GET, exercise=exercise)
    to_stage = form.cleaned_data["to_stage"] if form.is_valid() else None
    skipped = engine.skipped_by_leaving(exercise=exercise)
    context = {
        "exercise": exercise,
        "to_stage": to_stage,
        "target": engine.advance_target(exercise=exercise, to_stage=to_stage),
        "skipped": skipped,
        "releasable": any(item.inject for item in skipped),
        "stage": exercise.current_stage,
        "as_page": not request.htmx,
    }
    template = "exercises/partials/advance_confirm.html"
    if not request.htmx:
        template = "exercises/live/advance_confirm_page.html"
    return render(request, template, context)


@login_required
@require_POST
def end(request: HttpRequest, code: str) -> HttpResponse:
    return _control_action(
        request, code, lambda ex: engine.exercise_end(exercise=ex, actor=request.user)
    )


@login_required
@require_POST
def inject_release(request: HttpRequest, code: str, inject_key: str) -> HttpResponse:
    def act(exercise: Exercise) -> None:
        inject = queries.inject_by_key(scenario_id=exercise.scenario_id, key=inject_key)
        if inject is None:
            raise Http404("No such inject.")
        if engine.inject_release(exercise=exercise, inject=inject, actor=request.user) is None:
            raise EngineError(f"“{inject.title}” was already released.")

    return _control_action(request, code, act, injects_only=True)


@login_required
@require_POST
def prompt_toggle(request: HttpRequest, code: str, prompt_key: str, verb: str) -> HttpResponse:
    if verb not in {"open", "close"}:
        raise Http404("No such action.")

    def act(exercise: Exercise) -> None:
        prompt = get_object_or_404(exercise.scenario.prompts, key=prompt_key)
        handler = engine.prompt_open if verb == "open" else engine.prompt_close
        handler(exercise=exercise, prompt=prompt, actor=request.user)

    return _control_action(request, code, act)


@login_required
@require_POST
def hotwash(request: HttpRequest, code: str) -> HttpResponse:
    exercise = access.require_facilitator(request.user, code)
    form = HotwashForm(request.POST)
    saved = False
    if form.is_valid():
        try:
            engine.hotwash_save(exercise=exercise, actor=request.user, **form.cleaned_data)
            saved = True
        except EngineError as exc:
            form.add_error(None, str(exc))
    if not request.htmx:
        if saved:
            messages.success(request, "Hot-wash notes saved.")
        return redirect("exercises:control", code=exercise.code)
    context = {"exercise": exercise, "hotwash_form": form, "saved": saved}
    return render(request, "exercises/live/control.html#hotwash", context)


# ---------------------------------------------------------------- team room


@login_required
def room(request: HttpRequest, code: str) -> HttpResponse:
    exercise, team = access.require_player(request.user, code)
    context = live_state.room_context(exercise, team)
    # Read once for the share and RFI forms.
    others = other_team_choices(exercise_id=exercise.pk, team_id=team.pk)
    context["share_form"] = ShareForm(
        exercise=exercise, team=team, choices=others, initial={"client_token": new_client_token()}
    )
    context.update(collab_state.room_collab(team, last_seq=context["last_seq"]))
    collab_state.mark_known_recipients(context["shares_received"], team)
    collab_state.attach_replies(context["shares_received"], team=team, last_seq=context["last_seq"])
    context.update(
        collab_state.room_rfis(exercise, team, last_seq=context["last_seq"], choices=others)
    )
    return render(request, "exercises/live/room.html", context)


@login_required
@require_POST
def decide(request: HttpRequest, code: str, prompt_key: str) -> HttpResponse:
    exercise, team = access.require_player(request.user, code)
    window = access.window_for_team(exercise, team, prompt_key, user=request.user)
    prompt = window.prompt
    form = DecisionForm(request.POST, prompt=prompt, options=window.options)
    error, decision = "", None
    if form.is_valid():
        try:
            decision = engine.decision_submit(
                exercise=exercise,
                team=team,
                prompt=prompt,
                author=request.user,
                window=window,
                **form.cleaned_data,
            )
        except EngineError as exc:
            error = str(exc)
    if not request.htmx:
        if error or form.errors:
            messages.error(request, error or "Check the decision form.")
        return redirect("exercises:room", code=exercise.code)
    if decision is not None:
        # Taken: the card's status line, drawn from what was just written. The rest of
        # the card (the form as the team filled it) stays; teammates get the status line
        # over the socket.
        context = {"prompt": prompt, "decision": decision, "token": new_client_token()}
        return render(request, "exercises/partials/decision_answered.html", context)
    # Refused: the card again, with the form as sent, the reason, and the window and
    # decision as they are now. It replaces the whole card (it may have closed).
    item = live_state.prompt_item(exercise, team, prompt, form=form)
    if item is None:  # unreachable: window_for_team found it
        raise Http404("No such decision.")
    # The card alone: it shows no clock or stage (the page's status bar does).
    context = {"exercise": exercise, "team": team, "item": item, "error": error}
    response = render(request, "exercises/partials/prompt_card.html", context)
    return reswap(retarget(response, f"#prompt-{prompt.key}"), "outerHTML")


@login_required
@require_POST
def share(request: HttpRequest, code: str) -> HttpResponse:
    exercise, team = access.require_player(request.user, code)
    form = ShareForm(request.POST, exercise=exercise, team=team)
    error, sent = "", None
    if form.is_valid():
        try:
            sent = engine.share_create(
                exercise=exercise, from_team=team, author=request.user, **form.cleaned_data
            )
        except EngineError as exc:
            error = str(exc)
    if not request.htmx:
        if sent:
            messages.success(request, f"Shared “{sent.title}”.")
        else:
            messages.error(request, error or "Check the share form.")
        return redirect("exercises:room", code=exercise.code)
    if sent:  # a clean form for the next share
        form = ShareForm(exercise=exercise, team=team, initial={"client_token": new_client_token()})
    context = {
        "exercise": exercise,
        "team": team,
        "share_form": form,
        "error": error,
        "sent": sent,
        "tlp_help": TLP_HELP,
    }
    return render(request, "exercises/live/room.html#share-form", context)


# ---------------------------------------------------------------- evaluator and observer


@login_required
def evaluate(request: HttpRequest, code: str) -> HttpResponse:
    exercise, seat = access.require_evaluator_seat(request.user, code)
    context = live_state.page_context(exercise, perspective=EVALUATOR)
    context.update(live_state.evaluation_context(exercise, evaluator=request.user))
    context["form"] = ObservationForm(exercise=exercise)
    context.update(collab_state.control_collab(exercise, last_seq=context["last_seq"]))
    reader = access.viewer_for(seat)
    context.update(collab_state.control_rfis(exercise, reader=reader, last_seq=context["last_seq"]))
    return render(request, "exercises/live/evaluate.html", context)


@login_required
@require_POST
def observe_record(request: HttpRequest, code: str) -> HttpResponse:
    exercise = access.require_evaluator(request.user, code)
    form = ObservationForm(request.POST, exercise=exercise)
    error, recorded = "", None
    if form.is_valid():
        try:
            recorded = engine.observation_record(
                exercise=exercise, evaluator=request.user, **form.cleaned_data
            )
        except EngineError as exc:
            error = str(exc)
    if not request.htmx:
        if recorded:
            messages.success(request, "Observation recorded.")
        else:
            messages.error(request, error or "Check the observation form.")
        return redirect("exercises:evaluate", code=exercise.code)
    context = live_state.evaluation_context(exercise, evaluator=request.user)
    context.update(form=ObservationForm(exercise=exercise) if recorded else form, error=error)
    context["recorded"] = recorded
    panel = render_to_string("exercises/live/evaluate.html#evaluation-panel", context, request)
    # The lists too (out of band), in case this browser's socket is down.
    return HttpResponse(panel + _observation_lists(request, context))


def _observation_lists(request: HttpRequest, context: dict) -> str:
    """Everyone's recent observations and the caller's own log, both out of band."""
    context = context | {"oob": True}
    recent = render_to_string("exercises/live/evaluate.html#ratings", context)
    mine = render_to_string("exercises/live/evaluate.html#my-observations", context, request)
    return recent + mine


@login_required
@require_POST
def observation_revise(request: HttpRequest, code: str, observation_code: str) -> HttpResponse:
    exercise, observation = access.own_observation(request.user, code, observation_code)
    form = ObservationRevisionForm(request.POST)
    error = "" if form.is_valid() else "Rate with P, S, M or U."
    if not error:
        try:
            engine.observation_revise(
                exercise=exercise,
                observation=observation,
                evaluator=request.user,
                **form.cleaned_data,
            )
        except EngineError as exc:
            error = str(exc)
    return _after_log_change(request, exercise, error, done="Observation changed.")


@login_required
@require_POST
def observation_delete(request: HttpRequest, code: str, observation_code: str) -> HttpResponse:
    exercise, observation = access.own_observation(request.user, code, observation_code)
    error = ""
    try:
        engine.observation_delete(
            exercise=exercise, observation=observation, evaluator=request.user
        )
    except EngineError as exc:
        error = str(exc)
    return _after_log_change(request, exercise, error, done="Observation deleted.")


def _after_log_change(request: HttpRequest, exercise, error: str, *, done: str) -> HttpResponse:
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done)
        return redirect("exercises:evaluate", code=exercise.code)
    context = live_state.evaluation_context(exercise, evaluator=request.user)
    context["log_error"] = error
    return HttpResponse(_observation_lists(request, context))


@login_required
def observe(request: HttpRequest, code: str) -> HttpResponse:
    exercise, participant = _watching(request, code)
    perspective = page_perspective(access.viewer_for(participant))
    context = live_state.page_context(exercise, perspective=perspective)
    context.update(live_state.observer_picture(exercise))
    return render(request, "exercises/live/observe.html", context)


@login_required
def observer_picture(request: HttpRequest, code: str) -> HttpResponse:
    """The observers' common operating picture alone (the page fetches it again)."""
    exercise, _ = _watching(request, code)
    context = live_state.observer_picture(exercise) | {"exercise": exercise}
    return render(request, "exercises/partials/observer_picture.html#picture-body", context)


def _watching(request: HttpRequest, code: str) -> tuple[Exercise, Participant | None]:
    exercise, participant = access.exercise_for(request.user, code)
    if participant is not None and participant.kind == Participant.Kind.PLAYER:
        raise PermissionDenied("Players follow the exercise in their team room.")
    return exercise, participant
