"""Backing up one exercise and restoring it elsewhere (``scoring.backup``, docs/backup.md):
the played demo round-trips into an emptied database with the same report, player
timeline and STIX export; hostile and malformed files are refused with nothing written;
the two commands run as real processes."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args, get_origin, get_type_hints
from unittest import mock

import pytest
from django.apps import apps as django_apps
from django.db.models import Model

from accounts.models import Organization, User
from demo.exercises import seed_demo_played_exercise
from demo.people import seed_demo_people
from exercises import clock, engine, events
from exercises.live_state import feed_for
from exercises.models import CarriedInject, Event, Exercise, Observation, Share, ShareReply
from exercises.visibility import CONTROL, team_perspective
from scenarios.formats.fixtures import load_fixtures
from scenarios.models import Scenario, Tlp
from scoring.access import ReportAccess
from scoring.backup import (
    FORMAT,
    BackupError,
    backup_bytes,
    backup_document,
    dump,
    fileformat,
    parse_backup,
    restore_document,
)
from scoring.exports import stix
from scoring.exports.intel import stable_uuid
from scoring.models import Gap, ImprovementItem, Score
from scoring.report import build_report, executive_summary
from tests import factories
from tests.event_schemas import stored_event_errors

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def played(transactional_db, settings) -> Exercise:
    settings.CASCADE_INPROCESS_SCHEDULER = True
    list(load_fixtures())
    with mock.patch("exercises.scheduler._scheduler.call_later"):
        return seed_demo_played_exercise(seed_demo_people())


def seen(exercise: Exercise) -> dict:
    """What people read of ``exercise``, free of database ids: the report (scores, gaps,
    plan, summary) and each team's timeline as its players see it."""
    exercise = Exercise.objects.get(pk=exercise.pk)
    teams = {t.id: t.role.key for t in exercise.teams.select_related("role")}
    return {
        "scores": sorted(
            (teams[s.team_id], s.criterion.key, s.value, s.evidence_count, s.confidence)
            for s in Score.objects.filter(exercise=exercise).select_related("criterion")
        ),
        "gaps": sorted(
            (g.kind, g.criterion.key, teams.get(g.team_id, ""), g.severity, g.summary, g.headline)
            for g in Gap.objects.filter(exercise=exercise).select_related("criterion")
        ),
        "plan": sorted(
            (
                i.criterion.key,
                i.organization.name if i.organization else "",
                i.observation,
                i.recommendation,
                i.status,
                i.gap.summary if i.gap else "",
                i.created_at,
            )
            for i in ImprovementItem.objects.filter(exercise=exercise).select_related(
                "criterion", "organization", "gap"
            )
        ),
        "summary": executive_summary(build_report(ReportAccess(exercise, "staff"))),
        "timelines": {
            role: [
                (e.seq, e.kind, e.visibility, events.event_sentence(e.kind, e.payload))
                for e in feed_for(exercise, perspective=team_perspective(team_id))
            ]
            for team_id, role in teams.items()
        },
    }


def stix_text(exercise: Exercise) -> str:
    return stix.render(ReportAccess(exercise, "staff")).decode()


def empty_the_database() -> None:
    """Everything but the shipped rubric goes: what a fresh database holds after
    ``migrate`` and ``load_fixtures --rubric-only`` (the scenario comes from the backup)."""
    Exercise.objects.all().delete()
    Scenario.objects.all().delete()
    User.objects.all().delete()
    Organization.objects.all().delete()


