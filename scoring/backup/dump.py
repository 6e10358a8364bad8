"""Exercise → backup document (``docs/backup.md`` describes the format).

Records keep their source database ids (``id`` and ``<name>_id`` fields), exactly as the
event payloads, release keys and visibility marks hold them; the scenario part maps the
ids of its roles, stages, injects, prompts, options, consequences and criteria to their
keys, so a restore can find each in the scenario version it imports or reuses.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db.models import Model, QuerySet
from django.utils import timezone

from accounts.models import Organization, User
from exercises.models import (
    CarriedInject,
    Decision,
    DecisionRevision,
    Event,
    Exercise,
    InjectRelease,
    Message,
    Observation,
    Participant,
    PromptWindow,
    Rfi,
    Share,
    ShareRefusal,
    ShareReply,
    Team,
)
from scenarios.formats import export_document
from scenarios.models import Consequence, Criterion, Inject, Option, Prompt, Role, Stage
from scoring.backup.fileformat import FORMAT, VERSION
from scoring.models import Gap, ImprovementItem, Score

USER_FIELDS = ("id", "username", "email", "first_name", "last_name", "display_name")
ORGANIZATION_FIELDS = ("id", "code", "name", "sector", "description")
EXERCISE_FIELDS = (
    "code", "name", "status", "current_stage_id", "clock_offset_seconds", "running_since",
    "stage_started_at_clock", "epoch", "last_seq", "visibility_marks", "hotwash_notes",
    "created_by_id", "created_at", "started_at", "ended_at",
)  # fmt: skip
TEAM_FIELDS = ("id", "role_id", "organization_id", "code", "join_code")
PARTICIPANT_FIELDS = ("user_id", "kind", "team_id", "joined_at")
EVENT_FIELDS = (
    "id", "seq", "kind", "payload", "visibility", "team_ids", "clock_seconds", "actor_id",
    "created_at",
)  # fmt: skip
RELEASE_FIELDS = (
    "inject_id", "release_key", "team_ids", "event_id", "released_at", "clock_seconds",
)  # fmt: skip
CARRIED_FIELDS = ("inject_id", "due_clock")
WINDOW_FIELDS = (
    "prompt_id", "team_ids", "opened_at", "opened_at_clock", "deadline_clock", "closed_at",
)  # fmt: skip
DECISION_FIELDS = (
    "id", "team_id", "prompt_id", "option_id", "text", "rationale", "author_id", "revision",
    "latency_seconds", "submitted_at",
)  # fmt: skip
REVISION_FIELDS = (
    "decision_id", "revision", "option_id", "text", "rationale", "author_id", "client_token",
    "latency_seconds", "submitted_at",
)  # fmt: skip
SHARE_FIELDS = (
    "id", "from_team_id", "author_id", "tlp", "title", "body", "about_inject_id",
    "client_token", "clock_seconds", "created_at", "relayed_from_id",
)  # fmt: skip
REPLY_FIELDS = (
    "id", "share_id", "team_id", "author_id", "tlp", "body", "client_token", "event_seq",
    "clock_seconds", "created_at",
)  # fmt: skip
REFUSAL_FIELDS = (
    "share_id", "team_id", "author_id", "tlp", "target_ids", "reason", "clock_seconds",
    "created_at",
)  # fmt: skip
OBSERVATION_FIELDS = (
    "id", "code", "team_id", "criterion_id", "evaluator_id", "rating", "note",
    "clock_seconds", "created_at", "revised_at",
)  # fmt: skip
MESSAGE_FIELDS = (
    "id", "team_id", "author_id", "from_control", "body", "mentions", "event_seq",
    "clock_seconds", "created_at",
)  # fmt: skip
RFI_FIELDS = (
    "code", "from_team_id", "to_team_id", "asked_by_id", "tlp", "question", "client_token",
    "asked_seq", "asked_clock", "asked_at", "answer", "answered_by_id", "answer_inject_id",
    "answered_clock", "answered_at",
)  # fmt: skip
SCORE_FIELDS = (
    "team_id", "criterion_id", "value", "evidence", "evidence_count", "confidence",
    "computed_at",
)  # fmt: skip
GAP_FIELDS = (
    "kind", "criterion_id", "team_id", "severity", "summary", "evidence", "confidence",
    "headline",
)  # fmt: skip
ITEM_FIELDS = (
    "code", "criterion_id", "observation", "recommendation", "corrective_action",
    "capability_element", "organization_id", "point_of_contact", "start_date",
    "completion_date", "status", "draft_key", "created_at", "updated_at",
)  # fmt: skip
# The models of an exercise's record and the fields the file holds of each. A test fails
# when a model linked to an exercise (directly or through another) is in neither this
# table nor LEFT_OUT, or when one of these gains a field neither its tuple nor
# IMPLIED_FIELDS names: the backup would silently lose it.
RECORDS: dict[type[Model], tuple[str, ...]] = {
    Exercise: EXERCISE_FIELDS, Team: TEAM_FIELDS, Participant: PARTICIPANT_FIELDS,
    Event: EVENT_FIELDS, InjectRelease: RELEASE_FIELDS, CarriedInject: CARRIED_FIELDS,
    PromptWindow: WINDOW_FIELDS, Decision: DECISION_FIELDS, DecisionRevision: REVISION_FIELDS,
    Share: SHARE_FIELDS, ShareReply: REPLY_FIELDS, ShareRefusal: REFUSAL_FIELDS,
    Observation: OBSERVATION_FIELDS, Message: MESSAGE_FIELDS, Rfi: RFI_FIELDS,
    Score: SCORE_FIELDS, Gap: GAP_FIELDS, ImprovementItem: ITEM_FIELDS,
}  # fmt: skip
# Fields a record does not carry as such (besides its ``id`` where nothing names it, and
# its exercise, which is the restored one).
IMPLIED_FIELDS: dict[type[Model], tuple[str, ...]] = {
    Exercise: ("scenario",),  # the backup's "scenario" part
    Share: ("recipients", "summarizes"),  # as "recipient_ids" and "summarizes_ids"
    ImprovementItem: ("gap",),  # relinked to the recomputed gaps by "draft_key"
    Gap: ("computed_at",),  # gaps are recomputed on restore, now
}
# Models linked to an exercise that are not part of its record (by label: scoring does
# not import onboarding), with the reason docs/backup.md gives.
LEFT_OUT: dict[str, str] = {
    "scoring.ReportExport": "report export files: export again on the target",
    "onboarding.EmailInvitation": "e-mail invitations belong to the site that sent them",
}
# Every user field of every record: whose accounts the backup names.
USER_REFERENCES = (
    (Participant, "user_id"), (Event, "actor_id"), (Decision, "author_id"),
    (DecisionRevision, "author_id"), (Share, "author_id"), (ShareReply, "author_id"),
    (ShareRefusal, "author_id"),
    (Observation, "evaluator_id"), (Message, "author_id"), (Rfi, "asked_by_id"),
    (Rfi, "answered_by_id"),
)  # fmt: skip


def backup_document(exercise: Exercise) -> dict[str, Any]:
    """Everything of ``exercise`` a restore needs, as plain JSON-ready data (times still
    ``datetime``: ``backup_bytes`` writes them as ISO 8601)."""
    mine = {"exercise": exercise}
    teams = _rows(Team.objects.filter(**mine), TEAM_FIELDS)
    items = _rows(ImprovementItem.objects.filter(**mine), ITEM_FIELDS)
    organization_ids = {t["organization_id"] for t in teams} | {
        i["organization_id"] for i in items if i["organization_id"]
    }
    return {
        "format": FORMAT,
        "version": VERSION,
        "written_at": timezone.now(),
        "scenario": _scenario(exercise),
        "users": _rows(User.objects.filter(id__in=_user_ids(exercise)), USER_FIELDS),
        "organizations": _rows(
            Organization.objects.filter(id__in=organization_ids), ORGANIZATION_FIELDS
        ),
        "exercise": _rows(Exercise.objects.filter(pk=exercise.pk), EXERCISE_FIELDS)[0],
        "teams": teams,
        "participants": _rows(Participant.objects.filter(**mine), PARTICIPANT_FIELDS),
        "events": _rows(Event.objects.filter(**mine), EVENT_FIELDS),
        "releases": _rows(InjectRelease.objects.filter(**mine), RELEASE_FIELDS),
        "carried_injects": _rows(CarriedInject.objects.filter(**mine), CARRIED_FIELDS),
        "prompt_windows": _rows(PromptWindow.objects.filter(**mine), WINDOW_FIELDS),
        "decisions": _rows(Decision.objects.filter(**mine), DECISION_FIELDS),
        "decision_revisions": _rows(
            DecisionRevision.objects.filter(decision__exercise=exercise), REVISION_FIELDS
        ),
        "shares": _shares(exercise),
        "share_replies": _rows(ShareReply.objects.filter(**mine), REPLY_FIELDS),
        "refusals": _rows(ShareRefusal.objects.filter(**mine), REFUSAL_FIELDS),
        "observations": _rows(Observation.objects.filter(**mine), OBSERVATION_FIELDS),
        "messages": _rows(Message.objects.filter(**mine), MESSAGE_FIELDS),
        "rfis": _rows(Rfi.objects.filter(**mine), RFI_FIELDS),
        "scores": _rows(Score.objects.filter(**mine), SCORE_FIELDS),
        "gaps": _rows(Gap.objects.filter(**mine), GAP_FIELDS),
        "improvement_items": items,
    }  # fmt: skip


def backup_bytes(exercise: Exercise) -> bytes:
    """The backup file of ``exercise``: indented UTF-8 JSON."""
    doc = backup_document(exercise)
    text = json.dumps(doc, default=_iso, indent=1, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def _iso(value: object) -> str:
    """Times to the microsecond (Django's JSON encoder keeps milliseconds only, and the
    order of records made in one millisecond would be lost)."""
    if isinstance(value, dt.date):  # datetime is a date too
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _rows(queryset: QuerySet, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """``fields`` of each row, in source id order (a restore inserts in this order, so
    new ids keep the old ones' order, which the scoring method's tie-breaks follow)."""
    return list(queryset.order_by("pk").values(*fields))


def _user_ids(exercise: Exercise) -> set[int]:
    ids = {exercise.created_by_id} - {None}
    for model, field in USER_REFERENCES:
        path = "decision__exercise" if model is DecisionRevision else "exercise"
        ids |= set(model.objects.filter(**{path: exercise}).values_list(field, flat=True))
    return ids - {None}


def _shares(exercise: Exercise) -> list[dict[str, Any]]:
    shares = _rows(Share.objects.filter(exercise=exercise), SHARE_FIELDS)
    recipients: dict[int, list[int]] = {}
    through = Share.recipients.through.objects.filter(share__exercise=exercise).order_by("pk")
    for share_id, team_id in through.values_list("share_id", "team_id"):
        recipients.setdefault(share_id, []).append(team_id)
    # A community warning → the member reports it summarizes (``Share.summarizes``).
    summarized: dict[int, list[int]] = {}
    links = Share.summarizes.through.objects.filter(from_share__exercise=exercise)
    for summary_id, report_id in links.order_by("pk").values_list("from_share_id", "to_share_id"):
        summarized.setdefault(summary_id, []).append(report_id)
    return [
        {
            **share,
            "recipient_ids": recipients.get(share["id"], []),
            "summarizes_ids": summarized.get(share["id"], []),
        }
        for share in shares
    ]


def _scenario(exercise: Exercise) -> dict[str, Any]:
    scenario = exercise.scenario
    mine = {"scenario": scenario}

    def keys(model: type[Model]) -> list[list[Any]]:
        return [
            list(row)
            for row in model.objects.filter(**mine).order_by("pk").values_list("id", "key")
        ]

    consequences: list[list[Any]] = []
    seen: dict[int, int] = {}
    for row in (
        Consequence.objects.filter(option__prompt__scenario=scenario)
        .order_by("option__prompt__key", "option__key", "order", "id")
        .values_list("id", "option_id", "option__prompt__key", "option__key")
    ):
        index = seen[row[1]] = seen.get(row[1], -1) + 1
        consequences.append([row[0], row[2], row[3], index])
    return {
        "key": scenario.key,
        "version": scenario.version,
        "document": export_document(scenario),
        "ids": {
            "role": keys(Role),
            "stage": keys(Stage),
            "inject": keys(Inject),
            "prompt": keys(Prompt),
            "option": [
                list(row)
                for row in Option.objects.filter(prompt__scenario=scenario)
                .order_by("pk")
                .values_list("id", "prompt__key", "key")
            ],
            "consequence": consequences,
            "criterion": [
                list(row)
                for row in Criterion.objects.filter(rubric_id=scenario.rubric_id)
                .order_by("pk")
                .values_list("id", "key")
            ],
        },
    }
