"""One way to cut a list into pages: `limit` rows after skipping `offset`, with the total."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import func
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int


def page_of_list(items: Sequence[T], *, limit: int, offset: int) -> Page[T]:
    """A page of a list already in memory (a short one: a view, a request's events)."""
    return Page(items=list(items[offset : offset + limit]), total=len(items))


def page_of_query(session: Session, stmt: SelectOfScalar[T], *, limit: int, offset: int) -> Page[T]:
    """A page of an ordered query, counted in the database."""
    counted: Any = select(func.count()).select_from(stmt.order_by(None).subquery())
    total = int(session.exec(counted).one())
    return Page(items=list(session.exec(stmt.limit(limit).offset(offset))), total=total)
