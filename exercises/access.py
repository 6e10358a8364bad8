"""Who may see and run an exercise. Every live entry point (views, consumers) goes through here.

Outsiders get 404 (an exercise code reveals nothing), participants without the needed
seat get 403. Staff may look at any exercise (as observers) but act only with a seat.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import User
from exercises import queries
from exercises.models import Exercise, Observation, Participant, PromptWindow, Rfi, Team
from exercises.visibility import Viewer

Kind = Participant.Kind


def can_run_exercises(user: User) -> bool:
    """Whether ``user`` may set up and facilitate exercises (the ``run_exercise`` permission)."""
    return user.has_perm("exercises.run_exercise")


def require_runner(user: User) -> None:
    """403 unless ``user`` may set up exercises."""
    if not can_run_exercises(user):
        raise PermissionDenied("Only facilitators can set up exercises.")


def exercise_for(user: User, code: str) -> tuple[Exercise, Participant | None]:
    """The exercise with ``code`` and ``user``'s seat in it; 404 unless seated (staff ok)."""
    if not user.is_authenticated:
        raise Http404("No such exercise.")
    participant = queries.seat(code=code, user_id=user.pk)
    if participant is not None:
        return participant.exercise, participant
    exercise = Exercise.objects.select_related("scenario").filter(code=code).first()
    if exercise is None or not user.is_staff:
        raise Http404("No such exercise.")
    return exercise, None


def require_facilitator(user: User, code: str) -> Exercise:
    """The exercise if ``user`` facilitates it: 404 to outsiders, 403 to other participants."""
    exercise, participant = exercise_for(user, code)
    if participant is None or participant.kind != Kind.FACILITATOR:
        raise PermissionDenied("Only the exercise's facilitators can do that.")
    return exercise


def require_player(user: User, code: str) -> tuple[Exercise, Team]:
    """The exercise and ``user``'s team: 404 to outsiders, 403 unless a player."""
    exercise, participant = exercise_for(user, code)
    if participant is None or participant.kind != Kind.PLAYER or participant.team is None:
        raise PermissionDenied("Only players of a team can do that.")
    return exercise, participant.team


def require_coordinating_player(user: User, code: str) -> tuple[Exercise, Team]:
    """``require_player``, for a team whose role is a coordinating body (an ISAC, a
    national CERT, a regulator): 403 to the players of the other teams."""
    exercise, team = require_player(user, code)
    if not team.role.coordinating:
        raise PermissionDenied("Only a coordinating body sends community summaries.")
    return exercise, team


def require_evaluator(user: User, code: str) -> Exercise:
    """The exercise if ``user`` evaluates or facilitates it: 404 outsiders, 403 others."""
    return require_evaluator_seat(user, code)[0]


def require_evaluator_seat(user: User, code: str) -> tuple[Exercise, Participant]:
    """``require_evaluator``, with the seat (an evaluator and a facilitator read the
    evaluator console alike but do not answer the same things)."""
    exercise, participant = exercise_for(user, code)
    if participant is None or participant.kind not in (Kind.EVALUATOR, Kind.FACILITATOR):
        raise PermissionDenied("Only evaluators and facilitators can do that.")
    return exercise, participant


def own_observation(user: User, code: str, observation_code: str) -> tuple[Exercise, Observation]:
    """The exercise and ``user``'s observation ``observation_code`` in it: 404 outsiders and
    unknown codes, 403 to anyone but its evaluator."""
    exercise = require_evaluator(user, code)
    observation = Observation.objects.filter(exercise=exercise, code=observation_code).first()
    if observation is None:
        raise Http404("No such observation.")
    if observation.evaluator_id != user.pk:
        raise PermissionDenied("Only its evaluator can change an observation.")
    return exercise, observation


def window_for_team(exercise: Exercise, team: Team, key: str, *, user: User) -> PromptWindow:
    """The window of prompt ``key`` if it was put to ``team`` in this exercise (opened for
    it, open or closed since), as ``user`` answers it (``queries.answer_window``: its
    prompt, options and ``seated``). Otherwise 404, the same answer whether the key is
    unknown, names a prompt not opened yet, or one put only to other teams: keys reveal
    nothing."""
    window = queries.answer_window(exercise, key, user_id=user.pk, team_id=team.pk)
    if window is None or team.pk not in window.team_ids:
        raise Http404("No such decision.")
    return window


def viewer_for(participant: Participant | None) -> Viewer:
    """How the visibility rules see a participant; ``None`` (staff without a seat) observes."""
    if participant is None:
        return Viewer(kind=Kind.OBSERVER)
    team_id = participant.team_id if participant.kind == Kind.PLAYER else None
    return Viewer(kind=participant.kind, team_id=team_id)


def may_answer_rfi(viewer: Viewer, rfi: Rfi) -> bool:
    """Whether ``viewer`` answers ``rfi`` now: a facilitator the open questions put to the
    control cell, a player of the addressed team the others. The engine (``rfi_answer``)
    and every page showing an answer form ask this one rule."""
    if not rfi.is_open:
        return False
    if rfi.to_control:
        return viewer.kind == Kind.FACILITATOR
    return viewer.is_player and viewer.team_id == rfi.to_team_id


def require_rfi(user: User, code: str, rfi_code: str) -> tuple[Exercise, Participant, Rfi]:
    """An RFI of the exercise that ``user`` may act on: a facilitator any, a player those
    asked by or put to their team (404 otherwise: a code reveals nothing); 403 to the
    other seats."""
    exercise, participant = exercise_for(user, code)
    if participant is None or participant.kind not in (Kind.FACILITATOR, Kind.PLAYER):
        raise PermissionDenied("Only players and facilitators act on requests for information.")
    rfi = Rfi.objects.filter(exercise=exercise, code=rfi_code).first()
    if rfi is None:
        raise Http404("No such request.")
    if participant.kind == Kind.PLAYER and participant.team_id not in (
        rfi.from_team_id,
        rfi.to_team_id,
    ):
        raise Http404("No such request.")
    return exercise, participant, rfi
