"""Requests for information: a team asks the control cell or another team a question under
a TLP marking, and the addressee answers.

``rfi.asked`` and ``rfi.answered`` are ``SOME`` with the asking team and the addressed
team (the control cell sees every event): no other team or observer reads them. The
control cell may answer with an inject, released to the asking team alone (its release
key names the RFI, so the inject may still go out to its own audience later).
"""

from __future__ import annotations

from accounts.models import User
from config.limits import TEXT_MESSAGE
from exercises import access, clock, events
from exercises.clock import exercise_clock
from exercises.engine.core import (
    EngineError,
    emit,
    locked,
    require_length,
    require_status,
)
from exercises.engine.injects import release
from exercises.engine.rate_limits import RFIS, take
from exercises.models import Event, Exercise, Participant, Rfi, Team
from scenarios.models import Inject, Tlp

CONTROL_LABEL = "the control cell"


def rfi_ask(
    *,
    exercise: Exercise,
    team: Team,
    author: User,
    question: str,
    tlp: str,
    to_team: Team | None,
    client_token: str,
) -> Rfi:
    """``team`` asks ``to_team`` (None: the control cell) ``question``. The same
    ``client_token`` from the same team returns the existing RFI."""
    question, client_token = question.strip(), client_token.strip()[:64]
    with locked(exercise) as ex:
        existing = Rfi.objects.filter(from_team=team, client_token=client_token).first()
        if existing is not None:
            return existing
        _check_ask(ex, team=team, author=author, question=question, tlp=tlp, to_team=to_team)
        if not client_token:
            raise EngineError("The submission is missing its token; reload the page.")
        rfi = Rfi.objects.create(
            exercise=ex,
            from_team=team,
            to_team=to_team,
            asked_by=author,
            tlp=tlp,
            question=question,
            client_token=client_token,
            asked_clock=exercise_clock(ex),
            asked_at=clock.now(),
        )
        payload = events.RfiAsked(
            rfi_code=rfi.code,
            from_team_id=team.pk,
            from_team_label=str(team),
            to_team_id=to_team.pk if to_team else 0,
            to_label=rfi.addressee_label,
            tlp=tlp,
            question=question,
            author_label=author.get_username(),
        )
        event = emit(
            ex,
            events.RFI_ASKED,
            payload,
            visibility=Event.Visibility.SOME,
            team_ids=_audience(rfi),
            actor=author,
        )
        rfi.asked_seq = event.seq
        rfi.save(update_fields=["asked_seq"])
        return rfi


def _check_ask(
    ex: Exercise, *, team: Team, author: User, question: str, tlp: str, to_team: Team | None
) -> None:
    require_status(ex, "rfi")
    if team.exercise_id != ex.pk or (to_team is not None and to_team.exercise_id != ex.pk):
        raise EngineError("Requests go between teams of this exercise and its control cell.")
    if to_team is not None and to_team.pk == team.pk:
        raise EngineError("Ask your own team in its thread; an RFI goes to someone else.")
    if not Participant.objects.filter(exercise=ex, user=author, team=team).exists():
        raise EngineError("Only the team's players can ask for it.")
    if tlp not in Tlp.values:
        raise EngineError("Choose a TLP marking.")
    _check_text(question, "question")
    take(RFIS, exercise_id=ex.pk, subject=f"user-{author.pk}")


def _check_text(text: str, noun: str) -> None:
    if not text:
        raise EngineError(f"Write the {noun} first.")
    require_length(text, limit=TEXT_MESSAGE, what=f"The {noun}")


def _audience(rfi: Rfi) -> list[int]:
    return [rfi.from_team_id] + ([rfi.to_team_id] if rfi.to_team_id else [])


def rfi_answer(
    *, exercise: Exercise, rfi: Rfi, author: User, answer: str, inject: Inject | None = None
) -> Rfi:
    """The addressee answers ``rfi``: a player of the addressed team, or a facilitator for
    a question to the control cell, who may release ``inject`` to the asking team as (part
    of) the answer. An RFI is answered once."""
    answer = answer.strip()
    with locked(exercise) as ex:
        require_status(ex, "rfi")
        rfi = Rfi.objects.select_related("from_team", "to_team").get(pk=rfi.pk, exercise=ex)
        _check_answer(ex, rfi=rfi, author=author, answer=answer, inject=inject)
        rfi.answer, rfi.answered_by, rfi.answer_inject = answer, author, inject
        rfi.answered_clock, rfi.answered_at = exercise_clock(ex), clock.now()
        rfi.save()
        payload = events.RfiAnswered(
            rfi_code=rfi.code,
            from_team_id=rfi.from_team_id,
            from_team_label=str(rfi.from_team),
            to_label=rfi.addressee_label,
            tlp=rfi.tlp,
            question=rfi.question,
            answer=answer,
            author_label=author.get_username(),
            seconds_to_answer=round(rfi.seconds_to_answer or 0.0, 3),
            inject=inject.key if inject else "",
        )
        emit(
            ex,
            events.RFI_ANSWERED,
            payload,
            visibility=Event.Visibility.SOME,
            team_ids=_audience(rfi),
            actor=author,
        )
        if inject is not None:
            key = f"rfi:{rfi.code}:{inject.key}"
            team_ids = [rfi.from_team_id]
            release(ex, inject, release_key=key, team_ids=team_ids, actor=author, audited=True)
        return rfi


def _check_answer(
    ex: Exercise, *, rfi: Rfi, author: User, answer: str, inject: Inject | None
) -> None:
    if not rfi.is_open:
        raise EngineError("That request was already answered.")
    seat = Participant.objects.filter(exercise=ex, user=author).first()
    is_facilitator = seat is not None and seat.kind == Participant.Kind.FACILITATOR
    if not access.may_answer_rfi(access.viewer_for(seat), rfi):
        if rfi.to_control:
            raise EngineError("Only a facilitator answers for the control cell.")
        raise EngineError("Only the addressed team's players answer this request.")
    if inject is not None and (not is_facilitator or inject.scenario_id != ex.scenario_id):
        raise EngineError("Only the control cell answers with an inject of this scenario.")
    _check_text(answer, "answer")
