"""The Japanese business calendar: public holidays, the provider's closed days, service windows.

Pure: stdlib plus `holidays`, no settings import, never the current time (callers pass `when`).
Every judgement is made in Asia/Tokyo, whatever the server's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from itertools import pairwise
from types import MappingProxyType
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)
MON_FRI: frozenset[int] = frozenset(range(MONDAY, SATURDAY))
MON_SAT: frozenset[int] = frozenset(range(MONDAY, SUNDAY))
EVERY_DAY: frozenset[int] = frozenset(range(7))

# How far next_service_start looks ahead before deciding a service never opens.
_SEARCH_LIMIT_DAYS = 2 * 366


def to_tokyo(dt: datetime) -> datetime:
    """The same instant in Asia/Tokyo; a naive datetime is refused because its zone is a guess."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()} has no time zone; pass an aware one")
    return dt.astimezone(TOKYO)


def tokyo_date(dt: datetime) -> date:
    """The calendar date in Asia/Tokyo at instant `dt`."""
    return to_tokyo(dt).date()


def last_day_of_month(year: int, month: int) -> date:
    """The last day of a month (Feb 29 in leap years)."""
    first_of_next = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first_of_next - timedelta(days=1)


def add_months(d: date, months: int) -> date:
    """The same-numbered day `months` later, clamped to that month's last day."""
    year, month_index = divmod(d.year * 12 + d.month - 1 + months, 12)
    month = month_index + 1
    return date(year, month, min(d.day, last_day_of_month(year, month).day))


def months_after(d: date, months: int = 1) -> date:
    """Last day of a period of `months` months from an event on `d` (Civil Code Art. 140, 143).

    The event day is not counted, so the period runs from the next day; it ends the day before
    the corresponding day of the final month, or on that month's last day when there is none.
    Hence Jan 15 → Feb 15, Jan 31 → Feb 28/29, and an event on a month's last day (Apr 30)
    ends on the last day of the final month (May 31), because the period starts on a 1st.
    """
    if months < 1:
        raise ValueError(f"a period needs at least one month, got {months}")
    start = d + timedelta(days=1)
    if start.day == 1:
        final = add_months(start, months - 1)
        return last_day_of_month(final.year, final.month)
    final_first = add_months(start.replace(day=1), months)
    last = last_day_of_month(final_first.year, final_first.month)
    if start.day > last.day:
        return last
    return final_first.replace(day=start.day) - timedelta(days=1)


class Service(StrEnum):
    """A service whose hours the contracts fix; the comment names the clause."""

    OPERATIONS = "operations"  # 002 App.1 II(3)5, IV(4)6
    UTM_MONITORING = "utm_monitoring"  # 002 App.1 II(4)3 (UTM and router plans)
    WIRELESS_MONITORING = "wireless_monitoring"  # 002 App.1 IV(5)3
    HELPDESK = "helpdesk"  # 002 App.1 II(5)7, IV(6)7
    CLIENT_SETUP = "client_setup"  # 002 App.1 V(2)2
    CLIENT_SUPPORT = "client_support"  # 002 App.1 V(3)6
    VPN_CONSTRUCTION = "vpn_construction"  # 002 App.1 V(4)4
    VPN_MAINTENANCE = "vpn_maintenance"  # 002 App.1 V(4)4 (VPN settings upkeep and helpdesk)
    ONSITE_DESK = "onsite_desk"  # 002 App.1 V(1)2 failure desk, 365 days
    ONSITE_WORK = "onsite_work"  # 002 App.1 V(1)2 onsite work, 365 days
    SERVER_SUPPORT = "server_support"  # 001 Annex 2: business days Mon–Fri 9:00–17:30
    HELPDESK_PHONE = "helpdesk_phone"  # 003 spec 4: Mon–Fri 10–12 and 13–17


