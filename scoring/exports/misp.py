"""MISP event JSON of what an exercise's reader may see of its intelligence sharing
(``scoring.exports.intel``): one event, one ``text`` attribute per share, relay, reply,
RFI and answer, each tagged with its marking from MISP's TLP taxonomy (``tlp:amber+strict``,
``tlp:clear``...). The event itself stays with the importing organization
(``distribution`` 0); attributes inherit it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from scoring.access import ReportAccess
from scoring.exports.intel import Intel, collect_intel, stable_uuid


def tlp_tag(tlp: str) -> dict[str, str]:
    return {"name": f"tlp:{tlp.lower()}"}


def render(access: ReportAccess) -> bytes:
    return json.dumps(document(collect_intel(access)), indent=2, ensure_ascii=False).encode()


def document(intel: Intel) -> dict[str, Any]:
    exercise = intel.exercise
    code = exercise.code
    attributes = [_share(s, intel) for s in intel.shares]
    attributes += [_reply(r, intel) for r in intel.replies]
    for rfi in intel.rfis:
        attributes.append(
            _attribute(
                ("rfi", rfi.code),
                intel,
                value=rfi.question,
                comment=f"Request for information from {rfi.from_team} to {rfi.addressee_label}",
                tlp=rfi.tlp,
                at=rfi.asked_at,
            )
        )
        if rfi.pk in intel.answers_visible:
            attributes.append(
                _attribute(
                    ("answer", rfi.code),
                    intel,
                    value=rfi.answer,
                    comment=f"Answer of {rfi.addressee_label} to {rfi.from_team}",
                    tlp=rfi.tlp,
                    at=rfi.answered_at,
                )
            )
    started = exercise.started_at or exercise.created_at
    return {
        "Event": {
            "uuid": stable_uuid(code, "misp-event"),
            "info": f"Cascade exercise “{exercise.name}”: shared intelligence and requests",
            "date": started.date().isoformat(),
            "timestamp": str(int(started.timestamp())),
            "published": False,
            "analysis": "2",
            "threat_level_id": "4",
            "distribution": "0",
            "Attribute": attributes,
        }
    }


def _share(share, intel: Intel) -> dict[str, Any]:
    verb = "Relayed by" if share.relayed_from_id else "Shared by"
    if share.pk in intel.summaries:
        verb = "Community warning (a sanitized summary) from"
    to = ""
    if intel.recipients_known[share.pk]:
        names = ", ".join(str(r) for r in share.recipients.all())
        to = f" to {names or 'every team'}"
    return _attribute(
        ("share", share.pk),
        intel,
        value=f"{share.title}\n\n{share.body}",
        comment=f"{verb} {share.from_team}{to}",
        tlp=share.tlp,
        at=share.created_at,
    )


def _reply(reply, intel: Intel) -> dict[str, Any]:
    share = reply.share
    return _attribute(
        ("reply", reply.pk),
        intel,
        value=reply.body,
        comment=f"Reply of {reply.team} to the share “{share.title}” of {share.from_team}",
        tlp=reply.tlp,
        at=reply.created_at,
    )


def _attribute(
    key: tuple[str, object], intel: Intel, *, value: str, comment: str, tlp: str, at: datetime
) -> dict[str, Any]:
    return {
        "uuid": stable_uuid(intel.exercise.code, *key),
        "type": "text",
        "category": "Other",
        "value": value,
        "comment": comment,
        "to_ids": False,
        "distribution": "5",
        "timestamp": str(int(at.timestamp())),
        "Tag": [tlp_tag(tlp)],
    }
