"""Relaying a share: a team that may read it passes it on, under the same marking.

The marking decides where a relay may go (``visibility.may_relay``): RED nowhere;
AMBER+STRICT inside the relaying team's organization; AMBER there and to the teams that
depend on the relaying team's role; GREEN and CLEAR to every team. A relay is a ``Share``
of the relaying team (``relayed_from`` the share it passes on), read by whom its marking
lets read it (``visibility.share_readers``), announced by ``share.relayed``.

A refused relay is an over-share attempt: it is recorded (``ShareRefusal``, and a
``share.refused`` event for the control cell) and counted in the TLP compliance metric,
and the team is told why.
"""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import User
from exercises import events, queries
from exercises.clock import exercise_clock
from exercises.engine.core import EngineError, emit, locked, require_status
from exercises.engine.rate_limits import SHARES, take
from exercises.models import Event, Exercise, Participant, Share, ShareRefusal, Team
from exercises.visibility import (
    RELAY_RULES,
    TeamInfo,
    may_relay,
    share_readers,
    share_visibility,
)


def share_relay(
    *,
    exercise: Exercise,
    share: Share,
    team: Team,
    author: User,
    recipients: Iterable[Team],
    client_token: str,
) -> Share:
    """``team`` relays ``share`` to ``recipients``; returns the relay (the existing one for
    a repeated ``client_token``). Raises ``EngineError`` when the team may not read the
    share, names no recipient, posts too fast, or the marking refuses a recipient (then
    the attempt is recorded before the error is raised)."""
    recipients = [t for t in recipients if t.pk != team.pk]
    client_token = client_token.strip()[:64]
    with locked(exercise) as ex:
        existing = Share.objects.filter(from_team=team, client_token=client_token).first()
        if existing is not None:
            return existing
        infos = {info.id: info for info in queries.team_infos(ex)}
        _check_relay(ex, share=share, team=team, author=author, recipients=recipients, infos=infos)
        relayer = infos[team.pk]
        refused = [
            t
            for t in recipients
            if not may_relay(tlp=share.tlp, relayer=relayer, target=infos[t.pk])
        ]
        if not refused:
            return _relay(
                ex,
                share=share,
                team=team,
                author=author,
                recipients=recipients,
                infos=infos,
                client_token=client_token,
            )
    labels = ", ".join(str(t) for t in refused)
    reason = f"{RELAY_RULES[share.tlp]} Not relayed to: {labels}."
    record_refusal(exercise, share=share, team=team, author=author, targets=refused, reason=reason)
    raise EngineError(reason)


def _check_relay(
    ex: Exercise,
    *,
    share: Share,
    team: Team,
    author: User,
    recipients: list[Team],
    infos: dict[int, TeamInfo],
) -> None:
    require_status(ex, "share")
    if share.exercise_id != ex.pk or team.exercise_id != ex.pk:
        raise EngineError("Relays go between teams of this exercise.")
    if any(t.pk not in infos for t in recipients):
        raise EngineError("Relays go between teams of this exercise.")
    if not Participant.objects.filter(exercise=ex, user=author, team=team).exists():
        raise EngineError("Only the team's players can relay for it.")
    readers = share_readers(
        tlp=share.tlp,
        from_team_id=share.from_team_id,
        recipient_ids=share.recipients.values_list("id", flat=True),
        teams=infos.values(),
    )
    if team.pk not in readers:
        raise EngineError("Your team cannot read that share, so it cannot relay it.")
    if not recipients:
        raise EngineError("Choose at least one team to relay it to.")
    take(SHARES, exercise_id=ex.pk, subject=f"team-{team.pk}")


def _relay(
    ex: Exercise,
    *,
    share: Share,
    team: Team,
    author: User,
    recipients: list[Team],
    infos: dict[int, TeamInfo],
    client_token: str,
) -> Share:
    relay = Share.objects.create(
        exercise=ex,
        from_team=team,
        author=author,
        tlp=share.tlp,
        title=share.title,
        body=share.body,
        about_inject=share.about_inject,
        client_token=client_token,
        clock_seconds=exercise_clock(ex),
        relayed_from=share,
    )
    relay.recipients.set(recipients)
    readers = share_readers(
        tlp=share.tlp,
        from_team_id=team.pk,
        recipient_ids=[t.pk for t in recipients],
        teams=infos.values(),
    )
    visibility, team_ids = share_visibility(tlp=share.tlp, readers=readers)
    payload = events.ShareRelayed(
        share_id=relay.pk,
        relayed_from_id=share.pk,
        from_team_id=team.pk,
        from_team_label=str(team),
        tlp=share.tlp,
        title=share.title,
        body=share.body,
        recipient_ids=sorted(t.pk for t in recipients),
        recipient_labels=[str(t) for t in recipients],
        chain_labels=[str(hop.from_team) for hop in relay.chain()],
    )
    emit(ex, events.SHARE_RELAYED, payload, visibility=visibility, team_ids=team_ids, actor=author)
    return relay


def record_refusal(
    exercise: Exercise, *, share: Share, team: Team, author: User, targets: list[Team], reason: str
) -> None:
    """Record an over-share attempt the marking of ``share`` refused (its own transaction:
    the refused write rolled back): a ``ShareRefusal`` and a ``share.refused`` event for
    the control cell. ``reason`` is the sentence the team reads."""
    labels = [str(t) for t in targets]
    with locked(exercise) as ex:
        ShareRefusal.objects.create(
            exercise=ex,
            share=share,
            team=team,
            author=author,
            tlp=share.tlp,
            target_ids=sorted(t.pk for t in targets),
            reason=reason[:300],
            clock_seconds=exercise_clock(ex),
        )
        payload = events.ShareRefused(
            share_id=share.pk,
            team_id=team.pk,
            team_label=str(team),
            tlp=share.tlp,
            title=share.title,
            target_labels=labels,
            reason=reason,
        )
        emit(ex, events.SHARE_REFUSED, payload, visibility=Event.Visibility.CONTROL, actor=author)
