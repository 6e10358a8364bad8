"""Decisions: a team's answer to an open prompt, and its revisions.

Decisions are the hottest write, so the exercise row is locked last and briefly (see
``decision_submit``; docs/live-engine.md). The path's reads are written in SQL
(``exercises.queries``). ``decision.submitted`` is visible to the deciding team (``SOME``).
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from accounts.models import User
from config.limits import TEXT_NOTE
from exercises import clock, events, queries
from exercises.engine.core import (
    EngineError,
    emit,
    emit_for_team_if,
    lock,
    require_length,
    require_status,
    take_state,
)
from exercises.engine.rate_limits import DECISIONS, take
from exercises.engine.timing import apply_due
from exercises.models import (
    Decision,
    DecisionRevision,
    Event,
    Exercise,
    Participant,
    PromptWindow,
    Team,
)
from exercises.writes import Table, Then, Update
from scenarios.models import Option, Prompt

Vis = Event.Visibility

DECISION_ATTEMPTS = 3


class _Retry(Exception):
    """The exercise moved (paused, resumed) between reading it and locking it: decide again."""


def decision_submit(
    *,
    exercise: Exercise,
    team: Team,
    prompt: Prompt,
    author: User,
    client_token: str,
    option: Option | None = None,
    text: str = "",
    rationale: str = "",
    window: PromptWindow | None = None,
) -> Decision:
    """Record ``team``'s answer to an open prompt, or a new revision of it.

    ``window``: the prompt's window as ``queries.answer_window`` read it for ``author``
    and ``team``, after ``exercise`` was read, with ``option`` one of its ``options`` (a
    decide POST has read it to check the key and the form); read here when not given.

    The same ``client_token`` twice returns the decision unchanged and writes no event.
    Consequences of the chosen option are released (at once or after their delay).

    Decisions are the hottest write, so the exercise row is locked last and briefly: the
    team's decision row is read first, under its own row lock (which orders one team's
    submissions). On PostgreSQL one statement then locks the exercise, checks it and
    writes the event, the decision and its revision (``emit_for_team_if``), and the lock
    covers it and the commit; when it finds the exercise moved (or off PostgreSQL, or
    when a consequence falls due) the lock covers re-checking that the prompt is still
    open (saying why not), one statement writing the rows, and the commit. Two first
    answers of one team at once, or one token sent twice at once, meet on a unique
    constraint; the loser decides again and finds the other's row (a revision, or the
    replay).
    """
    client_token = client_token.strip()[:64]
    if not client_token:
        raise EngineError("The submission is missing its token; reload the page.")
    fields = {"text": text.strip(), "rationale": rationale.strip()}
    require_length(fields["text"], limit=TEXT_NOTE, what="The answer")
    require_length(fields["rationale"], limit=TEXT_NOTE, what="The rationale")
    for attempt in range(DECISION_ATTEMPTS):
        try:
            # One request takes one token of the team's allowance, however many attempts;
            # a retry's exercise is newer than the caller's window (``_recheck_window``).
            first = attempt == 0
            return _decide(
                exercise,
                team,
                prompt,
                author,
                client_token,
                option,
                limited=first,
                window=window if first else None,
                **fields,
            )
        except (IntegrityError, _Retry):
            if attempt == DECISION_ATTEMPTS - 1:
                raise EngineError("Others were deciding at the same moment; try again.") from None
    raise AssertionError("unreachable")


def _decide(
    exercise: Exercise,
    team: Team,
    prompt: Prompt,
    author: User,
    client_token: str,
    option: Option | None,
    *,
    limited: bool,
    window: PromptWindow | None,
    text: str,
    rationale: str,
) -> Decision:
    mine = {"team_id": team.pk, "prompt_id": prompt.pk, "client_token": client_token}
    seen_seq = exercise.last_seq  # before the window is read (``_recheck_window``)
    try:
        opened = _open_window_for(
            exercise, team=team, prompt=prompt, author=author, option=option, window=window
        )
        _check_answer(prompt, option=option, text=text)
        if limited:
            take(DECISIONS, exercise_id=exercise.pk, subject=f"team-{team.pk}")
    except EngineError:
        # A resubmission of an accepted answer stays a no-op once the prompt has closed
        # or the team's allowance is spent.
        if (decision := queries.team_decision(**mine)) and decision.replayed:
            return decision
        raise
    running = (exercise.clock_offset_seconds, exercise.running_since)
    latency = round(clock.elapsed_seconds(*running) - opened.opened_at_clock, 3)
    team_label, author_label = str(team), author.label  # related rows: read before any lock
    with transaction.atomic():
        decision = queries.team_decision(**mine, lock=True)
        if decision and decision.replayed:
            return decision
        decision, rows = _decision_rows(
            exercise,
            decision,
            team=team,
            prompt=prompt,
            author=author,
            option=option,
            text=text,
            rationale=rationale,
            latency=latency,
            client_token=client_token,
        )
        payload = events.DecisionSubmitted(
            prompt=prompt.key,
            question=prompt.question,
            team_id=team.pk,
            team_code=team.code,
            team_label=team_label,
            option=option.key if option else "",
            option_label=option.label if option else "",
            text=decision.text,
            revision=decision.revision,
            author_label=author_label,
            latency_seconds=latency,
        )
        # At once: the exercise locked, checked and moved, and the rows written, in one
        # statement. A chosen consequence falls due under the lock, and a condition
        # that fails is said by the checks below.
        ex = None
        if not opened.cascades:
            ex = emit_for_team_if(
                exercise,
                events.DECISION_SUBMITTED,
                payload,
                team_id=team.pk,
                action="decide",
                actor=author,
                then=rows,
                running=running,
                closed_by=seen_seq,
            )
        if ex is None:
            ex = lock(exercise)
            _recheck_window(ex, opened, running=running, copy=exercise, seen_seq=seen_seq)
            emit(
                ex,
                events.DECISION_SUBMITTED,
                payload,
                visibility=Vis.SOME,
                team_ids=[team.pk],
                actor=author,
                then=rows,
            )
            if opened.cascades:  # nothing else falls due because of a decision
                apply_due(ex)
    take_state(exercise, ex)
    return decision


def _open_window_for(
    exercise: Exercise,
    *,
    team: Team,
    prompt: Prompt,
    author: User,
    option: Option | None,
    window: PromptWindow | None,
) -> PromptWindow:
    """The prompt's window with ``seated`` and ``cascades``, read before any lock (or the
    caller's ``window``, ``queries.answer_window``'s). Raises unless the team may decide
    now, as far as this and the caller's copy of the exercise tell; ``_recheck_window``
    confirms it under the lock."""
    if team.exercise_id != exercise.pk:
        raise EngineError("That team is not part of this exercise.")
    require_status(exercise, "decide")
    if window is None:
        window = queries.prompt_window(
            exercise_id=exercise.pk,
            prompt_id=prompt.pk,
            user_id=author.pk,
            team_id=team.pk,
            option_id=option.pk if option else None,
        )
    elif (window.exercise_id, window.prompt_id) != (exercise.pk, prompt.pk):
        raise EngineError("That window is not this prompt's.")
    else:
        window.cascades = _chosen_cascades(window, option)
    if window is None:
        if not Participant.objects.filter(exercise=exercise, user=author, team=team).exists():
            raise EngineError("Only the team's players can decide for it.")
        raise EngineError("This prompt is not open for decisions.")
    if not window.seated:
        raise EngineError("Only the team's players can decide for it.")
    if not window.is_open:
        raise EngineError("This prompt is not open for decisions.")
    if team.pk not in window.team_ids:
        raise EngineError("This prompt was not put to your team.")
    return window


def _chosen_cascades(window: PromptWindow, option: Option | None) -> bool:
    """Whether ``option`` has consequences, as the caller's ``window`` read it (its
    ``options``)."""
    if option is None:
        return False
    chosen = [o.cascades for o in window.options if o.pk == option.pk]
    if not chosen:
        raise EngineError("That option does not belong to this prompt.")
    return chosen[0]


def _check_answer(prompt: Prompt, *, option: Option | None, text: str) -> None:
    if option is not None and option.prompt_id != prompt.pk:
        raise EngineError("That option does not belong to this prompt.")
    needs_option = prompt.kind in (Prompt.Kind.CHOICE, Prompt.Kind.CHOICE_TEXT)
    if needs_option and option is None:
        raise EngineError("Choose one of the options.")
    if prompt.kind == Prompt.Kind.TEXT and option is not None:
        raise EngineError("This prompt takes a written answer, not an option.")
    if prompt.kind in (Prompt.Kind.TEXT, Prompt.Kind.CHOICE_TEXT) and not text:
        raise EngineError("Write your answer.")


def _recheck_window(
    ex: Exercise,
    window: PromptWindow,
    *,
    running: tuple[float, datetime | None],
    copy: Exercise,
    seen_seq: int,
) -> None:
    """Under the exercise lock (``ex``): it still runs on the clock (``running``) the latency was
    measured with (else the caller's ``copy`` is brought up to date and ``_Retry``), and
    the window was not closed meanwhile (a close takes this lock too, so the answer holds
    until the commit). The window is read again only if a prompt closed after event
    ``seen_seq``, the caller's last before the window was read: each statement under this
    lock is a wait that every other team's decision shares, and under load these waits
    capped an exercise's decisions per second (bench/README.md, "Ninth pass")."""
    require_status(ex, "decide")
    if (ex.clock_offset_seconds, ex.running_since) != running:
        take_state(copy, ex)
        raise _Retry
    closed_since = events.window_closed_since(ex.visibility_marks, seen_seq)
    if closed_since and not queries.window_still_open(window.pk):
        raise EngineError("This prompt is not open for decisions.")


def _decision_rows(
    ex: Exercise,
    decision: Decision | None,
    *,
    team: Team,
    prompt: Prompt,
    author: User,
    option: Option | None,
    text: str,
    rationale: str,
    latency: float,
    client_token: str,
) -> tuple[Decision, list[Then | Update]]:
    """The team's decision (new, or ``decision`` revised) and its new revision, unsaved,
    with the rows that write them in the event's statement."""
    now = clock.now()
    if decision is None:
        decision = Decision(exercise=ex, team=team, prompt=prompt, revision=0)
    decision.option, decision.text, decision.rationale = option, text, rationale
    decision.author, decision.latency_seconds, decision.submitted_at = author, latency, now
    decision.revision += 1
    revision = DecisionRevision(
        decision=decision,
        revision=decision.revision,
        option=option,
        text=text,
        rationale=rationale,
        author=author,
        client_token=client_token,
        latency_seconds=latency,
        submitted_at=now,
    )
    if decision.pk is None:
        return decision, [
            Then(_DECISIONS, decision),
            Then(_REVISIONS, revision, ref="decision_id", of=decision),
        ]
    # The columns a revision changes (the rest name the team, prompt and exercise).
    return decision, [Update(_DECISIONS, decision, _REVISED), Then(_REVISIONS, revision)]


# Written out (``exercises.writes``): the hottest write.
_DECISIONS, _REVISIONS = Table(Decision), Table(DecisionRevision)
_REVISED = (
    "option_id",
    "text",
    "rationale",
    "author_id",
    "latency_seconds",
    "submitted_at",
    "revision",
)
