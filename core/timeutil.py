"""UTC storage, Asia/Tokyo display."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from core.calendar import TOKYO

__all__ = ["TOKYO", "UtcDateTime", "as_utc", "end_of_tokyo_day", "parse_instant", "show", "utcnow"]


def utcnow() -> datetime:
    """The current instant, aware, in UTC (only for edges: CLI, routers, jobs)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive input is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_instant(text: str) -> datetime:
    """An ISO date or datetime typed by a person; dates and naive times are Asia/Tokyo."""
    text = text.strip()
    if len(text) == 10:
        d = date.fromisoformat(text)
        return datetime.combine(d, time(0, 0), tzinfo=TOKYO).astimezone(UTC)
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TOKYO)
    return dt.astimezone(UTC)


def end_of_tokyo_day(d: date) -> datetime:
    """The first instant after date `d` ends in Asia/Tokyo (24:00 JST), in UTC."""
    from datetime import timedelta

    return datetime.combine(d + timedelta(days=1), time(0, 0), tzinfo=TOKYO).astimezone(UTC)


def show(value: datetime | None) -> str:
    """A datetime as people read it here: Asia/Tokyo, minutes."""
    if value is None:
        return ""
    return as_utc(value).astimezone(TOKYO).strftime("%Y-%m-%d %H:%M JST")


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and always returned aware, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value)