def test_it_restores_the_played_demo_into_an_emptied_database_as_it_was(played):
    before, stix_before = seen(played), stix_text(played)
    share_ids = list(Share.objects.filter(exercise=played).values_list("id", flat=True))
    usernames = set(played.participants.values_list("user__username", flat=True))
    events_before = played.events.count()
    data = backup_bytes(played)
    empty_the_database()

    result = restore_document(parse_backup(data))

    restored = result.exercise
    assert restored.code == played.code
    assert not result.scenario_reused
    assert restored.scenario.version == played.scenario.version
    assert set(result.placeholder_users) == usernames
    placeholders = User.objects.filter(username__in=usernames)
    assert not placeholders.filter(is_active=True).exists()
    assert not any(u.has_usable_password() for u in placeholders)
    assert result.warnings == []
    assert restored.events.count() == events_before
    assert stored_event_errors() == []
    assert seen(restored) == before
    # STIX ids derive from share ids: the same bundle once those are renamed.
    expected = stix_before
    for old in share_ids:
        new = result.ids["share"][old]
        for kind in ("share", "relay"):
            expected = expected.replace(
                stable_uuid(played.code, kind, old), stable_uuid(played.code, kind, new)
            )
    assert json.loads(stix_text(restored)) == json.loads(expected)
    # References inside payloads name the restored rows.
    shared = restored.events.filter(kind=events.SHARE_CREATED).first()
    share = Share.objects.get(pk=shared.payload["share_id"], exercise=restored)
    assert share.title == shared.payload["title"]


def test_it_restores_beside_the_original_only_with_new_codes(played):
    before = seen(played)
    doc = parse_backup(backup_bytes(played))
    counts = (Exercise.objects.count(), Scenario.objects.count(), User.objects.count())
    with pytest.raises(BackupError, match=f"code {played.code} exists here"):
        restore_document(doc)
    assert (Exercise.objects.count(), Scenario.objects.count(), User.objects.count()) == counts

    result = restore_document(doc, new_code=True)

    copy = result.exercise
    assert copy.code != played.code
    assert result.scenario_reused
    assert copy.scenario_id == played.scenario_id
    assert result.placeholder_users == []
    assert User.objects.count() == counts[2]
    assert not set(copy.teams.values_list("code", flat=True)) & set(
        played.teams.values_list("code", flat=True)
    )
    assert seen(copy) == before


def tampered(doc: dict, change) -> dict:
    copy = json.loads(json.dumps(doc))
    change(copy)
    return copy


def test_a_tampered_backup_is_refused_whole(played):
    doc = json.loads(backup_bytes(played))
    first_share = next(e for e in doc["events"] if e["kind"] == events.SHARE_CREATED)
    index = doc["events"].index(first_share)
    cases = {
        "names no share": lambda d: d["events"][index]["payload"].update(share_id=999_999),
        "unknown event kind": lambda d: d["events"][0].update(kind="exercise.exploded"),
        "teams[0].code: expected text": lambda d: d["teams"][0].update(code=12),
        "Ensure this value has at most 200": lambda d: d["shares"][0].update(title="x" * 201),
        "is not a release key": lambda d: d["releases"][0].update(release_key="inject:x"),
        "has no inject": lambda d: d["scenario"]["ids"]["inject"][0].__setitem__(1, "nope"),
        "expected an ISO 8601 time": lambda d: d["events"][0].update(created_at="yesterday"),
        "share_id: True is not int": lambda d: d["events"][index]["payload"].update(share_id=True),
        "payload: share.created.title: ['a'] is not str": lambda d: d["events"][index][
            "payload"
        ].update(title=["a"]),
        "seq: 9223372036854775808 is out of range": lambda d: d["events"][0].update(seq=2**63),
        "clock_seconds: inf is out of range": lambda d: d["events"][0].update(
            clock_seconds=float("inf")
        ),
        "expected [id, key…]": lambda d: d["scenario"]["ids"]["role"][0].__setitem__(1, []),
        "expected seq numbers": lambda d: d["exercise"]["visibility_marks"].update(all="1"),
    }
    counts = (Exercise.objects.count(), Event.objects.count(), User.objects.count())
    for message, change in cases.items():
        with pytest.raises(BackupError, match=re.escape(message)):
            restore_document(tampered(doc, change), new_code=True)
        assert (Exercise.objects.count(), Event.objects.count(), User.objects.count()) == counts


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[" * 40 + b"]" * 40, "nested deeper than 16"),
        (b"{" + b'"a":1,' * 5000 + b'"b":1}', "more than 4000 keys"),
        (b'{"format": "cascade-exercise-backup", "version": NaN}', "NaN is not a number"),
        (b'{"format": "cascade-exercise-backup", "version": 1', "not JSON"),
        (b'{"format": "a-scenario", "version": 1}', "not a Cascade exercise backup"),
        (b'{"format": "cascade-exercise-backup", "version": 3}', "unknown backup version 3"),
        (b'{"format": "cascade-exercise-backup", "version": true}', "unknown backup version"),
        (b'{"format": "cascade-exercise-backup", "version": 1, "x": "\\u0000"}', "NUL"),
        (b"x" * 100_001, "larger than 100000 bytes"),
    ],
)
def test_a_malformed_file_is_refused_before_any_database_work(monkeypatch, data, message):
    monkeypatch.setattr(fileformat, "BACKUP_MAX_BYTES", 100_000)
    monkeypatch.setattr(fileformat, "BACKUP_MAX_NODES", 4000)
    with pytest.raises(BackupError, match=message):
        fileformat.read_backup(io.BytesIO(data))


