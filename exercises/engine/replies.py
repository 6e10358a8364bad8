"""Replying to a share: a team that may read a share answers its sender.

A reply goes back to the sender's team only, under the share's marking (the reply is
about what the share said): ``share.replied`` is ``SOME`` with the replying team and the
sender's, so the control cell reads it too and no other team does. It is threaded under
the share in both rooms. Replies are rate-limited like shares (one bucket per team) and
as long as a message at most.
"""

from __future__ import annotations

from accounts.models import User
from config.limits import TEXT_MESSAGE
from exercises import events, queries
from exercises.clock import exercise_clock
from exercises.engine.core import EngineError, emit, locked, require_length, require_status
from exercises.engine.rate_limits import SHARES, take
from exercises.models import Event, Exercise, Participant, Share, ShareReply, Team
from exercises.visibility import share_readers


def share_reply(
    *, exercise: Exercise, share: Share, team: Team, author: User, body: str, client_token: str
) -> ShareReply:
    """``team`` replies ``body`` to the sender of ``share``; the same ``client_token``
    from the same team returns the existing reply. Raises ``EngineError`` when the team
    sent the share or may not read it, the text is empty or too long, or it posts too
    fast."""
    body, client_token = body.strip(), client_token.strip()[:64]
    with locked(exercise) as ex:
        existing = ShareReply.objects.filter(team=team, client_token=client_token).first()
        if existing is not None:
            return existing
        _check_reply(ex, share=share, team=team, author=author, body=body)
        if not client_token:
            raise EngineError("The submission is missing its token; reload the page.")
        take(SHARES, exercise_id=ex.pk, subject=f"team-{team.pk}")
        reply = ShareReply.objects.create(
            exercise=ex,
            share=share,
            team=team,
            author=author,
            tlp=share.tlp,
            body=body,
            client_token=client_token,
            clock_seconds=exercise_clock(ex),
        )
        payload = events.ShareReplied(
            reply_id=reply.pk,
            share_id=share.pk,
            share_title=share.title,
            team_id=team.pk,
            team_label=str(team),
            to_team_id=share.from_team_id,
            to_team_label=str(share.from_team),
            tlp=share.tlp,
            body=body,
            author_label=author.get_username(),
        )
        event = emit(
            ex,
            events.SHARE_REPLIED,
            payload,
            visibility=Event.Visibility.SOME,
            team_ids=sorted({team.pk, share.from_team_id}),
            actor=author,
        )
        reply.event_seq = event.seq
        reply.save(update_fields=["event_seq"])
        return reply


def _check_reply(ex: Exercise, *, share: Share, team: Team, author: User, body: str) -> None:
    require_status(ex, "share")
    if share.exercise_id != ex.pk or team.exercise_id != ex.pk:
        raise EngineError("Replies go between teams of this exercise.")
    if not Participant.objects.filter(exercise=ex, user=author, team=team).exists():
        raise EngineError("Only the team's players can reply for it.")
    if share.from_team_id == team.pk:
        raise EngineError("That is your team's own share: discuss it in your team's thread.")
    readers = share_readers(
        tlp=share.tlp,
        from_team_id=share.from_team_id,
        recipient_ids=share.recipients.values_list("id", flat=True),
        teams=queries.team_infos(ex),
    )
    if team.pk not in readers:
        raise EngineError("Your team cannot read that share, so it cannot reply to it.")
    if not body:
        raise EngineError("Write the reply first.")
    require_length(body, limit=TEXT_MESSAGE, what="The reply")
