"""Pure change-request rules: statuses and their transitions, the work window, acceptance.

Seed 002 App.1 II(3)1: setting changes are done remotely following the change-request sheet,
inside operations hours (Mon–Sat 9:00–17:00 JST, not on public holidays or year-end days).
Seed 001: after the work a completion mail is sent; the customer has one week to report a
defect, else the work counts as complete (accepted).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from core.calendar import TOKYO, BusinessCalendar, Service, to_tokyo, tokyo_date
from core.errors import InvalidTransition

ENTITY: Final = "change_request"
SYSTEM_ACCEPTOR: Final = "system (1週間経過による自動検収 / auto-accepted after the defect window)"
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
SECRET_KEYS: Final = frozenset({"psk", "secret"})
ENV_PREFIX: Final = "env:"
SECRET_PREFIX: Final = "secret:"


class ChangeStatus(StrEnum):
    SUBMITTED = "submitted"  # entered on the customer's behalf; the sheet may still have problems
    VALIDATED = "validated"  # the sheet is valid and everything it touches is on the contract
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    APPLIED = "applied"  # written and verified; the completion notice is next
    FAILED = "failed"  # the apply failed or did not verify; fix and schedule again
    NOTIFIED = "notified"  # completion notice sent: the defect window runs
    ACCEPTED = "accepted"
    DEFECT_REPORTED = "defect_reported"
    REOPENED = "reopened"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Target(StrEnum):
    """Where the change is carried out."""

    DASHBOARD = "dashboard"  # the Meraki dashboard, through the provisioning engine
    CLI = "cli"  # a non-Meraki router over SSH (router plan)


S = ChangeStatus
TRANSITIONS: Mapping[ChangeStatus, frozenset[ChangeStatus]] = MappingProxyType(
    {
        S.SUBMITTED: frozenset({S.VALIDATED, S.REJECTED, S.CANCELLED}),
        S.VALIDATED: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
        S.APPROVED: frozenset({S.SCHEDULED, S.CANCELLED}),
        S.SCHEDULED: frozenset({S.SCHEDULED, S.APPLIED, S.FAILED, S.CANCELLED}),
        S.FAILED: frozenset({S.SCHEDULED, S.CANCELLED}),
        S.APPLIED: frozenset({S.NOTIFIED}),
        S.NOTIFIED: frozenset({S.ACCEPTED, S.DEFECT_REPORTED}),
        S.DEFECT_REPORTED: frozenset({S.REOPENED}),
        S.REOPENED: frozenset({S.VALIDATED, S.CANCELLED}),
        S.ACCEPTED: frozenset(),
        S.REJECTED: frozenset(),
        S.CANCELLED: frozenset(),
    }
)
REVALIDATABLE: Final = frozenset({S.SUBMITTED, S.REOPENED})


def advance(current: ChangeStatus | str, target: ChangeStatus) -> ChangeStatus:
    """The new status, or InvalidTransition naming the allowed next ones."""
    now = ChangeStatus(current)
    allowed = TRANSITIONS[now]
    if target not in allowed:
        raise InvalidTransition(ENTITY, now, target, allowed)
    return target


def is_email(text: str) -> bool:
    """A plain addr-spec (local@domain.tld) with no display name, spaces or IP literal."""
    return len(text) <= 254 and bool(_EMAIL.match(text))


@dataclass(frozen=True, slots=True)
class WindowDecision:
    """When the work is scheduled and whether it needs the emergency override."""

    at: datetime
    inside_window: bool


def schedule_time(
    calendar: BusinessCalendar, *, now: datetime, requested: datetime | None, emergency: bool
) -> WindowDecision:
    """The requested time, or the next operations window start (`now` if inside one)."""
    if requested is None:
        at = now if emergency else calendar.next_service_start(Service.OPERATIONS, now)
    else:
        at = requested
    return WindowDecision(at, calendar.is_service_time(Service.OPERATIONS, at))


def window_text() -> str:
    return "operations hours are Mon–Sat 9:00–17:00 JST, except public holidays and year-end days"


def why_closed(calendar: BusinessCalendar, when: datetime) -> str:
    """Why an instant is outside the operations window, in words."""
    local = to_tokyo(when)
    day = local.date()
    name = calendar.holiday_name(day)
    if name:
        return f"{day} is a public holiday ({name})"
    if calendar.is_year_end(day):
        return f"{day} is one of the provider's year-end days"
    if day in calendar.extra_closed_days:
        return f"{day} is a provider-designated closed day"
    if day.weekday() == 6:
        return f"{day} is a Sunday"
    return f"{local.strftime('%H:%M')} JST is outside 9:00–17:00"


def defect_window_last_day(notified_at: datetime, days: int) -> date:
    """The last day the customer may report a defect: the notice day is not counted."""
    if days < 1:
        raise ValueError(f"the defect window needs at least one day, got {days}")
    return tokyo_date(notified_at) + timedelta(days=days)


def acceptance_due(notified_at: datetime, days: int) -> datetime:
    """The instant the work counts as accepted: the end (24:00 JST) of the window's last day."""
    last = defect_window_last_day(notified_at, days)
    return datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=TOKYO)


