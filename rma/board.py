"""The logistics board: RMAs by state with their due dates, filtered, searched and paged.

Every query is shaped for an index (status and due date, either serial, customer, the failed
unit's device row); a page is LIMIT/OFFSET with one row more than asked (is there a next page),
and the matching rows are counted only up to `COUNT_CAP`, so a page costs the same with 100,000
RMAs as with 100.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, or_, union
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from core import audit
from core.calendar import tokyo_date
from core.models import AuditEntry
from inventory.domain import normalise_serial
from inventory.models import Device
from rma.domain import (
    ACTIVE,
    AWAITING_RETURN,
    TERMINAL,
    UNRETURNED,
    DueFlag,
    RmaStatus,
    due_flag,
    tokyo_week,
)
from rma.models import DamageChargeRecord, Rma

COUNT_CAP = 10_000
"""Matching rows are counted up to this many; past it the board says "10,000+"."""

# The highest code point: in binary (C, SQLite) order every string starting with `q` sorts
# before q + this, so a prefix is a range an ordinary B-tree index answers.
_TOP = "\U0010ffff"
_RMA_NUMBER = re.compile(r"^RMA-?0*(\d{1,9})$", re.IGNORECASE)


class StateFilter(StrEnum):
    """Which states the board lists besides a single one: still to do, or every RMA."""

    ACTIVE = "active"
    ALL = "all"


class DueFilter(StrEnum):
    """The board's due-date views."""

    THIS_WEEK = "this_week"  # still out, due in this Tokyo week
    OVERDUE = "overdue"  # past the deadline and not back, swept or not
    CHARGED = "charged"  # the damage charge is billed


@dataclass(frozen=True, slots=True)
class BoardQuery:
    """What the clerk asked for: a state (or active/all), a due view and a search text."""

    state: RmaStatus | StateFilter = StateFilter.ACTIVE
    due: DueFilter | None = None
    q: str = ""
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class BoardRow:
    rma: Rma
    site: str | None
    flag: DueFlag | None
    charge: DamageChargeRecord | None


@dataclass(frozen=True, slots=True)
class BoardPage:
    rows: list[BoardRow]
    total: int  # matching rows, at most COUNT_CAP + 1
    more: bool  # a next page exists
    limit: int
    offset: int
    by_state: dict[str, int] = field(default_factory=dict)

    @property
    def total_capped(self) -> bool:
        return self.total > COUNT_CAP


def _values(statuses: frozenset[RmaStatus]) -> list[str]:
    return sorted(s.value for s in statuses)


def _prefix(column: Any, text: str) -> ColumnElement[bool]:
    return and_(column >= text, column < text + _TOP)


def _search_ids(q: str) -> Any:
    """The ids of RMAs whose number, either serial, customer or failed unit's site matches."""
    parts: list[Any] = [
        select(Rma.id).where(_prefix(col(Rma.customer), q)),
        select(Rma.id).where(
            col(Rma.failed_device_id).in_(select(Device.id).where(_prefix(col(Device.site), q)))
        ),
    ]
    number = _RMA_NUMBER.match(q)
    if number:
        parts.append(select(Rma.id).where(col(Rma.id) == int(number.group(1))))
    try:
        serial = normalise_serial(q)
    except ValueError:
        serial = None
    if serial is not None:
        parts.append(select(Rma.id).where(col(Rma.failed_serial) == serial))
        parts.append(select(Rma.id).where(col(Rma.replacement_serial) == serial))
    return union(*parts)


def _conditions(query: BoardQuery, now: datetime) -> list[Any]:
    today = tokyo_date(now)
    where: list[Any] = []
    if isinstance(query.state, RmaStatus):
        where.append(col(Rma.status) == query.state.value)
    elif query.state is StateFilter.ACTIVE:
        where.append(col(Rma.status).in_(_values(ACTIVE)))
    if query.due is DueFilter.THIS_WEEK:
        monday, sunday = tokyo_week(today)
        where += [
            col(Rma.status).in_(_values(AWAITING_RETURN)),
            col(Rma.due_date) >= monday,
            col(Rma.due_date) <= sunday,
        ]
    elif query.due is DueFilter.OVERDUE:
        where.append(
            or_(
                and_(col(Rma.status).in_(_values(AWAITING_RETURN)), col(Rma.due_date) < today),
                col(Rma.status).in_(_values(UNRETURNED)),
            )
        )
    elif query.due is DueFilter.CHARGED:
        where.append(col(Rma.status) == RmaStatus.CHARGED.value)
    q = query.q.strip()
    if q:
        where.append(col(Rma.id).in_(_search_ids(q)))
    return where


