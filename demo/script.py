"""The played script of the completed demo: data in ``fixtures/demo/``, read and checked here.

The header of ``fixtures/demo/cloud-ransomware-played.yaml`` documents the format: per
stage, steps at "m:ss" into it and the stage the engine must branch to next; each step
one of release, open, decide, warn, rate. ``load_script`` returns the dataclasses below
or raises ``ScriptError`` naming the file and the step, before anything is played. Keys
of the scenario (injects, prompts, options, criteria) are checked when the step is
played, where the scenario is at hand (``demo.exercises``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from exercises.models import Observation
from scenarios.models import Tlp

FORMAT = "cascade-demo-script/1"
PLAYED_SCRIPT_FILE = "cloud-ransomware-played.yaml"
AT = re.compile(r"^(\d{1,3}):([0-5]\d)$")


@dataclass(frozen=True)
class Release:
    """The facilitator releases a manual inject (timed ones fall due by themselves)."""

    inject: str


@dataclass(frozen=True)
class Open:
    """The facilitator opens a prompt before its scheduled opening."""

    prompt: str


@dataclass(frozen=True)
class Decide:
    """A team answers a prompt; ``by`` picks which of the team's players submits."""

    role: str
    prompt: str
    option: str = ""
    text: str = ""
    rationale: str = ""
    by: int = 0


@dataclass(frozen=True)
class Warn:
    """A team shares intelligence with the teams of ``to`` under a TLP marking."""

    role: str
    tlp: str
    to: tuple[str, ...]
    title: str
    body: str
    about: str = ""


@dataclass(frozen=True)
class Rate:
    """The demo evaluator rates a team on a rubric criterion (P/S/M/U)."""

    role: str
    criterion: str
    rating: str
    note: str


Step = Release | Open | Decide | Warn | Rate
ACTIONS: dict[str, type[Step]] = {
    "release": Release,
    "open": Open,
    "decide": Decide,
    "warn": Warn,
    "rate": Rate,
}


@dataclass(frozen=True)
class Timed:
    """A step, when it happens (into its stage), and where it is written (for errors)."""

    at: timedelta
    step: Step
    where: str


@dataclass(frozen=True)
class StagePlay:
    """What happens in a stage, and the stage the engine must choose next (None: the
    terminal stage, where the hot wash is written and the run ends)."""

    stage: str
    steps: tuple[Timed, ...]
    then: str | None


@dataclass(frozen=True)
class Script:
    scenario: str
    stages: tuple[StagePlay, ...]
    hotwash: str


class ScriptError(ValueError):
    """A bad entry in a demo script; the message names the file and the step."""


def script_path(name: str = PLAYED_SCRIPT_FILE) -> Path:
    return Path(settings.BASE_DIR) / "fixtures" / "demo" / name


def load_script(path: Path, *, roles: Collection[str]) -> Script:
    """Read and check the script at ``path``; ``roles`` are the role keys a step may name
    (the demo organizations'). Raises ``ScriptError`` at the first bad entry."""
    label = _label(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScriptError(f"{label}: cannot be read: {exc}") from exc
    top = _mapping(doc, label, required=("format", "scenario", "stages", "hotwash"))
    if top["format"] != FORMAT:
        raise ScriptError(f"{label}: format must be {FORMAT!r}, not {top['format']!r}")
    stages = _list(top["stages"], f"{label}: stages")
    return Script(
        scenario=_text(top["scenario"], f"{label}: scenario"),
        stages=tuple(
            _stage(item, f"{label}: stages[{index}]", roles) for index, item in enumerate(stages)
        ),
        hotwash=_text(top["hotwash"], f"{label}: hotwash"),
    )


def _stage(value: Any, where: str, roles: Collection[str]) -> StagePlay:
    play = _mapping(value, where, required=("stage", "steps", "then"))
    stage = _text(play["stage"], f"{where}.stage")
    where = f"{where} ({stage})"
    steps = _list(play["steps"], f"{where}.steps")
    then = play["then"]
    return StagePlay(
        stage=stage,
        steps=tuple(
            _timed(item, f"{where}.steps[{index}]", roles) for index, item in enumerate(steps)
        ),
        then=None if then is None else _text(then, f"{where}.then"),
    )


def _timed(value: Any, where: str, roles: Collection[str]) -> Timed:
    entry = _mapping(value, where, required=("at",), closed=False)
    at = entry["at"]
    match = AT.match(at) if isinstance(at, str) else None
    if match is None:  # unquoted, YAML reads 6:10 as the number 370
        raise ScriptError(f'{where}: at must be quoted "m:ss" into the stage, not {at!r}')
    where = f"{where} at {at}"
    actions = [name for name in entry if name != "at"]
    if len(actions) != 1 or actions[0] not in ACTIONS:
        raise ScriptError(f"{where}: needs exactly one of {', '.join(ACTIONS)}, not {actions}")
    step = _step(actions[0], entry[actions[0]], f"{where}, {actions[0]}", roles)
    delay = timedelta(minutes=int(match[1]), seconds=int(match[2]))
    return Timed(at=delay, step=step, where=where)


def _step(action: str, value: Any, where: str, roles: Collection[str]) -> Step:
    cls = ACTIONS[action]
    fields = {field.name: field for field in dataclasses.fields(cls)}
    if not isinstance(value, dict):  # release and open name a key: `open: <prompt>`
        value = {next(iter(fields)): value}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ScriptError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
    missing = [n for n, f in fields.items() if f.default is dataclasses.MISSING and n not in value]
    if missing:
        raise ScriptError(f"{where}: missing {', '.join(missing)}")
    return cls(**{name: _field(name, raw, f"{where}.{name}", roles) for name, raw in value.items()})


def _field(name: str, raw: Any, where: str, roles: Collection[str]) -> Any:
    if name == "by":
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise ScriptError(f"{where}: must be a player index (0, 1, …), not {raw!r}")
        return raw
    if name == "to":
        return tuple(_choice(r, f"{where}[{i}]", roles) for i, r in enumerate(_list(raw, where)))
    choices = {"role": roles, "tlp": Tlp.values, "rating": Observation.Rating.values}
    if name in choices:
        return _choice(raw, where, choices[name])
    return _text(raw, where)


def _choice(raw: Any, where: str, choices: Collection[str]) -> str:
    if raw not in choices:
        raise ScriptError(f"{where}: {raw!r} is not one of {', '.join(choices)}")
    return raw


def _text(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ScriptError(f"{where}: must be text, not {raw!r}")
    return raw


def _list(raw: Any, where: str) -> list:
    if not isinstance(raw, list):
        raise ScriptError(f"{where}: must be a list, not {raw!r}")
    return raw


def _mapping(raw: Any, where: str, *, required: tuple[str, ...], closed: bool = True) -> dict:
    """``raw`` as a mapping with the ``required`` keys (and, when ``closed``, no other)."""
    if not isinstance(raw, dict):
        raise ScriptError(f"{where}: must be a mapping, not {raw!r}")
    unknown = sorted(map(str, set(raw) - set(required))) if closed else []
    if unknown:
        raise ScriptError(f"{where}: unknown field(s) {', '.join(unknown)}")
    missing = [name for name in required if name not in raw]
    if missing:
        raise ScriptError(f"{where}: missing {', '.join(missing)}")
    return raw


def _label(path: Path) -> str:
    """The path as the repository names it, when it is inside the repository."""
    try:
        return str(path.relative_to(settings.BASE_DIR))
    except ValueError:
        return str(path)
