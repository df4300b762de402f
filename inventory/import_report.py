"""An import's dry-run report as a table a person reads, and the uploaded file kept for commit.

The importer locates each problem as "<file> row N, column C" (`inventory.importer`); here each
becomes (row, column, message), so a page can show every row's problems on that row. A web
upload is kept under its content's SHA-256 in a spool directory between the dry run and the
commit, so the commit imports exactly the bytes the clerk saw checked.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.errors import NotFound, Problem, ValidationFailed

SPOOL_KEEP_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[0-9a-f]{64}$")
_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One problem of an import file, with the row and column a person finds it at."""

    row: int | None  # None: the file as a whole
    column: str | None
    message: str


def located(source: str, problems: Iterable[Problem]) -> list[RowProblem]:
    """Each problem with its row and column read from its location, in file order."""
    pattern = re.compile(rf"^{re.escape(source)} (?:row|line) (\d+)(?:, column (.+))?$")
    out: list[RowProblem] = []
    for problem in problems:
        match = pattern.match(problem.location)
        if match is None:
            out.append(RowProblem(None, None, problem.message))
        else:
            out.append(RowProblem(int(match.group(1)), match.group(2), problem.message))
    return sorted(out, key=lambda p: (p.row or 0, p.column or ""))


def stash_upload(*, spool: Path, name: str, content: bytes, now: float | None = None) -> str:
    """Keep an uploaded file until its commit; the token is its SHA-256. Old ones are dropped."""
    suffix = Path(name).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValidationFailed(
            [Problem(f"unsupported file type {suffix!r}: use .csv or .xlsx", "file")]
        )
    spool.mkdir(parents=True, exist_ok=True, mode=0o700)
    cutoff = (now if now is not None else time.time()) - SPOOL_KEEP_SECONDS
    for old in spool.iterdir():
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = hashlib.sha256(content).hexdigest()
    (spool / f"{token}{suffix}").write_bytes(content)
    (spool / f"{token}.name").write_text(Path(name).name, encoding="utf-8")
    return token


def stashed_upload(*, spool: Path, token: str) -> tuple[str, bytes]:
    """The file kept under `token`: its name and bytes (NotFound once dropped or never kept)."""
    if _TOKEN.match(token):
        for suffix in _SUFFIXES:
            path = spool / f"{token}{suffix}"
            if path.is_file():
                content = path.read_bytes()
                if hashlib.sha256(content).hexdigest() == token:
                    name_file = spool / f"{token}.name"
                    name = name_file.read_text(encoding="utf-8") if name_file.is_file() else ""
                    return name or f"import{suffix}", content
    raise NotFound("the uploaded file is no longer kept; upload it again", token=token[:12])
