"""The scan rules stated from the logistics clerk's point of view, and the board's due marks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from inventory.domain import DeviceStatus
from rma.domain import DueFlag, RmaStatus, due_flag
from rma.scan_rules import (
    RmaFacts,
    ScanAction,
    ScanWarning,
    UnitFacts,
    receive_scan,
    ship_scan,
)

W = ScanWarning
SPARE = "Q2FY-AAAA-0002"
OTHER = "Q2FY-AAAA-0009"
FAILED = "Q2FY-AAAA-0001"


def unit(serial: str = SPARE, **kw: object) -> UnitFacts:
    values: dict[str, object] = {
        "serial": serial,
        "status": DeviceStatus.RESERVED,
        "model": "MX67",
        "verified": True,
        "held_by": "RMA-000001",
    }
    values.update(kw)
    return UnitFacts(**values)  # type: ignore[arg-type]


def rma(status: RmaStatus = RmaStatus.REPLACEMENT_RESERVED, **kw: object) -> RmaFacts:
    values: dict[str, object] = {
        "number": "RMA-000001",
        "status": status,
        "failed_serial": FAILED,
        "replacement_serial": SPARE,
        "swapped": False,
        "due_date": None,
    }
    values.update(kw)
    return RmaFacts(**values)  # type: ignore[arg-type]


MODELS = ("MX67", "MX68")


def test_the_reserved_unit_ships_without_a_warning() -> None:
    out = ship_scan(unit=unit(), rma=rma(), models=MODELS)
    assert (out.action, out.warnings, out.ready) == (ScanAction.SHIP, (), True)


def test_another_stock_unit_takes_the_reserved_ones_place_with_a_warning() -> None:
    spare = unit(OTHER, status=DeviceStatus.IN_STOCK, held_by=None)
    out = ship_scan(unit=spare, rma=rma(), models=MODELS)
    assert out.action is ScanAction.RESERVE_AND_SHIP
    assert out.warnings == (W.NOT_RESERVED_UNIT,) and out.ready


def test_a_successor_model_may_ship_but_not_an_unrelated_one() -> None:
    successor = unit(OTHER, status=DeviceStatus.IN_STOCK, held_by=None, model="MX68")
    assert ship_scan(unit=successor, rma=rma(), models=MODELS).ready
    ap = unit(OTHER, status=DeviceStatus.IN_STOCK, held_by=None, model="MR36")
    out = ship_scan(unit=ap, rma=rma(), models=MODELS)
    assert W.WRONG_MODEL in out.warnings and not out.ready


def test_a_unit_held_by_another_rma_or_out_of_stock_cannot_ship() -> None:
    held = unit(OTHER, held_by="RMA-000007")
    assert W.RESERVED_FOR_OTHER in ship_scan(unit=held, rma=rma(), models=MODELS).warnings
    assert not ship_scan(unit=held, rma=rma(), models=MODELS).ready
    deployed = unit(OTHER, status=DeviceStatus.DEPLOYED, held_by=None)
    out = ship_scan(unit=deployed, rma=rma(), models=MODELS)
    assert W.NOT_IN_STOCK in out.warnings and not out.ready


def test_an_unchecked_unit_never_ships() -> None:
    out = ship_scan(unit=unit(verified=False), rma=rma(), models=MODELS)
    assert out.warnings == (W.NOT_VERIFIED,) and not out.ready


def test_nothing_reserved_yet_reserves_the_scanned_unit() -> None:
    spare = unit(OTHER, status=DeviceStatus.IN_STOCK, held_by=None)
    need = rma(RmaStatus.REPLACEMENT_NEEDED, replacement_serial=None)
    out = ship_scan(unit=spare, rma=need, models=MODELS)
    assert (out.action, out.warnings, out.ready) == (
        ScanAction.RESERVE_AND_SHIP,
        (W.NOTHING_RESERVED,),
        True,
    )


@pytest.mark.parametrize(
    ("found", "status", "expected"),
    [
        (None, RmaStatus.REPLACEMENT_RESERVED, W.UNKNOWN_SERIAL),
        (DeviceStatus.IN_STOCK, None, W.NO_RMA),
        (DeviceStatus.IN_TRANSIT, None, W.ALREADY_SHIPPED),
        (DeviceStatus.IN_TRANSIT, RmaStatus.SHIPPED, W.ALREADY_SHIPPED),
        (DeviceStatus.RESERVED, RmaStatus.OPEN, W.NOT_SHIPPABLE),
    ],
)
def test_scans_with_nothing_to_ship(
    found: DeviceStatus | None, status: RmaStatus | None, expected: ScanWarning
) -> None:
    scanned = unit(status=found) if found is not None else None
    facts = rma(status) if status is not None else None
    out = ship_scan(unit=scanned, rma=facts, models=MODELS)
    assert (out.action, out.warnings, out.ready) == (None, (expected,), False)


NOW = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)  # Wed 2026-06-10 12:00 JST


def test_the_failed_unit_back_after_the_swap_is_received() -> None:
    out = receive_scan(serial=FAILED, rma=rma(RmaStatus.SWAPPED, swapped=True), now=NOW)
    assert (out.action, out.warnings, out.ready) == (ScanAction.RECEIVE, (), True)


def test_a_wrong_unit_is_a_warned_exception_not_a_close() -> None:
    out = receive_scan(serial=OTHER, rma=rma(RmaStatus.SWAPPED, swapped=True), now=NOW)
    assert (out.action, out.warnings, out.ready) == (
        ScanAction.RECEIVE_MISMATCH,
        (W.WRONG_UNIT,),
        True,
    )


def test_the_failed_unit_before_the_swap_is_refused() -> None:
    out = receive_scan(serial=FAILED, rma=rma(RmaStatus.SHIPPED, swapped=False), now=NOW)
    assert out.warnings == (W.NO_SWAP,) and not out.ready


def test_already_received_and_not_awaiting() -> None:
    for status in (RmaStatus.RECEIVED, RmaStatus.CLOSED):
        out = receive_scan(serial=FAILED, rma=rma(status, swapped=True), now=NOW)
        assert out.warnings == (W.ALREADY_RECEIVED,) and not out.ready
    out = receive_scan(serial=FAILED, rma=rma(RmaStatus.REPLACEMENT_RESERVED), now=NOW)
    assert out.warnings == (W.NOT_AWAITING,) and not out.ready
    assert receive_scan(serial=FAILED, rma=None, now=NOW).warnings == (W.NO_RMA,)


def test_late_is_after_24_00_jst_of_the_due_date() -> None:
    facts = rma(RmaStatus.SWAPPED, swapped=True, due_date=date(2026, 6, 10))
    last_minute = datetime(2026, 6, 10, 14, 59, tzinfo=UTC)  # 23:59 JST on the due date
    assert receive_scan(serial=FAILED, rma=facts, now=last_minute).warnings == ()
    midnight = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)  # 00:00 JST the next day
    assert receive_scan(serial=FAILED, rma=facts, now=midnight).warnings == (W.LATE,)
    charged = rma(RmaStatus.CHARGED, swapped=True, due_date=date(2026, 6, 1))
    out = receive_scan(serial=FAILED, rma=charged, now=NOW)
    assert out.warnings == (W.LATE, W.CHARGED) and out.ready


TODAY = date(2026, 6, 10)  # a Wednesday: its Tokyo week is June 8 to June 14


@pytest.mark.parametrize(
    ("status", "due", "flag"),
    [
        (RmaStatus.SWAPPED, date(2026, 6, 9), DueFlag.OVERDUE),  # past, not yet swept
        (RmaStatus.SHIPPED, date(2026, 6, 10), DueFlag.DUE_THIS_WEEK),  # due today
        (RmaStatus.PICKUP_REQUESTED, date(2026, 6, 14), DueFlag.DUE_THIS_WEEK),  # Sunday
        (RmaStatus.SWAPPED, date(2026, 6, 15), None),  # next Monday
        (RmaStatus.OVERDUE, date(2026, 6, 20), DueFlag.OVERDUE),
        (RmaStatus.CHARGED, date(2026, 5, 1), DueFlag.OVERDUE),
        (RmaStatus.RECEIVED, date(2026, 6, 1), None),  # back: nothing to mark
        (RmaStatus.REPLACEMENT_RESERVED, None, None),
    ],
)
def test_due_flag(status: RmaStatus, due: date | None, flag: DueFlag | None) -> None:
    assert due_flag(status, due, TODAY) == flag


def test_due_on_the_monday_of_this_week_counts_on_that_monday() -> None:
    monday = date(2026, 6, 8)
    assert due_flag(RmaStatus.SHIPPED, monday, monday) is DueFlag.DUE_THIS_WEEK
    assert due_flag(RmaStatus.SHIPPED, monday, date(2026, 6, 7)) is None  # Sunday before
