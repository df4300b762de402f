"""Shared, bounded parameter types: a value the database cannot hold is a 422, never a 500.

Ids are SQL INTEGER on PostgreSQL (32-bit) and SQLite, so an id beyond 2**31 - 1 names nothing
and is refused by the schema, documented in the OpenAPI as `minimum`/`maximum`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

ID_MAX = 2**31 - 1
"""The largest id a row can have (PostgreSQL INTEGER)."""

Id = Annotated[int, Path(ge=1, le=ID_MAX, description="a record's id")]
"""A record's id in a path."""

VersionNumber = Annotated[int, Path(ge=1, le=ID_MAX, description="a version number")]
"""A version number in a path."""

DbInt = Annotated[int, Field(ge=-ID_MAX - 1, le=ID_MAX)]
"""Any integer stored in an INTEGER column, in a request body."""

Offset = Annotated[int, Query(ge=0, le=ID_MAX, description="rows to skip")]
"""How many rows a page skips."""
