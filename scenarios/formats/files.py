"""One path from an uploaded or named file to a scenario, for the CLI and the web alike.

``read_file`` turns a file's bytes into a document and every finding — errors (the file
cannot be imported), warnings (it would import but run wrong) and report lines (what was
understood: encoding, header row, time model ...) — writing nothing: it is the preview and
``validate_scenario``. ``import_reading`` then writes it, unless the key's latest version
has the same content (compared by a hash of the exported document).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from accounts.models import Sector
from config.limits import MAX_IMPORT_BYTES
from scenarios.formats.errors import FormatError, ScenarioFormatError
from scenarios.formats.exporter import export_document
from scenarios.formats.importer import import_scenario
from scenarios.formats.msel import msel_reading
from scenarios.formats.parse import load_document
from scenarios.formats.validate import validate_document
from scenarios.formats.warnings import scenario_warnings
from scenarios.models import Channel, Scenario
from scenarios.rubrics import rubric_criteria

SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")
MSEL_SUFFIXES = (".csv", ".xlsx")
IMPORT_SUFFIXES = SCENARIO_SUFFIXES + MSEL_SUFFIXES


@dataclass
class FileReading:
    """A file read and checked, nothing written."""

    filename: str
    doc: dict[str, Any] = field(default_factory=dict)
    errors: list[FormatError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    report: list[str] = field(default_factory=list)
    conditional: list[str] = field(default_factory=list)

    @property
    def is_msel(self) -> bool:
        return self.filename.lower().endswith(MSEL_SUFFIXES)


@dataclass(frozen=True)
class MselOptions:
    """What an MSEL cannot say itself: the scenario's title and key, rubric, time model."""

    title: str = ""
    key: str = ""
    rubric_key: str | None = None
    time_model: str | None = None
    start: str = ""


def read_file(data: bytes, *, filename: str, msel: MselOptions | None = None) -> FileReading:
    """Read ``data`` as the file ``filename`` (its suffix decides the format); write nothing.

    Every limit applies here (size, then the parser's own), so the CLI and the web import
    refuse the same files with the same messages.
    """
    reading = FileReading(filename=filename)
    name = filename.lower()
    if len(data) > MAX_IMPORT_BYTES:
        limit = f"{MAX_IMPORT_BYTES // (1024 * 1024)} MiB"
        reading.errors.append(FormatError("file", f"larger than {limit} (MAX_IMPORT_BYTES)"))
    elif name.endswith(MSEL_SUFFIXES):
        _read_msel(reading, data, name.rsplit(".", 1)[1], msel or MselOptions())
    elif name.endswith(SCENARIO_SUFFIXES):
        _read_scenario(reading, data)
    else:
        message = f"unsupported file type; use one of {', '.join(IMPORT_SUFFIXES)}"
        reading.errors.append(FormatError("file", message))
    if reading.doc and not reading.errors:
        reading.warnings.extend(scenario_warnings(reading.doc))
    return reading


def _read_msel(reading: FileReading, data: bytes, fmt: str, options: MselOptions) -> None:
    msel = msel_reading(
        data,
        fmt=fmt,
        title=options.title,
        key=options.key,
        rubric_key=options.rubric_key,
        time_model=options.time_model,
        start=options.start,
    )
    reading.doc, reading.errors = msel.doc, msel.errors
    reading.warnings, reading.report = msel.warnings, msel.report
    reading.conditional = msel.conditional


def _read_scenario(reading: FileReading, data: bytes) -> None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        where = f"byte {error.start}"
        reading.errors.append(FormatError("file", f"not UTF-8 text ({where})"))
        return
    try:
        doc = load_document(text, filename=reading.filename)
    except ScenarioFormatError as error:
        reading.errors.extend(error.errors)
        return
    reading.doc = doc
    criteria = _criteria(doc, reading)
    reading.errors.extend(validate_document(doc, criteria=criteria))


def _criteria(doc: dict, reading: FileReading) -> set[str] | None:
    """Criterion keys of the named rubric, loaded or shipped; None when it is neither."""
    key = doc.get("rubric")
    if not isinstance(key, str):
        return set()
    criteria = rubric_criteria(key)
    if criteria is None:
        line = getattr(doc, "lines", {}).get("rubric")
        message = f"unknown rubric '{key}' (neither loaded nor shipped in fixtures/rubric/)"
        reading.errors.append(FormatError("rubric", message, line))
        return None
    return {criterion for criterion, _ in criteria}


def content_hash(doc: dict) -> str:
    """A hash of a scenario document's content, for recognising an identical re-import."""
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def import_reading(
    reading: FileReading, *, created_by: Any = None, publish: bool = False
) -> tuple[Scenario, bool]:
    """Write a reading with no errors; (scenario, created).

    When the key's latest version has the same content hash, nothing is written and that
    version is returned with ``created`` False. An MSEL always becomes a draft.
    Raises ``ScenarioFormatError`` for a reading with errors.
    """
    if reading.errors:
        raise ScenarioFormatError(reading.errors)
    with transaction.atomic():
        latest = Scenario.objects.filter(key=reading.doc.get("key")).order_by("-version").first()
        scenario = import_scenario(
            reading.doc, created_by=created_by, publish=publish and not reading.is_msel
        )
        if latest is not None and _same(latest, scenario):
            transaction.set_rollback(True)  # undo this import: the content exists
            return latest, False
    return scenario, True


def _same(latest: Scenario, imported: Scenario) -> bool:
    if latest.status != imported.status:
        return False
    return content_hash(export_document(latest)) == content_hash(export_document(imported))


@dataclass(frozen=True)
class PreviewInject:
    release: str
    title: str
    to: str
    method: str
    tlp: str
    severity: str


@dataclass(frozen=True)
class PreviewStage:
    title: str
    injects: list[PreviewInject]
    prompts: int


def preview(doc: dict[str, Any]) -> tuple[list[tuple[str, str]], list[PreviewStage]]:
    """What an import would create: roles as (label, sector), and stages with their injects."""
    roles = {role["key"]: role.get("label") or role["key"] for role in doc.get("roles") or []}
    stages = [
        PreviewStage(
            title=stage.get("title") or stage["key"],
            injects=[_preview_inject(inject, roles) for inject in stage.get("injects") or []],
            prompts=len(stage.get("prompts") or []),
        )
        for stage in doc.get("stages") or []
    ]
    sectors = dict(Sector.choices)
    labels = [
        (role.get("label") or role["key"], sectors.get(role.get("sector"), ""))
        for role in doc.get("roles") or []
    ]
    return labels, stages


def _preview_inject(inject: dict, roles: dict[str, str]) -> PreviewInject:
    audience = inject.get("audience") or "all"
    if isinstance(audience, dict) and "roles" in audience:
        to = "; ".join(roles.get(key, key) for key in audience["roles"])
    elif isinstance(audience, dict):
        to = "; ".join(f"Sector: {sector}" for sector in audience.get("sectors") or [])
    else:
        to = "All players" if audience == "all" else "Control"
    channel = inject.get("channel") or "email"
    method = inject.get("channel_label") or dict(Channel.choices).get(channel, channel)
    return PreviewInject(
        release=str(inject.get("release") or "manual"),
        title=inject.get("title") or inject["key"],
        to=to,
        method=method,
        tlp=inject.get("tlp") or "GREEN",
        severity=inject.get("severity") or "medium",
    )
