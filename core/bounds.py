"""Bounds of what the database can store, for request schemas (no web framework here)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

ID_MAX = 2**31 - 1
"""The largest id a row can have, and the largest INTEGER (PostgreSQL's is 32-bit)."""

DbInt = Annotated[int, Field(ge=-ID_MAX - 1, le=ID_MAX)]
"""Any integer stored in an INTEGER column, in a request body."""
