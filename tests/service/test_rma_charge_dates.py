"""The damage charge follows the dates, not the moment a sweep ran (002 App.1 II(3)2).

The rule, stated from the contract: a failed unit not back by the end of the due date (24:00 JST)
owes the equipment damage charge. Under the `keep` policy a unit that arrives later still owes
it, exactly once; under `credit` a late arrival owes nothing; a unit that arrives on the due date
itself is on time and never owes. The same money must come out whatever order the receipt and
the sweeps happen in. MX67 lists at ¥128,000: the charge is ¥128,000 + ¥12,800 tax = ¥140,800.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.errors import Conflict
from inventory import service as inventory
from inventory.domain import DeviceStatus
from rma import returns
from rma import service as rma_service
from rma.charging import claim_charges
from rma.domain import LateArrivalPolicy, RmaStatus
from rma.models import DamageChargeRecord
from rma.sweep import sweep
from tests.service.helpers import ACTOR
from tests.service.rma_builders import (
    FAILED,
    build_world,
    policy,
    receive,
    request_pickup,
    shipped_rma,
)

# SHIPPED (May 12 JST) → due 2026-06-12; the period ends at 24:00 JST that day.
ON_DUE_DATE = datetime(2026, 6, 12, 14, 59, 59, tzinfo=UTC)  # 23:59:59 JST June 12
DAY_AFTER = datetime(2026, 6, 13, 2, 0, tzinfo=UTC)  # 11:00 JST June 13
CHARGE = 140_800

Step = Callable[[Session, int, LateArrivalPolicy, datetime], None]


def _receive(serial: str = FAILED) -> Step:
    def step(session: Session, rma_id: int, late: LateArrivalPolicy, arrival: datetime) -> None:
        receive(session, rma_id, now=arrival, serial=serial, late=late)

    return step


def _sweep(hours_from_arrival: int) -> Step:
    def step(session: Session, rma_id: int, late: LateArrivalPolicy, arrival: datetime) -> None:
        sweep(session=session, actor=ACTOR, now=arrival + timedelta(hours=hours_from_arrival))
        session.flush()

    return step


RECEIVE = _receive()
SWEEP_BEFORE = _sweep(-1)  # an hour before the unit arrives
SWEEP_AFTER = _sweep(+1)
SWEEP_WEEK_AFTER = _sweep(24 * 7)

ORDERS: dict[str, list[Step]] = {
    "receive, no sweep ever": [RECEIVE],
    "receive, then sweep": [RECEIVE, SWEEP_AFTER],
    "sweep, then receive": [SWEEP_BEFORE, RECEIVE],
    "sweep twice, then receive": [SWEEP_BEFORE, SWEEP_BEFORE, RECEIVE],
    "receive, then sweep twice": [RECEIVE, SWEEP_AFTER, SWEEP_WEEK_AFTER],
    "sweep, receive, sweep": [SWEEP_BEFORE, RECEIVE, SWEEP_AFTER],
}

# (arrival, policy) → (money owed in yen, late_arrival)
EXPECTED = {
    (ON_DUE_DATE, LateArrivalPolicy.KEEP): (0, False),
    (ON_DUE_DATE, LateArrivalPolicy.CREDIT): (0, False),
    (DAY_AFTER, LateArrivalPolicy.KEEP): (CHARGE, True),
    (DAY_AFTER, LateArrivalPolicy.CREDIT): (0, True),
}


def _owed(session: Session) -> tuple[int, int]:
    """Yen still owed (issued and not credited) and how many charges were ever issued."""
    charges = list(session.exec(select(DamageChargeRecord)))
    return sum(c.total_yen for c in charges if c.credited_at is None), len(charges)


@pytest.mark.parametrize("order", list(ORDERS))
@pytest.mark.parametrize("late", list(LateArrivalPolicy))
@pytest.mark.parametrize("arrival", [ON_DUE_DATE, DAY_AFTER], ids=["on-due-date", "day-after"])
def test_the_money_is_the_same_in_every_order(
    session: Session, tmp_path: Path, order: str, late: LateArrivalPolicy, arrival: datetime
) -> None:
    build_world(session, tmp_path)
    rma_id = shipped_rma(session).id or 0
    request_pickup(session, rma_id)
    for step in ORDERS[order]:
        step(session, rma_id, late, arrival)
    session.expire_all()
    owed, issued = _owed(session)
    rma = rma_service.get_rma(session=session, rma_id=rma_id)
    assert (owed, rma.late_arrival) == EXPECTED[(arrival, late)]
    assert issued <= 1
    assert rma.status == RmaStatus.CLOSED
    assert inventory.get_device(session=session, serial=FAILED).status == DeviceStatus.DISPOSED


@pytest.mark.parametrize("late", list(LateArrivalPolicy))
def test_a_late_arrival_before_any_sweep_is_billed_at_receipt_under_keep(
    session: Session, tmp_path: Path, late: LateArrivalPolicy
) -> None:
    build_world(session, tmp_path)
    rma_id = shipped_rma(session).id or 0
    request_pickup(session, rma_id)
    RECEIVE(session, rma_id, late, DAY_AFTER)
    session.expire_all()
    charges = list(session.exec(select(DamageChargeRecord)))
    if late is LateArrivalPolicy.KEEP:
        [charge] = charges
        assert (charge.total_yen, charge.issued_at, charge.credited_at) == (CHARGE, DAY_AFTER, None)
        assert charge.late_arrival_at == DAY_AFTER
    else:
        assert charges == []  # never billed: no charge issued and credited in the same instant


@pytest.mark.parametrize("sweep_first", [True, False], ids=["sweep-first", "receipt-first"])
@pytest.mark.parametrize("late", list(LateArrivalPolicy))
def test_a_wrong_unit_after_the_due_date_leaves_the_charge_owed(
    session: Session, tmp_path: Path, late: LateArrivalPolicy, sweep_first: bool
) -> None:
    """The failed unit is still out whatever arrived, under either policy."""
    build_world(session, tmp_path)
    rma_id = shipped_rma(session).id or 0
    request_pickup(session, rma_id)
    wrong_unit = _receive("Q2FY-ZZZZ-9999")
    for step in [SWEEP_BEFORE, wrong_unit] if sweep_first else [wrong_unit, SWEEP_AFTER]:
        step(session, rma_id, late, DAY_AFTER)
    session.expire_all()
    assert _owed(session) == (CHARGE, 1)
    assert rma_service.get_rma(session=session, rma_id=rma_id).status == RmaStatus.EXCEPTION


@pytest.mark.parametrize("sweep_first", [True, False], ids=["sweep-first", "no-sweep"])
def test_an_extension_after_the_due_date_meets_the_charge_in_either_order(
    session: Session, tmp_path: Path, sweep_first: bool
) -> None:
    """Past the due date the charge is owed; only a waiver takes it back, sweep or no sweep."""
    build_world(session, tmp_path)
    rma_id = shipped_rma(session).id or 0
    if sweep_first:
        SWEEP_BEFORE(session, rma_id, LateArrivalPolicy.KEEP, DAY_AFTER)
    with pytest.raises(Conflict):
        returns.extend_due_date(
            session=session,
            actor=ACTOR,
            rma_id=rma_id,
            due_date=date(2026, 6, 30),
            reason="台風",
            policy=policy(),
            now=DAY_AFTER,
        )


@pytest.mark.parametrize("sweep_first", [True, False], ids=["sweep-first", "no-sweep"])
def test_a_waiver_after_the_due_date_credits_the_charge_in_either_order(
    session: Session, tmp_path: Path, sweep_first: bool
) -> None:
    build_world(session, tmp_path)
    rma_id = shipped_rma(session).id or 0
    if sweep_first:
        SWEEP_BEFORE(session, rma_id, LateArrivalPolicy.KEEP, DAY_AFTER)
    returns.waive_charge(
        session=session, actor=ACTOR, rma_id=rma_id, reason="長年の顧客", now=DAY_AFTER
    )
    session.flush()
    session.expire_all()
    assert _owed(session) == (0, 1)
    assert rma_service.get_rma(session=session, rma_id=rma_id).status == RmaStatus.WAIVED


def test_an_extension_on_the_due_date_still_extends(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma_id = shipped_rma(session).id or 0
    returns.extend_due_date(
        session=session,
        actor=ACTOR,
        rma_id=rma_id,
        due_date=date(2026, 6, 30),
        reason="台風で集荷不可",
        policy=policy(),
        now=ON_DUE_DATE,
    )
    session.flush()
    session.expire_all()
    assert _owed(session) == (0, 0)
    rma = rma_service.get_rma(session=session, rma_id=rma_id)
    assert (rma.status, rma.due_date) == (RmaStatus.SWAPPED, date(2026, 6, 30))


def test_a_charge_cannot_be_claimed_twice(session: Session, tmp_path: Path) -> None:
    """The database-level guard: a transaction that saw the RMA waiting cannot bill it again."""
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    SWEEP_BEFORE(session, rma.id or 0, LateArrivalPolicy.KEEP, DAY_AFTER)
    with pytest.raises(Conflict):
        claim_charges(session=session, rmas=[rma], now=DAY_AFTER)
