"""The one page envelope of every list the API answers: `{total, limit, offset, items}`; a write
that did several things answers `{count, items}`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel
from sqlmodel import Session

from core.paging import page_of_list

T = TypeVar("T")
S = TypeVar("S")
T_co = TypeVar("T_co", covariant=True)


class Paged(Protocol[T_co]):
    """A page a service answers: some rows and how many there are in all (`core.paging.Page`)."""

    @property
    def items(self) -> Sequence[T_co]: ...

    @property
    def total(self) -> int: ...


class CustomerLister(Protocol[T_co]):
    """A customer-scoped list (the portal's): the customer filters in SQL."""

    def __call__(
        self, *, session: Session, customer: str, limit: int, offset: int
    ) -> Paged[T_co]: ...


class PageOut(BaseModel, Generic[T]):
    """`items` are at most `limit` rows after skipping `offset`; `total` counts them all."""

    total: int
    limit: int
    offset: int
    items: list[T]


def page_out(page: Paged[S], convert: Callable[[S], T], *, limit: int, offset: int) -> PageOut[T]:
    return PageOut[T](
        total=page.total, limit=limit, offset=offset, items=[convert(i) for i in page.items]
    )


def list_page(items: Iterable[T], *, limit: int, offset: int) -> PageOut[T]:
    """A page of items already converted and in memory."""
    page = page_of_list(list(items), limit=limit, offset=offset)
    return PageOut[T](total=page.total, limit=limit, offset=offset, items=page.items)


class ItemsOut(BaseModel, Generic[T]):
    """What one write did, an item each: an object (not a bare array), so it can grow."""

    count: int
    items: list[T]


def items_out(items: Iterable[T]) -> ItemsOut[T]:
    listed = list(items)
    return ItemsOut[T](count=len(listed), items=listed)