def literal_secret_places(raw: Any, path: str = "") -> list[str]:
    """Where a raw sheet holds a PSK/RADIUS secret written out rather than as `env:NAME`."""
    found: list[str] = []
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            where = f"{path}.{key}" if path else str(key)
            if str(key) in SECRET_KEYS and value not in (None, ""):
                if not _is_reference(value):
                    found.append(where)
                continue
            found += literal_secret_places(value, where)
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            found += literal_secret_places(value, f"{path}[{i}]")
    return found


def _is_reference(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().startswith((ENV_PREFIX, SECRET_PREFIX))
    return isinstance(value, Mapping) and len(value) == 1 and set(value) <= {"env", "secret"}


class QueueStage(StrEnum):
    """Where a request waits in the NOC's queue (each status belongs to exactly one stage)."""

    SUBMITTED = "submitted"  # to validate again or to approve (four-eyes)
    APPROVED = "approved"  # to schedule in the operations window (also: failed, to redo)
    SCHEDULED = "scheduled"  # to apply when its time comes, inside the window
    APPLIED = "applied"  # written and verified; the completion notice is to send
    AWAITING_ACCEPTANCE = "awaiting_acceptance"  # notified: the customer's week runs
    CLOSED = "closed"  # accepted, rejected or cancelled


STAGE_STATUSES: Mapping[QueueStage, frozenset[ChangeStatus]] = MappingProxyType(
    {
        QueueStage.SUBMITTED: frozenset({S.SUBMITTED, S.VALIDATED, S.REOPENED}),
        QueueStage.APPROVED: frozenset({S.APPROVED, S.FAILED}),
        QueueStage.SCHEDULED: frozenset({S.SCHEDULED}),
        QueueStage.APPLIED: frozenset({S.APPLIED}),
        QueueStage.AWAITING_ACCEPTANCE: frozenset({S.NOTIFIED, S.DEFECT_REPORTED}),
        QueueStage.CLOSED: frozenset({S.ACCEPTED, S.REJECTED, S.CANCELLED}),
    }
)


def stage_of(status: ChangeStatus | str) -> QueueStage:
    """The queue stage a status waits in."""
    found = ChangeStatus(status)
    return next(stage for stage, statuses in STAGE_STATUSES.items() if found in statuses)


@dataclass(frozen=True, slots=True)
class Countdown:
    """What is left of the customer's defect window: whole days and hours, or ended."""

    days: int
    hours: int
    minutes: int
    ended: bool

    @property
    def last_day(self) -> bool:
        """Less than a day is left (the page shows it as urgent)."""
        return not self.ended and self.days == 0


def acceptance_countdown(due: datetime, now: datetime) -> Countdown:
    """Time left until `due` (when the work counts as accepted), rounded down to the minute."""
    left = due - now
    if left <= timedelta(0):
        return Countdown(0, 0, 0, ended=True)
    minutes = int(left.total_seconds() // 60)
    return Countdown(minutes // 1440, minutes % 1440 // 60, minutes % 60, ended=False)
