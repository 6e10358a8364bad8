"""MSEL (Master Scenario Events List) as CSV or XLSX, both ways. See docs/msel.md.

Export writes one row per inject, stage by stage, with the HSEEP columns. Import turns an
MSEL into a *linear* draft scenario (stages in order of first appearance, each leading to the
next) by building a scenario document and handing it to the scenario-format importer, so
the same validation and all-or-nothing import apply. Errors name the row and column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from itertools import pairwise
from typing import Any

from django.utils.text import slugify
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from accounts.models import Sector
from config.limits import MSEL_MAX_CELLS, MSEL_MAX_COLUMNS, MSEL_MAX_ROWS
from scenarios.formats import (
    FORMAT,
    FormatError,
    ScenarioFormatError,
    format_duration,
    import_scenario,
    parse_duration,
    validate_document,
)
from scenarios.formats.cells import append_xlsx_row, csv_text, restore_csv_text
from scenarios.formats.spreadsheet import SpreadsheetError, check_limit, xlsx_rows
from scenarios.models import Channel, Inject, Rubric, Scenario, Severity, Tlp

COLUMNS = (
    "Event No.",
    "Scheduled Time",
    "Stage",
    "From",
    "To",
    "Method",
    "Inject",
    "Expected Action",
    "Objective / Capability",
    "Notes",
    "Severity",
    "TLP",
)
# Header spellings seen in HSEEP and CISA templates, normalised (lowercase, letters only).
HEADERS = {
    "event": ("eventno", "event", "eventnumber", "eventid", "no", "#", "injectno", "injectnumber"),
    "time": ("scheduledtime", "time", "scheduled", "deliverytime", "injecttime"),
    "stage": ("stage", "phase", "module"),
    "from": ("from", "sender", "source"),
    "to": ("to", "recipient", "recipients", "audience"),
    "method": ("method", "channel", "methodchannel", "deliverymethod", "mode"),
    "inject": ("inject", "injecttext", "injectdescription", "description", "message"),
    "expected": ("expectedaction", "expectedplayeraction", "expectedresponse", "expectedoutcome"),
    "objective": ("objectivecapability", "objective", "capability", "objectives", "capabilities"),
    "notes": ("notes", "controllernotes", "remarks", "comments"),
    "severity": ("severity", "priority"),
    "tlp": ("tlp", "marking", "tlpmarking"),
}
CHANNEL_WORDS = {
    "e-mail": "email",
    "mail": "email",
    "call": "phone",
    "telephone": "phone",
    "phone call": "phone",
    "press": "news",
    "media": "news",
    "tv": "news",
    "news report": "news",
    "social media": "social",
    "siem alert": "siem",
    "alert": "siem",
    "authority": "regulator",
}
ALL_WORDS = {"all", "all players", "all teams", "everyone", "all participants"}
CONTROL_WORDS = {"control", "control cell", "controllers", "simcell", "simcell only"}
# First match wins: water before energy ("water utility"), finance before cloud ("card processor").
SECTOR_WORDS = (
    (Sector.WATER, ("water", "sewage", "wastewater")),
    (Sector.HEALTHCARE, ("hospital", "clinic", "health", "medical", "ambulance", "pharma")),
    (Sector.FINANCE, ("bank", "payment", "card", "insur", "financ", "credit", "exchange")),
    (Sector.ENERGY, ("energy", "power", "grid", "electric", "gas ", "oil", "fuel")),
    (Sector.TELECOM, ("telecom", "mobile", "carrier", "isp", "telco", "network provider")),
    (Sector.TRANSPORT, ("airport", "airline", "rail", "port", "logistic", "transport", "ground")),
    (Sector.MANUFACTURING, ("manufactur", "factory", "plant")),
    (Sector.CLOUD_IT, ("cloud", "msp", "managed service", "data cent", "hosting", "software")),
)
MANUAL_WORDS = {"", "manual", "on request", "as needed", "on decision", "consequence"}


# -- export --------------------------------------------------------------------------------


def msel_export(scenario: Scenario, fmt: str) -> bytes:
    """The scenario's injects as an MSEL: ``fmt`` is ``"csv"`` or ``"xlsx"``."""
    rows = [list(COLUMNS), *msel_rows(scenario)]
    if fmt == "csv":
        return csv_text(rows).encode("utf-8-sig")  # the BOM makes Excel read UTF-8
    if fmt == "xlsx":
        return _xlsx(rows)
    raise ValueError(f"unknown MSEL format {fmt!r}: csv or xlsx")


