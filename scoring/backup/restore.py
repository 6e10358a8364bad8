"""Backup document → a faithful copy of the exercise in this database (``docs/backup.md``).

All-or-nothing: one transaction; any problem raises ``BackupError`` and writes nothing.
Records are inserted in source id order and each model's ``source id → new id`` map is
kept as they go (``Ids``); every stored reference is rewritten through those maps: foreign
keys, the id lists of events, releases, windows and refusals, the visibility marks, event
payloads (through their typed schemas, ``exercises.events.remap_references``), release
keys and improvement-plan draft keys.

Matching: the scenario version is reused when a published version of its key has the
same content, else imported (``scenarios.formats``) as a new version; organizations by
name; users by username, then by a unique e-mail address, else created as inactive
placeholder accounts with no usable password. Scores and gaps are computed, never typed
in: they are recomputed from the restored record and compared with the backup's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, models, transaction

from accounts.models import Organization, User, new_code
from exercises import events
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
from scenarios.formats import ScenarioFormatError, export_document, import_scenario
from scenarios.formats.files import content_hash
from scenarios.models import Consequence, Criterion, Option, Scenario
from scoring.backup.fileformat import BackupError, Record, records
from scoring.models import Gap, ImprovementItem, Score
from scoring.services import report_compute


@dataclass
class RestoreResult:
    exercise: Exercise
    scenario_reused: bool
    matched_users: list[str] = field(default_factory=list)
    placeholder_users: list[str] = field(default_factory=list)
    created_organizations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Source id (or code, username) → new one, per kind: "team", "share", "option"…
    ids: dict[str, dict[Any, Any]] = field(default_factory=dict)


class Ids:
    """The maps from source references to this database's, filled while inserting."""

    def __init__(self) -> None:
        self.maps: dict[str, dict[Any, Any]] = {}

    def put(self, kind: str, source: Any, new: Any) -> None:
        self.maps.setdefault(kind, {})[source] = new

    def get(self, kind: str, source: Any, where: str) -> Any:
        """The new reference for ``source``; None stays None. Raises ``BackupError`` for a
        reference to nothing in the backup."""
        if source is None:
            return None
        try:
            return self.maps.get(kind, {})[source]
        except (KeyError, TypeError):
            raise BackupError(f"{where}: {source!r} names no {kind} of this backup") from None

    def lookup(self, where: str) -> Callable[[str, Any], Any]:
        return lambda kind, source: self.get(kind, source, where)

    def teams(self, ids: Iterable[int], where: str) -> list[int]:
        return [self.get("team", i, where) for i in ids]


def restore_document(doc: dict[str, Any], *, new_code: bool = False) -> RestoreResult:
    """Restore the exercise of a read backup (``fileformat.parse_backup``). Refuses one whose
    code exists here unless ``new_code`` (then the exercise, its teams, RFIs, observations
    and plan rows get new codes). Raises ``BackupError``; writes nothing then."""
    try:
        with transaction.atomic():
            return _Restore(doc, new_code=new_code).run()
    except (ValidationError, DatabaseError) as error:
        raise BackupError(f"the database refused a record: {error}") from None


