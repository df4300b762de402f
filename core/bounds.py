"""Bounds of what the database can store, for request schemas (no web framework here)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

ID_MAX = 2**31 - 1
"""The largest id a row can have, and the largest INTEGER (PostgreSQL's is 32-bit)."""

DbInt = Annotated[int, Field(ge=-ID_MAX - 1, le=ID_MAX)]
"""Any integer stored in an INTEGER column, in a request body."""


def record_number(value: str, prefix: str) -> int:
    """The id in a number people see (`RMA-000004` → 4), or a bare id; ValueError otherwise."""
    head, dash, digits = value.strip().rpartition("-")
    if (head or dash) and head.upper() != prefix:
        raise ValueError(f"a number here starts with {prefix}-, not {head}-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 10:
        raise ValueError(f"{value!r} is neither {prefix}-NNNNNN nor an id")
    number = int(digits)
    if not 1 <= number <= ID_MAX:
        raise ValueError(f"no record has the number {value}")
    return number
