"""Pure rules of advance send-back maintenance (先出しセンドバック保守, 002 App.1 II(3), IV(4)).

States and their moves, the return period and its deadline, reminders, the equipment damage
charge (機器損害金) and the choice of a replacement model. No I/O; `now` is always passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from core.calendar import TOKYO, BusinessCalendar, months_after, to_tokyo, tokyo_date
from core.errors import InvalidTransition

RETURN_PERIOD_MONTHS = 1
CONSUMPTION_TAX_PERCENT = 10


class RmaStatus(StrEnum):
    """Where a failure report stands, from the report to the failed unit's return or charge."""

    OPEN = "open"  # failure reported, not yet judged
    RESOLVED_REMOTELY = "resolved_remotely"  # closed without a replacement
    REPLACEMENT_NEEDED = "replacement_needed"  # provider judged the device must be replaced
    REPLACEMENT_RESERVED = "replacement_reserved"  # a verified unit is set aside for it
    SHIPPED = "shipped"  # replacement sent; the return period runs from this day
    SWAPPED = "swapped"  # customer put the replacement in; serial on the contract changed
    PICKUP_REQUESTED = "pickup_requested"  # courier asked to collect the failed unit
    RECEIVED = "received"  # the failed unit is back and its serial matches
    CLOSED = "closed"  # nothing left to do
    OVERDUE = "overdue"  # the return period ended without the failed unit
    CHARGED = "charged"  # equipment damage charge billed
    WAIVED = "waived"  # an admin let the charge go
    EXCEPTION = "exception"  # a unit arrived whose serial is not the failed one


_S = RmaStatus

# States in which the failed unit is still out and the return clock runs.
AWAITING_RETURN: frozenset[RmaStatus] = frozenset({_S.SHIPPED, _S.SWAPPED, _S.PICKUP_REQUESTED})

TRANSITIONS: dict[RmaStatus, frozenset[RmaStatus]] = {
    _S.OPEN: frozenset({_S.RESOLVED_REMOTELY, _S.REPLACEMENT_NEEDED}),
    _S.REPLACEMENT_NEEDED: frozenset({_S.REPLACEMENT_RESERVED, _S.RESOLVED_REMOTELY}),
    # Back to replacement_needed when the reserved unit fails its check or is released.
    _S.REPLACEMENT_RESERVED: frozenset({_S.SHIPPED, _S.REPLACEMENT_NEEDED}),
    # The failed unit may come back without a pickup request (the customer sent it itself).
    _S.SHIPPED: frozenset({_S.SWAPPED, _S.PICKUP_REQUESTED, _S.RECEIVED, _S.EXCEPTION, _S.OVERDUE}),
    _S.SWAPPED: frozenset({_S.PICKUP_REQUESTED, _S.RECEIVED, _S.EXCEPTION, _S.OVERDUE}),
    _S.PICKUP_REQUESTED: frozenset({_S.RECEIVED, _S.EXCEPTION, _S.OVERDUE}),
    # An extension goes back to the waiting state it came from (the service reads the history).
    _S.OVERDUE: AWAITING_RETURN | {_S.RECEIVED, _S.EXCEPTION, _S.CHARGED, _S.WAIVED},
    # A late arrival after billing: LateArrivalPolicy says whether the charge is credited.
    _S.CHARGED: frozenset({_S.RECEIVED, _S.EXCEPTION, _S.WAIVED, _S.CLOSED}),
    _S.WAIVED: frozenset({_S.RECEIVED, _S.CLOSED}),
    # Resolved by receiving the right unit, collecting it again, or the money route.
    _S.EXCEPTION: frozenset({_S.RECEIVED, _S.PICKUP_REQUESTED, _S.OVERDUE, _S.CHARGED, _S.WAIVED}),
    _S.RECEIVED: frozenset({_S.CLOSED}),
    _S.RESOLVED_REMOTELY: frozenset(),
    _S.CLOSED: frozenset(),
}

TERMINAL: frozenset[RmaStatus] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)

# The replacement is out and the failed unit not back: the swap may still be recorded. Only from
# `shipped` does the status itself move to `swapped`; in the others the swap is recorded beside
# the status (a unit can be swapped in after a pickup request, a wrong parcel or the charge).
SWAPPABLE: frozenset[RmaStatus] = frozenset(
    {_S.SHIPPED, _S.PICKUP_REQUESTED, _S.OVERDUE, _S.EXCEPTION, _S.CHARGED, _S.WAIVED}
)


