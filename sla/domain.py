"""Pure SLA-credit maths (seed 004 Art. 料金表 責任の制限; seed 000 Art. 中断 3).

An outage counts from the later of its start and the moment the provider learned of it.
- Calendar-day basis (seed 004, the default): 24 h or more in a row → the monthly fee for each
  full 24 h, pro rata by the calendar days of the month; remainder hours dropped.
- 365-day basis (seed 000, a per-contract policy): **over** 24 h → 12 × the monthly fee ÷ 365
  per full 24 h, leap year or not.
- The provider's intent or gross negligence: no 24-h threshold, every second counts —
  fee × duration ÷ (24 h × the month's days) (or ÷ 365 days on the 365-day basis).
- A customer-side cause earns no credit.
Each outage separately, on the tax-exclusive fee, integer yen truncated. A full 24-h day belongs
to the Asia/Tokyo month in which it starts; a negligent outage's seconds to the month they fall
in, so an outage across a month end is priced by each month's own length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from core.calendar import TOKYO, to_tokyo

DAY = timedelta(hours=24)
DAY_SECONDS = 86_400
YEAR_DAYS = 365
CONSUMPTION_TAX_PERCENT = 10


class CreditBasis(StrEnum):
    """How a contract's credit is prorated."""

    CALENDAR_DAYS = "calendar_days"  # seed 004: 24 h or more; ÷ the month's calendar days
    YEAR_365 = "year_365"  # seed 000: over 24 h; a day is 12 × monthly ÷ 365


class OutageCause(StrEnum):
    """Whose fault the outage was, as far as the SLA is concerned."""

    PROVIDER = "provider"  # the provider's responsibility (当社の責めに帰すべき理由)
    NEGLIGENCE = "negligence"  # the provider's intent or gross negligence (故意または重大な過失)
    CUSTOMER = "customer"  # the customer's side: no credit


CAUSE_ALIASES = {"intent": OutageCause.NEGLIGENCE}
"""Other words the desk uses for a cause: the provider's intent is priced as gross negligence."""


def parse_cause(text: str) -> OutageCause:
    """A cause by its name or an alias (`intent`); ValueError for anything else."""
    word = text.strip().lower()
    return CAUSE_ALIASES.get(word) or OutageCause(word)


@dataclass(frozen=True, slots=True)
class Outage:
    """An interval the service was completely unusable; aware datetimes."""

    started_at: datetime
    ended_at: datetime
    learned_at: datetime
    cause: OutageCause

    @property
    def counted_from(self) -> datetime:
        """The later of the start and the moment the provider learned of it."""
        return max(self.started_at, self.learned_at)

    @property
    def counted(self) -> timedelta:
        """The duration that counts (never negative)."""
        return max(self.ended_at - self.counted_from, timedelta(0))


@dataclass(frozen=True, slots=True)
class CreditLine:
    """The part of one outage's credit that falls in one Tokyo month."""

    month: str  # YYYY-MM
    full_days: int  # full 24-h days starting in this month (0 for negligence)
    seconds: int  # seconds in this month (negligence only, else 0)
    yen: int


def days_in_month(year: int, month: int) -> int:
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - first).days


def month_key(when: datetime) -> str:
    local = to_tokyo(when)
    return f"{local.year:04d}-{local.month:02d}"


def _month_start_after(when: datetime) -> datetime:
    local = to_tokyo(when)
    nxt = date(local.year + (local.month == 12), local.month % 12 + 1, 1)
    return datetime.combine(nxt, time(0, 0), tzinfo=TOKYO)


def qualifies(outage: Outage, basis: CreditBasis) -> bool:
    """Whether the outage earns any credit under the basis."""
    if outage.cause is OutageCause.CUSTOMER:
        return False
    if outage.cause is OutageCause.NEGLIGENCE:
        return outage.counted > timedelta(0)
    if basis is CreditBasis.YEAR_365:
        return outage.counted > DAY
    return outage.counted >= DAY


def _day_yen(monthly_fee_yen: int, days: int, month: str, basis: CreditBasis) -> int:
    if basis is CreditBasis.YEAR_365:
        return 12 * monthly_fee_yen * days // YEAR_DAYS
    year, mon = int(month[:4]), int(month[5:])
    return monthly_fee_yen * days // days_in_month(year, mon)


def _second_yen(monthly_fee_yen: int, seconds: int, month: str, basis: CreditBasis) -> int:
    if basis is CreditBasis.YEAR_365:
        return 12 * monthly_fee_yen * seconds // (YEAR_DAYS * DAY_SECONDS)
    year, mon = int(month[:4]), int(month[5:])
    return monthly_fee_yen * seconds // (days_in_month(year, mon) * DAY_SECONDS)


def credit_lines(outage: Outage, monthly_fee_yen: int, basis: CreditBasis) -> list[CreditLine]:
    """The outage's credit, month by month (oldest first); empty if it earns none."""
    if monthly_fee_yen < 0:
        raise ValueError(f"monthly fee must not be negative, got {monthly_fee_yen} yen")
    if not qualifies(outage, basis):
        return []
    start = outage.counted_from
    if outage.cause is OutageCause.NEGLIGENCE:
        return _negligence_lines(start, outage.ended_at, monthly_fee_yen, basis)
    full_days = outage.counted // DAY
    per_month: dict[str, int] = {}
    for k in range(full_days):
        key = month_key(start + k * DAY)
        per_month[key] = per_month.get(key, 0) + 1
    return [
        CreditLine(month=m, full_days=n, seconds=0, yen=_day_yen(monthly_fee_yen, n, m, basis))
        for m, n in per_month.items()
    ]


def _negligence_lines(
    start: datetime, end: datetime, monthly_fee_yen: int, basis: CreditBasis
) -> list[CreditLine]:
    lines: list[CreditLine] = []
    cursor = start
    while cursor < end:
        boundary = min(_month_start_after(cursor), end)
        # Whole seconds counted from the start, so the months' parts add up to the whole.
        seconds = int((boundary - start).total_seconds()) - int((cursor - start).total_seconds())
        key = month_key(cursor)
        lines.append(
            CreditLine(
                month=key,
                full_days=0,
                seconds=seconds,
                yen=_second_yen(monthly_fee_yen, seconds, key, basis),
            )
        )
        cursor = boundary
    return lines


def credit_in_month(
    outage: Outage, monthly_fee_yen: int, basis: CreditBasis, month: str
) -> CreditLine | None:
    """The outage's credit line for `month` (YYYY-MM), if it has one."""
    for line in credit_lines(outage, monthly_fee_yen, basis):
        if line.month == month:
            return line
    return None


def tax_of(net_yen: int, tax_rate_percent: int = CONSUMPTION_TAX_PERCENT) -> int:
    """Consumption tax on a tax-exclusive amount, fractions below ¥1 truncated."""
    return net_yen * tax_rate_percent // 100
