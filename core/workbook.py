"""Opening an uploaded Excel workbook: anything that is not one is a located problem."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO, Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook

from core.errors import Problem, ValidationFailed

# What openpyxl raises for an empty file, a text file named .xlsx, an old .xls or a broken part.
NOT_A_WORKBOOK = (zipfile.BadZipFile, InvalidFileException, KeyError, EOFError, ValueError, OSError)


def not_a_workbook(name: str, error: BaseException, size: int | None = None) -> Problem:
    """Why the file could not be read as .xlsx, said for a person."""
    if size == 0:
        why = "the file is empty"
    elif isinstance(error, zipfile.BadZipFile):
        why = "it is not an Excel workbook (.xlsx is a zip package; this file is not one)"
    elif isinstance(error, InvalidFileException):
        why = "it is not an .xlsx workbook (save it as .xlsx; the old .xls format is not read)"
    else:
        why = f"the workbook is damaged ({type(error).__name__}: {error})"
    return Problem(why, name)


def open_workbook(source: Path | IO[bytes], *, name: str, **options: Any) -> Workbook:
    """`openpyxl.load_workbook`, with every failure turned into ValidationFailed at `name`."""
    try:
        return load_workbook(source, **options)
    except NOT_A_WORKBOOK as error:
        size = _size(source)
        problem = not_a_workbook(name, error, size)
        raise ValidationFailed([problem], f"{name}: {problem.message}") from None


def _size(source: Path | IO[bytes]) -> int | None:
    try:
        if isinstance(source, Path):
            return source.stat().st_size
        return len(source.getbuffer()) if hasattr(source, "getbuffer") else None
    except OSError:
        return None
