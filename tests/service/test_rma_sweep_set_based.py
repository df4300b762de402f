"""The set-based sweep writes what the row-by-row settlement writes, RMA by RMA.

The reference is `rma.charging.settle_overdue`, the per-RMA code a late receipt runs: it is run on
every candidate of a small mixed data set inside a savepoint, its effects are read back and
rolled back, then the sweep runs on the same rows. Audit entries (before/after JSON built in SQL
by the sweep), charges, RMA and device states must be equal, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.models import AuditEntry
from inventory.models import Device
from rma.charging import settle_overdue
from rma.domain import CHARGEABLE
from rma.models import DamageChargeRecord, Rma
from rma.sweep import sweep
from tests.conftest import ADMIN

NOW = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)  # 12:00 JST, Tokyo date 2026-07-01
PAST = date(2026, 6, 2)
SHIPPED = datetime(2026, 5, 2, 1, 2, 3, 456789, tzinfo=UTC)  # microseconds on purpose


def _rma(session: Session, n: int, status: str, *, device: str = "in_rma", **extra: Any) -> Rma:
    model = extra.pop("failed_model", "MX67")
    unit = Device(serial=f"Q2SB-SETB-{n:04d}", model="MX67", status=device)
    session.add(unit)
    session.flush()
    values: dict[str, Any] = {
        "status": status,
        "failed_device_id": unit.id or 0,
        "failed_serial": unit.serial,
        "failed_model": model,
        "symptom": "no power",
        "reporter": "test",
        "reported_at": datetime(2026, 5, 1, tzinfo=UTC),
        "shipped_at": SHIPPED,
        "due_date": PAST,
    }
    rma = Rma(**(values | extra))
    session.add(rma)
    session.flush()
    return rma


def _fill(session: Session) -> list[Rma]:
    rows = [
        _rma(session, 1, "shipped", device="failed"),  # never swapped: failed → in_rma → lost
        _rma(
            session,
            2,
            "swapped",
            swapped_at=datetime(2026, 5, 3, tzinfo=UTC),
            swapped_by_kind="provider",
            swapped_by_name="Sato",
            substitution=True,
            replacement_serial="Q2SB-REPL-0002",
            replacement_model="MX68",
            courier="Yamato",
            tracking_number="1234-5678",
        ),
        _rma(
            session,
            3,
            "pickup_requested",
            pickup_date=date(2026, 5, 20),
            pickup_courier="Sagawa",
            swap_claimed_at=datetime(2026, 5, 3, 4, 5, 6, 7, tzinfo=UTC),
            late_arrival=True,
        ),
        _rma(session, 4, "overdue", waiting_status="swapped"),  # overdue, never charged
        _rma(session, 5, "shipped", failed_model="NOPRICE1"),  # no list price: overdue only
        _rma(session, 6, "shipped", device="deployed"),  # the device moved on: it stays
        _rma(session, 7, "swapped", due_date=date(2026, 7, 1)),  # due today: not yet
        _rma(session, 8, "closed", closed_at=datetime(2026, 5, 30, tzinfo=UTC)),
        _rma(session, 9, "overdue", waiting_status="shipped"),  # a receipt already charged it
    ]
    session.add(
        DamageChargeRecord(
            rma_id=rows[8].id or 0,
            model="MX67",
            net_yen=128_000,
            tax_yen=12_800,
            total_yen=140_800,
            issued_at=datetime(2026, 6, 3, tzinfo=UTC),
        )
    )
    session.flush()
    return rows


def _effects(session: Session, rmas: list[Rma], first_audit_id: int) -> dict[str, Any]:
    session.expire_all()
    entries = session.exec(
        select(AuditEntry).where(col(AuditEntry.id) > first_audit_id).order_by(col(AuditEntry.id))
    ).all()
    ids = [r.id for r in rmas]
    charges = session.exec(
        select(DamageChargeRecord)
        .where(col(DamageChargeRecord.rma_id).in_(ids))
        .order_by(col(DamageChargeRecord.rma_id))
    ).all()
    return {
        "audit": [
            (
                e.at,
                e.actor,
                e.role,
                e.action,
                e.entity_type,
                e.entity_id,
                e.before,
                e.after,
                e.request_id,
                e.outcome,
            )
            for e in entries
        ],
        "charges": [
            (c.rma_id, c.model, c.net_yen, c.tax_yen, c.total_yen, c.issued_at) for c in charges
        ],
        "rmas": [
            (r.id, r.status, r.waiting_status, r.updated_at)
            for r in session.exec(select(Rma).where(col(Rma.id).in_(ids)).order_by(col(Rma.id)))
        ],
        "devices": [
            (d.serial, d.status, d.updated_at)
            for d in session.exec(
                select(Device)
                .where(col(Device.id).in_([r.failed_device_id for r in rmas]))
                .order_by(col(Device.id))
            )
        ],
    }


def _row_by_row(session: Session) -> None:
    candidates = session.exec(
        select(Rma)
        .where(col(Rma.status).in_([s.value for s in CHARGEABLE]), col(Rma.due_date) < NOW.date())
        .order_by(col(Rma.id))
        .with_for_update()
    ).all()
    for rma in candidates:
        settle_overdue(session=session, actor=ADMIN, rma=rma, now=NOW, tax_rate_percent=10)
    session.flush()


def test_the_set_based_sweep_writes_what_the_per_rma_settlement_writes(session: Session) -> None:
    # Other tests' committed rows must not be swept here: only this test's RMAs are candidates.
    assert not session.exec(
        select(Rma).where(col(Rma.status).in_([s.value for s in CHARGEABLE]))
    ).all()
    rmas = _fill(session)
    first_audit_id = session.exec(select(func.max(AuditEntry.id))).one() or 0

    savepoint = session.begin_nested()
    _row_by_row(session)
    reference = _effects(session, rmas, first_audit_id)
    savepoint.rollback()

    report = sweep(session=session, actor=ADMIN, now=NOW, tax_rate_percent=10, batch_size=4)
    session.flush()
    swept = _effects(session, rmas, first_audit_id)
    # The rolled-back reference used audit ids the sweep's rows may not reuse: compare contents.
    assert swept == reference

    numbers = [f"RMA-{r.id:06d}" for r in rmas]
    assert report.overdue == [numbers[i] for i in (0, 1, 2, 4, 5)]
    assert report.charged == [numbers[i] for i in (0, 1, 2, 3, 5)]
    assert report.total_yen == 5 * 140_800  # MX67 list price ¥128,000 + 10% tax


def test_the_sweeps_audit_rows_say_what_happened_in_plain_values(session: Session) -> None:
    """Stated from the contract, not from the reference: one waiting RMA and its device."""
    rmas = _fill(session)
    sweep(session=session, actor=ADMIN, now=NOW, tax_rate_percent=10)
    session.flush()
    number = f"RMA-{rmas[2].id:06d}"
    entries = session.exec(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "rma", AuditEntry.entity_id == number)
        .order_by(col(AuditEntry.id))
    ).all()
    assert [e.action for e in entries] == ["rma.overdue", "rma.charged"]
    overdue, charged = entries
    assert overdue.before is not None and overdue.after is not None
    assert overdue.before["status"] == "pickup_requested"
    assert overdue.before["shipped_at"] == "2026-05-02T01:02:03.456789+00:00"
    assert overdue.before["swap_claimed_at"] == "2026-05-03T04:05:06.000007+00:00"
    assert overdue.before["pickup_date"] == "2026-05-20"
    assert overdue.before["late_arrival"] is True and overdue.before["substitution"] is False
    assert overdue.before["closed_at"] is None
    assert overdue.after["status"] == "overdue"
    assert overdue.after["waiting_status"] == "pickup_requested"
    assert overdue.after["note"] == "return period ended 2026-06-02"
    assert charged.after is not None
    assert charged.after["status"] == "charged"
    assert charged.after["note"] == "damage charge 140800 yen (net 128000, tax 12800)"
    assert charged.at == NOW and charged.actor == ADMIN.name and charged.request_id == "test"
    device = session.exec(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "device", AuditEntry.entity_id == "Q2SB-SETB-0001")
        .order_by(col(AuditEntry.id))
    ).all()
    assert [(e.before or {}).get("status") for e in device] == ["failed", "in_rma"]
    assert [(e.after or {}).get("status") for e in device] == ["in_rma", "lost"]
    assert (device[1].after or {})["note"] == (
        f"RMA-{rmas[0].id:06d} not returned; damage charge issued"
    )


def test_snapshot_text_that_looks_like_json_is_kept_as_written(session: Session) -> None:
    """The sweep serialises the unchanging fields once and joins the pieces: strings with
    quotes, backslashes, braces and non-ASCII letters at either end of a piece stay strings."""
    tricky = {
        "courier": '{"Yamato" \\ 運輸}',
        "tracking_number": '}1234\t"5678"{',
        "swapped_by_name": "Satō, Taro }",
        "substitution": True,
    }
    rma = _rma(session, 1, "swapped", device="failed", **tricky)
    unit = session.get(Device, rma.failed_device_id)
    assert unit is not None
    unit.customer = '{"not": "an object"}'
    unit.notes = "ends with a brace }"
    unit.held_by = '}{ "x": 1 }'  # the device snapshot's last field
    session.add(unit)
    session.flush()
    first_audit_id = session.exec(select(func.max(AuditEntry.id))).one() or 0

    savepoint = session.begin_nested()
    _row_by_row(session)
    reference = _effects(session, [rma], first_audit_id)
    savepoint.rollback()
    sweep(session=session, actor=ADMIN, now=NOW, tax_rate_percent=10)
    session.flush()
    swept = _effects(session, [rma], first_audit_id)
    assert swept == reference

    entries = session.exec(
        select(AuditEntry).where(col(AuditEntry.id) > first_audit_id).order_by(col(AuditEntry.id))
    ).all()
    assert [e.action for e in entries] == [
        "rma.overdue",
        "rma.charged",
        "device.status",
        "device.status",
    ]
    for entry in entries[:2]:
        for snapshot in (entry.before, entry.after):
            assert snapshot is not None
            assert {k: snapshot[k] for k in tricky} == tricky
    for entry in entries[2:]:
        for snapshot in (entry.before, entry.after):
            assert snapshot is not None
            assert snapshot["customer"] == '{"not": "an object"}'
            assert snapshot["notes"] == "ends with a brace }"
            assert snapshot["held_by"] == '}{ "x": 1 }'
