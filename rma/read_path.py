"""The RMA reads on the hot path: `GET /rmas/{id}` and `GET /rmas?serial=` without the ORM.

Same JSON as the ORM views (`rma.router`, `RmaOut.of`), read through the app's read path
(`api.read_path`): on PostgreSQL one RMA is one prepared statement — its charge by a join, its
reminders and mismatches as arrays from two LATERAL subqueries — batched with the other RMAs asked
for at the same time; the serial pages asked for together are one statement too (each page's RMAs
as arrays, its total by a count). On SQLite (or any other driver) the same values come from a few
Core queries on the read connection, and the body is kept in the read memo until the database
changes. `hot_route` lets `api.app.HotReadDispatcher` serve both past FastAPI.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from sqlalchemy import (
    ARRAY,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection

from api.deps import authorize
from api.params import PAGE_MAX
from api.read_path import read_first, read_keyed, read_memo, run_read
from core.bounds import ID_MAX, record_number
from core.db import KeyedQuery, PreparedQuery
from core.errors import NotFound, Problem, ValidationFailed
from core.policy import Operation, allowed_roles
from rma.domain import RmaStatus
from rma.models import DamageChargeRecord, Rma, RmaReminder, RmaSerialMismatch
from rma.schemas import ChargeOut, MismatchOut, ReminderOut, RmaOut, RmaPageOut

RMA = Rma.__table__  # type: ignore[attr-defined]
CHARGE = DamageChargeRecord.__table__  # type: ignore[attr-defined]
REMINDER = RmaReminder.__table__  # type: ignore[attr-defined]
MISMATCH = RmaSerialMismatch.__table__  # type: ignore[attr-defined]

_NESTED = ("number", "charge", "reminders", "mismatches")
RMA_FIELDS = tuple(name for name in RmaOut.model_fields if name not in _NESTED)
"""The RMA's own columns in the response (`number` is derived from the id)."""
CHARGE_FIELDS = tuple(ChargeOut.model_fields)
REMINDER_FIELDS = tuple(ReminderOut.model_fields)
MISMATCH_FIELDS = tuple(MismatchOut.model_fields)

RMA_OUT = RmaOut.__pydantic_serializer__
PAGE_OUT = RmaPageOut.__pydantic_serializer__


def _rma_columns() -> list[Any]:
    return [RMA.c[name] for name in RMA_FIELDS]


def _charge_columns() -> list[Any]:
    return [CHARGE.c.id.label("charge_id")] + [
        CHARGE.c[name].label(f"charge_{name}") for name in CHARGE_FIELDS
    ]


def _with_children_pg() -> Select[Any]:
    """An RMA with its charge (joined: at most one) and its reminders and mismatches, each field
    an array in the views' order (NULL when there are none) — PostgreSQL only."""
    reminder_order = REMINDER.c.remind_on
    reminders = (
        select(
            *(
                func.array_agg(aggregate_order_by(REMINDER.c[name], reminder_order)).label(
                    f"reminders_{name}"
                )
                for name in REMINDER_FIELDS
            )
        )
        .where(REMINDER.c.rma_id == RMA.c.id)
        .lateral("reminders")
    )
    mismatch_order = (MISMATCH.c.received_at, MISMATCH.c.id)
    mismatches = (
        select(
            *(
                func.array_agg(aggregate_order_by(MISMATCH.c[name], *mismatch_order)).label(
                    f"mismatches_{name}"
                )
                for name in MISMATCH_FIELDS
            )
        )
        .where(MISMATCH.c.rma_id == RMA.c.id)
        .lateral("mismatches")
    )
    return (
        select(*_rma_columns(), *_charge_columns(), *reminders.c, *mismatches.c)
        .outerjoin(CHARGE, CHARGE.c.rma_id == RMA.c.id)
        .outerjoin(reminders, true())
        .outerjoin(mismatches, true())
    )


RMA_WITH_CHILDREN = KeyedQuery(
    one=PreparedQuery(_with_children_pg().where(RMA.c.id == bindparam("id"))),
    many=PreparedQuery(
        _with_children_pg().where(RMA.c.id == any_(bindparam("keys", type_=ARRAY(Integer))))
    ),
    key="id",
)
"""One RMA's row with its charge, reminders and mismatches; many at once (PostgreSQL)."""


