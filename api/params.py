"""Shared, bounded parameter types: a value the database cannot hold is a 422, never a 500.

Ids are SQL INTEGER on PostgreSQL (32-bit) and SQLite, so an id beyond 2**31 - 1 names nothing
and is refused by the schema, documented in the OpenAPI as `minimum`/`maximum`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Query

from core.bounds import ID_MAX, DbInt, record_number
from core.errors import Problem, ValidationFailed

__all__ = [
    "ID_MAX", "DbInt", "Id", "Limit", "Offset", "RmaRef", "SurveyRef", "VersionNumber", "numbered"
]  # fmt: skip

Id = Annotated[int, Path(ge=1, le=ID_MAX, description="a record's id")]
"""A record's id in a path."""

VersionNumber = Annotated[int, Path(ge=1, le=ID_MAX, description="a version number")]
"""A version number in a path."""

Offset = Annotated[int, Query(ge=0, le=ID_MAX, description="rows to skip")]
"""How many rows a page skips."""

PAGE_MAX = 1000
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description="rows in the page (1-1000)")]
"""How many rows a page holds at most; every list route defaults to 100."""


def numbered(prefix: str, name: str, what: str) -> Callable[..., int]:
    """A path parameter that takes the number people see (`RMA-000004`) or the bare id (`4`)."""
    pattern = r"^(?:[A-Za-z]{1,8}-)?[0-9]{1,10}$"

    given = Annotated[
        str,
        Path(
            alias=name,
            pattern=pattern,
            description=f"the {what}'s number as shown ({prefix}-000004) or its id (4)",
            examples=[f"{prefix}-000004", "4"],
        ),
    ]

    def record_id(value: str) -> int:
        try:
            return record_number(value, prefix)
        except ValueError as exc:
            raise ValidationFailed([Problem(str(exc), f"path.{name}")]) from None

    record_id.__annotations__["value"] = given  # a real object: FastAPI reads the Path from it
    return record_id


RmaRef = Annotated[int, Depends(numbered("RMA", "rma_id", "RMA"))]
"""An RMA in a path: `RMA-000004` or `4`."""

SurveyRef = Annotated[int, Depends(numbered("SV", "survey_id", "survey"))]
"""A survey in a path: `SV-000001` or `1`."""