def test_a_backup_without_its_records_names_what_is_missing(db):
    with pytest.raises(BackupError, match=r"backup\.exercise: missing"):
        restore_document({"format": FORMAT, "version": 1})


def test_every_integer_in_an_event_payload_is_a_reference_or_a_count():
    """A new id field in a payload schema must be added to PAYLOAD_REFERENCES, or a
    restored timeline would point at the wrong rows."""
    integers = set()
    schemas = [kind.payload for kind in events.KINDS.values()] + [events.PromptOption]
    for schema in schemas:
        for name, hint in get_type_hints(schema).items():
            if hint is int or (get_origin(hint) is list and get_args(hint)[0] is int):
                integers.add(name)
    assert integers - set(events.PAYLOAD_REFERENCES) == {"revision", "report_count"}


def linked_to_an_exercise() -> set[type[Model]]:
    """Every model with a foreign key or many-to-many field to ``Exercise``, or to a model
    that has one (a team, a share, a decision…), however deep."""
    linked: set[type[Model]] = {Exercise}
    grew = True
    while grew:
        grew = False
        for model in django_apps.get_models():
            if model not in linked and any(
                field.is_relation and field.related_model in linked
                for field in model._meta.get_fields()
                if field.concrete or (field.many_to_many and not field.auto_created)
            ):
                linked.add(model)
                grew = True
    return linked


def test_every_model_of_an_exercise_is_backed_up_or_left_out_on_purpose():
    """A new model that hangs off an exercise (directly or through a team, share…) must
    be added to the backup (dump.RECORDS, restore) or to dump.LEFT_OUT with a reason."""
    known = set(dump.RECORDS) | {django_apps.get_model(label) for label in dump.LEFT_OUT}
    assert {m._meta.label for m in linked_to_an_exercise() - known} == set()
    assert not set(dump.RECORDS) & {django_apps.get_model(label) for label in dump.LEFT_OUT}


