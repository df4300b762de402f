"""Measurement CSV from the survey tool: Japanese or English headers, every bad cell reported."""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from core.errors import Problem
from survey.domain import (
    Band,
    Measurement,
    bssid_problem,
    channel_problem,
    on_floor,
    parse_band,
    rssi_problem,
    snr_problem,
)

MAX_ROWS = 50_000
T = TypeVar("T")

# Normalised header (NFKC, lower case, no spaces, no unit in brackets) → field.
HEADERS: dict[str, str] = {
    **dict.fromkeys(["x", "x_m", "x座標", "横", "横位置"], "x"),
    **dict.fromkeys(["y", "y_m", "y座標", "縦", "縦位置"], "y"),
    **dict.fromkeys(["band", "帯域", "バンド", "周波数帯"], "band"),
    **dict.fromkeys(["channel", "ch", "チャネル", "チャンネル"], "channel"),
    **dict.fromkeys(["rssi", "rssi_dbm", "受信強度", "電波強度", "信号強度"], "rssi"),
    **dict.fromkeys(["snr", "snr_db", "sn比", "snr比"], "snr"),
    "ssid": "ssid",
    "bssid": "bssid",
    **dict.fromkeys(["interference", "干渉", "干渉あり", "干渉有無"], "interference"),
}
REQUIRED = ("x", "y", "band", "channel", "rssi")
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "あり", "有", "有り", "○", "◯", "はい"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "n", "なし", "無", "無し", "×", "いいえ", "-"})


def normalise_header(text: str) -> str:
    """'Ｘ座標 (m)' and 'x座標' read alike; so do 'RSSI(dBm)' and 'rssi'."""
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    folded = re.sub(r"[(\[].*?[)\]]", "", folded)
    return re.sub(r"\s+", "", folded)


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Shift_JIS as Japanese Excel writes it."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp932", errors="strict")


@dataclass(frozen=True, slots=True)
class ParsedPoints:
    """The readings of a whole file, or every problem found in it."""

    points: list[Measurement]
    problems: list[Problem]
    ignored_columns: list[str]


def _number(text: str, kind: Callable[[str], T]) -> T:
    value = kind(unicodedata.normalize("NFKC", text).strip())
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(text)
    return value


def _flag(text: str) -> bool:
    word = unicodedata.normalize("NFKC", text).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(text)


def parse_points(
    text: str, *, width_m: float, height_m: float, floor: str, name: str = "points.csv"
) -> ParsedPoints:
    """Every row checked against the floor; any problem means none of the rows are kept."""
    reader = csv.reader(io.StringIO(text))
    try:
        return _parse_rows(reader, width_m=width_m, height_m=height_m, floor=floor, name=name)
    except csv.Error as error:  # a 128 KB cell, a NUL, an unclosed quote at the end
        problem = Problem(f"not readable as CSV: {error}", f"{name} line {reader.line_num}")
        return ParsedPoints([], [problem], [])


def _parse_rows(
    reader: Iterator[list[str]], *, width_m: float, height_m: float, floor: str, name: str
) -> ParsedPoints:
    header = next(reader, None)
    if header is None:
        return ParsedPoints([], [Problem("the file is empty", name)], [])
    columns: dict[str, int] = {}
    written: dict[str, str] = {}
    ignored: list[str] = []
    problems: list[Problem] = []
    for index, cell in enumerate(header):
        field = HEADERS.get(normalise_header(cell))
        if field is None:
            if cell.strip():
                ignored.append(cell.strip())
        elif field in columns:
            problems.append(Problem(f"column {cell!r} repeats {field}", f"{name} row 1"))
        else:
            columns[field], written[field] = index, cell.strip()
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        problems.append(Problem(f"missing column(s): {', '.join(missing)}", f"{name} row 1"))
    if problems:
        return ParsedPoints([], problems, ignored)

    points: list[Measurement] = []
    for row_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if row_number - 1 > MAX_ROWS:
            problems.append(Problem(f"more than {MAX_ROWS} rows", f"{name} row {row_number}"))
            break
        point = _row(row, row_number, columns, written, name, problems, width_m, height_m, floor)
        if point is not None:
            points.append(point)
    if not points and not problems:
        problems.append(Problem("no measurement rows", name))
    return ParsedPoints([] if problems else points, problems, ignored)


def _row(
    row: list[str],
    row_number: int,
    columns: dict[str, int],
    written: dict[str, str],
    name: str,
    problems: list[Problem],
    width_m: float,
    height_m: float,
    floor: str,
) -> Measurement | None:
    before = len(problems)

    def at(field: str) -> str:
        return f"{name} row {row_number}, column {written[field]}"

    def cell(field: str) -> str:
        index = columns.get(field)
        return row[index] if index is not None and index < len(row) else ""

    def read(field: str, kind: Callable[[str], T], what: str) -> T | None:
        text = cell(field)
        if field in REQUIRED and not text.strip():
            problems.append(Problem(f"{field} is empty", at(field)))
            return None
        try:
            return kind(text)
        except ValueError:
            problems.append(Problem(f"{text!r} is not {what}", at(field)))
            return None

    x = read("x", lambda t: _number(t, float), "a number of metres")
    y = read("y", lambda t: _number(t, float), "a number of metres")
    band: Band | None = None
    if cell("band").strip():
        try:
            band = parse_band(cell("band"))
        except ValueError as exc:
            problems.append(Problem(str(exc), at("band")))
    else:
        problems.append(Problem("band is empty", at("band")))
    channel = read("channel", lambda t: _number(t, int), "a channel number")
    rssi = read("rssi", lambda t: _number(t, float), "an RSSI in dBm")
    snr = read("snr", lambda t: _number(t, float) if t.strip() else None, "an SNR in dB")
    interference = (
        read("interference", _flag, "yes/no (あり/なし)") if "interference" in columns else False
    )
    ssid, bssid = cell("ssid").strip(), cell("bssid").strip().lower()

    if x is not None and y is not None and not on_floor(x, y, width_m, height_m):
        bad = "x" if not 0 <= x <= width_m else "y"
        problems.append(
            Problem(
                f"({x:g}, {y:g}) m is outside floor {floor} ({width_m:g} × {height_m:g} m)",
                at(bad),
            )
        )
    if band is not None and channel is not None and (message := channel_problem(band, channel)):
        problems.append(Problem(message, at("channel")))
    if rssi is not None and (message := rssi_problem(rssi)):
        problems.append(Problem(message, at("rssi")))
    if snr is not None and (message := snr_problem(snr)):
        problems.append(Problem(message, at("snr")))
    if bssid and (message := bssid_problem(bssid)):
        problems.append(Problem(message, at("bssid")))
    if len(problems) > before:
        return None
    assert x is not None and y is not None and band is not None
    assert channel is not None and rssi is not None
    return Measurement(
        x_m=x,
        y_m=y,
        band=band,
        channel=channel,
        rssi_dbm=rssi,
        snr_db=snr,
        ssid=ssid,
        bssid=bssid,
        interference=bool(interference),
    )
