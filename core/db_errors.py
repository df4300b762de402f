"""Database driver errors that are the caller's or the moment's fault, as DomainErrors.

A lock wait past its bound or a lost serialization race is `Busy` (503, retry); a broken
uniqueness or reference is a `Conflict` naming the key; a NOT NULL or CHECK violation is a
`ValidationFailed` naming the column. Anything else is left alone: it is a bug.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from core.db import LOCK_WAIT_SECONDS
from core.errors import Busy, Conflict, DomainError, Problem, ValidationFailed

SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")
PG_BUSY = {"55P03": "lock not available", "40001": "serialization failure", "40P01": "deadlock"}
SQLITE_CONSTRAINT = re.compile(
    r"(?P<kind>UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed"
    r"(?::\s*(?:index '(?P<index>\w+)'|(?P<what>[\w.,\s]+)))?"
)


def busy() -> Busy:
    return Busy(
        f"the database stayed busy for more than {LOCK_WAIT_SECONDS} s; nothing was changed, "
        "try again",
        retry_after=1,
    )


def translate(exc: DBAPIError | PoolTimeout) -> DomainError | None:
    """The DomainError a driver error stands for, or None when it is a genuine fault."""
    if isinstance(exc, PoolTimeout):
        return busy()
    orig: Any = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in PG_BUSY or (
        isinstance(exc, OperationalError) and any(s in str(orig) for s in SQLITE_BUSY)
    ):
        return busy()
    if sqlstate is not None and sqlstate.startswith("22"):
        # PostgreSQL's data exceptions: a number out of its column's range, a string too long.
        return ValidationFailed(
            [Problem(f"a value does not fit its column ({sqlstate})", location=_column(orig))]
        )
    if isinstance(exc, DataError) and "NUL" in str(orig):
        # psycopg refuses NUL characters before PostgreSQL sees them.
        return ValidationFailed([Problem("text may not contain NUL characters", location="")])
    if not isinstance(exc, IntegrityError):
        return None
    if sqlstate is not None:
        return _postgres_integrity(orig, sqlstate)
    match = SQLITE_CONSTRAINT.search(str(orig))
    if match is None:
        return Conflict("the change conflicts with data already stored; nothing was changed")
    # An expression index (e.g. lower(name)) is named by SQLite as "index 'NAME'".
    return _integrity(match["kind"], (match["index"] or match["what"] or "").strip())


def _column(orig: Any) -> str:
    diag = getattr(orig, "diag", None)
    table = getattr(diag, "table_name", None) or ""
    column = getattr(diag, "column_name", None) or ""
    return f"{table}.{column}".strip(".")


def _postgres_integrity(orig: Any, sqlstate: str) -> DomainError:
    diag = getattr(orig, "diag", None)
    table = getattr(diag, "table_name", None) or ""
    column = getattr(diag, "column_name", None) or ""
    constraint = getattr(diag, "constraint_name", None) or ""
    kind = {"23505": "UNIQUE", "23502": "NOT NULL", "23503": "FOREIGN KEY", "23514": "CHECK"}
    what = f"{table}.{column}" if table and column else constraint
    return _integrity(kind.get(sqlstate, "UNIQUE"), what)


def _integrity(kind: str, what: str) -> DomainError:
    if kind == "NOT NULL":
        return ValidationFailed([Problem("a value is required (null given)", location=what)])
    if kind == "CHECK":
        return ValidationFailed([Problem("value outside the allowed range", location=what)])
    if kind == "FOREIGN KEY":
        return Conflict(
            "the change refers to a record that does not exist or is still referred to; "
            "nothing was changed",
            key=what or None,
        )
    return Conflict(f"{what or 'a unique key'} already exists; nothing was changed", key=what)
