"""OWASP's CSV injection rule: a cell a spreadsheet would read as a formula is quoted."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from core.csv_export import csv_text, iter_csv, safe_cell, write_csv

PAYLOADS = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_payload_is_written_behind_a_single_quote(payload: str) -> None:
    assert safe_cell(payload) == "'" + payload


@pytest.mark.parametrize(
    "text",
    ["=", "+", "-", "@", "\t", "\r", "\n", "-abc", "+81 3-1234", "=1", "-1e5", "- 3", "--1"],
)
def test_anything_starting_with_a_trigger_that_is_not_a_plain_number_is_quoted(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("number", ["-3", "-67", "-1200.5", "+5", "0", "42", "3.25"])
def test_a_plain_decimal_number_stays_a_number(number: str) -> None:
    assert safe_cell(number) == number


@pytest.mark.parametrize("value", [-3, -67.5, 0, 12])
def test_numeric_cells_are_written_as_numbers(value: float) -> None:
    assert safe_cell(value) == value


@pytest.mark.parametrize(
    "text", ["Q2FY-AAAA-0001", "さくら商事", "a=b", "x+y", "user@example.jp", " =1", ""]
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert safe_cell(text) == text


def test_none_is_an_empty_cell_and_booleans_are_text() -> None:
    assert (safe_cell(None), safe_cell(True)) == ("", "True")


def _parse(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def test_streamed_text_and_file_are_the_same_safe_csv(tmp_path: Path) -> None:
    rows = [["name", "amount"], *([p, -5] for p in PAYLOADS)]
    streamed = "".join(iter_csv(rows))
    assert streamed == csv_text(rows)
    expected = [["name", "amount"], *(["'" + p, "-5"] for p in PAYLOADS)]
    assert _parse(streamed) == expected
    path = tmp_path / "out.csv"
    assert write_csv(path, rows) == len(rows)
    assert _parse(path.read_bytes().decode("utf-8")) == expected
