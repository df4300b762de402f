"""Migration 0010_rma_units brings existing rows to the new rules, on SQLite and PostgreSQL.

A shipped, not yet swapped replacement was `reserved` and becomes `in_transit`; the units of an
open RMA become held by it (its number as people quote it); a sent reminder says `sent`; a
mismatch stored on the RMA is kept in the mismatch table. A closed RMA's units are not held.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from core import migrate
from core.db import make_engine
from tests.load.test_serve_load import private_pg_schema

BEFORE = "0010_token_name_lower"
NOW = "'2026-05-20 03:00:00+00:00'"


@contextmanager
def _database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'migrate.db'}"
        return
    with private_pg_schema() as url:
        yield url


def _device(serial: str, status: str) -> str:
    return (
        "INSERT INTO device (serial, model, status, notes, created_at, updated_at) VALUES "
        f"('{serial}', 'MX67', '{status}', '', {NOW}, {NOW})"
    )


def _rma(rma_id: int, status: str, failed: int, spare: int, mismatch: str | None) -> str:
    wrong = f"'{mismatch}'" if mismatch else "NULL"
    return (
        "INSERT INTO rma (id, status, failed_device_id, failed_serial, failed_model, symptom,"
        " reporter, reported_at, decision_note, replacement_device_id, replacement_serial,"
        " substitution, late_arrival, mismatch_serial, created_at, updated_at) VALUES "
        f"({rma_id}, '{status}', {failed}, 'Q2FY-MIGR-000{failed}', 'MX67', 'x', 'y', {NOW}, '',"
        f" {spare}, 'Q2FY-MIGR-000{spare}', false, false, {wrong}, {NOW}, {NOW})"
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_existing_rows_follow_the_new_rules(kind: str, tmp_path: Path) -> None:
    with _database(kind, tmp_path) as url:
        migrate.upgrade(url, BEFORE)
        engine = make_engine(url)
        with engine.begin() as db:
            db.execute(
                text(
                    "INSERT INTO catalogue_model (model, product_type, list_price_yen,"
                    " end_of_sale, description) VALUES ('MX67', 'appliance', 1, false, '')"
                )
            )
            for i, status in enumerate(("failed", "reserved", "in_rma", "deployed"), start=1):
                db.execute(text(_device(f"Q2FY-MIGR-000{i}", status)))
            ids = dict(db.execute(text("SELECT serial, id FROM device")).all())
            d = {i: ids[f"Q2FY-MIGR-000{i}"] for i in range(1, 5)}
            # an open RMA, shipped, not swapped, a wrong parcel on record; and a closed one
            db.execute(text(_rma(12, "exception", d[1], d[2], "Q2FY-ZZZZ-0099")))
            db.execute(text(_rma(13, "closed", d[3], d[4], None)))
            db.execute(
                text(
                    f"INSERT INTO rma_reminder (rma_id, remind_on, sent_at) VALUES"
                    f" (12, '2026-06-05', {NOW}), (12, '2026-06-09', NULL)"
                )
            )
        migrate.upgrade(url)
        with engine.connect() as db:
            units = dict(
                (serial, (status, held))
                for serial, status, held in db.execute(
                    text("SELECT serial, status, held_by FROM device")
                ).all()
            )
            reminders = db.execute(
                text("SELECT remind_on, outcome FROM rma_reminder ORDER BY remind_on")
            ).all()
            mismatches = db.execute(
                text("SELECT rma_id, expected_serial, received_serial FROM rma_serial_mismatch")
            ).all()
        engine.dispose()
    assert units == {
        "Q2FY-MIGR-0001": ("failed", "RMA-000012"),
        "Q2FY-MIGR-0002": ("in_transit", "RMA-000012"),
        "Q2FY-MIGR-0003": ("in_rma", None),
        "Q2FY-MIGR-0004": ("deployed", None),
    }
    assert [(str(day), outcome) for day, outcome in reminders] == [
        ("2026-06-05", "sent"),
        ("2026-06-09", None),
    ]
    assert [tuple(m) for m in mismatches] == [(12, "Q2FY-MIGR-0001", "Q2FY-ZZZZ-0099")]
