"""Sweeps and late receipts at once, each on its own connection: exactly one charge per RMA.

Run against a real SQLite file and a PostgreSQL schema with committed rows (the rolled-back
`session` fixture cannot show concurrency).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import migrate
from core.db import make_engine
from core.models import AuditEntry
from inventory.catalogue_defaults import seed_catalogue
from inventory.models import Device
from rma import returns
from rma.domain import Disposition, LateArrivalPolicy
from rma.models import DamageChargeRecord, Rma, RmaNotice, RmaReminder
from rma.sweep import sweep
from tests.conftest import ADMIN, PG_URL
from tests.service.rma_builders import policy

OVERDUE_RMAS = 60
NOT_YET_DUE = 15
SWEEPS = 10
"""With RECEIPTS, one PostgreSQL connection each (30): `make test`'s four workers together
reach 96 of the server's 100 connections at their peak with this test at 40, and once
exceeded them (a CI run of 2026-12-06); at 30 ten sweeps still race twenty receipts."""
RECEIPTS = 20
# Rows OVERDUE_RMAS.. cycle through these waiting states (i % 3).
NOT_YET_DUE_STATUSES = {"swapped": 5, "pickup_requested": 5, "shipped": 5}
NOW = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh database with committed rows: overdue and not-yet-due RMAs of MX67 units."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'concurrent.db'}"
        with _filled(make_engine(url, pool_size=SWEEPS + RECEIPTS, max_overflow=0), url) as engine:
            yield engine
        return
    schema = f"nk_rma_{uuid.uuid4().hex[:10]}"
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    try:
        with _filled(make_engine(url, pool_size=SWEEPS + RECEIPTS + 5, max_overflow=0), url) as e:
            yield e
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def _filled(engine: Engine, url: str) -> Iterator[Engine]:
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
                        swapped_at=datetime(2026, 5, 3, tzinfo=UTC),  # the unit is in_rma
                        due_date=date(2026, 6, 2) if overdue else date(2026, 7, 10),
                    )
                )
            session.commit()
        yield engine
    finally:
        engine.dispose()


@pytest.mark.parametrize("late", list(LateArrivalPolicy))
def test_concurrent_sweeps_and_late_receipts_charge_each_overdue_rma_exactly_once(
    committed: Engine, late: LateArrivalPolicy
) -> None:
    """Keep: every overdue unit owes ¥140,800 once. Credit: the late-received ones owe nothing."""
    late_receipts = [i for i in range(OVERDUE_RMAS) if i % 3 == 1]  # pickup_requested ones
    assert len(late_receipts) == RECEIPTS
    barrier = threading.Barrier(SWEEPS + RECEIPTS)
    errors: list[BaseException] = []
    charged_by_sweeps: list[str] = []
    lock = threading.Lock()

    def one_sweep() -> None:
        try:
            with Session(committed, expire_on_commit=False) as session:
                barrier.wait(timeout=60)
                report = sweep(session=session, actor=ADMIN, now=NOW, batch_size=7)
                session.commit()
            with lock:
                charged_by_sweeps.extend(report.charged)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    def one_receipt(i: int) -> None:
        try:
            with Session(committed, expire_on_commit=False) as session:
                barrier.wait(timeout=60)
                returns.receive_unit(
                    session=session,
                    actor=ADMIN,
                    rma_id=i + 1,
                    serial=f"Q2FY-CONC-{i:04d}",
                    disposition=Disposition.DISPOSE,
                    policy=policy(late),
                    now=NOW,
                )
                session.commit()
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=one_sweep) for _ in range(SWEEPS)]
    threads += [threading.Thread(target=one_receipt, args=(i,)) for i in late_receipts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert errors == []
    assert len(charged_by_sweeps) == len(set(charged_by_sweeps)) <= OVERDUE_RMAS
    with Session(committed) as session:
        rows = session.exec(select(DamageChargeRecord)).all()
        assert len(rows) == len({r.rma_id for r in rows})  # at most one charge per RMA
        assert {(r.net_yen, r.tax_yen, r.total_yen) for r in rows} == {(128_000, 12_800, 140_800)}
        owed = {r.rma_id for r in rows if r.credited_at is None}
        received_ids = {i + 1 for i in late_receipts}
        overdue_ids = set(range(1, OVERDUE_RMAS + 1))
        expected_owed = (
            overdue_ids if late is LateArrivalPolicy.KEEP else overdue_ids - received_ids
        )
        assert owed == expected_owed
        by_status = dict(session.exec(select(Rma.status, func.count()).group_by(Rma.status)).all())
        assert by_status == {
            "charged": OVERDUE_RMAS - RECEIPTS,
            "closed": RECEIPTS,
            **{s: n for s, n in NOT_YET_DUE_STATUSES.items()},
        }
        received = session.exec(select(Rma).where(Rma.status == "closed")).all()
        assert {r.id for r in received} == {i + 1 for i in late_receipts}
        assert all(r.late_arrival for r in received)
        devices = dict(
            session.exec(select(Device.status, func.count()).group_by(Device.status)).all()
        )
        assert devices == {
            "lost": OVERDUE_RMAS - RECEIPTS,
            "disposed": RECEIPTS,
            "in_rma": NOT_YET_DUE,
        }
        charge_moves = session.exec(
            select(func.count()).where(AuditEntry.action == "rma.charged")
        ).one()
        assert charge_moves == len(rows)  # one audited charge per charge, none repeated


def test_concurrent_reminder_runs_send_each_reminder_once(committed: Engine) -> None:
    with Session(committed) as session:
        waiting = sorted(
            session.exec(select(Rma.id).where(Rma.due_date == date(2026, 7, 10))).all()
        )
        for rma_id in waiting:
            session.add(RmaReminder(rma_id=rma_id or 0, remind_on=date(2026, 6, 30)))
        session.commit()
    runs = 10
    barrier = threading.Barrier(runs)
    errors: list[BaseException] = []
    sent: list[int] = []
    lock = threading.Lock()

    def one_run() -> None:
        try:
            with Session(committed, expire_on_commit=False) as session:
                barrier.wait(timeout=60)
                done = returns.send_due_reminders(session=session, actor=ADMIN, now=NOW)
                session.commit()
            with lock:
                sent.extend(r.rma_id for r in done)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(sent) == waiting  # each once, across all the runs
    with Session(committed) as session:
        notices = session.exec(select(RmaNotice)).all()
        assert sorted(n.rma_id for n in notices) == waiting
