"""50 sweeps at once on PostgreSQL, each on its own connection: exactly one charge per RMA."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import psycopg
import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import migrate
from core.db import make_engine
from inventory.catalogue_defaults import seed_catalogue
from inventory.models import Device
from rma.models import DamageChargeRecord, Rma
from rma.sweep import sweep
from tests.conftest import ADMIN, PG_URL

OVERDUE_RMAS = 60
NOT_YET_DUE = 15
SWEEPS = 50
NOW = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def committed_pg() -> Iterator[Engine]:
    """A private schema with committed rows (the rolled-back `session` cannot show concurrency)."""
    schema = f"nk_rma_{uuid.uuid4().hex[:10]}"
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url, pool_size=SWEEPS + 5, max_overflow=0)
    try:
        migrate.upgrade(url)
        with Session(engine) as session:
            seed_catalogue(session=session, actor=ADMIN)
            for i in range(OVERDUE_RMAS + NOT_YET_DUE):
                device = Device(serial=f"Q2FY-CONC-{i:04d}", model="MX67", status="in_rma")
                session.add(device)
                session.flush()
                overdue = i < OVERDUE_RMAS
                session.add(
                    Rma(
                        status=("swapped", "pickup_requested", "shipped")[i % 3],
                        failed_device_id=device.id or 0,
                        failed_serial=device.serial,
                        failed_model="MX67",
                        symptom="no power",
                        reporter="test",
                        reported_at=datetime(2026, 5, 1, tzinfo=UTC),
                        shipped_at=datetime(2026, 5, 2, tzinfo=UTC),
                        due_date=date(2026, 6, 2) if overdue else date(2026, 7, 10),
                    )
                )
            session.commit()
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_fifty_concurrent_sweeps_charge_each_overdue_rma_exactly_once(
    committed_pg: Engine,
) -> None:
    barrier = threading.Barrier(SWEEPS)
    errors: list[BaseException] = []
    charged: list[list[str]] = []
    lock = threading.Lock()

    def one_sweep() -> None:
        try:
            with Session(committed_pg, expire_on_commit=False) as session:
                barrier.wait(timeout=30)
                report = sweep(session=session, actor=ADMIN, now=NOW, batch_size=7)
                session.commit()
            with lock:
                charged.append(report.charged)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=one_sweep) for _ in range(SWEEPS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(charged) == SWEEPS
    numbers = [n for report in charged for n in report]
    assert len(numbers) == len(set(numbers)) == OVERDUE_RMAS
    with Session(committed_pg) as session:
        rows = session.exec(select(DamageChargeRecord)).all()
        assert len(rows) == OVERDUE_RMAS
        assert len({r.rma_id for r in rows}) == OVERDUE_RMAS
        assert {(r.net_yen, r.tax_yen, r.total_yen) for r in rows} == {(128_000, 12_800, 140_800)}
        by_status = dict(session.exec(select(Rma.status, func.count()).group_by(Rma.status)).all())
        assert by_status.get("charged") == OVERDUE_RMAS
        assert sum(by_status.values()) == OVERDUE_RMAS + NOT_YET_DUE
        lost = session.exec(select(func.count()).where(Device.status == "lost")).one()
        assert lost == OVERDUE_RMAS