class _Restore:
    def __init__(self, doc: dict[str, Any], *, new_code: bool) -> None:
        self.doc = doc
        self.top = Record(doc, "backup")
        self.new_code = new_code
        self.ids = Ids()
        self.matched: list[str] = []
        self.placeholders: list[str] = []
        self.created_organizations: list[str] = []
        self.warnings: list[str] = []

    def run(self) -> RestoreResult:
        source = self.top.record("exercise")
        code = source.str("code")
        if not self.new_code and Exercise.objects.filter(code=code).exists():
            raise BackupError(f"an exercise with code {code} exists here (restore with --new-code)")
        scenario, reused = self._scenario(self.top.record("scenario"))
        self._users()
        self._organizations()
        exercise = self._exercise(source, scenario)
        self._teams(exercise)
        self._participants(exercise)
        self._windows(exercise)
        self._decisions(exercise)
        self._shares(exercise)
        self._replies(exercise)
        self._refusals(exercise)
        self._observations(exercise)
        self._messages(exercise)
        self._rfis(exercise)
        self._events(exercise)
        self._releases(exercise)
        self._carried(exercise)
        self._marks(exercise, source)
        self._improvement_items(exercise)
        self._scores(exercise)
        return RestoreResult(
            exercise=exercise,
            scenario_reused=reused,
            matched_users=self.matched,
            placeholder_users=self.placeholders,
            created_organizations=self.created_organizations,
            warnings=self.warnings,
            ids=self.ids.maps,
        )

    # ------------------------------------------------------------ scenario

    def _scenario(self, data: Record) -> tuple[Scenario, bool]:
        document = data.json("document", dict)
        scenario, reused = _same_scenario(data.str("key"), data.int("version"), document), True
        if scenario is None:
            reused = False
            try:
                scenario = import_scenario(document, publish=True)
            except ScenarioFormatError as error:
                raise BackupError(f"backup.scenario.document: {error}") from None
            wanted = data.int("version")
            if not Scenario.objects.filter(key=scenario.key, version=wanted).exists():
                scenario.version = wanted  # the same version number, when it is free here
                scenario.save(update_fields=["version"])
        self._scenario_ids(data.record("ids"), scenario)
        return scenario, reused

    def _scenario_ids(self, ids: Record, scenario: Scenario) -> None:
        for kind, model in (
            ("role", scenario.roles),
            ("stage", scenario.stages),
            ("inject", scenario.injects),
            ("prompt", scenario.prompts),
        ):
            by_key = dict(model.values_list("key", "id"))
            self._map_keys(ids, kind, by_key)
        options = Option.objects.filter(prompt__scenario=scenario)
        by_key = {(p, k): i for i, p, k in options.values_list("id", "prompt__key", "key")}
        self._map_keys(ids, "option", by_key)
        by_key, seen = {}, Counter()
        for row in (
            Consequence.objects.filter(option__prompt__scenario=scenario)
            .order_by("option__prompt__key", "option__key", "order", "id")
            .values_list("id", "option__prompt__key", "option__key")
        ):
            by_key[(*row[1:], seen[row[1:]])] = row[0]
            seen[row[1:]] += 1
        self._map_keys(ids, "consequence", by_key)
        criteria = Criterion.objects.filter(rubric_id=scenario.rubric_id)
        self._map_keys(ids, "criterion", dict(criteria.values_list("key", "id")))

    def _map_keys(self, ids: Record, kind: str, by_key: dict[Any, int]) -> None:
        rows = ids.json(kind, list)
        for index, row in enumerate(rows):
            where = f"{ids.path}.{kind}[{index}]"
            if (
                not isinstance(row, list)
                or len(row) < 2
                or not all(isinstance(part, (int, str)) for part in row)
            ):
                raise BackupError(f"{where}: expected [id, key…]")
            key = row[1] if len(row) == 2 else tuple(row[1:])
            if key not in by_key:
                raise BackupError(f"{where}: the scenario here has no {kind} {key!r}")
            self.ids.put(kind, row[0], by_key[key])

    # ------------------------------------------------------------ people

    def _users(self) -> None:
        for r in records(self.doc, "users"):
            username, email = r.str("username"), r.str("email")
            user = User.objects.filter(username=username).first()
            if user is None and email:
                same = list(User.objects.filter(email__iexact=email)[:2])
                user = same[0] if len(same) == 1 else None
            if user is None:
                user = User(
                    username=username,
                    email=email,
                    first_name=r.str("first_name"),
                    last_name=r.str("last_name"),
                    display_name=r.str("display_name"),
                    is_active=False,
                )
                user.set_unusable_password()
                _checked(user, r.path).save()
                self.placeholders.append(username)
            else:
                self.matched.append(username)
            self.ids.put("user", r.int("id"), user.pk)
            self.ids.put("username", username, user.username)

    def _organizations(self) -> None:
        for r in records(self.doc, "organizations"):
            organization = Organization.objects.filter(name=r.str("name")).first()
            if organization is None:
                code = r.str("code")
                organization = _checked(
                    Organization(
                        code=new_code()
                        if Organization.objects.filter(code=code).exists()
                        else code,
                        name=r.str("name"),
                        sector=r.str("sector"),
                        description=r.str("description"),
                    ),
                    r.path,
                )
                organization.save()
                self.created_organizations.append(organization.name)
            self.ids.put("organization", r.int("id"), organization.pk)

    # ------------------------------------------------------------ the run

    def _code(self, source: str) -> str:
        return new_code() if self.new_code else source

    def _exercise(self, r: Record, scenario: Scenario) -> Exercise:
        user = self.ids.get
        exercise = Exercise(
            code=self._code(r.str("code")),
            name=r.str("name"),
            scenario=scenario,
            status=r.str("status"),
            current_stage_id=self.ids.get("stage", r.ref("current_stage_id"), r.path),
            clock_offset_seconds=r.float("clock_offset_seconds"),
            running_since=r.datetime("running_since", null=True),
            stage_started_at_clock=r.float("stage_started_at_clock"),
            epoch=r.int("epoch"),
            last_seq=r.int("last_seq"),
            hotwash_notes=r.str("hotwash_notes"),
            created_by_id=user("user", r.ref("created_by_id"), r.path),
            created_at=r.datetime("created_at"),
            started_at=r.datetime("started_at", null=True),
            ended_at=r.datetime("ended_at", null=True),
        )
        _checked(exercise, r.path).save()
        return exercise

    def _teams(self, exercise: Exercise) -> None:
        for r in records(self.doc, "teams"):
            team = Team(
                exercise=exercise,
                role_id=self.ids.get("role", r.int("role_id"), r.path),
                organization_id=self.ids.get("organization", r.int("organization_id"), r.path),
                code=self._code(r.str("code")),
                join_code=self._code(r.str("join_code")),
            )
            _checked(team, r.path).save()
            self.ids.put("team", r.int("id"), team.pk)
            self.ids.put("team_code", r.str("code"), team.code)

    def _participants(self, exercise: Exercise) -> None:
        self._bulk(
            Participant,
            "participants",
            lambda r: Participant(
                exercise=exercise,
                user_id=self.ids.get("user", r.int("user_id"), r.path),
                kind=r.str("kind"),
                team_id=self.ids.get("team", r.ref("team_id"), r.path),
                joined_at=r.datetime("joined_at"),
            ),
        )

    def _windows(self, exercise: Exercise) -> None:
        self._bulk(
            PromptWindow,
            "prompt_windows",
            lambda r: PromptWindow(
                exercise=exercise,
                prompt_id=self.ids.get("prompt", r.int("prompt_id"), r.path),
                team_ids=self.ids.teams(r.ints("team_ids"), r.path),
                opened_at=r.datetime("opened_at"),
                opened_at_clock=r.float("opened_at_clock"),
                deadline_clock=r.float("deadline_clock", null=True),
                closed_at=r.datetime("closed_at", null=True),
            ),
        )

    def _decisions(self, exercise: Exercise) -> None:
        ref = self.ids.get
        self._bulk(
            Decision,
            "decisions",
            lambda r: Decision(
                exercise=exercise,
                team_id=ref("team", r.int("team_id"), r.path),
                prompt_id=ref("prompt", r.int("prompt_id"), r.path),
                option_id=ref("option", r.ref("option_id"), r.path),
                text=r.str("text"),
                rationale=r.str("rationale"),
                author_id=ref("user", r.ref("author_id"), r.path),
                revision=r.int("revision"),
                latency_seconds=r.float("latency_seconds"),
                submitted_at=r.datetime("submitted_at"),
            ),
            kind="decision",
        )
        self._bulk(
            DecisionRevision,
            "decision_revisions",
            lambda r: DecisionRevision(
                decision_id=ref("decision", r.int("decision_id"), r.path),
                revision=r.int("revision"),
                option_id=ref("option", r.ref("option_id"), r.path),
                text=r.str("text"),
                rationale=r.str("rationale"),
                author_id=ref("user", r.ref("author_id"), r.path),
                client_token=r.str("client_token"),
                latency_seconds=r.float("latency_seconds"),
                submitted_at=r.datetime("submitted_at"),
            ),
        )

    def _shares(self, exercise: Exercise) -> None:
        """In source order a relay comes after the share it relays (it is created from
        it), so ``relayed_from`` always names a share already restored."""
        ref = self.ids.get
        recipients = Share.recipients.through
        links: list[Any] = []
        for r in records(self.doc, "shares"):
            share = Share(
                exercise=exercise,
                from_team_id=ref("team", r.int("from_team_id"), r.path),
                author_id=ref("user", r.ref("author_id"), r.path),
                tlp=r.str("tlp"),
                title=r.str("title"),
                body=r.str("body"),
                about_inject_id=ref("inject", r.ref("about_inject_id"), r.path),
                client_token=r.str("client_token"),
                clock_seconds=r.float("clock_seconds"),
                created_at=r.datetime("created_at"),
                relayed_from_id=ref("share", r.ref("relayed_from_id"), r.path),
            )
            _checked(share, r.path).save()
            self.ids.put("share", r.int("id"), share.pk)
            teams = self.ids.teams(r.ints("recipient_ids"), r.path)
            links += [recipients(share_id=share.pk, team_id=team) for team in teams]
        recipients.objects.bulk_create(links)
        # Once every share is here: a warning names reports by id, whatever their order.
        summarizes = Share.summarizes.through
        summarizes.objects.bulk_create(
            summarizes(from_share_id=ref("share", r.int("id"), r.path), to_share_id=report)
            for r in records(self.doc, "shares")
            for report in (ref("share", i, r.path) for i in r.ints("summarizes_ids"))
        )

    def _replies(self, exercise: Exercise) -> None:
        ref = self.ids.get
        self._bulk(
            ShareReply,
            "share_replies",
            lambda r: ShareReply(
                exercise=exercise,
                share_id=ref("share", r.int("share_id"), r.path),
                team_id=ref("team", r.int("team_id"), r.path),
                author_id=ref("user", r.ref("author_id"), r.path),
                tlp=r.str("tlp"),
                body=r.str("body"),
                client_token=r.str("client_token"),
                event_seq=r.int("event_seq"),
                clock_seconds=r.float("clock_seconds"),
                created_at=r.datetime("created_at"),
            ),
            kind="reply",
        )

    def _refusals(self, exercise: Exercise) -> None:
        ref = self.ids.get
        self._bulk(
            ShareRefusal,
            "refusals",
            lambda r: ShareRefusal(
                exercise=exercise,
                share_id=ref("share", r.int("share_id"), r.path),
                team_id=ref("team", r.int("team_id"), r.path),
                author_id=ref("user", r.ref("author_id"), r.path),
                tlp=r.str("tlp"),
                target_ids=self.ids.teams(r.ints("target_ids"), r.path),
                reason=r.str("reason"),
                clock_seconds=r.float("clock_seconds"),
                created_at=r.datetime("created_at"),
            ),
        )

    def _observations(self, exercise: Exercise) -> None:
        ref = self.ids.get
        self._bulk(
            Observation,
            "observations",
            lambda r: Observation(
                exercise=exercise,
                # Its evaluator's URLs name it; a version 1 file has none ("").
                code=self._code(r.str("code")) or new_code(),
                team_id=ref("team", r.int("team_id"), r.path),
                criterion_id=ref("criterion", r.int("criterion_id"), r.path),
                evaluator_id=ref("user", r.ref("evaluator_id"), r.path),
                rating=r.str("rating"),
                note=r.str("note"),
                clock_seconds=r.float("clock_seconds"),
                created_at=r.datetime("created_at"),
                revised_at=r.datetime("revised_at", null=True),
            ),
            kind="observation",
        )

    def _messages(self, exercise: Exercise) -> None:
        ref = self.ids.get
        self._bulk(
            Message,
            "messages",
            lambda r: Message(
                exercise=exercise,
                team_id=ref("team", r.int("team_id"), r.path),
                author_id=ref("user", r.ref("author_id"), r.path),
                from_control=r.bool("from_control"),
                body=r.str("body"),
                mentions=[ref("username", name, r.path) for name in r.strs("mentions")],
                event_seq=r.int("event_seq"),
                clock_seconds=r.float("clock_seconds"),
                created_at=r.datetime("created_at"),
            ),
            kind="message",
        )

    def _rfis(self, exercise: Exercise) -> None:
        ref = self.ids.get
        for r in records(self.doc, "rfis"):
            rfi = Rfi(
                exercise=exercise,
                code=self._code(r.str("code")),
                from_team_id=ref("team", r.int("from_team_id"), r.path),
                to_team_id=ref("team", r.ref("to_team_id"), r.path),
                asked_by_id=ref("user", r.ref("asked_by_id"), r.path),
                tlp=r.str("tlp"),
                question=r.str("question"),
                client_token=r.str("client_token"),
                asked_seq=r.int("asked_seq"),
                asked_clock=r.float("asked_clock"),
                asked_at=r.datetime("asked_at"),
                answer=r.str("answer"),
                answered_by_id=ref("user", r.ref("answered_by_id"), r.path),
                answer_inject_id=ref("inject", r.ref("answer_inject_id"), r.path),
                answered_clock=r.float("answered_clock", null=True),
                answered_at=r.datetime("answered_at", null=True),
            )
            _checked(rfi, r.path).save()
            self.ids.put("rfi_code", r.str("code"), rfi.code)

    def _events(self, exercise: Exercise) -> None:
        def build(r: Record) -> Event:
            kind = r.str("kind")
            if kind not in events.KINDS:
                raise BackupError(f"{r.path}.kind: unknown event kind {kind!r}")
            where = f"{r.path}.payload"
            # Fields of the wrong type are refused; missing or extra ones are kept, as
            # rows written before a schema changed have them.
            wrong = [
                e
                for e in events.payload_errors(kind, r.json("payload", dict))
                if not e.endswith((": missing", ": unexpected"))
            ]
            if wrong:
                raise BackupError(f"{where}: {wrong[0]}")
            return Event(
                exercise=exercise,
                seq=r.int("seq"),
                kind=kind,
                payload=events.remap_references(
                    kind, r.json("payload", dict), self.ids.lookup(where)
                ),
                visibility=r.str("visibility"),
                team_ids=self.ids.teams(r.ints("team_ids"), r.path),
                clock_seconds=r.float("clock_seconds"),
                actor_id=self.ids.get("user", r.ref("actor_id"), r.path),
                created_at=r.datetime("created_at"),
            )

        self._bulk(Event, "events", build, kind="event")

    def _releases(self, exercise: Exercise) -> None:
        self._bulk(
            InjectRelease,
            "releases",
            lambda r: InjectRelease(
                exercise=exercise,
                inject_id=self.ids.get("inject", r.int("inject_id"), r.path),
                release_key=self._release_key(r.str("release_key"), r.path),
                team_ids=self.ids.teams(r.ints("team_ids"), r.path),
                event_id=self.ids.get("event", r.int("event_id"), r.path),
                released_at=r.datetime("released_at"),
                clock_seconds=r.float("clock_seconds"),
            ),
        )

    def _carried(self, exercise: Exercise) -> None:
        self._bulk(
            CarriedInject,
            "carried_injects",
            lambda r: CarriedInject(
                exercise=exercise,
                inject_id=self.ids.get("inject", r.int("inject_id"), r.path),
                due_clock=r.float("due_clock"),
            ),
        )

    def _release_key(self, key: str, where: str) -> str:
        """``inject:<inject id>``, ``csq:<consequence id>:<team id>`` or
        ``rfi:<rfi code>:<inject key>`` (``exercises.engine.rules``, ``engine.rfis``)."""
        parts = key.split(":")
        where = f"{where}.release_key"
        if parts[0] == "inject" and len(parts) == 2 and parts[1].isdigit():
            return f"inject:{self.ids.get('inject', int(parts[1]), where)}"
        if parts[0] == "csq" and len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            consequence = self.ids.get("consequence", int(parts[1]), where)
            return f"csq:{consequence}:{self.ids.get('team', int(parts[2]), where)}"
        if parts[0] == "rfi" and len(parts) == 3:
            return f"rfi:{self.ids.get('rfi_code', parts[1], where)}:{parts[2]}"
        raise BackupError(f"{where}: {key!r} is not a release key")

    def _marks(self, exercise: Exercise, source: Record) -> None:
        """``{"teams": seq, "all": seq, "team": {team id: seq}, "closed": seq}``
        (``events.advance_marks``)."""
        marks = source.json("visibility_marks", dict)
        team = marks.get("team", {})
        seqs = [marks.get("teams", 0), marks.get("all", 0), marks.get("closed", 0)]
        if not isinstance(team, dict) or not all(k.isdigit() for k in team):
            raise BackupError(f"{source.path}.visibility_marks.team: expected team ids")
        if not all(type(seq) is int for seq in [*seqs, *team.values()]):
            raise BackupError(f"{source.path}.visibility_marks: expected seq numbers")
        renamed = {str(self.ids.get("team", int(k), source.path)): v for k, v in team.items()}
        exercise.visibility_marks = {**marks, "team": renamed} if marks else {}
        exercise.save(update_fields=["visibility_marks"])

    # ------------------------------------------------------------ the report

    def _improvement_items(self, exercise: Exercise) -> None:
        ref = self.ids.get
        stamps: list[tuple[int, Any, Any]] = []
        for r in records(self.doc, "improvement_items"):
            item = ImprovementItem(
                exercise=exercise,
                code=self._code(r.str("code")),
                criterion_id=ref("criterion", r.int("criterion_id"), r.path),
                observation=r.str("observation"),
                recommendation=r.str("recommendation"),
                corrective_action=r.str("corrective_action"),
                capability_element=r.str("capability_element"),
                organization_id=ref("organization", r.ref("organization_id"), r.path),
                point_of_contact=r.str("point_of_contact"),
                start_date=r.date("start_date"),
                completion_date=r.date("completion_date"),
                status=r.str("status"),
                draft_key=self._draft_key(r.str("draft_key"), r.path),
            )
            _checked(item, r.path).save()
            stamps.append((item.pk, r.datetime("created_at"), r.datetime("updated_at")))
        for pk, created, updated in stamps:  # auto_now fields: set past save()
            ImprovementItem.objects.filter(pk=pk).update(created_at=created, updated_at=updated)

    def _draft_key(self, key: str, where: str) -> str:
        """``team:<criterion>:<team id>``, ``systemic:<criterion>:<organization id>`` or
        ``cascade:<criterion>:<decision id>`` (``scoring.services._drafts``); "" for a row a
        coordinator added."""
        kinds = {"team": "team", "systemic": "organization", "cascade": "decision"}
        parts = key.split(":")
        if not key:
            return key
        if len(parts) != 3 or parts[0] not in kinds or not parts[2].isdigit():
            raise BackupError(f"{where}.draft_key: {key!r} is not a draft key")
        new = self.ids.get(kinds[parts[0]], int(parts[2]), f"{where}.draft_key")
        return f"{parts[0]}:{parts[1]}:{new}"

    def _scores(self, exercise: Exercise) -> None:
        """Recompute scores and gaps when the backup had them (``report_compute`` also
        relinks the restored plan rows to their gaps by draft key), and say where the
        result differs from the backup's (a scoring method changed since)."""
        ref = self.ids.get
        stored = {
            (
                ref("team", r.int("team_id"), r.path),
                ref("criterion", r.int("criterion_id"), r.path),
            ): r.float("value", null=True)
            for r in records(self.doc, "scores")
        }
        gaps = sum(1 for _ in records(self.doc, "gaps"))
        if not stored and not gaps:
            return
        report_compute(exercise=exercise)
        now = {
            (s.team_id, s.criterion_id): s.value for s in Score.objects.filter(exercise=exercise)
        }
        changed = [key for key in stored.keys() | now.keys() if stored.get(key) != now.get(key)]
        if changed:
            self.warnings.append(
                f"{len(changed)} of {len(stored)} scores differ from the backup's once "
                "recomputed here (the scoring method changed since it was written)."
            )
        if Gap.objects.filter(exercise=exercise).count() != gaps:
            self.warnings.append("The recomputed gaps differ from the backup's.")

    # ------------------------------------------------------------ helpers

    def _bulk(
        self,
        model: type[models.Model],
        name: str,
        build: Callable[[Record], models.Model],
        *,
        kind: str | None = None,
    ) -> None:
        """Insert the records ``name`` in source order, each checked; map their ids to
        ``kind`` when given."""
        rows = [(r, _checked(build(r), r.path)) for r in records(self.doc, name)]
        created = model.objects.bulk_create([row for _, row in rows], batch_size=500)
        if kind:
            for (r, _), row in zip(rows, created, strict=True):
                self.ids.put(kind, r.int("id"), row.pk)


def _checked(instance: Any, where: str) -> Any:
    """``instance`` once its own fields pass their checks (lengths, choices, types);
    foreign keys are checked by the database, whose refusal rolls the restore back."""
    relations = [f.name for f in instance._meta.concrete_fields if f.is_relation]
    try:
        instance.clean_fields(exclude=relations)
    except ValidationError as error:
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
        raise BackupError(f"{where}: {problems}") from None
    return instance


def _same_scenario(key: str, version: int, document: dict) -> Scenario | None:
    """A published version of ``key`` here with the backup's content, the same version
    number first; None when there is none."""
    wanted = content_hash(document)
    candidates = Scenario.objects.filter(key=key, status=Scenario.Status.PUBLISHED)
    for scenario in sorted(candidates, key=lambda s: s.version != version):
        if content_hash(export_document(scenario)) == wanted:
            return scenario
    return None