@dataclass(frozen=True, slots=True)
class ServiceWindow:
    """When a service is staffed: weekdays (Mon=0), half-open daily spans, and closed-day rule."""

    weekdays: frozenset[int]
    spans: tuple[tuple[time, time], ...]
    closed_on_closed_days: bool = True

    def __post_init__(self) -> None:
        if not self.weekdays <= EVERY_DAY:
            raise ValueError(f"weekdays must be 0..6 (Mon=0), got {sorted(self.weekdays)}")
        for start, end in self.spans:
            if not start < end:
                raise ValueError(f"service span {start}–{end} must start before it ends")
        ordered = sorted(self.spans)
        for (_, end), (start, _) in pairwise(ordered):
            if start < end:
                raise ValueError(f"service spans overlap at {start}")

    def contains(self, t: time) -> bool:
        """Whether a Tokyo wall-clock time is inside one of the spans (the end is excluded)."""
        return any(start <= t < end for start, end in self.spans)


def _spans(*pairs: tuple[str, str]) -> tuple[tuple[time, time], ...]:
    return tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in pairs)


_NINE_TO_FIVE = _spans(("09:00", "17:00"))
_HALF_EIGHT_TO_SIX = _spans(("08:30", "18:00"))

SERVICE_WINDOWS: Mapping[Service, ServiceWindow] = MappingProxyType(
    {
        Service.OPERATIONS: ServiceWindow(MON_SAT, _NINE_TO_FIVE),
        Service.UTM_MONITORING: ServiceWindow(MON_SAT, _NINE_TO_FIVE),
        Service.WIRELESS_MONITORING: ServiceWindow(MON_FRI, _NINE_TO_FIVE),
        Service.HELPDESK: ServiceWindow(MON_SAT, _HALF_EIGHT_TO_SIX),
        Service.CLIENT_SETUP: ServiceWindow(MON_SAT, _NINE_TO_FIVE),
        Service.CLIENT_SUPPORT: ServiceWindow(MON_SAT, _HALF_EIGHT_TO_SIX),
        Service.VPN_CONSTRUCTION: ServiceWindow(MON_SAT, _NINE_TO_FIVE),
        Service.VPN_MAINTENANCE: ServiceWindow(MON_SAT, _HALF_EIGHT_TO_SIX),
        Service.ONSITE_DESK: ServiceWindow(EVERY_DAY, _HALF_EIGHT_TO_SIX, False),
        Service.ONSITE_WORK: ServiceWindow(EVERY_DAY, _NINE_TO_FIVE, False),
        Service.SERVER_SUPPORT: ServiceWindow(MON_FRI, _spans(("09:00", "17:30"))),
        Service.HELPDESK_PHONE: ServiceWindow(
            MON_FRI, _spans(("10:00", "12:00"), ("13:00", "17:00"))
        ),
    }
)


# Every (month, day) of a leap year, in calendar order; used to expand MM-DD ranges.
_ALL_MONTH_DAYS: tuple[tuple[int, int], ...] = tuple(
    ((date(2000, 1, 1) + timedelta(days=i)).month, (date(2000, 1, 1) + timedelta(days=i)).day)
    for i in range(366)
)


def _month_day(text: str, spec: str) -> tuple[int, int]:
    try:
        month_text, day_text = text.strip().split("-")
        month_day = (int(month_text), int(day_text))
    except ValueError:
        raise ValueError(f"year-end days {spec!r}: {text.strip()!r} is not MM-DD") from None
    if month_day not in _ALL_MONTH_DAYS:
        raise ValueError(f"year-end days {spec!r}: {text.strip()!r} is not a calendar day")
    return month_day


def parse_year_end_days(spec: str) -> frozenset[tuple[int, int]]:
    """(month, day) pairs from a setting such as "12-29..01-03" or "12-31,01-01"; ranges wrap."""
    days: set[tuple[int, int]] = set()
    for item in filter(None, (part.strip() for part in spec.split(","))):
        if ".." not in item:
            days.add(_month_day(item, spec))
            continue
        first_text, last_text = item.split("..", 1)
        first = _ALL_MONTH_DAYS.index(_month_day(first_text, spec))
        last = _ALL_MONTH_DAYS.index(_month_day(last_text, spec))
        if first <= last:
            days.update(_ALL_MONTH_DAYS[first : last + 1])
        else:
            days.update(_ALL_MONTH_DAYS[first:] + _ALL_MONTH_DAYS[: last + 1])
    return frozenset(days)


