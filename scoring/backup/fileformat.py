"""The backup file: its envelope, bounded reading, and typed access to its records.

A backup is read like any upload (docs/security.md, "Size limits"): at most
``BACKUP_MAX_BYTES`` are read, the JSON is scanned for depth and size before ``json``
(which recurses) sees it, ``NaN``/``Infinity`` and NUL characters are refused (PostgreSQL
stores neither), and every field is read through ``Record``, which names the field of a
wrong type.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator, Mapping
from typing import IO, Any

from django.utils.dateparse import parse_date, parse_datetime

from config.limits import BACKUP_MAX_BYTES, BACKUP_MAX_DEPTH, BACKUP_MAX_NODES, MIB
from scenarios.formats.parse import json_shape_problem

FORMAT = "cascade-exercise-backup"
# 2 added share replies, community warnings' "summarizes_ids", carried injects, and the
# observations' "code" and "revised_at"; a version 1 file is read as version 2 without
# them (``_from_version_1``).
VERSION = 2
# Event kinds a version 1 writer stored without the rows they name (replies) or link
# (the reports a warning summarizes): such a file cannot be restored faithfully.
V1_UNFAITHFUL_KINDS = ("share.replied", "share.summarized")


class BackupError(Exception):
    """A backup that cannot be written or restored; the message says why, for a person."""


def read_backup(stream: IO[bytes]) -> dict[str, Any]:
    """The backup document in ``stream``, read up to ``BACKUP_MAX_BYTES`` (one byte more
    says it is too large). Raises ``BackupError``."""
    return parse_backup(stream.read(BACKUP_MAX_BYTES + 1))


def parse_backup(data: bytes) -> dict[str, Any]:
    """Bytes → the backup document, envelope checked (format and version). Raises
    ``BackupError`` for anything else, before any database work."""
    if len(data) > BACKUP_MAX_BYTES:
        limit = BACKUP_MAX_BYTES
        size = f"{limit // MIB} MiB" if limit >= MIB else f"{limit} bytes"
        raise BackupError(f"the file is larger than {size}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BackupError(f"not UTF-8 text (byte {error.start})") from None
    problem = json_shape_problem(text, max_depth=BACKUP_MAX_DEPTH, max_nodes=BACKUP_MAX_NODES)
    if problem == "deep":
        raise BackupError(f"nested deeper than {BACKUP_MAX_DEPTH} levels")
    if problem == "large":
        raise BackupError(f"more than {BACKUP_MAX_NODES} keys and values")
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise BackupError(f"not JSON: {error.msg} (line {error.lineno})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BackupError(f'not a Cascade exercise backup (no "format": "{FORMAT}")')
    version = doc.get("version")
    if version not in (1, VERSION) or isinstance(version, bool):
        raise BackupError(
            f"unknown backup version {version!r} (this Cascade reads 1 and {VERSION})"
        )
    if _has_nul(doc):
        raise BackupError("the file holds a NUL character, which no text field may hold")
    return _from_version_1(doc) if version == 1 else doc


def _from_version_1(doc: dict[str, Any]) -> dict[str, Any]:
    """A version 1 document as version 2: no replies, no carried injects, no summarized
    reports, observations without a revision time (and a new code each on restore). Lists
    of the wrong shape are left alone for ``Record`` to name."""
    events = doc.get("events")
    if isinstance(events, list):
        kinds = {e.get("kind") for e in events if isinstance(e, dict)}
        for kind in V1_UNFAITHFUL_KINDS:
            if kind in kinds:
                raise BackupError(
                    f"a version 1 backup with {kind} events lacks what they name; "
                    "back the exercise up again with this release"
                )
    doc = {**doc, "version": VERSION, "share_replies": [], "carried_injects": []}
    for name, defaults in (("shares", {"summarizes_ids": []}), ("observations", _V1_OBSERVATION)):
        if isinstance(doc.get(name), list):
            doc[name] = [{**defaults, **row} if isinstance(row, dict) else row for row in doc[name]]
    return doc


# An empty code gets a new one on restore (``restore._observations``).
_V1_OBSERVATION = {"code": "", "revised_at": None}


def _refuse_constant(name: str) -> None:
    raise BackupError(f"not JSON: {name} is not a number JSON allows")


def _has_nul(value: Any) -> bool:
    """Whether any string (key or value) holds U+0000; a loop, not recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class Record:
    """One object of a backup with typed getters; a wrong or missing field raises
    ``BackupError`` naming its path (``teams[2].code: expected text``)."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise BackupError(f"{path}: expected an object")
        self.data = data
        self.path = path

    def _get(self, name: str, kinds: tuple[type, ...], what: str, *, null: bool = False) -> Any:
        if name not in self.data:
            raise BackupError(f"{self.path}.{name}: missing")
        value = self.data[name]
        if value is None and null:
            return None
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise BackupError(f"{self.path}.{name}: expected {what}")
        return value

    def int(self, name: str) -> int:
        return self._bounded(name, self._get(name, (int,), "a whole number"))

    def ref(self, name: str) -> int | None:
        """A source database id, or None."""
        return self._bounded(name, self._get(name, (int,), "an id or null", null=True))

    def _bounded(self, name: str, value: int | None) -> int | None:
        # JSON integers have no bound; a database column (and SQLite's driver) has.
        if value is not None and not -(2**63) < value < 2**63:
            raise BackupError(f"{self.path}.{name}: {value} is out of range")
        return value

    def float(self, name: str, *, null: bool = False) -> float | None:
        value = self._get(name, (int, float), "a number", null=null)
        if value is None:
            return None
        # 1e999 reads as infinity; a huge integer does not fit a float.
        if abs(value) > 1e15 or math.isnan(value):
            raise BackupError(f"{self.path}.{name}: {value} is out of range")
        return float(value)

    def str(self, name: str) -> str:
        return self._get(name, (str,), "text")

    def bool(self, name: str) -> bool:
        return self._get(name, (bool,), "true or false")

    def ints(self, name: str) -> list[int]:
        values = self._get(name, (list,), "a list of ids")
        if any(not isinstance(v, int) or isinstance(v, bool) for v in values):
            raise BackupError(f"{self.path}.{name}: expected a list of ids")
        return values

    def strs(self, name: str) -> list[str]:
        values = self._get(name, (list,), "a list of texts")
        if any(not isinstance(v, str) for v in values):
            raise BackupError(f"{self.path}.{name}: expected a list of texts")
        return values

    def json(self, name: str, kind: type) -> Any:
        return self._get(name, (kind,), "an object" if kind is dict else "a list")

    def datetime(self, name: str, *, null: bool = False) -> dt.datetime | None:
        value = self._get(name, (str,), "a date and time", null=null)
        parsed = None if value is None else _parse(parse_datetime, value)
        if value is not None and (parsed is None or parsed.tzinfo is None):
            raise BackupError(f"{self.path}.{name}: expected an ISO 8601 time with its zone")
        return parsed

    def date(self, name: str) -> dt.date | None:
        value = self._get(name, (str,), "a date", null=True)
        parsed = None if value is None else _parse(parse_date, value)
        if value is not None and parsed is None:
            raise BackupError(f"{self.path}.{name}: expected an ISO 8601 date")
        return parsed

    def record(self, name: str) -> Record:
        return Record(self._get(name, (dict,), "an object"), f"{self.path}.{name}")

    def records(self, name: str) -> Iterator[Record]:
        for index, item in enumerate(self._get(name, (list,), "a list")):
            yield Record(item, f"{self.path}.{name}[{index}]")


def _parse(parser: Any, value: str) -> Any:
    try:
        return parser(value)
    except ValueError:  # well formed but impossible ("2026-02-30")
        return None


def records(doc: dict[str, Any], name: str) -> Iterator[Record]:
    """The records of the top-level list ``name`` of a backup document."""
    return Record(doc, "backup").records(name)
