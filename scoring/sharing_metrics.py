"""Collaboration metrics of the sharing features (threads, relays, RFIs, TLP compliance):
a pure function over plain facts, and the one read that gathers them.

Per team: messages posted in its thread, shares (originals) and relays sent, relays
refused by the marking (over-share attempts), TLP compliance (the share of its sharing
attempts the marking allowed), RFIs it asked and how many were answered, RFIs put to it
and the mean time it took to answer, and the mean time from an inject reaching it to its
next share. The exercise-wide figures sum or average the same. Times are exercise-clock
seconds.

A coordinating body (an ISAC, a national CERT, a regulator) adds its time to a
community-wide warning: from the first report reaching it (a share or relay of another
team addressed to it) to its first summary after that, which reaches every team
(``method.community_warning_delay``, which the rubric's coordination criterion uses too).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import mean

from exercises.models import Exercise, Message, Rfi, Share, ShareRefusal
from scoring import collect, method
from scoring.access import ReportAccess


@dataclass(frozen=True)
class RfiFact:
    from_team_id: int
    to_team_id: int | None  # None: the control cell
    asked_clock: float
    answered_clock: float | None


@dataclass(frozen=True)
class ShareFact:
    team_id: int
    clock: float
    relay: bool
    summary: bool = False  # a coordinating body's community warning


@dataclass(frozen=True)
class ReleaseFact:
    team_ids: frozenset[int]
    clock: float


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(mean(values), 1) if values else None


def first_share_delays(
    team_id: int, shares: list[ShareFact], releases: list[ReleaseFact]
) -> list[float]:
    """For each inject that reached the team, the time to the team's next share (an
    original, not a relay); injects never followed by one are left out. Pure."""
    own = sorted(s.clock for s in shares if s.team_id == team_id and not s.relay)
    delays = []
    for release in releases:
        if team_id in release.team_ids:
            later = [c for c in own if c >= release.clock]
            if later:
                delays.append(later[0] - release.clock)
    return delays


def sharing_metrics(
    *,
    team_ids: list[int],
    messages: list[int],
    shares: list[ShareFact],
    refusals: list[int],
    rfis: list[RfiFact],
    releases: list[ReleaseFact],
    coordinating: Sequence[method.CoordinatingIn] = (),
) -> dict:
    """Per team (``teams``: team id → figures) and exercise-wide figures. Pure.
    ``messages`` and ``refusals``: the team id of each message and refused relay;
    ``coordinating``: the coordinating bodies, with the reports that reached them."""
    bodies = {body.team_id: body for body in coordinating}
    teams = {}
    for tid in team_ids:
        sent = [s for s in shares if s.team_id == tid]
        refused = refusals.count(tid)
        attempts = len(sent) + refused
        answered_to = [r for r in rfis if r.to_team_id == tid and r.answered_clock is not None]
        asked = [r for r in rfis if r.from_team_id == tid]
        teams[tid] = {
            "messages": messages.count(tid),
            "shares": sum(not s.relay for s in sent),
            "relays": sum(s.relay for s in sent),
            "refused": refused,
            "compliance": round(100 * (attempts - refused) / attempts) if attempts else None,
            "rfis_asked": len(asked),
            "rfis_answered": sum(r.answered_clock is not None for r in asked),
            "rfis_received": sum(r.to_team_id == tid for r in rfis),
            "seconds_to_answer": _mean(r.answered_clock - r.asked_clock for r in answered_to),
            "seconds_to_first_share": _mean(first_share_delays(tid, shares, releases)),
            "reports_received": len(bodies[tid].report_clocks) if tid in bodies else 0,
            "community_warnings": sum(s.summary for s in sent),
            "seconds_to_community_warning": (
                method.community_warning_delay(bodies[tid]) if tid in bodies else None
            ),
        }
    answered = [r for r in rfis if r.answered_clock is not None]
    to_control = [r for r in answered if r.to_team_id is None]
    attempts = len(shares) + len(refusals)
    return {
        "teams": teams,
        "messages": len(messages),
        "relays": sum(s.relay for s in shares),
        "refused": len(refusals),
        "compliance": round(100 * len(shares) / attempts) if attempts else None,
        "rfis_asked": len(rfis),
        "rfis_answered": len(answered),
        "seconds_to_answer": _mean(r.answered_clock - r.asked_clock for r in answered),
        "control_seconds_to_answer": _mean(r.answered_clock - r.asked_clock for r in to_control),
        "seconds_to_first_share": _mean(
            d for tid in team_ids for d in first_share_delays(tid, shares, releases)
        ),
        "community_warnings": sum(s.summary for s in shares),
        "seconds_to_community_warning": _mean(
            delay
            for body in coordinating
            if (delay := method.community_warning_delay(body)) is not None
        ),
    }


def sharing_metrics_for(access: ReportAccess) -> dict:
    """The exercise's figures; the per-team rows of the teams the reader may see, named."""
    exercise: Exercise = access.exercise
    teams = list(exercise.teams.select_related("organization", "role"))
    ids = frozenset(t.pk for t in teams)
    releases = [ReleaseFact(r.team_ids, r.clock_seconds) for r in collect.releases(exercise, ids)]
    summaries = set(
        Share.summarizes.through.objects.filter(from_share__exercise=exercise).values_list(
            "from_share_id", flat=True
        )
    )
    figures = sharing_metrics(
        team_ids=sorted(ids),
        messages=list(
            Message.objects.filter(exercise=exercise, from_control=False).values_list(
                "team_id", flat=True
            )
        ),
        shares=[
            ShareFact(team_id, clock, relayed_from is not None, pk in summaries)
            for pk, team_id, clock, relayed_from in Share.objects.filter(
                exercise=exercise
            ).values_list("pk", "from_team_id", "clock_seconds", "relayed_from_id")
        ],
        refusals=list(
            ShareRefusal.objects.filter(exercise=exercise).values_list("team_id", flat=True)
        ),
        rfis=[
            RfiFact(*row)
            for row in Rfi.objects.filter(exercise=exercise).values_list(
                "from_team_id", "to_team_id", "asked_clock", "answered_clock"
            )
        ],
        releases=releases,
        coordinating=collect.coordinating_bodies(exercise),
    )
    names = {t.pk: str(t) for t in teams}
    figures["teams"] = [
        {"team": names[tid], **row}
        for tid, row in sorted(figures["teams"].items())
        if access.may_see_team(tid)
    ]
    return figures
