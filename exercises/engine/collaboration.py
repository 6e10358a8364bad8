"""Collaboration: intelligence one team shares with others under a TLP marking, and the
evaluators' observations.

``share.created`` is visible by its marking: CLEAR → ``ALL``, GREEN → ``TEAMS``,
otherwise ``SOME`` with the share's readers (``visibility.share_readers``).
``observation.recorded`` → ``CONTROL``. An evaluator revises or deletes their own
observations while the exercise is under way (audited; the timeline keeps what was first
recorded, the report uses what stands).
"""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import User
from config.limits import TEXT_NOTE, TEXT_SHARE, TEXT_TITLE
from exercises import clock, events, queries
from exercises.clock import exercise_clock
from exercises.engine.core import (
    EngineError,
    audit,
    emit,
    locked,
    require_length,
    require_status,
)
from exercises.engine.rate_limits import OBSERVATIONS, SHARES, take
from exercises.models import Event, Exercise, Observation, Participant, Share, Team
from exercises.visibility import share_readers, share_visibility
from scenarios.models import Criterion, Inject, Tlp

Vis = Event.Visibility


def share_create(
    *,
    exercise: Exercise,
    from_team: Team,
    author: User,
    tlp: str,
    title: str,
    body: str,
    recipients: Iterable[Team],
    client_token: str,
    about_inject: Inject | None = None,
) -> Share:
    """Pass intelligence to other teams; the TLP marking decides who can read it.

    The same ``client_token`` from the same team returns the existing share.
    """
    recipients = [team for team in recipients if team.pk != from_team.pk]
    title, body, client_token = title.strip(), body.strip(), client_token.strip()[:64]
    with locked(exercise) as ex:
        existing = Share.objects.filter(from_team=from_team, client_token=client_token).first()
        if existing is not None:
            return existing
        _check_share(
            ex,
            from_team=from_team,
            author=author,
            tlp=tlp,
            title=title,
            body=body,
            recipients=recipients,
            client_token=client_token,
        )
        readers = share_readers(
            tlp=tlp,
            from_team_id=from_team.pk,
            recipient_ids=[t.pk for t in recipients],
            teams=queries.team_infos(ex),
        )
        share = Share.objects.create(
            exercise=ex,
            from_team=from_team,
            author=author,
            tlp=tlp,
            title=title,
            body=body,
            about_inject=about_inject,
            client_token=client_token,
            clock_seconds=exercise_clock(ex),
        )
        share.recipients.set(recipients)
        visibility, team_ids = share_visibility(tlp=tlp, readers=readers)
        payload = events.ShareCreated(
            share_id=share.pk,
            from_team_id=from_team.pk,
            from_team_label=str(from_team),
            tlp=tlp,
            title=title,
            body=body,
            recipient_ids=sorted(t.pk for t in recipients),
            recipient_labels=[str(t) for t in recipients],
            about_inject=about_inject.key if about_inject else "",
        )
        emit(
            ex,
            events.SHARE_CREATED,
            payload,
            visibility=visibility,
            team_ids=team_ids,
            actor=author,
        )
        return share


def _check_share(
    ex: Exercise,
    *,
    from_team: Team,
    author: User,
    tlp: str,
    title: str,
    body: str,
    recipients: list[Team],
    client_token: str,
) -> None:
    require_status(ex, "share")
    if from_team.exercise_id != ex.pk or any(t.exercise_id != ex.pk for t in recipients):
        raise EngineError("Shares go between teams of this exercise.")
    if not Participant.objects.filter(exercise=ex, user=author, team=from_team).exists():
        raise EngineError("Only the team's players can share for it.")
    if tlp not in Tlp.values:
        raise EngineError("Choose a TLP marking.")
    if tlp in (Tlp.RED, Tlp.AMBER_STRICT, Tlp.AMBER) and not recipients:
        raise EngineError(f"TLP:{tlp} needs at least one recipient team.")
    if not title or not body:
        raise EngineError("A share needs a title and a message.")
    require_length(title, limit=TEXT_TITLE, what="The title")
    require_length(body, limit=TEXT_SHARE, what="The message")
    if not client_token:
        raise EngineError("The submission is missing its token; reload the page.")
    take(SHARES, exercise_id=ex.pk, subject=f"team-{from_team.pk}")


def observation_record(
    *,
    exercise: Exercise,
    team: Team,
    criterion: Criterion,
    evaluator: User,
    rating: str,
    note: str = "",
) -> Observation:
    """An evaluator's (or facilitator's) P/S/M/U rating of a team on a rubric criterion."""
    with locked(exercise) as ex:
        require_status(ex, "observe")
        allowed = (Participant.Kind.EVALUATOR, Participant.Kind.FACILITATOR)
        if not Participant.objects.filter(exercise=ex, user=evaluator, kind__in=allowed).exists():
            raise EngineError("Only evaluators and facilitators record observations.")
        if team.exercise_id != ex.pk:
            raise EngineError("That team is not part of this exercise.")
        if criterion.rubric_id != ex.scenario.rubric_id:
            raise EngineError("That criterion is not in this scenario's rubric.")
        _check_rating(rating, note)
        take(OBSERVATIONS, exercise_id=ex.pk, subject=f"user-{evaluator.pk}")
        observation = Observation.objects.create(
            exercise=ex,
            team=team,
            criterion=criterion,
            evaluator=evaluator,
            rating=rating,
            note=note.strip(),
            clock_seconds=exercise_clock(ex),
        )
        payload = events.ObservationRecorded(
            observation_id=observation.pk,
            team_id=team.pk,
            team_label=str(team),
            criterion=criterion.key,
            criterion_title=criterion.title,
            rating=rating,
            note=observation.note,
        )
        emit(ex, events.OBSERVATION_RECORDED, payload, visibility=Vis.CONTROL, actor=evaluator)
        return observation


def observation_revise(
    *, exercise: Exercise, observation: Observation, evaluator: User, rating: str, note: str
) -> Observation:
    """Change the rating and note of ``evaluator``'s own observation, until the end."""
    with locked(exercise) as ex:
        observation = _own_observation(ex, observation, evaluator)
        _check_rating(rating, note)
        take(OBSERVATIONS, exercise_id=ex.pk, subject=f"user-{evaluator.pk}")
        before = observation.rating
        observation.rating, observation.note = rating, note.strip()
        observation.revised_at = clock.now()
        observation.save(update_fields=["rating", "note", "revised_at"])
        audit(ex, evaluator, "observation.revise", observation.code, rating=rating, was=before)
        return observation


def observation_delete(*, exercise: Exercise, observation: Observation, evaluator: User) -> None:
    """Withdraw ``evaluator``'s own observation, until the end."""
    with locked(exercise) as ex:
        observation = _own_observation(ex, observation, evaluator)
        audit(
            ex,
            evaluator,
            "observation.delete",
            observation.code,
            team=observation.team_id,
            criterion=observation.criterion_id,
            rating=observation.rating,
        )
        observation.delete()


def _own_observation(ex: Exercise, observation: Observation, evaluator: User) -> Observation:
    """The observation re-read under the lock, if ``evaluator`` may still change it."""
    require_status(ex, "revise_observation")
    current = Observation.objects.filter(pk=observation.pk, exercise=ex).first()
    if current is None:
        raise EngineError("That observation no longer exists.")
    if current.evaluator_id != evaluator.pk:
        raise EngineError("Only its evaluator can change an observation.")
    return current


def _check_rating(rating: str, note: str) -> None:
    if rating not in Observation.Rating.values:
        raise EngineError("Rate with P, S, M or U.")
    require_length(note.strip(), limit=TEXT_NOTE, what="The note")
