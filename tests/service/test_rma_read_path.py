"""The RMA reads past the ORM (`rma.read_path`) answer exactly what the ORM views answer: one RMA
in every state (with a charge, a shipment, a return, reminders, a wrong-serial receipt, or none
of these), and a serial's page for each filter and page — by the Core queries every database
runs, and on PostgreSQL also by the one-statement reads served on the event loop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, update

from api.app import create_app
from core import auth, migrate
from core.auth import Role
from core.db import make_engine
from core.settings import Settings
from inventory.catalogue_defaults import seed_catalogue
from rma import read_path, views
from rma import service as rma_service
from rma.domain import RmaStatus
from rma.models import Rma
from rma.schemas import RmaOut, RmaPageOut
from rma.sweep import sweep
from tests.conftest import PG_URL
from tests.service.helpers import ACTOR
from tests.service.rma_builders import (
    AP,
    AP_SPARE,
    FAILED,
    OLD,
    SPARE,
    build_world,
    open_and_decide,
    receive,
    request_pickup,
    shipped_rma,
)

FIRST_OVERDUE = datetime(2026, 6, 12, 15, 0, tzinfo=UTC)  # 00:00 JST June 13: past the due date


def _orm_json(session: Session, rma_id: int) -> bytes:
    """The ORM view's answer, as the route answered before the fast path (`router._out`)."""
    session.expire_all()
    rma = rma_service.get_rma(session=session, rma_id=rma_id)
    return (
        RmaOut.of(
            rma,
            rma_service.charge_of(session=session, rma=rma),
            rma_service.reminders_of(session=session, rma=rma),
            rma_service.mismatches_of(session=session, rma=rma),
        )
        .model_dump_json()
        .encode()
    )


def _fast_answers(session: Session, rma_id: int) -> list[bytes]:
    connection = session.connection()
    answers = [read_path.rma_json(read_path.rma_fields(connection, rma_id), rma_id)]
    if connection.dialect.name == "postgresql":
        one = read_path.RMA_WITH_CHILDREN.one.first(connection, id=rma_id)
        assert one is not None
        answers.append(read_path.rma_json(read_path.fields_of_pg_row(one), rma_id))
        many = connection.execute(
            read_path.RMA_WITH_CHILDREN.many.statement, {"keys": [rma_id, 999_999]}
        )
        [row] = [dict(r._mapping) for r in many]
        answers.append(read_path.rma_json(read_path.fields_of_pg_row(row), rma_id))
    return answers


def _world(session: Session, tmp_path: Path) -> dict[str, int]:
    """Three RMAs: charged then returned late; a wrong unit received; one just decided."""
    build_world(session, tmp_path)
    charged = shipped_rma(session).id or 0
    sweep(session=session, actor=ACTOR, now=FIRST_OVERDUE)
    receive(session, charged, now=FIRST_OVERDUE + timedelta(days=2))
    wrong_unit = shipped_rma(session, AP).id or 0
    request_pickup(session, wrong_unit)
    receive(session, wrong_unit, now=FIRST_OVERDUE, serial="Q2FY-ZZZZ-0099")
    decided = open_and_decide(session, OLD).id or 0
    session.flush()
    return {"charged": charged, "wrong_unit": wrong_unit, "decided": decided}


def test_one_rma_reads_as_the_orm_view_in_every_state(session: Session, tmp_path: Path) -> None:
    ids = _world(session, tmp_path)
    charged = rma_service.get_rma(session=session, rma_id=ids["charged"])
    assert charged.late_arrival and charged.shipped_at and charged.received_at
    assert rma_service.charge_of(session=session, rma=charged) is not None
    assert len(rma_service.reminders_of(session=session, rma=charged)) == 3
    wrong = rma_service.get_rma(session=session, rma_id=ids["wrong_unit"])
    assert len(rma_service.mismatches_of(session=session, rma=wrong)) == 1
    for rma_id in ids.values():
        expected = _orm_json(session, rma_id)
        assert _fast_answers(session, rma_id) == [expected] * len(_fast_answers(session, rma_id))
    for status in RmaStatus:  # every state (the rows' status set directly: a read reads it)
        for rma_id in ids.values():
            session.exec(update(Rma).where(Rma.id == rma_id).values(status=status.value))  # type: ignore[call-overload, arg-type]
            expected = _orm_json(session, rma_id)
            assert f'"status":"{status.value}"'.encode() in expected
            for answer in _fast_answers(session, rma_id):
                assert answer == expected


def test_a_missing_rma_is_not_found(session: Session) -> None:
    connection = session.connection()
    assert read_path.rma_fields(connection, 424_242) is None
    if connection.dialect.name == "postgresql":
        assert read_path.RMA_WITH_CHILDREN.one.first(connection, id=424_242) is None


def _orm_page(session: Session, serial: str, status: str | None, limit: int, offset: int) -> Any:
    page = views.list_rmas(
        session=session,
        serial=serial,
        status=RmaStatus(status) if status else None,
        limit=limit,
        offset=offset,
    )
    items = [RmaOut.of(r) for r in page.items]
    return RmaPageOut(total=page.total, limit=limit, offset=offset, items=items)


