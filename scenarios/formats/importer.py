"""Document → database: all-or-nothing import of a validated scenario document."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from scenarios.formats.errors import FormatError, ScenarioFormatError
from scenarios.formats.parse import load_document, parse_duration
from scenarios.formats.validate import validate_document
from scenarios.models import (
    Consequence,
    Inject,
    Option,
    Prompt,
    Role,
    Rubric,
    Scenario,
    Stage,
    Transition,
)


def import_scenario(
    text_or_doc: str | bytes | dict,
    *,
    filename: str = "",
    created_by: Any = None,
    publish: bool = True,
) -> Scenario:
    """Create a scenario from a file's text (YAML/JSON) or a parsed document.

    All-or-nothing: raises ``ScenarioFormatError`` listing every problem and changes
    nothing. When the key exists the result is its next version (``previous_version``
    set to the latest). Published unless ``publish`` is False.
    """
    doc = text_or_doc
    if isinstance(doc, bytes):
        try:
            doc = doc.decode("utf-8-sig")
        except UnicodeDecodeError as error:  # never publish text with U+FFFD in it
            message = f"not UTF-8 text (byte {error.start})"
            raise ScenarioFormatError([FormatError("file", message)]) from None
    if isinstance(doc, str):
        doc = load_document(doc, filename=filename)
    rubric, criteria, errors = rubric_errors(doc)
    errors += validate_document(doc, criteria=criteria)
    if errors:
        raise ScenarioFormatError(errors)
    with transaction.atomic():
        return _Builder(doc, rubric=rubric, created_by=created_by, publish=publish).build()


def rubric_errors(doc: Any) -> tuple[Rubric | None, set[str] | None, list[FormatError]]:
    """The named rubric and its criterion keys; None criteria skips criterion checks."""
    key = doc.get("rubric") if isinstance(doc, dict) else None
    if not isinstance(key, str):
        return None, set(), []
    rubric = Rubric.objects.filter(key=key).first()
    if rubric is None:
        line = getattr(doc, "lines", {}).get("rubric")
        message = f"unknown rubric '{key}' (load it first: manage.py load_fixtures)"
        return None, None, [FormatError("rubric", message, line)]
    return rubric, set(rubric.criteria.values_list("key", flat=True)), []


def audience_of(value: Any) -> tuple[str, list[str], list[str]]:
    """(audience kind, role keys, sectors) of a validated ``audience`` value."""
    if value is None or value in ("all", "control"):
        return value or "all", [], []
    if "roles" in value:
        return "roles", list(value["roles"]), []
    return "sectors", [], list(value["sectors"])


def condition_of(when: dict) -> dict:
    """The stored form of a validated ``when``: every field present, count only for at_least."""
    condition = {
        "mode": when["mode"],
        "prompt": when["prompt"],
        "options": list(when["options"]),
        "roles": list(when.get("roles") or []),
    }
    if when["mode"] == "at_least":
        condition["count"] = when["count"]
    return condition


class _Builder:
    def __init__(self, doc: dict, *, rubric: Rubric | None, created_by: Any, publish: bool):
        self.doc = doc
        self.rubric = rubric
        self.created_by = created_by
        self.publish = publish
        self.roles: dict[str, Role] = {}
        self.stages: dict[str, Stage] = {}
        self.injects: dict[str, Inject] = {}

    def build(self) -> Scenario:
        self.scenario = self._scenario()
        self._roles()
        for order, data in enumerate(self.doc["stages"]):
            self.stages[data["key"]] = Stage.objects.create(
                scenario=self.scenario,
                key=data["key"],
                title=data["title"],
                briefing=data.get("briefing") or "",
                duration_seconds=parse_duration(data.get("duration")),
                order=order,
            )
        for data in self.doc["stages"]:
            for order, inject in enumerate(data.get("injects") or []):
                self._inject(self.stages[data["key"]], inject, order)
        for data in self.doc["stages"]:
            stage = self.stages[data["key"]]
            for order, prompt in enumerate(data.get("prompts") or []):
                self._prompt(stage, prompt, order)
            for order, transition in enumerate(data.get("transitions") or []):
                self._transition(stage, transition, order)
        self.scenario.start_stage = self.stages[self.doc["start"]]
        self.scenario.save(update_fields=["start_stage"])
        return self.scenario

    def _scenario(self) -> Scenario:
        key = self.doc["key"]
        latest = Scenario.objects.filter(key=key).order_by("-version").first()
        sectors = list(dict.fromkeys(role["sector"] for role in self.doc["roles"]))
        status = Scenario.Status.PUBLISHED if self.publish else Scenario.Status.DRAFT
        return Scenario.objects.create_next_version(
            key=key,
            previous_version=latest,
            title=self.doc["title"],
            summary=self.doc.get("summary") or "",
            sectors=sectors,
            rubric=self.rubric,
            status=status,
            created_by=self.created_by,
            published_at=timezone.now() if self.publish else None,
        )

    def _roles(self) -> None:
        for order, data in enumerate(self.doc["roles"]):
            self.roles[data["key"]] = Role.objects.create(
                scenario=self.scenario,
                key=data["key"],
                label=data["label"],
                sector=data["sector"],
                description=data.get("description") or "",
                coordinating=data.get("coordinating", False),
                order=order,
            )
        for data in self.doc["roles"]:
            depends = [self.roles[key] for key in data.get("depends_on") or []]
            if depends:
                self.roles[data["key"]].depends_on.set(depends)

    def _inject(self, stage: Stage, data: dict, order: int) -> None:
        audience, role_keys, sectors = audience_of(data.get("audience"))
        release = data.get("release", "manual")
        offset = None
        if release not in ("manual", "consequence"):
            release, offset = "timed", parse_duration(release)
        inject = Inject.objects.create(
            scenario=self.scenario,
            stage=stage,
            key=data["key"],
            title=data["title"],
            body=data.get("body") or "",
            sender=data.get("from") or "",
            channel=data.get("channel") or "email",
            channel_label=data.get("channel_label") or "",
            severity=data.get("severity") or "medium",
            tlp=data.get("tlp") or "GREEN",
            audience=audience,
            audience_sectors=sectors,
            release=release,
            offset_seconds=offset,
            expected_action=data.get("expected_action") or "",
            criteria=list(data.get("criteria") or []),
            notes=data.get("notes") or "",
            columns=dict(data.get("columns") or {}),
            order=order,
        )
        if role_keys:
            inject.audience_roles.set([self.roles[key] for key in role_keys])
        self.injects[inject.key] = inject

    def _prompt(self, stage: Stage, data: dict, order: int) -> None:
        audience, role_keys, sectors = audience_of(data.get("audience"))
        prompt = Prompt.objects.create(
            scenario=self.scenario,
            stage=stage,
            key=data["key"],
            question=data["question"],
            kind=data.get("kind") or "choice",
            audience=audience,
            audience_sectors=sectors,
            open_offset_seconds=parse_duration(data.get("opens", 0)),
            deadline_seconds=parse_duration(data.get("deadline")),
            criteria=list(data.get("criteria") or []),
            order=order,
        )
        if role_keys:
            prompt.audience_roles.set([self.roles[key] for key in role_keys])
        for position, option in enumerate(data.get("options") or []):
            self._option(prompt, option, position)

    def _option(self, prompt: Prompt, data: dict, order: int) -> None:
        option = Option.objects.create(
            prompt=prompt,
            key=data["key"],
            label=data["label"],
            description=data.get("description") or "",
            effects=dict(data.get("effects") or {}),
            order=order,
        )
        for position, item in enumerate(data.get("consequences") or []):
            target = item.get("to", "dependents")
            consequence = Consequence.objects.create(
                option=option,
                inject=self.injects[item["inject"]],
                target="roles" if isinstance(target, dict) else target,
                delay_seconds=parse_duration(item.get("delay", 0)),
                order=position,
            )
            if isinstance(target, dict):
                consequence.target_roles.set([self.roles[key] for key in target["roles"]])

    def _transition(self, stage: Stage, data: dict, order: int) -> None:
        is_default = bool(data.get("default", False))
        Transition.objects.create(
            scenario=self.scenario,
            from_stage=stage,
            to_stage=self.stages[data["to"]],
            label=data.get("label") or "",
            is_default=is_default,
            condition={} if is_default else condition_of(data["when"]),
            order=order,
        )