def msel_rows(scenario: Scenario) -> list[list[str]]:
    """One row of ``COLUMNS`` per inject, stage by stage, in release order."""
    roles = list(scenario.roles.all())
    order = {role.pk: position for position, role in enumerate(roles)}
    sectors = dict(Sector.choices)
    injects = (
        Inject.objects.filter(scenario=scenario)
        .select_related("stage")
        .prefetch_related("audience_roles")
        .order_by("stage__order", "stage__key", "order", "offset_seconds", "key")
    )
    rows = []
    for number, inject in enumerate(injects, start=1):
        if inject.audience == "roles":
            audience_roles = sorted(inject.audience_roles.all(), key=lambda r: order[r.pk])
            to = "; ".join(role.label for role in audience_roles)
        elif inject.audience == "sectors":
            to = "; ".join(f"Sector: {sectors.get(s, s)}" for s in inject.audience_sectors)
        else:
            to = "All players" if inject.audience == "all" else "Control"
        text = inject.title + (f"\n\n{inject.body}" if inject.body else "")
        rows.append(
            [
                str(number),
                _time_text(inject),
                inject.stage.title,
                inject.sender,
                to,
                inject.get_channel_display(),
                text,
                inject.expected_action,
                "; ".join(inject.criteria),
                inject.notes,
                inject.severity,
                inject.tlp,
            ]
        )
    return rows


