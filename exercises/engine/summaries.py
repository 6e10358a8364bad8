"""A coordinating body's community warning: the relay variant an ISAC, a national CERT or
a regulator uses to pass on what its members reported without naming them.

Members report to the coordinating body by addressing shares (or relays) to its team. Its
players may then write a *sanitized summary* of some of those reports: new text, sent to
every other team as a share of the coordinating team (``summarizes`` keeps the chain to
the reports), announced by ``share.summarized``. Its marking must let every team read it
and is bounded by the reports' (``visibility.summary_refusal``): GREEN or CLEAR, never of
a RED report, CLEAR only of CLEAR reports. A refused summary is an over-share attempt,
recorded like a refused relay.
"""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import User
from config.limits import TEXT_SHARE, TEXT_TITLE
from exercises import events
from exercises.clock import exercise_clock
from exercises.engine.core import EngineError, emit, locked, require_length, require_status
from exercises.engine.rate_limits import SHARES, take
from exercises.engine.relays import record_refusal
from exercises.models import Exercise, Participant, Share, Team
from exercises.visibility import SUMMARY_MARKINGS, share_visibility, summary_refusal


def share_summarize(
    *,
    exercise: Exercise,
    team: Team,
    author: User,
    reports: Iterable[Share],
    tlp: str,
    title: str,
    body: str,
    client_token: str,
) -> Share:
    """``team`` (a coordinating body) warns every other team with a summary of
    ``reports`` (shares addressed to it); returns the summary (the existing one for a
    repeated ``client_token``). Raises ``EngineError`` when the team is not a coordinating
    body, a report was not addressed to it, the text is missing or too long, it sends too
    fast, or the marking is refused (then the attempt is recorded first)."""
    reports = list(reports)
    title, body, client_token = title.strip(), body.strip(), client_token.strip()[:64]
    with locked(exercise) as ex:
        existing = Share.objects.filter(from_team=team, client_token=client_token).first()
        if existing is not None:
            return existing
        _check_summary(ex, team=team, author=author, reports=reports, title=title, body=body)
        if not client_token:
            raise EngineError("The submission is missing its token; reload the page.")
        reason = summary_refusal(tlp=tlp, original_tlps=[r.tlp for r in reports])
        if reason and tlp not in SUMMARY_MARKINGS:
            raise EngineError(reason)  # a marking that cannot reach every team: no over-share
        if not reason:
            take(SHARES, exercise_id=ex.pk, subject=f"team-{team.pk}")
            summary = Share.objects.create(
                exercise=ex,
                from_team=team,
                author=author,
                tlp=tlp,
                title=title,
                body=body,
                client_token=client_token,
                clock_seconds=exercise_clock(ex),
            )
            _announce(ex, summary, reports=reports, author=author)
            return summary
    # The reports' markings refuse it: an over-share attempt, recorded against the first
    # report that forbids it (each alone would, the rule being about any of them).
    offending = next(r for r in reports if summary_refusal(tlp=tlp, original_tlps=[r.tlp]))
    everyone = list(exercise.teams.exclude(pk=team.pk))
    record_refusal(
        exercise, share=offending, team=team, author=author, targets=everyone, reason=reason
    )
    raise EngineError(reason)


def _check_summary(
    ex: Exercise, *, team: Team, author: User, reports: list[Share], title: str, body: str
) -> None:
    require_status(ex, "share")
    if team.exercise_id != ex.pk:
        raise EngineError("That team is not part of this exercise.")
    if not Participant.objects.filter(exercise=ex, user=author, team=team).exists():
        raise EngineError("Only the team's players can warn for it.")
    if not team.role.coordinating:
        raise EngineError("Only a coordinating body sends community summaries.")
    if not reports:
        raise EngineError("Choose the reports your summary is about.")
    addressed = set(Share.objects.filter(exercise=ex, recipients=team).values_list("id", flat=True))
    if any(r.pk not in addressed for r in reports):
        raise EngineError("A summary is about reports addressed to your team.")
    if not title or not body:
        raise EngineError("A summary needs a title and a message.")
    require_length(title, limit=TEXT_TITLE, what="The title")
    require_length(body, limit=TEXT_SHARE, what="The message")


def _announce(ex: Exercise, summary: Share, *, reports: list[Share], author: User) -> None:
    """Address the summary to every other team, keep its chain, write its event."""
    recipients = list(ex.teams.exclude(pk=summary.from_team_id).order_by("id"))
    summary.recipients.set(recipients)
    summary.summarizes.set(reports)
    visibility, team_ids = share_visibility(
        tlp=summary.tlp, readers=frozenset(t.pk for t in [*recipients, summary.from_team])
    )
    payload = events.ShareSummarized(
        share_id=summary.pk,
        from_team_id=summary.from_team_id,
        from_team_label=str(summary.from_team),
        tlp=summary.tlp,
        title=summary.title,
        body=summary.body,
        recipient_ids=[t.pk for t in recipients],
        recipient_labels=[str(t) for t in recipients],
        report_count=len(reports),
    )
    emit(
        ex,
        events.SHARE_SUMMARIZED,
        payload,
        visibility=visibility,
        team_ids=team_ids,
        actor=author,
    )
