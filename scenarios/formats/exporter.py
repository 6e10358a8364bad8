"""Database → document → text. The export is canonical: export → import → export is identical."""

from __future__ import annotations

import json
from typing import Any

import yaml
from django.db.models import Prefetch

from scenarios.formats.parse import Document, format_duration
from scenarios.formats.validate import FORMAT
from scenarios.models import Consequence, Inject, Option, Prompt, Role, Scenario, Stage


def export_document(scenario: Scenario) -> dict:
    """The scenario as a file-format document (plain dicts and lists, canonical order)."""
    roles = list(scenario.roles.prefetch_related("depends_on"))
    order = {role.pk: position for position, role in enumerate(roles)}
    doc: dict[str, Any] = {"format": FORMAT, "key": scenario.key, "title": scenario.title}
    _put(doc, "summary", scenario.summary)
    _put(doc, "rubric", scenario.rubric.key if scenario.rubric_id else None)
    _put(doc, "start", scenario.start_stage.key if scenario.start_stage_id else None)
    doc["roles"] = [_role(role, order) for role in roles]
    doc["stages"] = [_stage(stage, order) for stage in _stages(scenario)]
    return doc


def dump_document(doc: dict, fmt: str = "yaml") -> str:
    """``doc`` as YAML (multi-line text as ``|`` blocks) or indented JSON."""
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if fmt != "yaml":
        raise ValueError(f"unknown format {fmt!r}: yaml or json")
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _stages(scenario: Scenario) -> list[Stage]:
    prompts = Prompt.objects.prefetch_related(
        "audience_roles",
        Prefetch(
            "options",
            queryset=Option.objects.prefetch_related(
                Prefetch(
                    "consequences",
                    queryset=Consequence.objects.select_related("inject").prefetch_related(
                        "target_roles"
                    ),
                )
            ),
        ),
    )
    return list(
        scenario.stages.prefetch_related(
            Prefetch("injects", queryset=Inject.objects.prefetch_related("audience_roles")),
            Prefetch("prompts", queryset=prompts),
            "transitions__to_stage",
        )
    )


def _put(target: dict, name: str, value: Any) -> None:
    """Set ``name`` unless ``value`` is empty: exports omit optional empty fields."""
    if value not in (None, "", [], {}):
        target[name] = value


def _keys(roles: Any, order: dict[int, int]) -> list[str]:
    return [role.key for role in sorted(roles, key=lambda role: order[role.pk])]


def _audience(kind: str, roles: Any, sectors: list[str], order: dict[int, int]) -> Any:
    if kind == "roles":
        return {"roles": _keys(roles.all(), order)}
    if kind == "sectors":
        return {"sectors": list(sectors)}
    return kind


def _role(role: Role, order: dict[int, int]) -> dict:
    data = {"key": role.key, "label": role.label, "sector": role.sector}
    _put(data, "description", role.description)
    if role.coordinating:
        data["coordinating"] = True
    data["depends_on"] = _keys(role.depends_on.all(), order)
    return data


def _stage(stage: Stage, order: dict[int, int]) -> dict:
    data: dict[str, Any] = {"key": stage.key, "title": stage.title}
    if stage.duration_seconds:
        data["duration"] = format_duration(stage.duration_seconds)
    _put(data, "briefing", stage.briefing)
    _put(data, "injects", [_inject(inject, order) for inject in stage.injects.all()])
    _put(data, "prompts", [_prompt(prompt, order) for prompt in stage.prompts.all()])
    transitions = sorted(stage.transitions.all(), key=lambda t: (t.is_default, t.order, t.pk))
    _put(data, "transitions", [_transition(transition) for transition in transitions])
    return data


def _inject(inject: Inject, order: dict[int, int]) -> dict:
    data: dict[str, Any] = {"key": inject.key, "title": inject.title}
    _put(data, "body", inject.body)
    _put(data, "from", inject.sender)
    data["channel"] = inject.channel
    _put(data, "channel_label", inject.channel_label)
    data["severity"] = inject.severity
    data["tlp"] = inject.tlp
    data["audience"] = _audience(
        inject.audience, inject.audience_roles, inject.audience_sectors, order
    )
    if inject.release == Inject.Release.TIMED:
        data["release"] = format_duration(inject.offset_seconds or 0)
    else:
        data["release"] = inject.release
    _put(data, "expected_action", inject.expected_action)
    _put(data, "criteria", list(inject.criteria))
    _put(data, "notes", inject.notes)
    _put(data, "columns", dict(inject.columns))
    return data


def _prompt(prompt: Prompt, order: dict[int, int]) -> dict:
    data: dict[str, Any] = {"key": prompt.key, "question": prompt.question, "kind": prompt.kind}
    data["audience"] = _audience(
        prompt.audience, prompt.audience_roles, prompt.audience_sectors, order
    )
    if prompt.open_offset_seconds:
        data["opens"] = format_duration(prompt.open_offset_seconds)
    if prompt.deadline_seconds:
        data["deadline"] = format_duration(prompt.deadline_seconds)
    _put(data, "criteria", list(prompt.criteria))
    _put(data, "options", [_option(option, order) for option in prompt.options.all()])
    return data


def _option(option: Option, order: dict[int, int]) -> dict:
    data: dict[str, Any] = {"key": option.key, "label": option.label}
    _put(data, "description", option.description)
    # Sorted: PostgreSQL's jsonb does not keep the author's key order.
    _put(data, "effects", dict(sorted(option.effects.items())))
    consequences = []
    for consequence in option.consequences.all():
        item: dict[str, Any] = {"inject": consequence.inject.key}
        if consequence.target == Consequence.Target.ROLES:
            item["to"] = {"roles": _keys(consequence.target_roles.all(), order)}
        else:
            item["to"] = consequence.target
        if consequence.delay_seconds:
            item["delay"] = format_duration(consequence.delay_seconds)
        consequences.append(item)
    _put(data, "consequences", consequences)
    return data


def _transition(transition: Any) -> dict:
    data: dict[str, Any] = {"to": transition.to_stage.key}
    _put(data, "label", transition.label)
    if transition.is_default:
        data["default"] = True
        return data
    condition = transition.condition or {}
    when: dict[str, Any] = {
        "mode": condition.get("mode"),
        "prompt": condition.get("prompt"),
        "options": list(condition.get("options") or []),
    }
    _put(when, "roles", list(condition.get("roles") or []))
    if condition.get("mode") == "at_least":
        when["count"] = condition.get("count")
    data["when"] = when
    return data


class _Dumper(yaml.SafeDumper):
    """Multi-line text as literal blocks, so briefings read like the markdown they are."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent lists under their key, as people write them by hand.
        return super().increase_indent(flow, False)


_YAML11_BREAKS = ("\x85", "\u2028", "\u2029")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    if any(char in value for char in _YAML11_BREAKS):
        # PyYAML writes these Unicode line breaks raw in single-quoted and block scalars,
        # where reading them back folds them into spaces; escape them in double quotes.
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(Document, yaml.SafeDumper.represent_dict)