def advance(current: RmaStatus, target: RmaStatus) -> RmaStatus:
    """`target` if the table allows the move from `current`, else InvalidTransition."""
    allowed = TRANSITIONS[current]
    if target not in allowed:
        raise InvalidTransition("rma", current.value, target.value, (s.value for s in allowed))
    return target


def status_after_swap(current: RmaStatus) -> RmaStatus:
    """The RMA's status once the swap is recorded: `swapped` from `shipped`, else unchanged."""
    if current not in SWAPPABLE:
        raise InvalidTransition("rma", current.value, _S.SWAPPED.value, (_S.SHIPPED.value,))
    return _S.SWAPPED if current is _S.SHIPPED else current


def return_due_date(
    shipped_at: datetime, calendar: BusinessCalendar, *, shift_to_business_day: bool = True
) -> date:
    """Last day of the return period: one month after the Tokyo ship date, Art. 142 shift on."""
    due = months_after(tokyo_date(shipped_at), RETURN_PERIOD_MONTHS)
    return calendar.next_business_day_for_deadline(due) if shift_to_business_day else due


def return_deadline(due: date) -> datetime:
    """The instant the return period ends: 24:00 JST of the due date, i.e. next day 00:00."""
    return datetime.combine(due + timedelta(days=1), time(0, 0), tzinfo=TOKYO)


def is_overdue(due: date, now: datetime) -> bool:
    """Whether the return period ending on `due` has run out at instant `now` (aware)."""
    return to_tokyo(now) >= return_deadline(due)


def reminder_dates(
    due: date, offsets_days: Sequence[int], *, today: date | None = None
) -> list[date]:
    """Reminder dates `offsets_days` before `due`, oldest first, none before `today`."""
    if any(offset < 0 for offset in offsets_days):
        raise ValueError(f"reminder offsets are days before the due date, got {offsets_days}")
    dates = {due - timedelta(days=offset) for offset in offsets_days}
    return sorted(d for d in dates if today is None or d >= today)


class ReminderOutcome(StrEnum):
    """What became of a planned reminder."""

    SENT = "sent"  # on its day
    SENT_LATE = "sent_late"  # after its day, while the return period still ran
    MISSED = "missed"  # its day passed and sending it would no longer say anything true
    CANCELLED = "cancelled"  # the RMA no longer waits for the unit


# The RMA no longer waits for the failed unit: its planned reminders are cancelled.
NO_REMINDERS: frozenset[RmaStatus] = frozenset(
    {_S.RECEIVED, _S.CLOSED, _S.RESOLVED_REMOTELY, _S.WAIVED, _S.CHARGED}
)


def reminder_outcome(
    *, remind_on: date, due: date | None, today: date, status: RmaStatus, superseded: bool
) -> ReminderOutcome | None:
    """What to do with a planned reminder on `today` (Tokyo); None: keep it planned.

    A reminder whose day passed is sent late once while the return period runs (it still asks
    for the unit in time), but only the newest of those passed (`superseded` is True for the
    others: one late notice, not three at once). Once the period is over it is missed: the
    charge notice speaks from then on.
    """
    if status in NO_REMINDERS:
        return ReminderOutcome.CANCELLED
    if due is not None and today > due:
        return ReminderOutcome.MISSED
    if remind_on > today:
        return None
    if remind_on == today:
        return ReminderOutcome.SENT
    return ReminderOutcome.MISSED if superseded else ReminderOutcome.SENT_LATE


@dataclass(frozen=True, slots=True)
class DamageCharge:
    """An equipment damage charge in integer yen, tax shown apart."""

    net_yen: int
    tax_yen: int
    total_yen: int


def damage_charge(
    list_price_yen: int, tax_rate_percent: int = CONSUMPTION_TAX_PERCENT
) -> DamageCharge:
    """The damage charge for an unreturned unit; tax fractions below ¥1 are truncated."""
    if list_price_yen < 0:
        raise ValueError(f"list price must not be negative, got {list_price_yen} yen")
    if tax_rate_percent < 0:
        raise ValueError(f"tax rate must not be negative, got {tax_rate_percent}%")
    tax = list_price_yen * tax_rate_percent // 100
    return DamageCharge(net_yen=list_price_yen, tax_yen=tax, total_yen=list_price_yen + tax)


class LateArrivalPolicy(StrEnum):
    """What happens to a billed damage charge when the failed unit arrives after all."""

    KEEP = "keep"  # the charge stands
    CREDIT = "credit"  # the charge is credited back


def choose_replacement_model(
    failed_model: str,
    in_stock_models: Mapping[str, int],
    successors: Mapping[str, str | None],
) -> tuple[str, bool] | None:
    """The model to ship and whether it is a substitution: same model first, then successors."""
    for model in successor_chain(failed_model, successors):
        if in_stock_models.get(model, 0) > 0:
            return model, model != failed_model
    return None


