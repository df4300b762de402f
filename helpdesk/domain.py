"""Pure rules of the helpdesk (ヘルプデスク, seed 003) and the fault-response limit (seed 004).

An incident is one question that cannot be split further; a contact with several questions
makes several. Open → answered → closed on the customer's consent or when solved, or
automatically 5 days after the desk's answer with no reply (Civil Code Art. 140/141: the day of
the answer is not counted, the period ends at 24:00 JST of its last day, no Art. 142 shift).
After-hours work is billed at ¥3,000 per started half hour when the cause is on the customer's
side or outside the provider's services (003 spec 5.3). No I/O; `now` is always passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from core.calendar import TOKYO, tokyo_date
from core.errors import InvalidTransition

AUTO_CLOSE_DAYS = 5  # 003 spec 6.2
AFTER_HOURS_RATE_YEN = 3_000  # 003 spec 5.2: ¥3,000 per 0.5 h
AFTER_HOURS_UNIT_MINUTES = 30
FAULT_RESPONSES_PER_MONTH = 3  # 004 App.2: at most 3 fault responses a month per contract
CONSUMPTION_TAX_PERCENT = 10


class IncidentStatus(StrEnum):
    """Where one question stands."""

    OPEN = "open"  # accepted by the desk (the incident is consumed), waiting for the desk
    ANSWERED = "answered"  # the desk answered; the 5-day clock runs until the customer replies
    CLOSED = "closed"  # consent, solved, or no reply for 5 days


_S = IncidentStatus

TRANSITIONS: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    # Solved before any answer (the fault cleared itself, the customer withdrew) closes directly.
    _S.OPEN: frozenset({_S.ANSWERED, _S.CLOSED}),
    # A reply from the customer stops the clock and puts the incident back with the desk.
    _S.ANSWERED: frozenset({_S.OPEN, _S.CLOSED}),
    _S.CLOSED: frozenset(),
}


def advance(current: IncidentStatus, target: IncidentStatus) -> IncidentStatus:
    """`target` if the table allows the move from `current`, else InvalidTransition."""
    allowed = TRANSITIONS[current]
    if target not in allowed:
        raise InvalidTransition("incident", current.value, target.value, (s.value for s in allowed))
    return target


class CloseReason(StrEnum):
    """Why an incident closed (003 spec 6)."""

    CONSENT = "consent"  # 利用者の了承
    SOLVED = "solved"  # 不具合等の解消
    NO_REPLY = "no_reply"  # 5 days after the desk's answer with no contact


class IncidentKind(StrEnum):
    """A question, or a fault response (障害対応) that counts toward the monthly limit."""

    QUESTION = "question"
    FAULT = "fault"


class Channel(StrEnum):
    """How the contact arrived (003 spec 3)."""

    PHONE = "phone"
    MAIL = "mail"
    FAX = "fax"
    WEB = "web"


class Cause(StrEnum):
    """Whose side the cause was on; decides whether after-hours work is paid (003 spec 5.3)."""

    UNKNOWN = "unknown"
    PROVIDER = "provider"  # the provider's service: after-hours help is free
    CUSTOMER = "customer"  # お客様側の都合 / 原因がお客様側
    OUTSIDE_SERVICE = "outside_service"  # 当社提供サービス以外が原因


BILLABLE_CAUSES: frozenset[Cause] = frozenset({Cause.CUSTOMER, Cause.OUTSIDE_SERVICE})


def auto_close_at(answered_at: datetime) -> datetime:
    """The instant an answered incident closes without a reply: 24:00 JST of the 5th day after.

    Answered Apr 30 15:00 JST → still open all of May 5, closed from May 6 00:00 JST.
    """
    last_day = tokyo_date(answered_at) + timedelta(days=AUTO_CLOSE_DAYS)
    return datetime.combine(last_day + timedelta(days=1), time(0, 0), tzinfo=TOKYO)


def is_due_for_auto_close(
    status: IncidentStatus, answered_at: datetime | None, now: datetime
) -> bool:
    """Whether the sweep closes this incident at `now`: answered, and its period has run out."""
    return (
        status is IncidentStatus.ANSWERED
        and answered_at is not None
        and (now >= auto_close_at(answered_at))
    )


@dataclass(frozen=True, slots=True)
class AfterHoursCharge:
    """After-hours work in integer yen, tax shown apart (fractions below ¥1 truncated)."""

    half_hours: int
    net_yen: int
    tax_yen: int
    total_yen: int


def after_hours_charge(
    minutes: int,
    cause: Cause,
    *,
    rate_yen: int = AFTER_HOURS_RATE_YEN,
    tax_rate_percent: int = CONSUMPTION_TAX_PERCENT,
) -> AfterHoursCharge:
    """¥3,000 per started half hour of after-hours work when the cause is billable, else free."""
    if minutes < 0:
        raise ValueError(f"after-hours minutes must not be negative, got {minutes}")
    if cause not in BILLABLE_CAUSES:
        return AfterHoursCharge(half_hours=0, net_yen=0, tax_yen=0, total_yen=0)
    half_hours = -(-minutes // AFTER_HOURS_UNIT_MINUTES)
    net = half_hours * rate_yen
    tax = net * tax_rate_percent // 100
    return AfterHoursCharge(half_hours=half_hours, net_yen=net, tax_yen=tax, total_yen=net + tax)


def fault_limit_reached(
    fault_responses_this_month: int, limit: int = FAULT_RESPONSES_PER_MONTH
) -> bool:
    """Whether one more fault response would go past the contract's monthly limit."""
    return fault_responses_this_month >= limit


def tokyo_month(when: datetime) -> str:
    """The Asia/Tokyo month of an instant as YYYY-MM (monthly counts are per Tokyo month)."""
    d = tokyo_date(when)
    return f"{d.year:04d}-{d.month:02d}"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The first instant (JST) of YYYY-MM and of the month after; ValueError if malformed."""
    year_text, sep, month_text = month.partition("-")
    if not (sep and len(year_text) == 4 and len(month_text) == 2):
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    first = date(int(year_text), int(month_text), 1)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return (
        datetime.combine(first, time(0, 0), tzinfo=TOKYO),
        datetime.combine(nxt, time(0, 0), tzinfo=TOKYO),
    )