def _nested(values: dict[str, Any], prefix: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    columns = [values.pop(f"{prefix}_{name}") or [] for name in fields]
    return [dict(zip(fields, row, strict=True)) for row in zip(*columns, strict=True)]


def _charge(values: dict[str, Any]) -> dict[str, Any] | None:
    charge = {name: values.pop(f"charge_{name}") for name in CHARGE_FIELDS}
    return charge if values.pop("charge_id") is not None else None


def fields_of_pg_row(values: dict[str, Any]) -> dict[str, Any]:
    """An RMA_WITH_CHILDREN row as RmaOut's fields."""
    values["charge"] = _charge(values)
    values["reminders"] = _nested(values, "reminders", REMINDER_FIELDS)
    values["mismatches"] = _nested(values, "mismatches", MISMATCH_FIELDS)
    return values


RMA_WITH_CHARGE = PreparedQuery(
    select(*_rma_columns(), *_charge_columns())
    .outerjoin(CHARGE, CHARGE.c.rma_id == RMA.c.id)
    .where(RMA.c.id == bindparam("id"))
)


def rma_fields(connection: Connection, rma_id: int) -> dict[str, Any] | None:
    """RmaOut's fields of one RMA by Core queries on any database (None: no such RMA)."""
    values = RMA_WITH_CHARGE.first(connection, id=rma_id)
    if values is None:
        return None
    values["charge"] = _charge(values)
    values["reminders"] = [
        dict(row._mapping)
        for row in connection.execute(
            select(*(REMINDER.c[name] for name in REMINDER_FIELDS))
            .where(REMINDER.c.rma_id == rma_id)
            .order_by(REMINDER.c.remind_on)
        )
    ]
    values["mismatches"] = [
        dict(row._mapping)
        for row in connection.execute(
            select(*(MISMATCH.c[name] for name in MISMATCH_FIELDS))
            .where(MISMATCH.c.rma_id == rma_id)
            .order_by(MISMATCH.c.received_at, MISMATCH.c.id)
        )
    ]
    return values


def rma_json(fields: dict[str, Any] | None, rma_id: int) -> bytes:
    """The RmaOut body of RMA fields (None: NotFound, as `rma.service.get_rma` says it)."""
    if fields is None:
        raise NotFound(f"no RMA {rma_id}", rma=rma_id)
    fields["number"] = f"RMA-{rma_id:06d}"  # Rma.number
    return RMA_OUT.to_json(RmaOut.model_validate(fields))


async def read_rma_json(request: Request, rma_id: int) -> bytes:
    """`GET /rmas/{id}`'s body through the app's read path (memo on SQLite, batch on PG)."""
    memo = read_memo(request)
    generation = memo.generation() if memo is not None else None
    if generation is not None:
        assert memo is not None
        kept: bytes | None = memo.get(("rma", rma_id))
        if kept is not None:
            return kept
    if getattr(request.app.state.read_path, "on_loop", False):
        row = await read_keyed(request, RMA_WITH_CHILDREN, rma_id)
        body = rma_json(None if row is None else fields_of_pg_row(row), rma_id)
    else:
        body = rma_json(await run_read(request, lambda c: rma_fields(c, rma_id)), rma_id)
    if generation is not None:
        assert memo is not None
        memo.put(generation, ("rma", rma_id), body)
    return body


def _serial_filter(serial: Any, with_status: bool, status: str | None = None) -> list[Any]:
    """As `rma.views.list_rmas`: the failed or the replacement unit's serial, maybe a status
    (the parameter `status`, `status` its value if given)."""
    where = [or_(RMA.c.failed_serial == serial, RMA.c.replacement_serial == serial)]
    return [*where, RMA.c.status == bindparam("status", status)] if with_status else where


def _serial_page_pg(with_status: bool) -> Select[Any]:
    """A serial's page in one row: the total, then each field an array over the page's RMAs in
    id order (NULL for an empty page) — PostgreSQL only."""
    where = _serial_filter(bindparam("serial"), with_status)
    page = (
        select(*_rma_columns())
        .where(*where)
        .order_by(RMA.c.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
        .subquery("page")
    )
    total = select(func.count()).select_from(RMA).where(*where)
    return select(
        total.scalar_subquery().label("total"),
        *(func.array_agg(aggregate_order_by(page.c[n], page.c.id)).label(n) for n in RMA_FIELDS),
    ).select_from(page)


SERIAL_PAGE = {
    with_status: PreparedQuery(_serial_page_pg(with_status)) for with_status in (False, True)
}
"""A serial's page of RMAs in one row, without and with the status filter (PostgreSQL)."""


def _serial_pages_pg(status: str | None, limit: int, offset: int) -> Select[Any]:
    """SERIAL_PAGE's row for each serial of `keys` (with its `serial`), for one status filter
    and page: one statement for the serials asked for together (PostgreSQL only)."""
    keys = (
        func.unnest(bindparam("keys", type_=ARRAY(String)))
        .table_valued("serial")
        .render_derived(name="k")
    )
    where = _serial_filter(keys.c.serial, status is not None, status)
    page = (
        select(*_rma_columns())
        .where(*where)
        .order_by(RMA.c.id)
        .limit(limit)
        .offset(offset)
        .lateral("page")
    )
    total = select(func.count()).select_from(RMA).where(*where).scalar_subquery()
    found = page.c.id.is_not(None)
    return (
        select(
            keys.c.serial.label("serial"),
            total.label("total"),
            *(
                func.array_agg(aggregate_order_by(page.c[n], page.c.id)).filter(found).label(n)
                for n in RMA_FIELDS
            ),
        )
        .select_from(keys.outerjoin(page, true()))
        .group_by(keys.c.serial)
    )


SERIAL_PAGES_MAX = 64
_serial_pages: dict[tuple[str | None, int, int], KeyedQuery] = {}


def serial_pages(status: str | None, limit: int, offset: int) -> KeyedQuery | None:
    """The batched page read for a status filter and page (the first SERIAL_PAGES_MAX kinds
    asked for are kept; None past them: the page is then read alone)."""
    kind = (status, limit, offset)
    query = _serial_pages.get(kind)
    if query is None and len(_serial_pages) < SERIAL_PAGES_MAX:
        many = PreparedQuery(_serial_pages_pg(status, limit, offset))
        query = _serial_pages[kind] = KeyedQuery(one=many, many=many, key="serial")
    return query


def page_of_pg_row(row: dict[str, Any] | None) -> tuple[int, list[dict[str, Any]]]:
    """A SERIAL_PAGE row as the total and the page's RMA fields."""
    assert row is not None  # an aggregate: always one row
    columns = [row[name] or [] for name in RMA_FIELDS]
    items = [dict(zip(RMA_FIELDS, values, strict=True)) for values in zip(*columns, strict=True)]
    return int(row["total"]), items


def serial_page_statements(
    with_status: bool, limit: int, offset: int
) -> tuple[Select[Any], Select[Any]]:
    """The count and the page of a serial's RMAs as Core statements for any database (parameters
    `serial`, and `status` if `with_status`).

    The serial is matched as the ids found by either serial's index (not `failed_serial = s OR
    replacement_serial = s`): SQLite's statistics, where most RMAs have no replacement serial yet,
    make it scan the whole table for the OR (about 200 ms at 100,000 RMAs).
    """
    by_either = union_all(
        select(RMA.c.id).where(RMA.c.failed_serial == bindparam("serial")),
        select(RMA.c.id).where(RMA.c.replacement_serial == bindparam("serial")),
    )
    where = [RMA.c.id.in_(by_either)]
    if with_status:
        where.append(RMA.c.status == bindparam("status"))
    count = select(func.count()).select_from(RMA).where(*where)
    page = select(*_rma_columns()).where(*where).order_by(RMA.c.id).limit(limit).offset(offset)
    return count, page


def serial_page_fields(
    connection: Connection, serial: str, status: str | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """The total and the page's RMA fields by Core queries on any database."""
    count, page = serial_page_statements(status is not None, limit, offset)
    params = {"serial": serial} | ({"status": status} if status is not None else {})
    total = connection.execute(count, params).scalar_one()
    return int(total), [dict(row._mapping) for row in connection.execute(page, params)]


def page_json(total: int, items: list[dict[str, Any]], limit: int, offset: int) -> bytes:
    """The RmaPageOut body: each item as `RmaOut.of(rma)` shows it (no charge, no lists)."""
    out = [
        RmaOut.model_validate(
            fields
            | {
                "number": f"RMA-{fields['id']:06d}",
                "charge": None,
                "reminders": [],
                "mismatches": [],
            }
        )
        for fields in items
    ]
    return PAGE_OUT.to_json(RmaPageOut(total=total, limit=limit, offset=offset, items=out))


async def read_serial_page_json(
    request: Request, serial: str, status: RmaStatus | None, limit: int, offset: int
) -> bytes:
    """`GET /rmas?serial=`'s body through the app's read path (memo on SQLite, one row on PG)."""
    serial = serial.upper()
    state = status.value if status is not None else None
    key = ("rmas", serial, state, limit, offset)
    memo = read_memo(request)
    generation = memo.generation() if memo is not None else None
    if generation is not None:
        assert memo is not None
        kept: bytes | None = memo.get(key)
        if kept is not None:
            return kept
    if getattr(request.app.state.read_path, "on_loop", False):
        batched = serial_pages(state, limit, offset)
        if batched is not None:
            row = await read_keyed(request, batched, serial)
        else:
            params = {"serial": serial, "limit": limit, "offset": offset}
            if state is not None:
                params["status"] = state
            row = await read_first(request, SERIAL_PAGE[state is not None], **params)
        total, items = page_of_pg_row(row)
    else:
        total, items = await run_read(
            request, lambda c: serial_page_fields(c, serial, state, limit, offset)
        )
    body = page_json(total, items, limit, offset)
    if generation is not None:
        assert memo is not None
        memo.put(generation, key, body)
    return body


READ_ROLES = allowed_roles(Operation.READ)
HotEndpoint = Callable[[Request, str, str | None], Awaitable[bytes]]


async def rma_fast(request: Request, ref: str, token: str | None) -> bytes:
    """`GET /rmas/{rma_id}` without FastAPI: the number checked first (as the route's `RmaRef`
    dependency is resolved before its guard), then the same role check, then the body."""
    try:
        rma_id = record_number(ref, "RMA")
    except ValueError as exc:
        raise ValidationFailed([Problem(str(exc), "path.rma_id")]) from None
    await authorize(request, token, READ_ROLES)
    return await read_rma_json(request, rma_id)


async def rmas_by_serial_fast(
    request: Request,
    serial: str,
    token: str | None,
    *,
    status: RmaStatus | None,
    limit: int,
    offset: int,
) -> bytes:
    """`GET /rmas?serial=` without FastAPI (its parameters already checked by `hot_route`)."""
    await authorize(request, token, READ_ROLES)
    return await read_serial_page_json(request, serial, status, limit, offset)


RMA_PATH = re.compile(r"^/api/v1/rmas/((?:[A-Za-z]{1,8}-)?[0-9]{1,10})$")
"""An RMA by number or id, as far as the route's path pattern admits it (the rest: FastAPI)."""
LIST_PATH = "/api/v1/rmas"
_NUMBER = re.compile(r"^(?:0|[1-9][0-9]{0,9})$")
_STATUSES = {s.value: s for s in RmaStatus}


def hot_route(path: str, query: bytes) -> tuple[HotEndpoint, str, dict[str, str]] | None:
    """The RMA reads the app serves past FastAPI (`api.app.HotReadDispatcher`): one RMA, and a
    serial's page when every query parameter is one FastAPI would accept as given — anything
    else (another parameter, a repeated one, a value out of range) is left to FastAPI, whose
    answer (its 422 included) the fast path then cannot differ from."""
    if path == LIST_PATH:
        return _serial_page_route(query)
    match = RMA_PATH.match(path)
    if match is None:
        return None
    return rma_fast, match.group(1), {"rma_id": match.group(1)}


def _serial_page_route(query: bytes) -> tuple[HotEndpoint, str, dict[str, str]] | None:
    given: dict[str, str] = {}
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in given or name not in ("serial", "status", "limit", "offset"):
            return None
        given[name] = value
    serial = given.get("serial")
    if serial is None or "\x00" in serial:
        return None
    status = None
    if "status" in given:
        status = _STATUSES.get(given["status"])
        if status is None:
            return None
    numbers = {"limit": 100, "offset": 0}
    for name, low, high in (("limit", 1, PAGE_MAX), ("offset", 0, ID_MAX)):
        if name in given:
            if not _NUMBER.match(given[name]) or not low <= int(given[name]) <= high:
                return None
            numbers[name] = int(given[name])
    endpoint = partial(
        rmas_by_serial_fast, status=status, limit=numbers["limit"], offset=numbers["offset"]
    )
    return endpoint, serial, {}