def _by_due_date(query: BoardQuery) -> bool:
    """Waiting states read best soonest-due first; everything else newest first (the key)."""
    if query.due is not None:
        return True
    if isinstance(query.state, RmaStatus):
        return query.state not in TERMINAL
    return query.state is StateFilter.ACTIVE


def board(*, session: Session, query: BoardQuery, now: datetime) -> BoardPage:
    """One page of the board, its (capped) count and the count of each active state."""
    where = _conditions(query, now)
    # The page's ids first, ordered and cut from the index alone; then only those rows are read.
    ids = select(Rma.id).where(*where)
    if _by_due_date(query):
        ids = ids.order_by(col(Rma.due_date).is_(None), col(Rma.due_date), col(Rma.id))
    else:
        ids = ids.order_by(col(Rma.id).desc())
    page_ids = list(session.exec(ids.offset(query.offset).limit(query.limit + 1)))
    more = len(page_ids) > query.limit
    rows = _rows(session=session, ids=page_ids[: query.limit], now=now)
    by_state = counts_by_state(session=session)
    if query.offset == 0 and not more:
        total = len(rows)
    elif _counted_by_tabs(query):
        states = [query.state.value] if isinstance(query.state, RmaStatus) else list(by_state)
        total = min(sum(by_state.get(s, 0) for s in states), COUNT_CAP + 1)
    else:
        total = _count(session, where)
    return BoardPage(
        rows=rows,
        total=total,
        more=more,
        limit=query.limit,
        offset=query.offset,
        by_state=by_state,
    )


def _counted_by_tabs(query: BoardQuery) -> bool:
    """All active RMAs or one active state, unsearched: the tabs' counts are the total."""
    if query.q.strip() or query.due is not None:
        return False
    return query.state is StateFilter.ACTIVE or query.state in ACTIVE


def _count(session: Session, where: list[Any]) -> int:
    """The matching rows, counted up to COUNT_CAP + 1."""
    capped = select(Rma.id).where(*where).limit(COUNT_CAP + 1).subquery()
    return int(session.exec(select(func.count()).select_from(capped)).one())


def counts_by_state(*, session: Session) -> dict[str, int]:
    """How many RMAs stand in each state that still needs work (the board's tabs)."""
    stmt = (
        select(Rma.status, func.count())
        .where(col(Rma.status).in_(_values(ACTIVE)))
        .group_by(col(Rma.status))
    )
    return {str(status): int(n) for status, n in session.exec(stmt)}


def _rows(*, session: Session, ids: list[int | None], now: datetime) -> list[BoardRow]:
    """The page's RMAs in `ids` order, each with its failed unit's site and its charge: one
    query for the page, however many rows."""
    if not ids:
        return []
    today = tokyo_date(now)
    stmt = (
        select(Rma, Device.site, DamageChargeRecord)
        .outerjoin(Device, col(Device.id) == col(Rma.failed_device_id))
        .outerjoin(DamageChargeRecord, col(DamageChargeRecord.rma_id) == col(Rma.id))
        .where(col(Rma.id).in_(ids))
    )
    found = {rma.id: (rma, site, charge) for rma, site, charge in session.exec(stmt)}
    return [
        BoardRow(
            rma=rma,
            site=site,
            flag=due_flag(RmaStatus(rma.status), rma.due_date, today),
            charge=charge,
        )
        for rma, site, charge in (found[i] for i in ids if i in found)
    ]


def rma_history(*, session: Session, rma: Rma) -> list[AuditEntry]:
    """The RMA's audit entries, oldest first: every move, with who and when."""
    return audit.history(session, entity_type="rma", entity_id=rma.number)