DEFAULT_YEAR_END_DAYS = parse_year_end_days("12-29..01-03")


@cache
def _public_holidays(year: int) -> Mapping[date, str]:
    """Japan's public holidays of a year, substitute and citizens' holidays included."""
    from holidays.countries.japan import Japan  # a quarter second: loaded when a date needs it

    return MappingProxyType(dict(Japan(years=year, language="ja").items()))


@dataclass(frozen=True)
class BusinessCalendar:
    """Japan's holidays plus the provider's year-end days and any other days it closes."""

    year_end_days: frozenset[tuple[int, int]] = DEFAULT_YEAR_END_DAYS
    extra_closed_days: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        unknown = sorted(self.year_end_days - set(_ALL_MONTH_DAYS))
        if unknown:
            raise ValueError(f"year-end days are not calendar days: {unknown}")

    def holiday_name(self, d: date) -> str | None:
        """The public holiday's Japanese name (成人の日 …), or None on an ordinary day."""
        return _public_holidays(d.year).get(d)

    def is_public_holiday(self, d: date) -> bool:
        """A national public holiday (substitute and citizens' holidays included)."""
        return d in _public_holidays(d.year)

    def is_year_end(self, d: date) -> bool:
        """One of the provider's year-end/new-year closed days."""
        return (d.month, d.day) in self.year_end_days

    def is_closed(self, d: date) -> bool:
        """Closed whatever the weekday: public holiday, year-end day or provider-designated day."""
        return self.is_public_holiday(d) or self.is_year_end(d) or d in self.extra_closed_days

    def is_business_day(self, d: date) -> bool:
        """A day a deadline may fall on (Art. 142): Monday–Saturday and not closed."""
        return d.weekday() != SUNDAY and not self.is_closed(d)

    def next_business_day_for_deadline(self, d: date) -> date:
        """`d` itself, or the next day after it that is not a Sunday or closed (Art. 142)."""
        while not self.is_business_day(d):
            d += timedelta(days=1)
        return d

    def business_days_between(self, start: date, end: date) -> int:
        """Business days (Mon–Sat, not closed) after `start` up to and including `end`."""
        return sum(
            1
            for offset in range(1, (end - start).days + 1)
            if self.is_business_day(start + timedelta(days=offset))
        )

    def is_service_day(self, service: Service, d: date) -> bool:
        """Whether the service opens at all on date `d` (Tokyo)."""
        window = SERVICE_WINDOWS[service]
        if d.weekday() not in window.weekdays:
            return False
        return not (window.closed_on_closed_days and self.is_closed(d))

    def is_service_time(self, service: Service, when: datetime) -> bool:
        """Whether the service is staffed at instant `when` (aware; judged in Asia/Tokyo)."""
        local = to_tokyo(when)
        return self.is_service_day(service, local.date()) and SERVICE_WINDOWS[service].contains(
            local.time()
        )

    def next_service_start(self, service: Service, when: datetime) -> datetime:
        """The first staffed instant at or after `when`, in Asia/Tokyo (`when` itself if open)."""
        local = to_tokyo(when)
        if self.is_service_time(service, local):
            return local
        window = SERVICE_WINDOWS[service]
        day = local.date()
        for _ in range(_SEARCH_LIMIT_DAYS):
            if self.is_service_day(service, day):
                for start, _end in sorted(window.spans):
                    opening = datetime.combine(day, start, tzinfo=TOKYO)
                    if opening >= local:
                        return opening
            day += timedelta(days=1)
        raise ValueError(f"{service} does not open within {_SEARCH_LIMIT_DAYS} days of {local}")
