"""Reading an uploaded file within its stated limit, before any parsing starts.

The global body limit (`api.armour.BodyLimit`) bounds the request; each kind of upload has its
own, smaller limit, read from the settings. At most `limit + 1` bytes are read, so an oversized
file costs no more than its limit. An Excel file (a zip) is also refused when its members would
expand past `XLSX_EXPANSION` times the limit — a small zip bomb never reaches openpyxl.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from fastapi import UploadFile

from core.errors import PayloadTooLarge, Problem, ValidationFailed
from core.fields import line_problem

XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
XLSX_EXPANSION = 20
MAX_FILE_NAME = 200


def read_upload(upload: UploadFile, *, limit: int, what: str) -> bytes:
    """The upload's bytes, or PayloadTooLarge naming the file and its limit."""
    name = checked_file_name(upload.filename, what)
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(
            f"{name}: the {what} is larger than {limit:,} bytes; nothing was read",
            file=name,
            limit_bytes=limit,
        )
    if Path(name).suffix.lower() in XLSX_SUFFIXES:
        check_zip_expansion(data, name=name, limit=limit * XLSX_EXPANSION)
    return data


def checked_file_name(filename: str | None, default: str) -> str:
    """The upload's base name: one visible line of at most MAX_FILE_NAME characters (it is
    stored, shown and used in paths — a NUL or an RTL override there is refused, not a 500)."""
    name = Path(filename or default).name
    problem = line_problem(name)
    if problem is None and len(name) > MAX_FILE_NAME:
        problem = f"is longer than {MAX_FILE_NAME} characters"
    if problem is not None:
        raise ValidationFailed([Problem(f"the file name {problem}", "file")])
    return name


def checked_upload(upload: UploadFile, *, limit: int, what: str) -> UploadFile:
    """The same upload, rewound, once `read_upload` found it within its limits."""
    read_upload(upload, limit=limit, what=what)
    upload.file.seek(0)
    return upload


def check_zip_expansion(data: bytes, *, name: str, limit: int) -> None:
    """Refuse a zip whose members declare more than `limit` bytes once expanded."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip at all: the workbook reader names what is wrong with it
    if expanded > limit:
        raise PayloadTooLarge(
            f"{name}: the workbook expands to {expanded:,} bytes; at most {limit:,} are accepted",
            file=name,
            limit_bytes=limit,
        )
