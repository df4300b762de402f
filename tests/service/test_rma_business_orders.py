"""RMA orders the business has, through the services: who gets billed, and a unit sent back
without the courier (docs/domain.md "Advance replacement": the damage charge is billed when
the failed unit is not back one month after shipping — whatever step the RMA was waiting in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from inventory import service as inventory
from inventory.domain import DeviceStatus
from rma import returns
from rma import service as rma_service
from rma.domain import Disposition, RmaStatus
from rma.models import DamageChargeRecord, Rma
from rma.sweep import sweep
from tests.service.helpers import ACTOR
from tests.service.rma_builders import (
    FAILED,
    LOGI,
    SWAPPED,
    build_world,
    policy,
    receive,
    request_pickup,
    shipped_rma,
)

# shipped_rma ships on 2026-05-12 JST: the period ends 2026-06-12 24:00 JST (15:00 UTC).
LAST_MOMENT = datetime(2026, 6, 12, 14, 59, 59, tzinfo=UTC)
FIRST_OVERDUE = datetime(2026, 6, 12, 15, 0, tzinfo=UTC)


def _rma_waiting_in(session: Session, step: str) -> Rma:
    """An RMA whose failed unit is still out, waiting in `step`."""
    rma = shipped_rma(session, swap=step in {"swapped", "pickup_requested", "overdue"})
    rma_id = rma.id or 0
    if step in {"pickup_requested", "pickup_requested_unswapped"}:
        request_pickup(session, rma_id)
    if step == "overdue":  # an earlier sweep left it overdue (e.g. no list price at that time)
        rma.waiting_status, rma.status = rma.status, RmaStatus.OVERDUE.value
        session.add(rma)
        session.flush()
    return rma_service.get_rma(session=session, rma_id=rma_id)


@pytest.mark.parametrize(
    "step", ["shipped", "swapped", "pickup_requested", "pickup_requested_unswapped", "overdue"]
)
def test_every_unit_still_out_is_billed_once_its_period_is_over(
    session: Session, tmp_path: Path, step: str
) -> None:
    build_world(session, tmp_path)
    rma = _rma_waiting_in(session, step)
    assert sweep(session=session, actor=ACTOR, now=LAST_MOMENT).charged == []
    report = sweep(session=session, actor=ACTOR, now=FIRST_OVERDUE)
    assert report.charged == [rma.number]
    assert report.overdue == ([] if step == "overdue" else [rma.number])
    assert report.total_yen > 0
    session.expire_all()
    assert rma_service.get_rma(session=session, rma_id=rma.id or 0).status == RmaStatus.CHARGED
    charges = session.exec(select(DamageChargeRecord)).all()
    assert [c.rma_id for c in charges] == [rma.id]
    assert inventory.get_device(session=session, serial=FAILED).status == DeviceStatus.LOST


def test_a_unit_sent_back_without_the_courier_closes_the_rma_and_is_never_billed(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)  # without a recorded swap it is refused: test_rma_units.py
    rma_id = rma.id or 0
    receive(session, rma_id, now=SWAPPED + timedelta(days=3), disposition=Disposition.REFURBISH)
    session.expire_all()
    rma = rma_service.get_rma(session=session, rma_id=rma_id)
    assert rma.status == RmaStatus.CLOSED and rma.late_arrival is False
    assert inventory.get_device(session=session, serial=FAILED).status == DeviceStatus.REFURBISHED
    report = sweep(session=session, actor=ACTOR, now=FIRST_OVERDUE + timedelta(days=1))
    assert (report.overdue, report.charged) == ([], [])
    assert session.exec(select(DamageChargeRecord)).all() == []


def test_a_wrong_unit_sent_back_without_the_courier_is_an_exception(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    returns.receive_unit(
        session=session,
        actor=LOGI,
        rma_id=rma.id or 0,
        serial="Q2FY-ZZZZ-0099",
        disposition=Disposition.DISPOSE,
        policy=policy(),
        now=SWAPPED + timedelta(days=1),
    )
    rma = rma_service.get_rma(session=session, rma_id=rma.id or 0)
    assert rma.status == RmaStatus.EXCEPTION and rma.closed_at is None
