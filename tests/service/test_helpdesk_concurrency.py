"""Desks accepting fault responses at once, each on its own connection: the 4th is never silent.

The contract row is locked while its month's fault responses are counted, so of eight desks
racing for the last free fault response of the month exactly one gets it; the others are refused
with the located problem. Run against a real SQLite file and a PostgreSQL schema.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import migrate
from core.db import begin_write, make_engine
from core.errors import ValidationFailed
from helpdesk import service
from helpdesk.domain import Channel, IncidentKind
from helpdesk.models import Incident
from inventory.contracts import create_contract
from inventory.domain import Plan
from tests.conftest import ADMIN, PG_URL

DESKS = 8
JST = ZoneInfo("Asia/Tokyo")
AT = datetime(2026, 5, 20, 10, 0, tzinfo=JST)


@pytest.fixture(params=["sqlite", "postgresql"])
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh database with one contract that has used 2 of its 3 fault responses in May."""
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'desks.db'}"
    else:
        schema = f"nk_hd_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    engine = make_engine(url, pool_size=DESKS + 2, max_overflow=0)
    try:
        migrate.upgrade(url)
        with Session(engine) as session:
            create_contract(
                session=session, actor=ADMIN, number="RACE", customer="R", plan=Plan.UTM
            )
            session.flush()
            for day in (1, 2):
                fault(session, datetime(2026, 5, day, 10, 0, tzinfo=JST))
            session.commit()
        yield engine
    finally:
        engine.dispose()
        if schema is not None:
            with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def fault(session: Session, at: datetime) -> None:
    service.open_contact(
        session=session,
        actor=ADMIN,
        contract_number="RACE",
        questions=[service.Question("障害", IncidentKind.FAULT)],
        channel=Channel.PHONE,
        reporter="山田",
        received_at=at,
        now=at,
    )


def test_racing_desks_accept_the_third_fault_response_once(committed: Engine) -> None:
    barrier = threading.Barrier(DESKS)
    accepted: list[int] = []
    refused: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def desk() -> None:
        try:
            with Session(committed, expire_on_commit=False) as session:
                begin_write(session)  # as the API does for every write
                barrier.wait(timeout=60)
                try:
                    fault(session, AT)
                    session.commit()
                    with lock:
                        accepted.append(1)
                except ValidationFailed as exc:
                    session.rollback()
                    with lock:
                        refused.append(exc.problems[0].location)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=desk) for _ in range(DESKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(accepted) == 1
    assert refused == ["contract RACE / 2026-05 / questions[0]"] * (DESKS - 1)
    with Session(committed) as session:
        rows = session.exec(select(Incident)).all()
    assert len(rows) == 3
    assert not any(r.over_limit for r in rows)
