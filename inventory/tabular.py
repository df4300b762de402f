"""Reading CSV (UTF-8 or Shift_JIS) and XLSX into rows keyed by canonical column names."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from core.errors import Problem, ValidationFailed


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # the row number a person sees in the file (1-based, header rows counted)
    values: dict[str, str]


def _norm(header: str) -> str:
    return "".join(header.split()).lower().replace("_", "").replace("-", "")


def header_index(aliases: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Every accepted header spelling (normalised) → canonical column name."""
    index: dict[str, str] = {}
    for canonical, names in aliases.items():
        for name in (canonical, *names):
            index[_norm(name)] = canonical
    return index


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _raw_rows(path: Path, content: bytes | None) -> Iterator[list[Any]]:
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        from core.workbook import open_workbook

        source: Any = io.BytesIO(content) if content is not None else path
        workbook = open_workbook(source, name=path.name, read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            for values in sheet.iter_rows(values_only=True):
                yield list(values)
        finally:
            workbook.close()
        return
    if suffix not in {".csv", ".txt", ""}:
        raise ValidationFailed(
            [Problem(f"unsupported file type {suffix!r}: use .csv or .xlsx", path.name)]
        )
    data = content if content is not None else path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp932")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(
                [Problem("the file is neither UTF-8 nor Shift_JIS text", path.name)]
            ) from exc
    yield from csv.reader(io.StringIO(text, newline=""))


def read_table(
    path: Path, aliases: Mapping[str, tuple[str, ...]], *, content: bytes | None = None
) -> tuple[list[Row], list[str]]:
    """Rows with canonical keys; a second header row (English under Japanese) is skipped."""
    index = header_index(aliases)
    rows_iter = _raw_rows(path, content)
    header = next(rows_iter, None)
    if header is None:
        raise ValidationFailed([Problem("the file is empty", path.name)])
    columns: list[str | None] = []
    problems: list[Problem] = []
    for position, cell in enumerate(header, start=1):
        text = _cell_text(cell)
        if not text:
            columns.append(None)
            continue
        canonical = index.get(_norm(text))
        if canonical is None:
            problems.append(
                Problem(f"unknown column {text!r}", f"{path.name} row 1, column {position}")
            )
        columns.append(canonical)
    if problems:
        raise ValidationFailed(problems)
    rows: list[Row] = []
    for number, values in enumerate(rows_iter, start=2):
        texts = [_cell_text(v) for v in values]
        if not any(texts):
            continue
        if number == 2 and all(
            not t or index.get(_norm(t)) == c for t, c in zip(texts, columns, strict=False)
        ):
            continue  # the English header row under the Japanese one
        record = {c: t for c, t in zip(columns, texts, strict=False) if c is not None}
        rows.append(Row(number=number, values=record))
    present = [c for c in columns if c is not None]
    return rows, present