def _time_text(inject: Inject) -> str:
    if inject.release == Inject.Release.TIMED:
        hours, rest = divmod(inject.offset_seconds or 0, 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return "on decision" if inject.release == Inject.Release.CONSEQUENCE else "manual"


def _xlsx(rows: list[list[str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "MSEL"
    for row in rows:
        append_xlsx_row(sheet, row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = (8, 12, 28, 22, 28, 14, 60, 40, 22, 30, 10, 14)
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# -- import --------------------------------------------------------------------------------


def msel_import(
    data: bytes,
    *,
    fmt: str,
    title: str,
    key: str,
    rubric_key: str | None = None,
    created_by: Any = None,
) -> Scenario:
    """Create a linear draft scenario from an MSEL (``fmt``: ``"csv"`` or ``"xlsx"``).

    All-or-nothing; raises ``ScenarioFormatError`` whose errors name row and column.
    """
    table = _read(data, fmt)
    criteria = _criteria(rubric_key)
    builder = _MselBuilder(criteria)
    doc = builder.document(table, title=title, key=key, rubric_key=rubric_key)
    errors = builder.errors
    if not errors:
        errors = [builder.locate(error) for error in validate_document(doc, criteria=None)]
    if errors:
        raise ScenarioFormatError(errors)
    return import_scenario(doc, created_by=created_by, publish=False)


def read_msel(data: bytes, fmt: str) -> list[list[str]]:
    """The MSEL's non-empty rows as text cells (header first), for tests and previews."""
    return [row for _, row in _read(data, fmt)]


def _read(data: bytes, fmt: str) -> list[tuple[int, list[str]]]:
    """(spreadsheet row number, cells as text) of every non-empty row."""
    if fmt == "csv":
        rows = _read_csv(data)
    elif fmt == "xlsx":
        rows = _read_xlsx(data)
    else:
        raise ScenarioFormatError([FormatError("file", f"unknown MSEL format {fmt!r}")])
    numbered = []
    cells = 0
    try:
        for number, row in enumerate(rows, start=1):
            cells += len(row)
            check_limit(number, MSEL_MAX_ROWS, "rows")
            check_limit(len(row), MSEL_MAX_COLUMNS, "columns")
            check_limit(cells, MSEL_MAX_CELLS, "cells")
            if any(row):
                numbered.append((number, row))
    except SpreadsheetError as error:
        raise ScenarioFormatError([FormatError("file", str(error))]) from None
    if not numbered:
        raise ScenarioFormatError([FormatError("file", "the MSEL is empty")])
    return numbered


def _read_csv(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScenarioFormatError([FormatError("file", "not UTF-8 text")]) from None
    # Spreadsheets export with commas, semicolons (European locales) or tabs.
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            yield [restore_csv_text(cell.strip()) for cell in row]
    except csv.Error as error:
        raise ScenarioFormatError([FormatError("file", f"unreadable CSV: {error}")]) from None


def _read_xlsx(data: bytes) -> Iterator[list[str]]:
    for row in xlsx_rows(data, sheet_name="MSEL"):
        yield [_cell_text(cell) for cell in row]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.timedelta):
        return format_duration(int(value.total_seconds()))
    if isinstance(value, dt.time):
        return format_duration(value.hour * 3600 + value.minute * 60 + value.second)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _criteria(rubric_key: str | None) -> dict[str, str] | None:
    """Token → criterion key for the rubric (keys and references such as DE.AE)."""
    if not rubric_key:
        return None
    rubric = Rubric.objects.filter(key=rubric_key).first()
    if rubric is None:
        raise ScenarioFormatError([FormatError("rubric", f"unknown rubric '{rubric_key}'")])
    tokens: dict[str, str] = {}
    for key, reference in rubric.criteria.values_list("key", "reference"):
        tokens[key.lower()] = key
        if reference:
            tokens[reference.lower()] = key
    return tokens


class _MselBuilder:
    """Rows → scenario document, collecting errors that name row and column."""

    def __init__(self, criteria: dict[str, str] | None) -> None:
        self.criteria = criteria
        self.errors: list[FormatError] = []
        self.roles: dict[str, dict] = {}
        self.stages: dict[str, dict] = {}
        self.inject_keys: set[str] = set()
        self.rows_by_path: dict[str, int] = {}
        self.headers: dict[str, str] = {}

    def error(self, row: int, column: str, message: str) -> None:
        where = f"row {row}, column '{self.headers.get(column, column)}'"
        self.errors.append(FormatError(where, message))

    def locate(self, error: FormatError) -> FormatError:
        """A document error re-addressed to the MSEL row that produced it."""
        for path, row in sorted(self.rows_by_path.items(), key=lambda item: -len(item[0])):
            if error.path.startswith(path):
                return FormatError(f"row {row}", error.message)
        return error

    def document(
        self, table: list[tuple[int, list[str]]], *, title: str, key: str, rubric_key: str | None
    ) -> dict:
        header_row, header = table[0]
        columns = self._columns(header_row, header)
        seen_numbers: dict[str, int] = {}
        for number, cells in table[1:]:
            values = {name: cells[i] if i < len(cells) else "" for name, i in columns.items()}
            self._row(number, values, seen_numbers)
        if not self.stages and not self.errors:
            self.errors.append(FormatError("file", "the MSEL has no inject rows"))
        if not self.roles and not self.errors:
            message = "no row names a player role in the 'To' column; a scenario needs one"
            self.errors.append(FormatError("file", message))
        stages = list(self.stages.values())
        for stage, following in pairwise(stages):
            stage["transitions"] = [{"to": following["key"], "default": True}]
        doc: dict[str, Any] = {"format": FORMAT, "key": key, "title": title}
        if rubric_key:
            doc["rubric"] = rubric_key
        doc["start"] = stages[0]["key"] if stages else ""
        doc["roles"] = list(self.roles.values())
        doc["stages"] = stages
        return doc

    def _columns(self, row: int, header: list[str]) -> dict[str, int]:
        lookup = {alias: name for name, aliases in HEADERS.items() for alias in aliases}
        columns: dict[str, int] = {}
        for index, text in enumerate(header):
            name = lookup.get(re.sub(r"[^a-z#]", "", text.lower()))
            if name is None:
                continue  # extra columns (owner, status, ...) are allowed and ignored
            if name in columns:
                self.errors.append(FormatError(f"row {row}", f"two columns mean '{name}'"))
            columns[name] = index
            self.headers[name] = text
        for required in ("stage", "inject"):
            if required not in columns:
                message = f"no '{required}' column (expected headers: {', '.join(COLUMNS)})"
                raise ScenarioFormatError([FormatError(f"row {row}", message)])
        return columns

    def _row(self, row: int, values: dict[str, str], seen: dict[str, int]) -> None:
        event = values.get("event", "")
        if event:
            if not event.isdigit():
                self.error(row, "event", f"'{event}' is not an event number")
            elif event in seen:
                self.error(row, "event", f"event number {event} repeats row {seen[event]}")
            else:
                seen[event] = row
        stage = self._stage(row, values.get("stage", ""))
        title, _, body = values.get("inject", "").partition("\n")
        if not title.strip():
            self.error(row, "inject", "is empty: the first line is the inject's title")
            return
        if stage is None:
            return
        inject = self._inject(row, values, title.strip(), body.strip())
        path = f"stages[{list(self.stages).index(stage['key'])}].injects[{len(stage['injects'])}]"
        self.rows_by_path[path] = row
        stage["injects"].append(inject)

    def _stage(self, row: int, title: str) -> dict | None:
        if not title:
            self.error(row, "stage", "is empty: every inject belongs to a stage")
            return None
        if len(title) > 200:
            self.error(row, "stage", "is longer than 200 characters")
            return None
        for stage in self.stages.values():
            if stage["title"] == title:
                return stage
        key = _unique(_slug(title) or "stage", self.stages)
        self.stages[key] = {"key": key, "title": title, "injects": []}
        return self.stages[key]

    def _inject(self, row: int, values: dict[str, str], title: str, body: str) -> dict:
        if len(title) > 200:
            self.error(row, "inject", "the title (first line) is longer than 200 characters")
        key = _unique(_slug(title) or "inject", self.inject_keys)
        self.inject_keys.add(key)
        inject: dict[str, Any] = {"key": key, "title": title[:200]}
        if body:
            inject["body"] = body
        if values.get("from"):
            inject["from"] = values["from"]
            if len(values["from"]) > 120:
                self.error(row, "from", "is longer than 120 characters")
        inject["channel"] = self._channel(row, values.get("method", ""))
        inject["severity"] = self._choice(row, "severity", values, Severity.values, "medium")
        tlp = re.sub(r"^tlp:\s*", "", values.get("tlp", ""), flags=re.IGNORECASE).upper()
        inject["tlp"] = self._choice(row, "tlp", {"tlp": tlp}, Tlp.values, "GREEN")
        inject["audience"] = self._audience(row, values.get("to", ""))
        inject["release"] = self._release(row, values.get("time", ""))
        for column, field in (("expected", "expected_action"), ("notes", "notes")):
            if values.get(column):
                inject[field] = values[column]
        criteria = self._objectives(row, values.get("objective", ""))
        if criteria:
            inject["criteria"] = criteria
        return inject

    def _channel(self, row: int, text: str) -> str:
        word = text.strip().lower()
        if not word:
            return "email"
        labels = {label.lower(): value for value, label in Channel.choices}
        channel = word if word in Channel.values else labels.get(word, CHANNEL_WORDS.get(word))
        if channel is None:
            allowed = ", ".join(label for _, label in Channel.choices)
            self.error(row, "method", f"unknown channel '{text}' (one of: {allowed})")
            return "email"
        return channel

    def _choice(
        self, row: int, column: str, values: dict[str, str], allowed: list[str], default: str
    ) -> str:
        text = values.get(column, "").strip()
        if not text:
            return default
        for value in allowed:
            if value.lower() == text.lower():
                return value
        self.error(row, column, f"'{text}' is not one of: {', '.join(allowed)}")
        return default

    def _audience(self, row: int, text: str) -> Any:
        parts = [part.strip() for part in re.split(r"[;,\n]", text) if part.strip()]
        if not parts or any(part.lower() in ALL_WORDS for part in parts):
            return "all"
        if all(part.lower() in CONTROL_WORDS for part in parts):
            return "control"
        sectors = [p for p in parts if p.lower().startswith("sector:")]
        if sectors and len(sectors) != len(parts):
            self.error(row, "to", "mixes sectors and roles; use one or the other")
            return "all"
        if sectors:
            return {"sectors": [self._sector(row, part[7:].strip()) for part in sectors]}
        return {"roles": [self._role(row, part) for part in parts]}

    def _sector(self, row: int, text: str) -> str:
        for value, label in Sector.choices:
            if text.lower() in (value, label.lower()):
                return value
        self.error(row, "to", f"unknown sector '{text}'")
        return Sector.GOVERNMENT

    def _role(self, row: int, label: str) -> str:
        key = _slug(label) or "role"
        if key not in self.roles:
            if len(label) > 120:
                self.error(row, "to", f"role name '{label[:40]}...' is longer than 120 characters")
            self.roles[key] = {
                "key": key,
                "label": label[:120],
                "sector": guess_sector(label),
                "depends_on": [],
            }
        return key

    def _release(self, row: int, text: str) -> str:
        word = text.strip().lower()
        if word in MANUAL_WORDS:
            return "manual"
        seconds = _clock_seconds(word)
        if seconds is None:
            seconds = parse_duration(word.removeprefix("t+").removeprefix("+"))
        if seconds is None:
            self.error(row, "time", f"'{text}' is not a time (H:MM:SS into the stage, or manual)")
            return "manual"
        return format_duration(seconds)

    def _objectives(self, row: int, text: str) -> list[str]:
        tokens = [token for token in re.split(r"[;,\s]+", text) if token]
        if not tokens:
            return []
        if self.criteria is None:
            self.error(row, "objective", "criteria need a rubric: import with a rubric key")
            return []
        keys = []
        for token in tokens:
            key = self.criteria.get(token.lower())
            if key is None:
                self.error(row, "objective", f"unknown criterion '{token}'")
            elif key not in keys:
                keys.append(key)
        return keys


def guess_sector(label: str) -> str:
    """The sector a role name suggests ("Regional hospital" → healthcare); else government."""
    text = f" {label.lower()} "
    for sector, words in SECTOR_WORDS:
        if any(word in text for word in words):
            return sector
    return Sector.GOVERNMENT


def _clock_seconds(text: str) -> int | None:
    match = re.fullmatch(r"(\d{1,3}):(\d{2})(?::(\d{2}))?", text)
    if not match:
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    if minutes > 59 or seconds > 59:
        return None
    return hours * 3600 + minutes * 60 + seconds


def _slug(text: str, limit: int = 50) -> str:
    """A file-format key from free text, cut at a word boundary."""
    slug = re.sub(r"[-_]+", "-", slugify(text)).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0]
    return slug


def _unique(base: str, taken: Iterable[str]) -> str:
    taken = set(taken)
    candidate, number = base, 2
    while candidate in taken:
        candidate = f"{base[:55]}-{number}"
        number += 1
    return candidate
