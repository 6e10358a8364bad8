"""What an exercise's reader may export as intelligence: the shares, relays and requests for
information of the exercise, with exactly the rights the web report gives them.

A share, relay or RFI is in a reader's export when its event is in the reader's report
timeline (``can_see_event`` with ``ReportAccess.viewer``, as ``scoring.report`` does); an
RFI's answer when its ``rfi.answered`` event is; a reply to a share when its
``share.replied`` event is (the replying team, the sender's team and full readers).
Recipients are named only where the marking lets the reader know them
(``visibility.knows_recipients``), as on the live page.
The STIX and MISP renderers (``scoring.exports.stix``, ``misp``) read only this.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from exercises import events
from exercises.models import Event, Exercise, Rfi, Share, ShareReply
from exercises.visibility import can_see_event, knows_recipients
from scoring.access import ReportAccess

# Deterministic ids: the same exercise exports the same STIX ids and MISP uuids each time.
NAMESPACE = uuid.UUID("4f1c7d2e-6b7a-4c1e-9a53-2f0a3d9c8b71")


def stable_uuid(*parts: object) -> str:
    """A UUID derived from ``parts`` (name-based, like uuid5) but shaped as version 4:
    STIX 2.1 asks for UUIDv4 ids and the validator's strict mode enforces it."""
    derived = uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts))
    return str(uuid.UUID(bytes=derived.bytes, version=4))


@dataclass(frozen=True)
class Intel:
    exercise: Exercise
    shares: list[Share]  # originals, relays and community warnings, oldest first
    recipients_known: dict[int, bool]  # share id → may the reader learn its recipients
    rfis: list[Rfi]  # oldest first
    answers_visible: frozenset[int]  # ids of the RFIs whose answer the reader may read
    # ids of the coordinating bodies' community warnings (a summary names no reporter)
    summaries: frozenset[int]
    replies: list[ShareReply]  # replies to shares, oldest first


SHARE_KINDS = (events.SHARE_CREATED, events.SHARE_RELAYED, events.SHARE_SUMMARIZED)
KINDS = (*SHARE_KINDS, events.SHARE_REPLIED, events.RFI_ASKED, events.RFI_ANSWERED)


def collect_intel(access: ReportAccess) -> Intel:
    """The reader's shares, relays and RFIs of ``access.exercise``."""
    exercise = access.exercise
    rows = Event.objects.filter(exercise=exercise, kind__in=KINDS).order_by("seq")
    seen = [e for e in rows if can_see_event(e, viewer=access.viewer)]
    share_ids = {e.payload.get("share_id") for e in seen if e.kind in SHARE_KINDS}
    summaries = frozenset(
        e.payload.get("share_id") for e in seen if e.kind == events.SHARE_SUMMARIZED
    )
    asked = {e.payload.get("rfi_code") for e in seen if e.kind == events.RFI_ASKED}
    answered = {e.payload.get("rfi_code") for e in seen if e.kind == events.RFI_ANSWERED}
    shares = list(
        Share.objects.filter(exercise=exercise, pk__in=share_ids)
        .select_related("from_team__organization", "author")
        .prefetch_related("recipients__organization")
        .order_by("created_at", "id")
    )
    reader = None if access.full else (access.team.pk if access.team else -1)
    known = {
        s.pk: knows_recipients(
            tlp=s.tlp,
            reader_team_id=reader,
            from_team_id=s.from_team_id,
            recipient_ids=[r.pk for r in s.recipients.all()],
        )
        for s in shares
    }
    rfis = list(
        Rfi.objects.filter(exercise=exercise, code__in=asked)
        .select_related("from_team__organization", "to_team__organization")
        .order_by("asked_at", "id")
    )
    visible_answers = frozenset(r.pk for r in rfis if r.code in answered and not r.is_open)
    reply_ids = {e.payload.get("reply_id") for e in seen if e.kind == events.SHARE_REPLIED}
    replies = list(
        ShareReply.objects.filter(exercise=exercise, pk__in=reply_ids)
        .select_related("team__organization", "share__from_team")
        .order_by("created_at", "id")
    )
    return Intel(exercise, shares, known, rfis, visible_answers, summaries, replies)
