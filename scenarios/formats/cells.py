"""The one writer of spreadsheet cells for every CSV and XLSX export (MSEL and reports).

Text typed by players, authors and coordinators goes into files that people open in
Excel or LibreOffice, where a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return (also after leading whitespace) can run as a formula ("CSV injection";
``=HYPERLINK(...)`` can leak other rows, ``=cmd|...`` can run programs). So:

- CSV: such text is prefixed with ``'``, which both programs show as text;
  ``restore_csv_text`` takes the prefix off again on import.
- XLSX: such text is stored as a string cell (``data_type "s"``, never ``"f"``) with the
  quotePrefix style, so it stays text even when someone edits the cell.
- Control characters that XLSX cannot hold are dropped in both, so one player's ``\\x07``
  never stops an export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet could read ``text`` as a formula."""
    return text.startswith(FORMULA_START) or text.lstrip().startswith(FORMULA_START)


def clean_text(value: Any) -> Any:
    """``value`` with the control characters XLSX refuses removed (non-text unchanged)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """``rows`` as CSV text, every cell defused (``None`` is an empty cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
    return buffer.getvalue()


def _csv_cell(value: Any) -> Any:
    value = "" if value is None else clean_text(value)
    return f"'{value}" if isinstance(value, str) and looks_like_formula(value) else value


def restore_csv_text(cell: str) -> str:
    """Undo ``csv_text``'s quote on text that looks like a formula (MSEL import)."""
    return cell[1:] if cell.startswith("'") and looks_like_formula(cell[1:]) else cell


def append_xlsx_row(sheet: Worksheet, row: Sequence[Any]) -> None:
    """Append ``row`` to ``sheet`` with every text cell stored as inert text."""
    sheet.append([clean_text(value) for value in row])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and looks_like_formula(cell.value):
            cell.data_type = "s"
            cell.quotePrefix = True
