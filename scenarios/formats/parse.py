"""Text → document: YAML (with the line of every field) or JSON, and duration strings."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import yaml

from config.limits import MAX_DEPTH, MAX_NODES
from scenarios.formats.errors import FormatError, ScenarioFormatError

# MAX_DEPTH and MAX_NODES are checked on the event/token stream before any tree is built
# (see ``_check_yaml_shape``), and again while building, because aliases can make a small
# file expand enormously ("billion laughs").
# libyaml's composer is several times faster and gives the same nodes and marks.
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
# A JSON string (escapes included) or one structural character; strings are skipped whole
# so brackets inside them do not count.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]')


class Document(dict):
    """A parsed scenario document that remembers the line of each field path (YAML only)."""

    lines: dict[str, int]

    def __init__(self, *args: Any, lines: dict[str, int] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines or {}


def load_document(text: str, *, filename: str = "") -> dict:
    """Parse ``text`` as JSON (``*.json``, or no YAML extension and starting with ``{``) or YAML.

    Returns a ``Document`` (a dict with ``.lines``). Raises ``ScenarioFormatError`` when
    the text is not a well-formed mapping; the content is checked by ``validate_document``.
    """
    name = filename.lower()
    is_yaml = name.endswith((".yaml", ".yml"))
    if name.endswith(".json") or (not is_yaml and text.lstrip().startswith("{")):
        data, lines = _load_json(text), _json_lines(text)
    else:
        data, lines = _load_yaml(text)
    if not isinstance(data, dict):
        raise ScenarioFormatError([FormatError("", "the document must be a mapping of fields", 1)])
    return Document(data, lines=lines)


def _too_deep(line: int | None = None) -> ScenarioFormatError:
    return ScenarioFormatError([FormatError("", f"nested deeper than {MAX_DEPTH} levels", line)])


def _too_large(line: int | None = None) -> ScenarioFormatError:
    return ScenarioFormatError([FormatError("", f"more than {MAX_NODES} nodes", line)])


def _check_json_shape(text: str) -> None:
    """Refuse JSON nested deeper than ``MAX_DEPTH`` or with more than ``MAX_NODES`` keys and
    values."""
    problem = json_shape_problem(text, max_depth=MAX_DEPTH, max_nodes=MAX_NODES)
    if problem == "deep":
        raise _too_deep()
    if problem == "large":
        raise _too_large()


def json_shape_problem(
    text: str, *, max_depth: int, max_nodes: int
) -> Literal["deep", "large"] | None:
    """Whether JSON ``text`` nests deeper than ``max_depth`` or holds more than ``max_nodes``
    keys and values, found by a flat scan that stops at the first limit passed, before
    ``json`` (which recurses: 2,000 ``[`` raise ``RecursionError``) sees the text. Shared by
    the scenario import and the exercise socket. Not a validator: malformed text passes
    when its brackets stay within the limits, and ``json`` then refuses it."""
    depth = nodes = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                return "deep"
        elif token in "]}":
            depth -= 1
        if token in "[{,:":
            nodes += 1
            if nodes > max_nodes:
                return "large"
    return None


def _check_yaml_shape(text: str) -> None:
    """Refuse YAML nested deeper than ``MAX_DEPTH`` or with more than ``MAX_NODES`` nodes.

    libyaml's composer recurses on the C stack: 40,000 ``[`` crash the process before
    any Python check runs. Its parser is a loop with a heap stack, so walking the event
    stream and stopping at the first limit passed bounds time, memory and stack."""
    depth = nodes = 0
    try:
        for event in yaml.parse(text, Loader=_COMPOSER):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _too_deep(event.start_mark.line + 1)
            elif isinstance(event, _COLLECTION_END):
                depth -= 1
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    raise _too_large(event.start_mark.line + 1)
    except yaml.YAMLError as error:
        raise _yaml_error(error) from None


def _yaml_error(error: yaml.YAMLError) -> ScenarioFormatError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    line = mark.line + 1 if mark is not None else None
    return ScenarioFormatError([FormatError("", f"invalid YAML: {problem}", line)])


def _load_json(text: str) -> Any:
    _check_json_shape(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        message = f"invalid JSON: {error.msg} (column {error.colno})"
        raise ScenarioFormatError([FormatError("", message, error.lineno)]) from None


def _json_lines(text: str) -> dict[str, int]:
    """Best-effort field lines for JSON: JSON is (nearly always) also YAML, whose parser
    records positions. Any failure just means errors come without lines."""
    try:
        return _load_yaml(text)[1]
    except ScenarioFormatError:
        return {}


def _load_yaml(text: str) -> tuple[Any, dict[str, int]]:
    _check_yaml_shape(text)
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError as error:
        raise _yaml_error(error) from None
    if node is None:
        raise ScenarioFormatError([FormatError("", "the document is empty", 1)])
    builder = _YamlBuilder()
    data = builder.build(node, "", 0)
    if builder.errors:
        raise ScenarioFormatError(builder.errors)
    return data, builder.lines


class _YamlBuilder:
    """Turns a composed YAML node tree into plain data, recording each path's line."""

    def __init__(self) -> None:
        self.lines: dict[str, int] = {}
        self.errors: list[FormatError] = []
        self._constructor = yaml.SafeLoader("")
        self._count = 0

    def build(self, node: yaml.Node, path: str, depth: int) -> Any:
        line = node.start_mark.line + 1
        self.lines.setdefault(path, line)
        self._count += 1
        # Aliases repeat a subtree wherever they are used: count every copy.
        if depth > MAX_DEPTH or self._count > MAX_NODES:
            if not self.errors:
                error = _too_deep(line) if depth > MAX_DEPTH else _too_large(line)
                self.errors.extend(error.errors)
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [
                self.build(item, f"{path}[{index}]", depth + 1)
                for index, item in enumerate(node.value)
            ]
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as error:
            self.errors.append(FormatError(path, f"invalid value: {error}", line))
            return None

    def _mapping(self, node: yaml.MappingNode, path: str, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.build(key_node, f"{path}.<key>", depth + 1)
            if not isinstance(key, str):
                key = str(key)
            child = f"{path}.{key}" if path else key
            if key in result:
                line = key_node.start_mark.line + 1
                self.errors.append(FormatError(child, f"duplicate key '{key}'", line))
                continue
            self.lines[child] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, child, depth + 1)
        return result


_DURATION = re.compile(r"^(?:(\d{1,3})h)?(?:(\d{1,5})m)?(?:(\d{1,6})s)?$")


def parse_duration(value: Any) -> int | None:
    """Whole seconds from ``300`` or ``"5m"``/``"1h30m"``/``"90s"``; None when malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        match = _DURATION.match(text)
        if text and match:
            hours, minutes, seconds = (int(part or 0) for part in match.groups())
            return hours * 3600 + minutes * 60 + seconds
    return None


def format_duration(seconds: int) -> str:
    """The canonical string for a number of seconds: ``"1h30m"``, ``"90s"`` → ``"1m30s"``."""
    if seconds == 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "m"), (secs, "s")]
    return "".join(f"{amount}{unit}" for amount, unit in parts if amount)
