"""Shared, bounded parameter types: a value the database cannot hold is a 422, never a 500.

Ids are SQL INTEGER on PostgreSQL (32-bit) and SQLite, so an id beyond 2**31 - 1 names nothing
and is refused by the schema, documented in the OpenAPI as `minimum`/`maximum`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from core.bounds import ID_MAX, DbInt

__all__ = ["ID_MAX", "DbInt", "Id", "Limit", "Offset", "VersionNumber"]

Id = Annotated[int, Path(ge=1, le=ID_MAX, description="a record's id")]
"""A record's id in a path."""

VersionNumber = Annotated[int, Path(ge=1, le=ID_MAX, description="a version number")]
"""A version number in a path."""

Offset = Annotated[int, Query(ge=0, le=ID_MAX, description="rows to skip")]
"""How many rows a page skips."""

PAGE_MAX = 1000
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description="rows in the page (1-1000)")]
"""How many rows a page holds at most; every list route defaults to 100."""
