"""Check a scenario document against docs/scenario-format.md, collecting every problem.

Validation runs in two passes: the first checks each object's shape and collects the
keys it declares; the second resolves references (roles, stages, prompts, options,
injects, criteria) and analyses the stage graph with ``scenarios.graph.analyse``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accounts.models import Sector
from config.limits import MSEL_MAX_COLUMNS, TEXT_BRIEF, TEXT_DOCUMENT
from scenarios.formats.errors import FormatError
from scenarios.formats.parse import parse_duration
from scenarios.graph import analyse
from scenarios.models import (
    Audience,
    Channel,
    Consequence,
    Inject,
    Prompt,
    Severity,
    Tlp,
    Transition,
)

FORMAT = "cascade-scenario/1"
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_KEY = 60
MAX_SECONDS = 7 * 24 * 3600
MODES = tuple(Transition.Mode.values)
KINDS = tuple(Prompt.Kind.values)
# Named roles are written as a mapping ``{roles: [...]}``, not as a word.
TARGETS = tuple(t for t in Consequence.Target.values if t != Consequence.Target.ROLES)

TOP = {"format", "key", "title", "summary", "rubric", "start", "roles", "stages"}
ROLE = {"key", "label", "sector", "description", "depends_on", "coordinating"}
STAGE = {"key", "title", "duration", "briefing", "injects", "prompts", "transitions"}
INJECT = {
    "key", "title", "body", "from", "channel", "channel_label", "severity", "tlp", "audience",
    "release", "expected_action", "criteria", "notes", "columns",
}  # fmt: skip
PROMPT = {"key", "question", "kind", "audience", "opens", "deadline", "criteria", "options"}
OPTION = {"key", "label", "description", "effects", "consequences"}
CONSEQUENCE = {"inject", "to", "delay"}
TRANSITION = {"to", "label", "when", "default"}
WHEN = {"mode", "prompt", "options", "roles", "count"}
# The audiences written as a one-key mapping of a list.
LISTED = {Audience.ROLES, Audience.SECTORS}


@dataclass
class _PromptInfo:
    stage: str
    options: set[str]
    path: str


@dataclass
class _Index:
    """Keys declared by the document, with the path that declared each."""

    roles: dict[str, str] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)
    injects: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (path, release)
    prompts: dict[str, _PromptInfo] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    # Checked once every key is known: (kind, key, path).
    refs: list[tuple[str, Any, str]] = field(default_factory=list)
    conditions: list[tuple[str, dict, str]] = field(default_factory=list)
    consequence_targets: set[str] = field(default_factory=set)
    dependencies: dict[str, list[str]] = field(default_factory=dict)


def validate_document(doc: dict, *, criteria: set[str] | None = None) -> list[FormatError]:
    """Every problem in ``doc``, in document order then reference order; empty when valid.

    ``criteria`` is the set of criterion keys of the scenario's rubric; None skips the
    criterion checks (validating a file without a database).
    """
    validator = _Validator(doc, criteria)
    validator.run()
    return validator.errors


class _Validator:
    def __init__(self, doc: dict, criteria: set[str] | None) -> None:
        self.doc = doc
        self.lines: dict[str, int] = getattr(doc, "lines", {})
        self.criteria = criteria
        self.errors: list[FormatError] = []
        self.index = _Index()

    # -- reporting -------------------------------------------------------------------

    def error(self, path: str, message: str) -> None:
        self.errors.append(FormatError(path, message, self._line(path)))

    def _line(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            shorter = re.sub(r"(\[\d+\]|\.[^.\[]*|^[^.\[]*)$", "", path)
            path = shorter if shorter != path else ""
        return self.lines.get("")

    # -- typed field readers -----------------------------------------------------------

    def mapping(self, value: Any, path: str, allowed: set[str], required: tuple[str, ...]) -> dict:
        """``value`` as a mapping, reporting unknown and missing fields; {} if not a mapping."""
        if not isinstance(value, dict):
            self.error(path, f"must be a mapping, not {_kind(value)}")
            return {}
        for name in value:
            if name not in allowed:
                self.error(_join(path, name), f"unknown field '{name}'")
        for name in required:
            if value.get(name) is None or value.get(name) == "":
                self.error(_join(path, name) if path else name, "is required")
        return value

    def text(self, obj: dict, name: str, path: str, *, max_length: int | None = None) -> str:
        value = obj.get(name)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.error(_join(path, name), f"must be text, not {_kind(value)}")
            return ""
        if max_length is not None and len(value) > max_length:
            self.error(_join(path, name), f"is longer than {max_length} characters")
        if "\x00" in value:  # PostgreSQL cannot store it
            self.error(_join(path, name), "contains a NUL character")
        return value

    def key(self, obj: dict, name: str, path: str) -> str | None:
        value = obj.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not SLUG.match(value) or len(value) > MAX_KEY:
            self.error(_join(path, name), f"{_show(value)} is not a key (a-z, 0-9, -; ≤60)")
            return None
        return value

    def choice(self, obj: dict, name: str, path: str, choices: tuple[str, ...]) -> str | None:
        value = obj.get(name)
        if value is None:
            return None
        if value not in choices:
            allowed = ", ".join(choices)
            self.error(_join(path, name), f"{_show(value)} is not one of: {allowed}")
            return None
        return value

    def items(self, obj: dict, name: str, path: str) -> list[tuple[str, Any]]:
        """The (path, item) pairs of a list field; [] when absent or not a list."""
        value = obj.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(_join(path, name), f"must be a list, not {_kind(value)}")
            return []
        return [(f"{_join(path, name)}[{index}]", item) for index, item in enumerate(value)]

    def seconds(self, obj: dict, name: str, path: str, *, positive: bool = False) -> int | None:
        value = obj.get(name)
        if value is None:
            return None
        seconds = parse_duration(value)
        if seconds is None or seconds > MAX_SECONDS or (positive and seconds == 0):
            what = "a positive duration" if positive else "a duration"
            self.error(
                _join(path, name),
                f"{_show(value)} is not {what} (seconds, or like 90s, 5m, 1h30m; at most 7 days)",
            )
            return None
        return seconds

    def declare(self, table: dict, key: str | None, path: str, kind: str, value: Any) -> None:
        if key is None:
            return
        if key in table:
            first = table[key][0] if isinstance(table[key], tuple) else table[key]
            first = first.path if isinstance(first, _PromptInfo) else first
            self.error(f"{path}.key", f"duplicate {kind} key '{key}' (first at {first})")
            return
        table[key] = value

    def refs(self, kind: str, obj: dict, name: str, path: str) -> list[str]:
        """A list of keys that must name declared ``kind`` objects (checked in pass two)."""
        keys = []
        for item_path, item in self.items(obj, name, path):
            if isinstance(item, str):
                self.index.refs.append((kind, item, item_path))
                keys.append(item)
            else:
                self.error(item_path, f"must be a {kind} key, not {_kind(item)}")
        return keys

    # -- pass one: shapes and declarations ----------------------------------------------

    def run(self) -> None:
        doc = self.mapping(self.doc, "", TOP, ("format", "key", "title", "start"))
        if "format" in doc and doc.get("format") != FORMAT:
            self.error("format", f"must be '{FORMAT}', not {_show(doc.get('format'))}")
        self.key(doc, "key", "")
        self.text(doc, "title", "", max_length=200)
        self.text(doc, "summary", "", max_length=TEXT_DOCUMENT)
        self.key(doc, "rubric", "")
        start = doc.get("start")
        if start is not None:
            self.index.refs.append(("stage", start, "start"))
        for kind, name, check in (("role", "roles", self.role), ("stage", "stages", self.stage)):
            entries = self.items(doc, name, "")
            if not entries and name not in {e.path for e in self.errors}:
                self.error(name, f"needs at least one {kind}")
            for index, (path, item) in enumerate(entries):
                check(item, path, index)
        self.resolve(start)

    def role(self, item: Any, path: str, index: int) -> None:
        role = self.mapping(item, path, ROLE, ("key", "label", "sector"))
        key = self.key(role, "key", path)
        self.declare(self.index.roles, key, path, "role", path)
        self.text(role, "label", path, max_length=120)
        self.choice(role, "sector", path, tuple(Sector.values))
        self.text(role, "description", path, max_length=TEXT_BRIEF)
        if not isinstance(role.get("coordinating", False), bool):
            self.error(f"{path}.coordinating", "must be true or false")
        depends = self.refs("role", role, "depends_on", path)
        if key is not None:
            self.index.dependencies.setdefault(key, depends)

    def stage(self, item: Any, path: str, index: int) -> None:
        stage = self.mapping(item, path, STAGE, ("key", "title"))
        key = self.key(stage, "key", path)
        self.declare(self.index.stages, key, path, "stage", path)
        self.text(stage, "title", path, max_length=200)
        self.text(stage, "briefing", path, max_length=TEXT_DOCUMENT)
        self.seconds(stage, "duration", path, positive=True)
        for inject_path, inject in self.items(stage, "injects", path):
            self.inject(inject, inject_path)
        for prompt_path, prompt in self.items(stage, "prompts", path):
            self.prompt(prompt, prompt_path, key)
        self.transitions(stage, path, key)

    def inject(self, item: Any, path: str) -> None:
        inject = self.mapping(item, path, INJECT, ("key", "title"))
        key = self.key(inject, "key", path)
        self.text(inject, "title", path, max_length=200)
        self.text(inject, "from", path, max_length=120)
        for name in ("body", "expected_action", "notes"):
            self.text(inject, name, path, max_length=TEXT_DOCUMENT)
        self.choice(inject, "channel", path, tuple(Channel.values))
        self.text(inject, "channel_label", path, max_length=60)
        self.columns(inject.get("columns"), _join(path, "columns"))
        self.choice(inject, "severity", path, tuple(Severity.values))
        self.choice(inject, "tlp", path, tuple(Tlp.values))
        self.audience(inject.get("audience"), f"{path}.audience", allow_control=True)
        release = inject.get("release", Inject.Release.MANUAL)
        if release not in (Inject.Release.MANUAL, Inject.Release.CONSEQUENCE):
            timed = self.seconds(inject, "release", path) is not None
            release = Inject.Release.TIMED if timed else None
        self.declare(self.index.injects, key, path, "inject", (path, release))
        self.refs("criterion", inject, "criteria", path)

    def columns(self, value: Any, path: str) -> None:
        """MSEL columns kept as text: a mapping of header to text, as wide as an MSEL."""
        if value is None:
            return
        if not isinstance(value, dict):
            self.error(path, f"must be a mapping of column name to text, not {_kind(value)}")
            return
        if len(value) > MSEL_MAX_COLUMNS:
            self.error(path, f"has more than {MSEL_MAX_COLUMNS} columns")
            return
        for name in value:
            if problem := column_name_problem(name):
                self.error(path, problem)
            else:
                self.text(value, name, path, max_length=TEXT_DOCUMENT)

    def audience(self, value: Any, path: str, *, allow_control: bool) -> None:
        if value is None or value == Audience.ALL or (value == Audience.CONTROL and allow_control):
            return
        if value == Audience.CONTROL:
            self.error(path, "a prompt cannot be put to control only")
            return
        shape = "all, control, {roles: [...]} or {sectors: [...]}"
        if not allow_control:
            shape = "all, {roles: [...]} or {sectors: [...]}"
        if not isinstance(value, dict) or len(value) != 1 or not LISTED & set(value):
            self.error(path, f"must be {shape}")
            return
        name = next(iter(value))
        if not isinstance(value[name], list) or not value[name]:
            self.error(f"{path}.{name}", "must be a non-empty list")
        elif name == Audience.ROLES:
            self.refs("role", value, Audience.ROLES, path)
        else:
            for item_path, sector in self.items(value, Audience.SECTORS, path):
                if sector not in Sector.values:
                    allowed = ", ".join(Sector.values)
                    self.error(item_path, f"{_show(sector)} is not one of: {allowed}")

    def prompt(self, item: Any, path: str, stage_key: str | None) -> None:
        prompt = self.mapping(item, path, PROMPT, ("key", "question"))
        key = self.key(prompt, "key", path)
        self.text(prompt, "question", path, max_length=TEXT_BRIEF)
        kind = self.choice(prompt, "kind", path, KINDS) or Prompt.Kind.CHOICE
        self.audience(prompt.get("audience"), f"{path}.audience", allow_control=False)
        self.seconds(prompt, "opens", path)
        self.seconds(prompt, "deadline", path, positive=True)
        self.refs("criterion", prompt, "criteria", path)
        options: dict[str, str] = {}
        entries = self.items(prompt, "options", path)
        for option_path, option in entries:
            self.option(option, option_path, options)
        if kind == Prompt.Kind.TEXT and entries:
            self.error(f"{path}.options", "a text prompt takes no options")
        elif kind != Prompt.Kind.TEXT and len(entries) < 2:
            self.error(f"{path}.options", f"a {kind} prompt needs at least two options")
        info = _PromptInfo(stage=stage_key or "", options=set(options), path=path)
        self.declare(self.index.prompts, key, path, "prompt", info)

    def option(self, item: Any, path: str, siblings: dict[str, str]) -> None:
        option = self.mapping(item, path, OPTION, ("key", "label"))
        key = self.key(option, "key", path)
        if key is not None and key in siblings:
            self.error(f"{path}.key", f"duplicate option key '{key}' (first at {siblings[key]})")
        elif key is not None:
            siblings[key] = path
        self.text(option, "label", path, max_length=200)
        self.text(option, "description", path, max_length=TEXT_BRIEF)
        self.effects(option.get("effects"), f"{path}.effects")
        for consequence_path, consequence in self.items(option, "consequences", path):
            self.consequence(consequence, consequence_path)

    def effects(self, value: Any, path: str) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            self.error(path, f"must be a mapping of criterion key to points, not {_kind(value)}")
            return
        for criterion, points in value.items():
            self.index.refs.append(("criterion", criterion, f"{path}.{criterion}"))
            if isinstance(points, bool) or not isinstance(points, int) or abs(points) > 100:
                self.error(f"{path}.{criterion}", f"{_show(points)} is not points in -100..100")

    def consequence(self, item: Any, path: str) -> None:
        consequence = self.mapping(item, path, CONSEQUENCE, ("inject",))
        inject = consequence.get("inject")
        if inject is not None:
            self.index.refs.append(("consequence inject", inject, f"{path}.inject"))
        target = consequence.get("to", Consequence.Target.DEPENDENTS)
        roles = Consequence.Target.ROLES
        if isinstance(target, dict) and set(target) == {roles} and target[roles]:
            if isinstance(target[roles], list):
                self.refs("role", target, roles, f"{path}.to")
            else:
                self.error(f"{path}.to.roles", "must be a non-empty list")
        elif target not in TARGETS:
            self.error(f"{path}.to", "must be dependents, chooser, all or {roles: [...]}")
        self.seconds(consequence, "delay", path)

    def transitions(self, stage: dict, path: str, stage_key: str | None) -> None:
        defaults = 0
        entries = self.items(stage, "transitions", path)
        for item_path, item in entries:
            transition = self.mapping(item, item_path, TRANSITION, ("to",))
            target = transition.get("to")
            if target is not None:
                self.index.refs.append(("stage", target, f"{item_path}.to"))
                if stage_key is not None and isinstance(target, str):
                    self.index.edges.append((stage_key, target))
            self.text(transition, "label", item_path, max_length=200)
            is_default = transition.get("default", False)
            if not isinstance(is_default, bool):
                self.error(f"{item_path}.default", "must be true or false")
            elif is_default:
                defaults += 1
                if defaults == 2:
                    self.error(f"{item_path}.default", "a second default transition")
                if "when" in transition:
                    self.error(f"{item_path}.when", "a default transition takes no condition")
            elif transition and "when" not in transition:
                self.error(item_path, "needs `when` unless it is the default")
            if "when" in transition and not is_default:
                self.when(transition["when"], f"{item_path}.when", stage_key)
        if entries and defaults == 0:
            self.error(f"{path}.transitions", "no default transition (mark one `default: true`)")

    def when(self, value: Any, path: str, stage_key: str | None) -> None:
        when = self.mapping(value, path, WHEN, ("mode", "prompt", "options"))
        mode = self.choice(when, "mode", path, MODES)
        count = when.get("count")
        if mode == Transition.Mode.AT_LEAST and (
            isinstance(count, bool) or not isinstance(count, int) or count < 1
        ):
            self.error(f"{path}.count", "at_least needs a count of at least 1")
        elif mode != Transition.Mode.AT_LEAST and count is not None:
            self.error(f"{path}.count", "count is only for mode at_least")
        if "options" in when and not when["options"]:
            self.error(f"{path}.options", "must name at least one option")
        self.refs("role", when, "roles", path)
        if isinstance(when.get("prompt"), str) and stage_key is not None:
            self.index.conditions.append((stage_key, when, path))

    # -- pass two: references and the graph ---------------------------------------------

    def resolve(self, start: Any) -> None:
        index = self.index
        tables: dict[str, Callable[[Any], bool]] = {
            "role": lambda key: key in index.roles,
            "stage": lambda key: key in index.stages,
            "inject": lambda key: key in index.injects,
            "consequence inject": lambda key: key in index.injects,
            "prompt": lambda key: key in index.prompts,
            "criterion": lambda key: self.criteria is None or key in self.criteria,
        }
        for kind, key, path in index.refs:
            if not isinstance(key, str) or not tables[kind](key):
                self.error(path, f"unknown {kind.split()[-1]} {_show(key)}")
            elif kind == "consequence inject":
                self.consequence_target(key, path)
        for key, (path, release) in index.injects.items():
            if release == Inject.Release.CONSEQUENCE and key not in index.consequence_targets:
                self.error(f"{path}.release", f"consequence inject '{key}' is never released")
        self.dependency_cycles()
        self.conditions()
        self.graph(start)

    def consequence_target(self, key: str, path: str) -> None:
        self.index.consequence_targets.add(key)
        release = self.index.injects[key][1]
        if release != Inject.Release.CONSEQUENCE:
            self.error(path, f"inject '{key}' has release '{release}', not 'consequence'")

    def dependency_cycles(self) -> None:
        reported: set[str] = set()
        for key in self.index.dependencies:
            cycle = _cycle_from(key, self.index.dependencies)
            if cycle and not reported & set(cycle):
                reported.update(cycle)
                chain = " → ".join([*cycle, cycle[0]])
                self.error(f"{self.index.roles[key]}.depends_on", f"dependency cycle {chain}")

    def conditions(self) -> None:
        parents: dict[str, set[str]] = {}
        for source, target in self.index.edges:
            parents.setdefault(target, set()).add(source)
        for stage_key, when, path in self.index.conditions:
            prompt = self.index.prompts.get(when["prompt"])
            if prompt is None:
                self.error(f"{path}.prompt", f"unknown prompt {_show(when['prompt'])}")
                continue
            if prompt.stage != stage_key and prompt.stage not in _ancestors(stage_key, parents):
                self.error(
                    f"{path}.prompt",
                    f"prompt '{when['prompt']}' is not in this stage or one leading to it",
                )
            options = when.get("options")
            for position, option in enumerate(options if isinstance(options, list) else []):
                if not isinstance(option, str) or option not in prompt.options:
                    self.error(
                        f"{path}.options[{position}]",
                        f"unknown option {_show(option)} of prompt '{when['prompt']}'",
                    )
            if options is not None and not isinstance(options, list):
                self.error(f"{path}.options", f"must be a list, not {_kind(options)}")

    def graph(self, start: Any) -> None:
        stages = self.index.stages
        if not stages or not isinstance(start, str) or start not in stages:
            return
        report = analyse(stages, self.index.edges, start)
        for key in report.unreachable:
            self.error(stages[key], f"stage '{key}' is unreachable from start '{start}'")
        for key in report.cannot_end:
            self.error(stages[key], f"stage '{key}' has no path to an ending stage")


def _cycle_from(start: str, dependencies: dict[str, list[str]]) -> list[str] | None:
    """The dependency chain from ``start`` back to itself, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        key, chain = stack.pop()
        for nxt in dependencies.get(key, []):
            if nxt == start:
                return chain
            if nxt not in seen and nxt in dependencies:
                seen.add(nxt)
                stack.append((nxt, [*chain, nxt]))
    return None


def _ancestors(stage: str, parents: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    frontier = [stage]
    while frontier:
        for parent in parents.get(frontier.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                frontier.append(parent)
    return seen


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _kind(value: Any) -> str:
    names = {
        dict: "a mapping",
        list: "a list",
        str: "text",
        bool: "true/false",
        type(None): "empty",
    }
    return names.get(type(value), f"a {type(value).__name__}")


def column_name_problem(name: Any) -> str | None:
    """Why ``name`` cannot head a column kept as text, or None. An MSEL's reader asks it of
    the header row too, so the refusal names that row rather than the first inject's."""
    # PostgreSQL's JSON refuses a NUL in a key as in a value.
    if isinstance(name, str) and name.strip() and len(name) <= 200 and "\x00" not in name:
        return None
    return f"{_show(name)} is not a column name (text without NUL characters, ≤200 characters)"


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