def test_a_serials_page_reads_as_the_orm_view(session: Session, tmp_path: Path) -> None:
    _world(session, tmp_path)
    again = open_and_decide(session, SPARE)  # the replacement fails too: on both sides
    assert again.id is not None
    connection = session.connection()
    cases = 0
    for serial in (FAILED, FAILED.lower(), SPARE, AP, AP_SPARE, "Q2FY-NONE-0000"):
        for status in (None, "closed", "replacement_needed", "exception"):
            for limit, offset in ((100, 0), (1, 0), (1, 1), (5, 7)):
                expected = _orm_page(session, serial, status, limit, offset)
                answers = [
                    read_path.page_json(
                        *read_path.serial_page_fields(
                            connection, serial.upper(), status, limit, offset
                        ),
                        limit,
                        offset,
                    )
                ]
                if connection.dialect.name == "postgresql":
                    params: dict[str, Any] = {
                        "serial": serial.upper(),
                        "limit": limit,
                        "offset": offset,
                    } | ({"status": status} if status else {})
                    row = read_path.SERIAL_PAGE[status is not None].first(connection, **params)
                    page = read_path.page_of_pg_row(row)
                    answers.append(read_path.page_json(*page, limit, offset))
                    batched = read_path.serial_pages(status, limit, offset)
                    assert batched is not None
                    row = batched.many.first(connection, keys=[serial.upper()])
                    assert row is not None and row["serial"] == serial.upper()
                    page = read_path.page_of_pg_row(row)
                    answers.append(read_path.page_json(*page, limit, offset))
                for answer in answers:
                    assert answer == expected.model_dump_json().encode()
                cases += expected.total
    assert cases > 0  # some pages were not empty
    spare_page = _orm_page(session, SPARE, None, 100, 0)
    assert spare_page.total == 2 and len(spare_page.items) == 2


@pytest.fixture(params=["sqlite", "postgresql"])
def committed_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A committed database of its own: the app's read path reads on its own connections."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rma-reads.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()
        return
    admin = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    schema = f"nk_rma_reads_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_the_apps_read_path_serves_the_orm_views_json_and_sees_changes(
    committed_engine: Engine, tmp_path: Path
) -> None:
    """Through the whole app and its own read path (PostgreSQL: on the event loop, the RMAs
    asked for together read by one statement; SQLite: the memo), concurrent reads of every RMA
    and serial answer the ORM view's JSON, and a committed change shows on the next read."""
    engine = committed_engine
    with Session(engine) as session:
        seed_catalogue(session=session, actor=ACTOR)
        ids = _world(session, tmp_path)
        token = auth.create_token(session=session, actor=ACTOR, name="desk", role=Role.VIEWER)
        session.commit()
        expected = {rma_id: _orm_json(session, rma_id) for rma_id in ids.values()}
        pages = {
            serial: _orm_page(session, serial, None, 20, 0).model_dump_json().encode()
            for serial in (FAILED, SPARE, AP)
        }
    settings = Settings(  # type: ignore[call-arg]
        database_url=engine.url.render_as_string(hide_password=False),
        var_dir=tmp_path / "var",
        _env_file=None,
    )
    app = create_app(settings, engine)
    assert app.state.read_path.on_loop == (engine.dialect.name == "postgresql")
    headers = {"Authorization": f"Bearer {token.token}"}
    urls = [f"/api/v1/rmas/{i}" for i in expected] + [
        f"/api/v1/rmas?serial={s}&limit=20" for s in pages
    ]
    wanted = list(expected.values()) + list(pages.values())

    async def read_all() -> list[bytes]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            answers = await asyncio.gather(*(client.get(u, headers=headers) for u in urls * 3))
        assert {a.status_code for a in answers} == {200}
        return [a.content for a in answers]

    assert asyncio.run(read_all()) == wanted * 3
    with Session(engine) as session:  # a change committed elsewhere
        session.exec(update(Rma).where(Rma.id == ids["decided"]).values(status="closed"))  # type: ignore[call-overload, arg-type]
        session.commit()
        expected[ids["decided"]] = _orm_json(session, ids["decided"])
    assert b'"status":"closed"' in expected[ids["decided"]]
    assert asyncio.run(read_all()) == (list(expected.values()) + list(pages.values())) * 3


def test_sqlite_finds_a_serials_rmas_by_index_where_most_have_no_replacement(
    tmp_path: Path,
) -> None:
    """With the statistics of 100,000 RMAs none of which has a replacement serial yet (what
    ANALYZE wrote for bench/rma_sweep.py's rows), SQLite scanned the table for `failed_serial = s
    OR replacement_serial = s` (about 200 ms); the page and its count must search the indexes."""
    url = f"sqlite:///{tmp_path / 'stats.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'rma'")
            for index, stat in (
                ("ix_rma_failed_serial", "100000 1"),
                ("ix_rma_replacement_serial", "100000 100000"),
                ("ix_rma_status_due_date_id", "100000 10000 43 1"),
            ):
                connection.exec_driver_sql(
                    "INSERT INTO sqlite_stat1 VALUES ('rma', ?, ?)", (index, stat)
                )
        engine.dispose()  # new connections read the statistics
        with engine.connect() as connection:
            plans = []
            for with_status in (False, True):
                for statement in read_path.serial_page_statements(with_status, 20, 0):
                    sql = str(statement.compile(dialect=connection.dialect))
                    params = ("Q2FY-AAAA-0001",) * 2 + (("closed",) if with_status else ())
                    params += (20, 0) if "LIMIT" in sql else ()
                    plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
                    plans.append(" / ".join(row[3] for row in plan))
            assert (
                connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT count(*) FROM rma "
                    "WHERE failed_serial = ? OR replacement_serial = ?",
                    ("Q2FY-AAAA-0001",) * 2,
                ).fetchall()[0][3]
                == "SCAN rma"
            )  # the statistics do mislead the OR
        for plan in plans:
            assert "SCAN rma" not in plan, plan
            assert "ix_rma_failed_serial" in plan and "ix_rma_replacement_serial" in plan, plan
    finally:
        engine.dispose()
