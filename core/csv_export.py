"""The one CSV writer of netkeep: every export a clerk may open in Excel goes through here.

A spreadsheet treats a cell that begins with `=`, `+`, `-` or `@` as a formula, and so does one
that begins with a tab, CR or LF followed by one (OWASP, "CSV Injection"). Such a cell is written
with a single quote in front, so it is shown as the text it is and never evaluated.

Numbers stay numbers: an `int` or `float` cell, and a text cell that is a plain decimal number
such as `-3`, `-67` or `-1200.5`, is written as it is — a negative amount or an RSSI reading must
remain a number the clerk can sum, and a plain number cannot run anything. Every other text
beginning with one of the trigger characters is neutralised, whatever its column.

Files are UTF-8 with a BOM so Excel shows Japanese text correctly. Times are written in
Asia/Tokyo with their offset (`2026-05-29T10:00:00+09:00`, `export_cell`), never raw UTC.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

from core.timeutil import TOKYO, as_utc

BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")

Cell = object
Row = Sequence[Cell]


def export_cell(value: object) -> str:
    """A stored value as an export shows it: times in Asia/Tokyo with the offset, None empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return as_utc(value).astimezone(TOKYO).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def safe_cell(value: Cell) -> Cell:
    """The cell as it may be written: a would-be formula is quoted, numbers are left alone."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_row(row: Row) -> list[Cell]:
    return [safe_cell(cell) for cell in row]


class SafeCsvWriter:
    """`csv.writer` with every cell passed through `safe_cell`."""

    def __init__(self, handle: TextIO) -> None:
        self._writer = csv.writer(handle)

    def writerow(self, row: Row) -> None:
        self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self.writerow(row)


def iter_csv(rows: Iterable[Row]) -> Iterator[str]:
    """The CSV text a row at a time (BOM first), for streaming responses."""
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)
    yield BOM
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def csv_text(rows: Iterable[Row]) -> str:
    """The whole CSV as one string, BOM included."""
    return "".join(iter_csv(rows))


def write_csv(path: Path, rows: Iterable[Row]) -> int:
    """Write the rows to a file; returns how many rows were written (the header included)."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(BOM)
        writer = SafeCsvWriter(handle)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count
