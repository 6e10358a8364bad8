"""Reading an MSEL as planners write it: bytes → a linear scenario document and a report.

The spreadsheet is decoded (CSV: UTF-8, UTF-16 or cp1252, named in the report; XLSX:
bounded, see ``spreadsheet.py``), its header row found below any title rows, its columns
matched against ``HEADERS`` (the synonym table documented in docs/msel.md), and every row
turned into an inject. Nothing is written: ``read_msel_document`` returns the document,
every error of the file at once, warnings and report lines; ``msel.msel_import`` imports it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from django.utils.text import slugify
from openpyxl.utils import get_column_letter

from accounts.models import Sector
from config.limits import MSEL_MAX_CELLS, MSEL_MAX_COLUMNS, MSEL_MAX_ROWS
from scenarios.formats.cells import restore_csv_text
from scenarios.formats.errors import FormatError
from scenarios.formats.parse import format_duration, parse_duration
from scenarios.formats.spreadsheet import Formula, SpreadsheetError, check_limit, xlsx_rows
from scenarios.formats.validate import FORMAT, column_name_problem
from scenarios.models import Channel, Severity, Tlp

# Canonical column → header spellings, normalised (lowercase, letters, digits and '#').
HEADERS: dict[str, tuple[str, ...]] = {
    "event": ("eventno", "event", "eventnumber", "eventid", "eventnum", "no", "#", "event#",
              "injectno", "injectnumber", "inject#", "injectid", "msel#", "mselno", "ref", "id"),
    "stagetime": ("timeintostage", "stagetime", "stageoffset"),
    "time": ("scheduledtime", "time", "scheduled", "deliverytime", "injecttime", "timing",
             "clocktime", "exercisetime", "releasetime", "timehhmm", "timehmm"),
    "stage": ("stage", "phase", "module", "move", "segment", "part"),
    "from": ("from", "sender", "source", "originator", "injectfrom"),
    "to": ("to", "recipient", "recipients", "audience", "player", "players", "targetplayer",
           "targetplayers", "receiver", "injectto"),
    "method": ("method", "channel", "methodchannel", "deliverymethod", "mode", "injectmethod",
               "deliverymechanism", "means"),
    "inject": ("inject", "messageinject", "message", "injecttext", "injecttitle", "title",
               "subject", "injectmessage"),
    "description": ("injectdescription", "description", "details", "body",
                    "eventdescription", "messagetext"),
    "expected": ("expectedaction", "expectedactions", "expectedplayeraction",
                 "expectedplayeractions", "expectedresponse", "expectedplayerresponse",
                 "expectedoutcome"),
    "criteria": ("criteria", "criterion", "rubriccriteria"),
    "objective": ("objective", "objectives", "exerciseobjective", "objectivecapability"),
    "capability": ("capability", "capabilities", "corecapability", "corecapabilities"),
    "eventtype": ("eventtype", "type", "injecttype"),
    "notes": ("notes", "controllernotes", "remarks", "comments", "note"),
    "severity": ("severity", "priority"),
    "tlp": ("tlp", "marking", "tlpmarking", "handling"),
}  # fmt: skip
# Columns whose text is also kept as it is (columns of the inject) for the export.
KEPT_AS_TEXT = ("objective", "capability", "eventtype")
CHANNEL_WORDS = {
    "e-mail": "email", "mail": "email", "email message": "email",
    "call": "phone", "telephone": "phone", "phone call": "phone", "voicemail": "phone",
    "press": "news", "media": "news", "tv": "news", "news report": "news",
    "press release": "news", "news article": "news",
    "social media": "social", "twitter": "social", "post": "social",
    "siem alert": "siem", "alert": "siem", "monitoring alert": "siem",
    "authority": "regulator", "regulator notice": "regulator",
}  # fmt: skip
ALL_WORDS = {"all", "all players", "all teams", "everyone", "all participants", "all roles"}
CONTROL_WORDS = {"control", "control cell", "controllers", "simcell", "simcell only"}
MANUAL_WORDS = {"", "manual", "on request", "as needed", "on decision", "consequence", "tbd"}
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
TIME_MODELS = {
    "exercise": "offset from the exercise start (as HSEEP MSELs count)",
    "stage": "offset into each stage",
    "clock": "clock time",
}
DEFAULT_TIME_MODEL = "exercise"
ONE_STAGE = "Exercise play"
HEADER_SEARCH_ROWS = 20  # title rows above the header: a logo line, a title, a marking
CLOCK_FROM = 6 * 3600  # an offset of 6 h or more is rare; 06:00-23:59 reads as a clock
_TLP_TEXT = re.compile(r"\bTLP\s*:\s*(CLEAR|WHITE|GREEN|AMBER\s*\+\s*STRICT|AMBER|RED)\b", re.I)
_SEVERITY_TEXT = re.compile(
    r"\b(?:severity|priority)\s*[:=]?\s*(info|low|medium|high|critical)\b"
    r"|\b(low|medium|high|critical)[- ](?:severity|priority)\b",
    re.I,
)
_CONDITION = re.compile(
    r"^\s*(?:\(?\s*)(only if|if |conditional|contingen|optional|should the |in case )", re.I
)
_CLOCK = re.compile(r"(\d{1,3}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?", re.I)
_ENCODINGS = (("utf-8-sig", "UTF-8"), ("cp1252", "cp1252 (Windows Western European)"))


@dataclass
class MselReading:
    """What an MSEL says: the document, and every error, warning and report line."""

    doc: dict[str, Any]
    errors: list[FormatError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    report: list[str] = field(default_factory=list)
    rows_by_path: dict[str, int] = field(default_factory=dict)
    conditional: list[str] = field(default_factory=list)

    def locate(self, error: FormatError) -> FormatError:
        """A document error re-addressed to the MSEL row that produced it."""
        for path, row in sorted(self.rows_by_path.items(), key=lambda item: -len(item[0])):
            if error.path.startswith(path):
                return FormatError(f"row {row}", error.message)
        return error


def read_msel_document(
    data: bytes,
    *,
    fmt: str,
    title: str,
    key: str,
    criteria: dict[str, str] | None = None,
    rubric_key: str | None = None,
    time_model: str | None = None,
    start: str = "",
) -> MselReading:
    """Read an MSEL (``fmt`` ``"csv"`` or ``"xlsx"``) into a scenario document; write nothing.

    ``criteria`` maps criterion keys and references (lowercase) to keys, for the
    Criteria column and for objectives that name a criterion. ``time_model`` is one of
    ``TIME_MODELS``, by default ``stage`` for a "Time into Stage" column (Cascade's export)
    and ``DEFAULT_TIME_MODEL`` otherwise; ``start`` is the clock time of the exercise
    start (clock model; by default the earliest time in the sheet).
    """
    reading = MselReading(doc={})
    if time_model is not None and time_model not in TIME_MODELS:
        reading.errors.append(FormatError("time model", f"one of: {', '.join(TIME_MODELS)}"))
        return reading
    table = table_rows(data, fmt, reading)
    if table:
        builder = _Builder(reading, criteria, time_model=time_model, start=start)
        reading.doc = builder.document(table, title=title, key=key, rubric_key=rubric_key)
    return reading


# -- bytes → numbered rows of text -----------------------------------------------------------


def table_rows(data: bytes, fmt: str, reading: MselReading) -> list[tuple[int, list[Any]]]:
    """(spreadsheet row number, cells) of every non-empty row, within the MSEL limits;
    problems go to ``reading.errors`` and the encoding of a CSV to ``reading.report``."""
    try:
        if fmt == "csv":
            rows: Iterable[list[Any]] = _read_csv(data, reading)
        elif fmt == "xlsx":
            rows = (list(row) for row in xlsx_rows(data, sheet_name="MSEL"))
        else:
            raise SpreadsheetError(f"unknown MSEL format {fmt!r}: csv or xlsx")
        numbered, cells = [], 0
        for number, row in enumerate(rows, start=1):
            cells += len(row)
            check_limit(number, MSEL_MAX_ROWS, "rows")
            check_limit(len(row), MSEL_MAX_COLUMNS, "columns")
            check_limit(cells, MSEL_MAX_CELLS, "cells")
            if any(cell not in (None, "") for cell in row):
                numbered.append((number, row))
    except SpreadsheetError as error:
        reading.errors.append(FormatError("file", str(error)))
        return []
    if not numbered:
        reading.errors.append(FormatError("file", "the MSEL is empty"))
    return numbered


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding name) of a text file: UTF-16 with a byte-order mark, UTF-8, cp1252.

    Excel on Windows saves "CSV" in the machine's code page (cp1252 in Western Europe)
    and "Unicode text" as UTF-16. Raises ``UnicodeDecodeError`` for anything else.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    for codec, name in _ENCODINGS:
        try:
            return data.decode(codec), name
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("cp1252", data, 0, len(data), "neither UTF-8, UTF-16 nor cp1252")


def _read_csv(data: bytes, reading: MselReading) -> Iterator[list[str]]:
    try:
        text, encoding = decode_text(data)
    except UnicodeDecodeError:
        raise SpreadsheetError("not text in UTF-8, UTF-16 or cp1252") from None
    reading.report.append(f"encoding: {encoding}")
    # Spreadsheets export with commas, semicolons (European locales) or tabs; title rows
    # above the header hold few, so the busiest of the first lines decides.
    lines = text.splitlines()[:HEADER_SEARCH_ROWS] or [""]
    delimiter = max(",;\t", key=lambda d: max(line.count(d) for line in lines))
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            yield [restore_csv_text(cell.strip()) for cell in row]
    except csv.Error as error:
        raise SpreadsheetError(f"unreadable CSV: {error}") from None


def cell_text(value: Any) -> str:
    """A cell as text: XLSX times and durations as H:MM:SS, whole numbers without '.0'."""
    if isinstance(value, Formula):
        return cell_text(value.value)
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.time()
    if isinstance(value, dt.timedelta):
        return format_duration(int(value.total_seconds()))
    if isinstance(value, dt.time):
        return f"{value.hour}:{value.minute:02d}:{value.second:02d}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def normalise_header(text: str) -> str:
    return re.sub(r"[^a-z0-9#]", "", text.lower())


# -- rows → document ----------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    values: dict[str, str]
    kept: dict[str, str]
    seconds: int | None = None
    conditional: str = ""


class _Builder:
    """Rows → scenario document, collecting every error with its row and column."""

    def __init__(
        self, reading: MselReading, criteria: dict[str, str] | None, *, time_model: str, start: str
    ) -> None:
        self.reading = reading
        self.criteria = criteria
        self.time_model = time_model or DEFAULT_TIME_MODEL
        self.time_model_given = time_model is not None
        self.start_text = start
        self.headers: dict[str, str] = {}
        self.kept_columns: dict[int, str] = {}
        self.roles: dict[str, dict] = {}
        self.role_rows: dict[str, list[int]] = {}
        self.stages: dict[str, dict] = {}
        self.stage_rows: dict[str, list[_Row]] = {}
        self.inject_keys: set[str] = set()

    def error(self, row: int, column: str, message: str) -> None:
        where = f"row {row}, column '{self.headers.get(column, column)}'"
        self.reading.errors.append(FormatError(where, message))

    def warn(self, row: int, message: str) -> None:
        self.reading.warnings.append(f"row {row}: {message}")

    def document(
        self, table: list[tuple[int, list[Any]]], *, title: str, key: str, rubric_key: str | None
    ) -> dict:
        position = self._header(table)
        if position is None:
            return {}
        header_row, header = table[position]
        columns = self._columns(header_row, [cell_text(cell) for cell in header])
        rows = self._rows(table[position + 1 :], columns)
        self._times(rows)
        for row in rows:
            self._add(row)
        return self._document(title=title, key=key, rubric_key=rubric_key)

    # -- header and columns

    def _header(self, table: list[tuple[int, list[Any]]]) -> int | None:
        """The header's index: the first row naming an inject column and another one."""
        lookup = _lookup()
        for index, (number, cells) in enumerate(table[:HEADER_SEARCH_ROWS]):
            names = {lookup.get(normalise_header(cell_text(cell))) for cell in cells}
            if names & {"inject", "description"} and len(names - {None}) >= 2:
                if index:
                    above = f"rows {table[0][0]}-{table[index - 1][0]}" if index > 1 else ""
                    above = above or f"row {table[0][0]}"
                    self.reading.report.append(f"header: row {number} ({above} above it skipped)")
                else:
                    self.reading.report.append(f"header: row {number}")
                return index
        expected = "an inject column (Inject, Message/Inject, Inject Description, ...)"
        message = f"no header row in the first {HEADER_SEARCH_ROWS} rows: expected {expected}"
        self.reading.errors.append(FormatError("file", message))
        return None

    def _columns(self, row: int, header: list[str]) -> dict[str, int]:
        lookup = _lookup()
        columns: dict[str, int] = {}
        ignored = []
        for index, text in enumerate(header):
            if not text:
                continue
            name = lookup.get(normalise_header(text))
            if name == "stagetime":  # a time column that says its time model
                name = None if "time" in columns else "time"
                self.time_model = self.time_model if self.time_model_given else "stage"
            if name is None or name in columns:
                # Columns Cascade has no field for (owner, status, a second notes column)
                # are kept as text and written back on export.
                if self._keep(row, index, text):
                    ignored.append(text)
                continue
            columns[name] = index
            self.headers[name] = text
            if name in KEPT_AS_TEXT:
                self._keep(row, index, text)
        mapped = ", ".join(f"{self.headers[name]} → {name}" for name in columns)
        self.reading.report.append(f"columns: {mapped}")
        if ignored:
            self.reading.report.append(f"kept as text: {', '.join(ignored)}")
        if "inject" not in columns:  # the description alone carries title and body
            columns["inject"] = columns.pop("description")
            self.headers["inject"] = self.headers.pop("description")
        return columns

    def _keep(self, row: int, index: int, text: str) -> bool:
        """Keeps column ``index`` as text, unless its header cannot name one: then says so
        at the header's row, not at the first inject's where the document would."""
        if problem := column_name_problem(text):
            where = f"row {row}, column {get_column_letter(index + 1)}"  # as a spreadsheet shows it
            self.reading.errors.append(FormatError(where, problem))
            return False
        self.kept_columns[index] = text
        return True

    # -- rows

    def _rows(self, table: list[tuple[int, list[Any]]], columns: dict[str, int]) -> list[_Row]:
        rows: list[_Row] = []
        section = ""
        seen_events: dict[str, int] = {}
        for number, cells in table:
            values = {name: self._cell(number, name, cells, i) for name, i in columns.items()}
            kept = {h: cell_text(cells[i]) for i, h in self.kept_columns.items() if i < len(cells)}
            filled = [cell for cell in cells if cell_text(cell)]
            if not values["inject"] and len(filled) == 1:
                section = cell_text(filled[0])  # a section row: "MOVE 2 - Escalation"
                continue
            if "stage" not in columns:
                values["stage"] = section
            elif not values["stage"] and rows:  # a blank stage cell: the row above's stage
                values["stage"] = rows[-1].values["stage"]
            elif not values["stage"]:
                self.error(number, "stage", "is empty: every inject belongs to a stage")
            self._event(number, values.get("event", ""), seen_events, kept)
            rows.append(_Row(number, values, {k: v for k, v in kept.items() if v}))
        return rows

    def _cell(self, row: int, name: str, cells: list[Any], index: int) -> str:
        value = cells[index] if index < len(cells) else None
        if isinstance(value, Formula):
            if value.value is None:
                self.error(row, name, f"holds the formula {value.text[:60]} with no saved value; "
                           "open and save it in Excel, or paste it as values")  # fmt: skip
            else:
                self.warn(row, f"column '{self.headers.get(name, name)}': the formula "
                          f"{value.text[:60]} was read as its saved value")  # fmt: skip
        return cell_text(value)

    def _event(self, row: int, event: str, seen: dict[str, int], kept: dict[str, str]) -> None:
        if not event:
            return
        if event in seen:
            self.error(row, "event", f"event number {event} repeats row {seen[event]}")
        seen[event] = row
        if not event.isdigit():  # "M1-03": kept, since the export numbers 1, 2, 3 ...
            kept["Event No."] = event

    # -- times

    def _times(self, rows: list[_Row]) -> None:
        """Each row's offset from the exercise start (exercise/clock) or into its stage."""
        self.reading.report.append(f"times: {TIME_MODELS[self.time_model]}")
        clock_rows = []
        for row in rows:
            row.conditional = self._condition(row)
            text = row.values.get("time", "")
            if text.strip().lower() in MANUAL_WORDS:
                continue
            row.seconds = self._seconds(row.number, text)
            if row.seconds is not None and _looks_like_clock(text, row.seconds):
                clock_rows.append(row)
        if self.time_model == "clock":
            self._from_clock(rows)
        elif clock_rows:
            numbers = ", ".join(str(row.number) for row in clock_rows[:10])
            first = clock_rows[0].values["time"]
            self.reading.warnings.append(
                f"rows {numbers}: times such as '{first}' look like clock times, read here as "
                f"{TIME_MODELS[self.time_model]}; import with the clock time model if they are"
            )

    def _seconds(self, row: int, text: str) -> int | None:
        seconds = _clock_seconds(text.strip())
        if seconds is None:
            word = text.strip().lower().removeprefix("t+").removeprefix("+")
            seconds = parse_duration(word)
        if seconds is None:
            self.error(row, "time", f"'{text}' is not a time (H:MM, H:MM:SS, 15m) or 'manual'")
        return seconds

    def _from_clock(self, rows: list[_Row]) -> None:
        timed = [row for row in rows if row.seconds is not None]
        start = _clock_seconds(self.start_text) if self.start_text else None
        if self.start_text and start is None:
            self.reading.errors.append(FormatError("start", f"'{self.start_text}' is not H:MM"))
            return
        if start is None:
            start = min((row.seconds for row in timed), default=0)  # type: ignore[type-var]
        self.reading.report.append(f"exercise start: {format_clock(start)}")
        for row in timed:
            assert row.seconds is not None
            if row.seconds < start:
                self.error(row.number, "time", f"{row.values['time']} is before the start")
                row.seconds = None
            else:
                row.seconds -= start
        if timed and max(row.seconds or 0 for row in timed) + start < CLOCK_FROM:
            self.reading.warnings.append(
                "every time is before 06:00: they look like offsets, not clock times"
            )

    def _condition(self, row: _Row) -> str:
        kind = row.kept.get(self.headers.get("eventtype", ""), "")
        text = row.values.get("inject", "")
        if _CONDITION.match(text) or re.search(r"contingen|condition|optional", kind, re.I):
            return text.split("\n", 1)[0][:120]
        return ""

    # -- injects

    def _add(self, row: _Row) -> None:
        stage = self._stage(row.number, row.values.get("stage", ""))
        title, _, body = row.values.get("inject", "").partition("\n")
        description = row.values.get("description", "")
        body = "\n\n".join(part for part in (body.strip(), description) if part)
        if not title.strip():
            self.error(row.number, "inject", "is empty: the first line is the inject's title")
            return
        if stage is None:
            return
        inject = self._inject(row, title.strip(), body)
        index = list(self.stages).index(stage["key"])
        self.reading.rows_by_path[f"stages[{index}].injects[{len(stage['injects'])}]"] = row.number
        stage["injects"].append(inject)
        self.stage_rows[stage["key"]].append(row)

    def _stage(self, row: int, title: str) -> dict | None:
        header = self.headers.get("stage", "")
        if title.isdigit() and header:  # Move "1" → "Move 1"
            title = f"{header} {title}"
        title = title or ONE_STAGE if "stage" not in self.headers else title
        if not title:
            return None
        if len(title) > 200:
            self.error(row, "stage", "is longer than 200 characters")
            return None
        for stage in self.stages.values():
            if stage["title"] == title:
                return stage
        key = unique(slug(title) or "stage", self.stages)
        self.stages[key] = {"key": key, "title": title, "injects": []}
        self.stage_rows[key] = []
        return self.stages[key]

    def _inject(self, row: _Row, title: str, body: str) -> dict:
        values, number = row.values, row.number
        if len(title) > 200:
            self.error(number, "inject", "the title (first line) is longer than 200 characters")
        key = unique(slug(title) or "inject", self.inject_keys)
        self.inject_keys.add(key)
        inject: dict[str, Any] = {"key": key, "title": title[:200]}
        if body:
            inject["body"] = body
        if values.get("from"):
            inject["from"] = values["from"]
            if len(values["from"]) > 120:
                self.error(number, "from", "is longer than 120 characters")
        inject.update(self._channel(number, values.get("method", "")))
        text = "\n".join((title, body, values.get("notes", "")))
        inject["severity"] = self._marking(row, "severity", text)
        inject["tlp"] = self._marking(row, "tlp", text)
        inject["audience"] = self._audience(number, values.get("to", ""))
        inject["release"] = "manual" if row.seconds is None else "later"  # set by _document
        for column, name in (("expected", "expected_action"), ("notes", "notes")):
            if values.get(column):
                inject[name] = values[column]
        if row.conditional:
            self._conditional(row, inject)
        criteria = self._criteria(row)
        if criteria:
            inject["criteria"] = criteria
        if row.kept:
            inject["columns"] = row.kept
        return inject

    def _conditional(self, row: _Row, inject: dict) -> None:
        """A row released only if something happened: manual, with the condition noted."""
        time = f" (MSEL time {row.values['time']})" if row.seconds is not None else ""
        note = f"Conditional in the MSEL{time}: wire it as a consequence in the editor."
        notes = inject.get("notes", "")
        if not notes.startswith("Conditional in the MSEL"):
            inject["notes"] = f"{note}\n\n{notes}".strip()
        row.seconds = None
        inject["release"] = "manual"
        self.reading.conditional.append(f"row {row.number}: {row.conditional}")

    def _channel(self, row: int, text: str) -> dict[str, str]:
        word = text.strip().lower()
        if not word:
            return {"channel": "email"}
        labels = {label.lower(): value for value, label in Channel.choices}
        channel = word if word in Channel.values else labels.get(word, CHANNEL_WORDS.get(word))
        if channel is None:  # "Briefing", "Radio", "In person": kept in its own words
            if len(text.strip()) > 60:
                self.error(row, "method", "is longer than 60 characters")
            return {"channel": Channel.OTHER, "channel_label": text.strip()[:60]}
        return {"channel": channel}

    def _marking(self, row: _Row, column: str, text: str) -> str:
        """Severity or TLP from its column, else from the words of the row, else the default."""
        allowed, default = (
            (Tlp.values, Tlp.GREEN) if column == "tlp" else (Severity.values, Severity.MEDIUM)
        )
        given = row.values.get(column, "").strip()
        if column == "tlp":
            given = re.sub(r"^tlp:\s*", "", given, flags=re.I).upper().replace("WHITE", "CLEAR")
        if given:
            for value in allowed:
                if value.lower() == given.lower():
                    return value
            self.error(row.number, column, f"'{given}' is not one of: {', '.join(allowed)}")
            return default
        pattern = _TLP_TEXT if column == "tlp" else _SEVERITY_TEXT
        match = pattern.search(text)
        if match is None:
            return default
        found = next(group for group in match.groups() if group)
        value = re.sub(r"\s+", "", found).upper().replace("WHITE", "CLEAR")
        value = value if column == "tlp" else value.lower()
        shown = f"TLP:{value}" if column == "tlp" else f"severity {value}"
        self.reading.report.append(f"row {row.number}: {shown} read from the text")
        return value

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
        key = slug(label) or "role"
        if key not in self.roles:
            if len(label) > 120:
                self.error(row, "to", f"role name '{label[:40]}...' is longer than 120 characters")
            self.roles[key] = {
                "key": key,
                "label": label[:120],
                "sector": guess_sector(label),
                "depends_on": [],
            }
            self.role_rows[key] = []
        self.role_rows[key].append(row)
        return key

    def _criteria(self, row: _Row) -> list[str]:
        """Criterion keys from the Criteria column, and objectives that name a criterion."""
        keys: list[str] = []
        explicit = _parts(row.values.get("criteria", ""))
        if explicit and self.criteria is None:
            self.error(row.number, "criteria", "criteria need a rubric: import with a rubric")
            return []
        for part in explicit:
            key = (self.criteria or {}).get(part.lower())
            if key is None:
                self.error(row.number, "criteria", f"unknown criterion '{part}'")
            elif key not in keys:
                keys.append(key)
        # Objectives and capabilities are free text, kept as such; a part that names a
        # criterion ("DE.AE", "detect-analyse") also tags the inject.
        for column in ("objective", "capability"):
            for part in _parts(row.values.get(column, "")):
                key = (self.criteria or {}).get(part.lower())
                if key is not None and key not in keys:
                    keys.append(key)
        return keys

    # -- the document

    def _document(self, *, title: str, key: str, rubric_key: str | None) -> dict:
        reading = self.reading
        if not self.stages and not reading.errors:
            reading.errors.append(FormatError("file", "the MSEL has no inject rows"))
        if not self.roles and not reading.errors:
            message = "no row names a player role in the 'To' column; a scenario needs one"
            reading.errors.append(FormatError("file", message))
        stages = list(self.stages.values())
        self._release(stages)
        for stage, following in pairwise(stages):
            stage["transitions"] = [{"to": following["key"], "default": True}]
        doc: dict[str, Any] = {"format": FORMAT, "key": key, "title": title}
        if rubric_key:
            doc["rubric"] = rubric_key
        doc["start"] = stages[0]["key"] if stages else ""
        doc["roles"] = list(self.roles.values())
        doc["stages"] = stages
        reading.report.append(
            f"stages: {len(stages)} ({', '.join(s['title'] for s in stages)})"
            if "stage" in self.headers
            else f"stages: 1 (no stage column: every inject in '{ONE_STAGE}')"
            if len(stages) <= 1
            else f"stages: {len(stages)} from section rows"
        )
        return doc

    def _release(self, stages: list[dict]) -> None:
        """Offsets into each stage; a stage starts at its earliest time (the first at 0)."""
        previous_end: int | None = None
        for position, stage in enumerate(stages):
            rows = self.stage_rows[stage["key"]]
            times = [row.seconds for row in rows if row.seconds is not None]
            begin = 0 if position == 0 or self.time_model == "stage" else min(times, default=0)
            if times and previous_end is not None:
                self._check_order(rows[0].number, min(times), previous_end)
            previous_end = max(times, default=previous_end or 0)
            for inject, row in zip(stage["injects"], rows, strict=True):
                if row.seconds is not None:
                    inject["release"] = format_duration(row.seconds - begin)

    def _check_order(self, row: int, first: int, previous_end: int) -> None:
        """Warn where a stage's times look like the other offset model."""
        if self.time_model != "stage" and first < previous_end:
            message = "times go back at this stage: they look like offsets into each stage"
            self.warn(row, f"{message} (the stage time model)")
        elif self.time_model == "stage" and first >= previous_end > 0:
            message = "times keep rising across stages: they look like offsets from the start"
            self.warn(row, f"{message} (the exercise time model)")


def _lookup() -> dict[str, str]:
    return {alias: name for name, aliases in HEADERS.items() for alias in aliases}


def _parts(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;,\n]", text) if part.strip()]


def _looks_like_clock(text: str, seconds: int) -> bool:
    match = _CLOCK.fullmatch(text.strip())
    return bool(match) and (bool(match.group(4)) or seconds >= CLOCK_FROM)


def _clock_seconds(text: str) -> int | None:
    """H:MM or H:MM:SS, with an optional am/pm, as seconds; None if it is not one."""
    match = _CLOCK.fullmatch(text.strip())
    if not match:
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.groups()[:3])
    if minutes > 59 or seconds > 59:
        return None
    meridiem = (match.group(4) or "").lower().replace(".", "")
    if meridiem:
        if not 1 <= hours <= 12:
            return None
        hours = hours % 12 + (12 if meridiem == "pm" else 0)
    return hours * 3600 + minutes * 60 + seconds


def format_clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def guess_sector(label: str) -> str:
    """The sector a role name suggests ("Regional hospital" → healthcare); else government."""
    text = f" {label.lower()} "
    for sector, words in SECTOR_WORDS:
        if any(word in text for word in words):
            return sector
    return Sector.GOVERNMENT


def slug(text: str, limit: int = 50) -> str:
    """A file-format key from free text, cut at a word boundary."""
    value = re.sub(r"[-_]+", "-", slugify(text)).strip("-")
    if len(value) > limit:
        value = value[:limit].rsplit("-", 1)[0]
    return value


def unique(base: str, taken: Iterable[str]) -> str:
    taken = set(taken)
    candidate, number = base, 2
    while candidate in taken:
        candidate = f"{base[:55]}-{number}"
        number += 1
    return candidate
