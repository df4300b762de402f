"""Pure rules of shipping and receiving by scanning: what a scanned serial matches, and why not.

A scan never changes anything by itself: these rules say which action a confirm would take and
every warning to show first. A blocking warning means there is nothing to confirm. No I/O;
`now` is passed in. (Kept apart from `rma.domain` so that module stays under ~400 lines.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from inventory.domain import DeviceStatus
from rma.domain import AWAITING_RETURN, RmaStatus, is_overdue

S = RmaStatus


class ScanAction(StrEnum):
    """What confirming the scan does."""

    SHIP = "ship"  # the scanned unit is the one reserved: it ships
    RESERVE_AND_SHIP = "reserve_and_ship"  # it takes the reserved unit's place, then ships
    RECEIVE = "receive"  # the failed unit is back
    RECEIVE_MISMATCH = "receive_mismatch"  # not the failed unit: recorded as an exception


class ScanWarning(StrEnum):
    """Why a scan needs a second look (or cannot be confirmed at all)."""

    INVALID_SERIAL = "invalid_serial"
    UNKNOWN_SERIAL = "unknown_serial"
    NO_RMA = "no_rma"  # nothing waits for this unit
    RESERVED_FOR_OTHER = "reserved_for_other"  # reserved for another RMA than the one chosen
    NOT_RESERVED_UNIT = "not_reserved_unit"  # not the unit reserved: it would replace it
    NOTHING_RESERVED = "nothing_reserved"  # the RMA has no unit yet: this one is reserved
    NOT_IN_STOCK = "not_in_stock"
    ALREADY_SHIPPED = "already_shipped"
    NOT_VERIFIED = "not_verified"
    WRONG_MODEL = "wrong_model"
    NOT_SHIPPABLE = "not_shippable"  # the RMA is past or before the ship step
    WRONG_UNIT = "wrong_unit"  # received: not the failed unit
    ALREADY_RECEIVED = "already_received"
    NOT_AWAITING = "not_awaiting"  # the RMA does not wait for a unit back
    NO_SWAP = "no_swap"  # the swap is not recorded yet: receiving would be refused
    LATE = "late"  # past the due date: the damage charge applies (or stands)
    CHARGED = "charged"  # a damage charge is already billed


BLOCKING: frozenset[ScanWarning] = frozenset(
    {
        ScanWarning.INVALID_SERIAL,
        ScanWarning.UNKNOWN_SERIAL,
        ScanWarning.NO_RMA,
        ScanWarning.RESERVED_FOR_OTHER,
        ScanWarning.NOT_IN_STOCK,
        ScanWarning.ALREADY_SHIPPED,
        ScanWarning.NOT_VERIFIED,
        ScanWarning.WRONG_MODEL,
        ScanWarning.NOT_SHIPPABLE,
        ScanWarning.ALREADY_RECEIVED,
        ScanWarning.NOT_AWAITING,
        ScanWarning.NO_SWAP,
    }
)
"""Warnings that leave nothing to confirm; the others are shown and confirmed past."""

SHIPPABLE: frozenset[RmaStatus] = frozenset({S.REPLACEMENT_NEEDED, S.REPLACEMENT_RESERVED})
# A unit may come back while the RMA waits, after the sweep, after the charge or a waiver,
# and after a wrong unit came first.
RECEIVABLE: frozenset[RmaStatus] = AWAITING_RETURN | {
    S.OVERDUE,
    S.CHARGED,
    S.WAIVED,
    S.EXCEPTION,
}


@dataclass(frozen=True, slots=True)
class UnitFacts:
    """What the inventory holds of the scanned unit."""

    serial: str
    status: DeviceStatus
    model: str
    verified: bool
    held_by: str | None


@dataclass(frozen=True, slots=True)
class RmaFacts:
    """What the scan is checked against of one RMA."""

    number: str
    status: RmaStatus
    failed_serial: str
    replacement_serial: str | None
    swapped: bool
    due_date: date | None


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    action: ScanAction | None
    warnings: tuple[ScanWarning, ...] = field(default=())

    @property
    def ready(self) -> bool:
        """Whether a confirm would act: an action and no blocking warning."""
        return self.action is not None and not any(w in BLOCKING for w in self.warnings)


def ship_scan(
    *, unit: UnitFacts | None, rma: RmaFacts | None, models: Sequence[str]
) -> ScanOutcome:
    """A replacement scanned at the packing bench: the RMA it ships for, or why it cannot.

    `rma` is the one the clerk chose, else the one holding the unit; `models` the failed model
    and its successors (any of them may ship).
    """
    if unit is None:
        return ScanOutcome(None, (ScanWarning.UNKNOWN_SERIAL,))
    if rma is None:
        blocking = (
            ScanWarning.ALREADY_SHIPPED
            if unit.status is DeviceStatus.IN_TRANSIT
            else ScanWarning.NO_RMA
        )
        return ScanOutcome(None, (blocking,))
    if rma.status not in SHIPPABLE:
        shipped = rma.replacement_serial == unit.serial and unit.status is DeviceStatus.IN_TRANSIT
        return ScanOutcome(
            None, (ScanWarning.ALREADY_SHIPPED if shipped else ScanWarning.NOT_SHIPPABLE,)
        )
    warnings: list[ScanWarning] = []
    if rma.status is S.REPLACEMENT_RESERVED and rma.replacement_serial == unit.serial:
        action = ScanAction.SHIP
    else:
        action = ScanAction.RESERVE_AND_SHIP
        if unit.held_by is not None and unit.held_by != rma.number:
            warnings.append(ScanWarning.RESERVED_FOR_OTHER)
        elif unit.status is not DeviceStatus.IN_STOCK:
            warnings.append(ScanWarning.NOT_IN_STOCK)
        warnings.append(
            ScanWarning.NOT_RESERVED_UNIT
            if rma.status is S.REPLACEMENT_RESERVED
            else ScanWarning.NOTHING_RESERVED
        )
        if unit.model not in models:
            warnings.append(ScanWarning.WRONG_MODEL)
    if not unit.verified:
        warnings.append(ScanWarning.NOT_VERIFIED)
    return ScanOutcome(action, tuple(warnings))


def receive_scan(
    *, serial: str, rma: RmaFacts | None, now: datetime, charged: bool = False
) -> ScanOutcome:
    """A unit scanned at the returns bench against the RMA it came for (chosen or found)."""
    if rma is None:
        return ScanOutcome(None, (ScanWarning.NO_RMA,))
    right = serial == rma.failed_serial
    if rma.status in (S.RECEIVED, S.CLOSED) and right:
        return ScanOutcome(None, (ScanWarning.ALREADY_RECEIVED,))
    if rma.status not in RECEIVABLE:
        return ScanOutcome(None, (ScanWarning.NOT_AWAITING,))
    warnings: list[ScanWarning] = []
    if not right:
        warnings.append(ScanWarning.WRONG_UNIT)
    elif not rma.swapped:
        warnings.append(ScanWarning.NO_SWAP)
    if rma.due_date is not None and is_overdue(rma.due_date, now):
        warnings.append(ScanWarning.LATE)
    if charged or rma.status is S.CHARGED:
        warnings.append(ScanWarning.CHARGED)
    action = ScanAction.RECEIVE if right else ScanAction.RECEIVE_MISMATCH
    return ScanOutcome(action, tuple(warnings))
