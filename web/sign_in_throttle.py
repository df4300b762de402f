"""Sign-in throttling of the /ui pages, per account name and per client address.

The counts live in the database (`sign_in_throttle`), so every API process shares them. An
account name is counted whether or not such an account exists, so a refusal says nothing about
which names are real. A successful sign-in forgets the account's count, not the address's (one
account of one's own must not wipe out guesses at others). Every failure, lock-out and refusal is
audited in the sign-in's transaction; no password ever reaches the trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.settings import Settings
from web.models import SignInThrottle
from web.sign_in_rules import (
    FORGET_AFTER,
    Count,
    Limits,
    after_failure,
    remaining_lock,
    retry_after_seconds,
)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One sign-in attempt: the (normalised) account name and the client's address."""

    name: str
    address: str
    actor: Actor

    @property
    def keys(self) -> tuple[str, str]:
        return (f"account:{self.name[:64]}", f"address:{self.address[:64]}")


def limits_of(key: str, settings: Settings) -> Limits:
    failures = (
        settings.web_sign_in_account_failures
        if key.startswith("account:")
        else settings.web_sign_in_address_failures
    )
    return Limits(
        failures=failures,
        window=timedelta(minutes=settings.web_sign_in_window_minutes),
        lockout=timedelta(minutes=settings.web_sign_in_lockout_minutes),
        lockout_max=timedelta(minutes=settings.web_sign_in_lockout_max_minutes),
    )


def _count(row: SignInThrottle | None) -> Count | None:
    if row is None:
        return None
    return Count(
        failures=row.failures,
        lockouts=row.lockouts,
        window_start=row.window_start,
        last_failure=row.last_failure,
        locked_until=row.locked_until,
    )


def _audit(session: Session, attempt: Attempt, action: str, outcome: str, **after: object) -> None:
    audit.record(
        session,
        actor=attempt.actor,
        action=action,
        entity_type="web_account",
        entity_id=attempt.name[:120],
        after={"source": attempt.address, **after},
        outcome=outcome,
    )


def refusal(*, session: Session, attempt: Attempt, now: datetime) -> int | None:
    """Seconds the attempt must wait when its account or address is locked (the refusal
    audited), else None: the password may be checked."""
    rows = session.exec(
        select(SignInThrottle).where(col(SignInThrottle.key).in_(attempt.keys))
    ).all()
    waits = [w for w in (remaining_lock(_count(r), now) for r in rows) if w is not None]
    if not waits:
        return None
    seconds = retry_after_seconds(max(waits))
    _audit(session, attempt, "web_sign_in.refused", "refused", retry_after=seconds)
    return seconds


def _locked_row(session: Session, key: str, now: datetime) -> SignInThrottle:
    """The key's row, created if missing, locked for this transaction (FOR UPDATE on
    PostgreSQL; SQLite's writer transaction holds the whole database)."""
    values = {"key": key, "failures": 0, "lockouts": 0, "window_start": now, "last_failure": now}
    dialect = session.get_bind().dialect.name
    table = SignInThrottle.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        session.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())
    else:  # pragma: no cover - netkeep runs on SQLite or PostgreSQL
        if session.exec(select(SignInThrottle).where(SignInThrottle.key == key)).first() is None:
            session.execute(insert(table).values(**values))
    row = session.exec(
        select(SignInThrottle)
        .where(SignInThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return row


def record_failure(
    *, session: Session, attempt: Attempt, now: datetime, settings: Settings
) -> int | None:
    """Count a failed sign-in against its account and address; the seconds to wait when this
    failure locked either (the lock-out audited), else None."""
    session.execute(  # keys quiet for a day are forgotten
        delete(SignInThrottle).where(
            (col(SignInThrottle.last_failure) < now - FORGET_AFTER)
            & (
                col(SignInThrottle.locked_until).is_(None)
                | (col(SignInThrottle.locked_until) < now)
            )
        )
    )
    _audit(session, attempt, "web_sign_in.failed", "failed")
    waits: list[int] = []
    for key in sorted(attempt.keys):  # one lock order for every process
        row = _locked_row(session, key, now)
        counted = after_failure(_count(row), now, limits_of(key, settings))
        row.failures, row.lockouts = counted.failures, counted.lockouts
        row.window_start, row.last_failure = counted.window_start, counted.last_failure
        row.locked_until = counted.locked_until
        session.add(row)
        if (wait := remaining_lock(counted, now)) is not None:
            seconds = retry_after_seconds(wait)
            waits.append(seconds)
            _audit(
                session,
                attempt,
                "web_sign_in.lockout",
                "locked",
                key=key.split(":", 1)[0],
                lockout=counted.lockouts,
                retry_after=seconds,
            )
    session.flush()
    return max(waits) if waits else None


def record_success(*, session: Session, attempt: Attempt) -> None:
    """The account signed in: its failures and lock-outs are forgotten (the address's kept)."""
    session.execute(delete(SignInThrottle).where(col(SignInThrottle.key) == attempt.keys[0]))
