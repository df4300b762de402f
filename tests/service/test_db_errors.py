"""Driver errors the caller or the moment caused become 409/422/503, from real database errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from api.app import create_app
from core import auth, migrate
from core.auth import Role
from core.db import make_engine
from core.db_errors import translate
from core.errors import Busy, Conflict, ValidationFailed
from core.models import ApiToken
from inventory.models import Device
from tests.conftest import ADMIN, bearer


def _error_of(session: Session, *rows: object) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught, session.begin_nested():
        for row in rows:
            session.add(row)
        session.flush()
    return caught.value


def _token(name: str, digest: str) -> ApiToken:
    return ApiToken(name=name, role="viewer", prefix="nk_x", token_hash=digest, created_by="t")


def test_a_duplicate_key_is_a_conflict_naming_it(session: Session) -> None:
    session.add(_token("dup", "1" * 64))
    session.flush()
    domain = translate(_error_of(session, _token("dup", "2" * 64)))
    assert isinstance(domain, Conflict) and domain.http_status == 409
    assert "name" in domain.details["key"]
    assert "already exists" in domain.message


def test_a_missing_required_value_is_a_validation_failure_naming_the_column(
    session: Session,
) -> None:
    table = Device.__table__  # type: ignore[attr-defined]
    with pytest.raises(DBAPIError) as caught, session.begin_nested():
        session.execute(table.insert().values(serial="Q2FY-NONE-0001", model="MX67", notes=None))
    domain = translate(caught.value)
    assert isinstance(domain, ValidationFailed) and domain.http_status == 422
    assert domain.problems[0].location.startswith("device.")
    assert "null" in domain.problems[0].message


def test_a_lock_wait_past_its_bound_is_busy(engine: Engine) -> None:
    """Another transaction holds the lock longer than this one may wait: 503, retry later."""
    sqlite = engine.dialect.name == "sqlite"
    manual = {"isolation_level": "AUTOCOMMIT"} if sqlite else {}
    holder = engine.connect().execution_options(**manual)
    waiter = engine.connect().execution_options(**manual)
    try:
        if sqlite:
            holder.exec_driver_sql("BEGIN IMMEDIATE")
            waiter.exec_driver_sql("PRAGMA busy_timeout = 100")
            attempt = "BEGIN IMMEDIATE"
        else:
            waiter.execute(text("SET lock_timeout = '100ms'"))
            holder.execute(text("LOCK TABLE api_token IN ACCESS EXCLUSIVE MODE"))
            attempt = "SELECT id FROM api_token FOR UPDATE"
        with pytest.raises(DBAPIError) as caught:
            waiter.exec_driver_sql(attempt)
    finally:
        if sqlite:
            holder.exec_driver_sql("ROLLBACK")
        holder.rollback()
        waiter.rollback()
        holder.close()
        waiter.close()
    domain = translate(caught.value)
    assert isinstance(domain, Busy) and domain.http_status == 503 and domain.retry_after == 1


def test_an_unrelated_driver_error_is_left_a_fault(session: Session) -> None:
    with pytest.raises(DBAPIError) as caught:
        session.exec(text("SELECT no_such_column FROM api_token"))  # type: ignore[call-overload]
    session.rollback()
    assert translate(caught.value) is None


@pytest.fixture
def locked_sqlite(tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    """A migrated SQLite file whose busy timeout is 0.2 s, with one admin token."""
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    migrate.upgrade(url)
    engine = make_engine(url, connect_args={"check_same_thread": False, "timeout": 0.2})
    with Session(engine) as session:
        token = auth.create_token(session=session, actor=ADMIN, name="a", role=Role.ADMIN).token
        session.commit()
    yield engine, token
    engine.dispose()


def test_a_write_request_on_a_locked_sqlite_answers_503_with_retry_after(
    locked_sqlite: tuple[Engine, str],
) -> None:
    engine, token = locked_sqlite
    app = create_app(engine=engine)
    holder = engine.raw_connection()
    try:
        holder.cursor().execute("BEGIN IMMEDIATE")  # another process's long write
        with TestClient(app) as client:
            reads = client.get("/api/v1/tokens", headers=bearer(token))
            busy = client.post(
                "/api/v1/tokens", json={"name": "b", "role": "viewer"}, headers=bearer(token)
            )
    finally:
        holder.rollback()
        holder.close()
    assert reads.status_code == 200  # readers are not held up by a writer (WAL)
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["error"] == "busy"
    with TestClient(app) as client:
        again = client.post(
            "/api/v1/tokens", json={"name": "b", "role": "viewer"}, headers=bearer(token)
        )
    assert again.status_code == 201
