"""The sign-in count is the database's, not a process's: failures committed by two separate
sessions (as two API processes would) add up, and a lock written by one refuses on the other —
on SQLite and PostgreSQL. Rule (stated here): the 5th failure of an account within 15 minutes
locks it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from core.audit import Actor
from core.db import begin_write
from core.settings import Settings
from core.timeutil import utcnow
from web.models import SignInThrottle
from web.sign_in_throttle import Attempt, record_failure, record_success, refusal


@pytest.fixture
def attempt(engine: Engine) -> Iterator[Attempt]:
    name = f"shared-{secrets.token_hex(4)}"
    address = f"198.51.100.{secrets.randbelow(250) + 1}-{secrets.token_hex(2)}"
    found = Attempt(name=name, address=address, actor=Actor(name="anonymous", role="none"))
    yield found
    with Session(engine) as session:  # committed counts removed again (the audit is append-only)
        session.execute(delete(SignInThrottle).where(col(SignInThrottle.key).in_(found.keys)))
        session.commit()


def _fail(engine: Engine, attempt: Attempt, settings: Settings, at: timedelta) -> int | None:
    with Session(engine) as session:
        begin_write(session)
        wait = record_failure(
            session=session, attempt=attempt, now=utcnow() + at, settings=settings
        )
        session.commit()
        return wait


def test_two_sessions_share_one_count(engine: Engine, settings: Settings, attempt: Attempt) -> None:
    waits = [_fail(engine, attempt, settings, timedelta(seconds=i)) for i in range(5)]
    assert waits[:4] == [None] * 4 and waits[4] is not None
    with Session(engine) as other:
        assert refusal(session=other, attempt=attempt, now=utcnow() + timedelta(seconds=6))
        other.commit()
    with Session(engine) as later:  # after the 5 minutes of the first lock-out
        assert refusal(session=later, attempt=attempt, now=utcnow() + timedelta(minutes=6)) is None


def test_a_success_in_one_session_clears_the_count_another_wrote(
    engine: Engine, settings: Settings, attempt: Attempt
) -> None:
    for i in range(4):
        _fail(engine, attempt, settings, timedelta(seconds=i))
    with Session(engine) as session:
        record_success(session=session, attempt=attempt)
        session.commit()
    assert _fail(engine, attempt, settings, timedelta(seconds=5)) is None
