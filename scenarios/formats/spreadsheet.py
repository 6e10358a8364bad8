"""Reading an uploaded XLSX within fixed bounds, whatever the file claims about itself.

An XLSX is a zip of XML parts. A small file can unpack to gigabytes, hold one row of a
million cells, claim ``<dimension ref="A1:XFD5000">`` so that a reader pads every row to
16,384 columns, or carry entity tricks in its XML. So, before openpyxl builds anything:

1. the zip's declared sizes must add up to at most ``XLSX_MAX_UNPACKED_BYTES`` (zipfile
   never reads past a member's declared size, so the claim is a bound);
2. every XML part is streamed through defusedxml's SAX parser (no tree, no DTD, no
   entities), counting rows, cells per row and in all, column indexes, shared strings
   and elements, and stopping at the first limit passed.

Only then does openpyxl read the workbook (read-only, which also goes through defusedxml
when it is installed), with the sheet's ``<dimension>`` claim ignored.
"""

from __future__ import annotations

import io
import re
import xml.sax
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from defusedxml import DefusedXmlException
from defusedxml.sax import parse as sax_parse
from openpyxl import load_workbook
from openpyxl.utils.cell import column_index_from_string

from config.limits import (
    MSEL_MAX_CELLS,
    MSEL_MAX_COLUMNS,
    MSEL_MAX_ROWS,
    XLSX_MAX_ELEMENTS,
    XLSX_MAX_SHARED_STRINGS,
    XLSX_MAX_UNPACKED_BYTES,
)

_COLUMN = re.compile(r"^\$?([A-Za-z]{1,3})")


class SpreadsheetError(ValueError):
    """An XLSX refused; the message names the limit or the fault, never the file's text."""


@dataclass(frozen=True)
class Formula:
    """A formula cell: its text (``=B3+TIME(0,15,0)``) and the value Excel saved, if any.

    Files written by scripts (openpyxl, pandas) save no value, so a reader that only
    asked for values would see an empty cell.
    """

    text: str
    value: Any


def xlsx_rows(data: bytes, *, sheet_name: str) -> Iterator[tuple[Any, ...]]:
    """The cell values of the sheet called ``sheet_name`` (else the first), row by row.

    A formula cell comes as a ``Formula``. Raises ``SpreadsheetError`` for a file that is
    not a workbook, breaks a limit, or holds XML that is malformed or uses DTDs/entities.
    """
    archive = _open_zip(data)
    check_parts(archive)
    # Two read-only passes in step: saved values, and formulas (bounded by check_parts).
    values, formulas = _open_workbook(data, data_only=True), _open_workbook(data, data_only=False)
    try:
        names = values.sheetnames
        pair = [book[sheet_name] if sheet_name in names else book.worksheets[0]
                for book in (values, formulas)]  # fmt: skip
        for sheet in pair:
            sheet.reset_dimensions()  # rows as long as their cells, not as the claim
        for row, formula_row in zip(pair[0].iter_rows(), pair[1].iter_rows(), strict=False):
            yield tuple(
                _value(cell, formula) for cell, formula in zip(row, formula_row, strict=False)
            )
    except SpreadsheetError:
        raise
    except Exception as error:  # e.g. a cell naming a shared string that does not exist
        raise SpreadsheetError(f"unreadable XLSX sheet ({error.__class__.__name__})") from None
    finally:
        values.close()
        formulas.close()


def _open_workbook(data: bytes, *, data_only: bool) -> Any:
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except Exception as error:  # openpyxl raises many kinds for a malformed package
        raise SpreadsheetError(f"not an XLSX workbook ({error.__class__.__name__})") from None


def _value(cell: Any, formula: Any) -> Any:
    if getattr(formula, "data_type", None) == "f":
        return Formula(str(formula.value), getattr(cell, "value", None))
    return getattr(cell, "value", None)


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise SpreadsheetError("not an XLSX workbook (not a zip file)") from None
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > XLSX_MAX_UNPACKED_BYTES:
        mib = XLSX_MAX_UNPACKED_BYTES // (1024 * 1024)
        raise SpreadsheetError(f"the workbook unpacks to more than {mib} MiB")
    return archive


def check_parts(archive: zipfile.ZipFile) -> None:
    """Stream every XML part of ``archive`` once, refusing at the first limit passed."""
    counter = _Counter()
    for info in archive.infolist():
        with archive.open(info) as part:
            if _is_xml(part.peek(64)):
                _scan(part, info.filename, counter)


def _is_xml(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _scan(part: IO[bytes], name: str, counter: _Counter) -> None:
    try:
        sax_parse(part, counter, forbid_dtd=True)
    except DefusedXmlException:
        message = f"unreadable XLSX: forbidden XML (DTD or entities) in {name}"
        raise SpreadsheetError(message) from None
    except (xml.sax.SAXException, zipfile.BadZipFile, EOFError, OSError):
        raise SpreadsheetError(f"unreadable XLSX: malformed XML in {name}") from None


class _Counter(xml.sax.handler.ContentHandler):
    """Counts what openpyxl would build, raising ``SpreadsheetError`` past a limit."""

    def __init__(self) -> None:
        super().__init__()
        self.elements = self.rows = self.cells = self.strings = 0
        self.column = 0  # the current row's last column (1-based)

    def startElement(self, name: str, attrs: Any) -> None:  # the SAX API names it
        self.elements += 1
        check_limit(self.elements, XLSX_MAX_ELEMENTS, "XML elements")
        tag = name.rpartition(":")[2]
        if tag == "row":
            self._row(attrs.get("r"))
        elif tag == "c":
            self._cell(attrs.get("r"))
        elif tag == "si":
            self.strings += 1
            check_limit(self.strings, XLSX_MAX_SHARED_STRINGS, "shared strings")

    def _row(self, number: str | None) -> None:
        self.rows += 1
        self.column = 0
        index = int(number) if number and number.isdigit() else self.rows
        check_limit(max(index, self.rows), MSEL_MAX_ROWS, "rows")

    def _cell(self, reference: str | None) -> None:
        self.cells += 1
        check_limit(self.cells, MSEL_MAX_CELLS, "cells")
        match = _COLUMN.match(reference or "")
        self.column = column_index_from_string(match.group(1).upper()) if match else self.column + 1
        check_limit(self.column, MSEL_MAX_COLUMNS, "columns")


def check_limit(count: int, limit: int, what: str) -> None:
    """Refuse a spreadsheet once ``count`` of ``what`` passes ``limit``."""
    if count > limit:
        raise SpreadsheetError(f"more than {limit} {what}")
