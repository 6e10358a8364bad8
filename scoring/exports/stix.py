"""STIX 2.1 bundle of what an exercise's reader may see of its intelligence sharing
(``scoring.exports.intel``), built with the ``stix2`` library.

Mapping: each organization an ``identity`` (the control cell one too, for RFIs put to
it); each share a ``report`` by its team's organization (``object_refs``: the recipients
the reader may know of, else the author); each relay a ``report`` too, with a
``derived-from`` ``relationship`` to the share it relays when the reader has that one;
each RFI a ``note`` (and its answer a ``note`` about it); each reply to a share a ``note``
about the share's ``report`` by the replying organization (a ``note``, not an ``opinion``:
a reply adds free text, it does not grade the share on the agree/disagree scale that an
``opinion`` requires). Every object is marked with the
official TLP 2.0 ``marking-definition`` of its marking (OASIS, cti-stix-common-objects,
"tlp-2.0" extension); the bundle carries the definitions it uses.
"""

from __future__ import annotations

from typing import Any

import stix2

from accounts.models import Organization
from scenarios.models import Tlp
from scoring.access import ReportAccess
from scoring.exports.intel import Intel, collect_intel, stable_uuid

TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
# The official TLP 2.0 marking definitions (created 2022-10-01), by their OASIS ids.
TLP2_IDS = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}


def tlp2_marking(tlp: str) -> stix2.MarkingDefinition:
    """The official TLP 2.0 marking definition of ``tlp``."""
    return stix2.MarkingDefinition(
        id=TLP2_IDS[tlp],
        created="2022-10-01T00:00:00.000Z",
        name=f"TLP:{tlp}",
        extensions={
            TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp.lower()}
        },
    )


def render(access: ReportAccess) -> bytes:
    """The reader's bundle, serialized."""
    return bundle(collect_intel(access)).serialize(pretty=True).encode()


def bundle(intel: Intel) -> stix2.Bundle:
    code = intel.exercise.code
    identities: dict[str, stix2.Identity] = {}
    # Fixed times (not "now"), so exporting twice gives the same bundle.
    organization_created = intel.exercise.created_at

    def org(organization: Organization) -> str:
        if organization.code not in identities:
            identities[organization.code] = stix2.Identity(
                id=f"identity--{stable_uuid('org', organization.code)}",
                name=organization.name,
                identity_class="organization",
                created=organization_created,
                modified=organization_created,
            )
        return identities[organization.code].id

    control = stix2.Identity(
        id=f"identity--{stable_uuid(code, 'control')}",
        name=f"Control cell of the exercise “{intel.exercise.name}”",
        identity_class="group",
        created=organization_created,
        modified=organization_created,
    )
    objects: list[Any] = []
    share_ids = {s.pk: _report_id(code, s.pk) for s in intel.shares}
    for share in intel.shares:
        objects += _share_objects(share, intel, org, share_ids)
    for rfi in intel.rfis:
        objects += _rfi_objects(rfi, intel, org, control.id)
    objects += [_reply_note(reply, intel, org) for reply in intel.replies]
    used = sorted({o.object_marking_refs[0] for o in objects if "object_marking_refs" in o})
    markings = [tlp2_marking(t) for t, mid in TLP2_IDS.items() if mid in used]
    people = list(identities.values()) + ([control] if _mentions(objects, control.id) else [])
    return stix2.Bundle(*markings, *people, *objects, id=f"bundle--{stable_uuid(code, 'bundle')}")


def _report_id(code: str, share_id: int) -> str:
    return f"report--{stable_uuid(code, 'share', share_id)}"


def _mentions(objects: list[Any], identity_id: str) -> bool:
    return any(
        identity_id in (o.get("object_refs") or []) or o.get("created_by_ref") == identity_id
        for o in objects
    )


def _share_objects(share, intel: Intel, org, share_ids: dict[int, str]) -> list[Any]:
    author = org(share.from_team.organization)
    refs = [author]
    if intel.recipients_known[share.pk]:
        refs = [org(r.organization) for r in share.recipients.all()] or refs
    kind = "Relay" if share.relayed_from_id else "Share"
    if share.pk in intel.summaries:
        kind = "Community-warning"
    report = stix2.Report(
        id=share_ids[share.pk],
        created=share.created_at,
        modified=share.created_at,
        published=share.created_at,
        name=share.title,
        description=share.body,
        report_types=["threat-report"],
        labels=[kind.lower()],
        created_by_ref=author,
        object_refs=list(dict.fromkeys(refs)),
        object_marking_refs=[TLP2_IDS[share.tlp]],
    )
    objects: list[Any] = [report]
    if share.relayed_from_id in share_ids:
        objects.append(
            stix2.Relationship(
                id=f"relationship--{stable_uuid(intel.exercise.code, 'relay', share.pk)}",
                created=share.created_at,
                modified=share.created_at,
                relationship_type="derived-from",
                source_ref=report.id,
                target_ref=share_ids[share.relayed_from_id],
                description=f"Relayed by {share.from_team}",
                created_by_ref=author,
                object_marking_refs=[TLP2_IDS[share.tlp]],
            )
        )
    return objects


def _rfi_objects(rfi, intel: Intel, org, control_id: str) -> list[Any]:
    code = intel.exercise.code
    asker = org(rfi.from_team.organization)
    addressee = control_id if rfi.to_control else org(rfi.to_team.organization)
    marking = [TLP2_IDS[rfi.tlp]]
    question = stix2.Note(
        id=f"note--{stable_uuid(code, 'rfi', rfi.code)}",
        created=rfi.asked_at,
        modified=rfi.asked_at,
        abstract=f"Request for information to {rfi.addressee_label}",
        content=rfi.question,
        created_by_ref=asker,
        object_refs=[addressee],
        object_marking_refs=marking,
    )
    if rfi.pk not in intel.answers_visible:
        return [question]
    answer = stix2.Note(
        id=f"note--{stable_uuid(code, 'answer', rfi.code)}",
        created=rfi.answered_at,
        modified=rfi.answered_at,
        abstract=f"Answer to the request for information of {rfi.from_team}",
        content=rfi.answer,
        created_by_ref=addressee,
        object_refs=[question.id],
        object_marking_refs=marking,
    )
    return [question, answer]


def _reply_note(reply, intel: Intel, org) -> stix2.Note:
    """A reply as a ``note`` about the share it answers; whoever may read a reply may read
    that share (its sender, or a reader who replied), so the reference resolves in the
    same bundle."""
    share = reply.share
    return stix2.Note(
        id=f"note--{stable_uuid(intel.exercise.code, 'reply', reply.pk)}",
        created=reply.created_at,
        modified=reply.created_at,
        abstract=f"Reply of {reply.team} to the share “{share.title}” of {share.from_team}",
        content=reply.body,
        created_by_ref=org(reply.team.organization),
        object_refs=[_report_id(intel.exercise.code, share.pk)],
        object_marking_refs=[TLP2_IDS[reply.tlp]],
    )