def successor_chain(model: str, successors: Mapping[str, str | None]) -> list[str]:
    """`model` and its successors in order, stopping before a repeat (a cycle in the data)."""
    chain: list[str] = []
    current: str | None = model
    while current is not None and current not in chain:
        chain.append(current)
        current = successors.get(current)
    return chain


class SwapParty(StrEnum):
    """Who put the replacement in: the provider's engineer, or the customer (wireless plan)."""

    PROVIDER = "provider"
    CUSTOMER = "customer"


class Disposition(StrEnum):
    """What becomes of a failed unit once it is back at the warehouse."""

    REFURBISH = "refurbish"
    DISPOSE = "dispose"


# States in which the sweep may find an unreturned unit past its deadline.
CHARGEABLE: frozenset[RmaStatus] = AWAITING_RETURN | {_S.OVERDUE}
# Past the deadline and still not back.
UNRETURNED: frozenset[RmaStatus] = frozenset({_S.OVERDUE, _S.CHARGED})
# Still has something to do (the logistics "open" view).
ACTIVE: frozenset[RmaStatus] = frozenset(TRANSITIONS) - TERMINAL


@dataclass(frozen=True, slots=True)
class RmaPolicy:
    """The configurable parts of the RMA rules, read from settings at the edge."""

    calendar: BusinessCalendar
    shift_due_date: bool = True
    reminder_offsets: tuple[int, ...] = (7, 3, 1)
    late_arrival: LateArrivalPolicy = LateArrivalPolicy.KEEP
    tax_rate_percent: int = CONSUMPTION_TAX_PERCENT


def tokyo_week(today: date) -> tuple[date, date]:
    """Monday and Sunday of the Asia/Tokyo week containing `today`."""
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=6)


def tokyo_month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The first instant of the Tokyo month containing `now` and of the month after."""
    local = to_tokyo(now)
    start = datetime(local.year, local.month, 1, tzinfo=TOKYO)
    end = datetime(local.year + (local.month == 12), local.month % 12 + 1, 1, tzinfo=TOKYO)
    return start, end


def format_yen(amount: int) -> str:
    """¥ and thousands separators: 140800 → ¥140,800 (negative as -¥1,000)."""
    return f"-¥{-amount:,}" if amount < 0 else f"¥{amount:,}"


class DueFlag(StrEnum):
    """How the logistics board marks an RMA's return period."""

    OVERDUE = "overdue"  # past its deadline and not back (shown in red)
    DUE_THIS_WEEK = "due_this_week"  # the period ends in this Tokyo week (Monday to Sunday)


def due_flag(status: RmaStatus, due: date | None, today: date) -> DueFlag | None:
    """The board's mark for an RMA on `today` (Tokyo): overdue first, then due this week.

    Overdue: swept (overdue, charged) or still waiting after its due date, even if the sweep has
    not run yet. Due this week: still waiting and the due date falls in today's Tokyo week.
    """
    if status in UNRETURNED:
        return DueFlag.OVERDUE
    if status not in AWAITING_RETURN or due is None:
        return None
    if today > due:
        return DueFlag.OVERDUE
    monday, sunday = tokyo_week(today)
    return DueFlag.DUE_THIS_WEEK if monday <= due <= sunday else None


class LogisticsAct(StrEnum):
    """What a logistics clerk may do to an RMA by hand (beside scanning to ship and receive)."""

    RESERVE = "reserve"  # set a replacement aside (again: another unit, the old one back)
    RELEASE = "release"  # give the reserved unit back to stock
    SWAP = "swap"  # record that the replacement took the failed unit's place
    PICKUP = "pickup"  # book the courier to collect the failed unit


def logistics_acts(status: RmaStatus, *, swapped: bool) -> frozenset[LogisticsAct]:
    """The acts the state table allows now: the same moves the services check with `advance`."""
    nxt = TRANSITIONS[status]
    acts: set[LogisticsAct] = set()
    if _S.REPLACEMENT_RESERVED in nxt or status is _S.REPLACEMENT_RESERVED:
        acts.add(LogisticsAct.RESERVE)
    if status is _S.REPLACEMENT_RESERVED:  # the move back to replacement_needed is a release
        acts.add(LogisticsAct.RELEASE)
    if status in SWAPPABLE and not swapped:
        acts.add(LogisticsAct.SWAP)
    if _S.PICKUP_REQUESTED in nxt:
        acts.add(LogisticsAct.PICKUP)
    return frozenset(acts)