def test_every_field_of_a_backed_up_model_is_in_the_file_or_implied():
    """A new field on a backed-up model (``Observation.revised_at``) must travel, or be
    named in dump.IMPLIED_FIELDS with why it need not."""
    missing = {}
    for model, fields in dump.RECORDS.items():
        names = {
            field.name
            for field in model._meta.get_fields()
            if (field.concrete or (field.many_to_many and not field.auto_created))
            and field.name != "id"
            and field.related_model is not Exercise
        }
        carried = {name.removesuffix("_id") for name in fields}
        lost = names - carried - set(dump.IMPLIED_FIELDS.get(model, ()))
        if lost:
            missing[model._meta.label] = lost
    assert missing == {}
    assert "scenarios.DraftSnapshot" not in {m._meta.label for m in dump.RECORDS}


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(CASCADE_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_commands_restore_a_backup_into_a_new_database_and_back_it_up_again(played, tmp_path):
    original = tmp_path / "played.json"
    original.write_bytes(backup_bytes(played))
    elsewhere = tmp_path / "elsewhere"
    assert run("migrate", "-v0", data_dir=elsewhere).returncode == 0
    assert run("load_fixtures", data_dir=elsewhere).returncode == 0

    restored = run("restore_exercise", str(original), data_dir=elsewhere)
    assert restored.returncode == 0, restored.stderr
    assert f"as {played.code}" in restored.stdout
    assert "Inactive placeholder accounts created" in restored.stdout
    again = run("restore_exercise", str(original), data_dir=elsewhere)
    assert again.returncode == 1
    assert f"code {played.code} exists here" in again.stderr
    copy = tmp_path / "copy.json"
    backed = run("backup_exercise", played.code, "-o", str(copy), data_dir=elsewhere)
    assert backed.returncode == 0, backed.stderr

    first, second = json.loads(original.read_text()), json.loads(copy.read_text())
    for name in ("events", "decisions", "shares", "messages", "rfis", "improvement_items"):
        assert len(second[name]) == len(first[name]), name
    assert [(e["seq"], e["kind"]) for e in second["events"]] == [
        (e["seq"], e["kind"]) for e in first["events"]
    ]
    assert second["scenario"]["document"] == first["scenario"]["document"]
    assert sorted(s["value"] or 0 for s in second["scores"]) == sorted(
        s["value"] or 0 for s in first["scores"]
    )
    missing = run("restore_exercise", str(tmp_path / "nothing.json"), data_dir=elsewhere)
    assert missing.returncode == 1
    assert "Cannot read" in missing.stderr


def test_the_document_names_every_account_the_record_mentions(played):
    doc = backup_document(played)
    users = {u["id"] for u in doc["users"]}
    authors = {d["author_id"] for d in doc["decisions"]} | {
        e["actor_id"] for e in doc["events"] if e["actor_id"]
    }
    assert authors <= users


@pytest.fixture
def warned(alice, bob, carol, org_a, org_b):
    """A running exercise with what the backup learned in version 2: the hospital reports
    to the Sector ISAC (a coordinating body), which warns every team; the cloud replies
    to the warning; an evaluator's observation is revised; a timed inject the
    facilitator left behind is carried into the next stage."""
    scenario = factories.make_scenario()
    scenario.roles.create(
        key="isac", label="Sector ISAC", sector="finance", order=4, coordinating=True
    )
    exercise = factories.make_exercise(scenario, facilitator=alice)
    teams = {
        "cloud": factories.make_team(exercise, "cloud", org_a),
        "hospital": factories.make_team(exercise, "hospital", org_b),
        "isac": factories.make_team(exercise, "isac"),
    }
    factories.add_player(exercise, teams["cloud"], bob)
    factories.add_player(exercise, teams["hospital"], carol)
    ivan = factories.add_player(exercise, teams["isac"], factories.make_user("ivan")).user
    eve = factories.add_participant(exercise, "evaluator", factories.make_user("eve")).user
    factories.add_timed_inject(exercise, "manual-ops", 300, title="Manual operations")
    manual = clock.ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    with clock.use(manual):
        engine.exercise_start(exercise=exercise, actor=alice)
        manual.advance(40)
        report = engine.share_create(
            exercise=exercise,
            from_team=teams["hospital"],
            author=carol,
            tlp=Tlp.AMBER,
            title="Ransomware note",
            body="Our EHR vendor's VPN appliance was the way in.",
            recipients=[teams["isac"]],
            client_token="report",
        )
        manual.advance(60)
        warning = engine.share_summarize(
            exercise=exercise,
            team=teams["isac"],
            author=ivan,
            reports=[report],
            tlp=Tlp.GREEN,
            title="Patch the VPN appliance now",
            body="A member was breached through an unpatched VPN appliance.",
            client_token="warning",
        )
        manual.advance(5)
        engine.share_reply(
            exercise=exercise,
            share=warning,
            team=teams["cloud"],
            author=bob,
            body="Patched ours; thank you.",
            client_token="reply",
        )
        observation = engine.observation_record(
            exercise=exercise,
            team=teams["cloud"],
            criterion=scenario.rubric.criteria.get(key="info-sharing"),
            evaluator=eve,
            rating="S",
            note="Replied late.",
        )
        manual.advance(5)
        engine.observation_revise(
            exercise=exercise, observation=observation, evaluator=eve, rating="P", note="Fine."
        )
        engine.exercise_advance(exercise=exercise, actor=alice, carry_skipped=True)
    return Exercise.objects.get(pk=exercise.pk)


def kept(exercise: Exercise) -> dict:
    """What the version 2 additions hold, free of database ids, and the control cell's
    timeline with each reply event resolved to its row."""
    exercise = Exercise.objects.get(pk=exercise.pk)
    replies = {r.pk: r for r in ShareReply.objects.filter(exercise=exercise)}
    return {
        "coordinating": sorted(
            exercise.scenario.roles.filter(coordinating=True).values_list("key", flat=True)
        ),
        "warnings": [
            (s.title, sorted(r.title for r in s.summarizes.all()), s.from_team.role.key)
            for s in Share.objects.filter(exercise=exercise).order_by("created_at")
        ],
        "replies": [
            (r.share.title, r.team.role.key, r.author.username, r.body, r.event_seq, r.created_at)
            for r in replies.values()
        ],
        "observations": [
            (o.team.role.key, o.criterion.key, o.rating, o.note, o.created_at, o.revised_at)
            for o in Observation.objects.filter(exercise=exercise)
        ],
        "carried": sorted(
            (c.inject.key, c.due_clock) for c in CarriedInject.objects.filter(exercise=exercise)
        ),
        "due_next": [item.what for item in engine.due_next(exercise=exercise)],
        "timeline": [
            (e.seq, events.event_sentence(e.kind, e.payload))
            for e in feed_for(exercise, perspective=CONTROL)
        ],
        "reply_events": [
            (
                replies[e.payload["reply_id"]].body,
                e.payload["share_id"] == replies[e.payload["reply_id"]].share_id,
            )
            for e in exercise.events.filter(kind=events.SHARE_REPLIED)
        ],
    }


def test_it_restores_replies_warnings_carried_injects_and_revised_observations(warned):
    before = kept(warned)
    assert before["coordinating"] == ["isac"]
    assert before["warnings"][1][1] == ["Ransomware note"]
    assert len(before["replies"]) == len(before["reply_events"]) == 1
    assert before["observations"][0][5] is not None
    assert before["carried"] == [("manual-ops", 300.0)]
    codes = list(Observation.objects.values_list("code", flat=True))
    data = backup_bytes(warned)
    assert json.loads(data)["version"] == 2
    Exercise.objects.all().delete()
    Scenario.objects.all().delete()

    result = restore_document(parse_backup(data))

    assert kept(result.exercise) == before
    assert not result.scenario_reused  # the coordinating flag came with the document
    assert list(Observation.objects.values_list("code", flat=True)) == codes
    assert stored_event_errors() == []

    copy = restore_document(parse_backup(data), new_code=True).exercise
    assert kept(copy) == before
    assert not set(copy.observations.values_list("code", flat=True)) & set(codes)


def test_it_reads_a_version_1_file_and_refuses_one_missing_what_its_events_name(warned):
    doc = json.loads(backup_bytes(warned))
    old = {
        **doc,
        "version": 1,
        "events": [e for e in doc["events"] if not e["kind"].startswith("share.")],
        "shares": [
            {k: v for k, v in s.items() if k != "summarizes_ids"}
            for s in doc["shares"]
            if not s["summarizes_ids"]
        ],
        "observations": [
            {k: v for k, v in o.items() if k not in ("code", "revised_at")}
            for o in doc["observations"]
        ],
    }
    del old["share_replies"], old["carried_injects"]

    Exercise.objects.all().delete()

    restored = restore_document(parse_backup(json.dumps(old).encode())).exercise

    assert restored.shares.count() == 1
    assert not CarriedInject.objects.filter(exercise=restored).exists()
    observation = restored.observations.get()
    assert len(observation.code) > 6  # a new one: version 1 had none
    assert observation.revised_at is None
    with_reply = {**old, "events": doc["events"]}
    with pytest.raises(BackupError, match=r"version 1 backup with share\.replied events"):
        parse_backup(json.dumps(with_reply).encode())
