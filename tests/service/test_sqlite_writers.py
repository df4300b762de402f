"""Why SQLite writers queue instead of failing: a writer's transaction takes the lock first."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from core.db import begin_write, make_engine


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
    return engine


def _other_writer_locked_out(tmp_path: Path) -> bool:
    other = sqlite3.connect(tmp_path / "w.db", timeout=0.05, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return True
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
    return False


def test_a_plain_transaction_that_read_cannot_write_after_another_commit(tmp_path: Path) -> None:
    """The failure the API used to answer with 500: a read snapshot cannot be upgraded."""
    engine = _engine(tmp_path)
    with Session(engine) as reader, Session(engine) as writer:
        reader.exec(text("SELECT n FROM counter"))  # type: ignore[call-overload]
        writer.exec(text("UPDATE counter SET n = n + 1"))  # type: ignore[call-overload]
        writer.commit()
        with pytest.raises(OperationalError, match="locked"):
            reader.exec(text("UPDATE counter SET n = n + 1"))  # type: ignore[call-overload]
    engine.dispose()


def test_a_writer_session_holds_the_lock_from_its_first_read(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with Session(engine) as session:
        begin_write(session)
        assert not _other_writer_locked_out(tmp_path)  # nothing taken before the first statement
        n = session.exec(text("SELECT n FROM counter")).one()[0]  # type: ignore[call-overload]
        assert _other_writer_locked_out(tmp_path)  # the read already holds the write lock
        session.exec(text("UPDATE counter SET n = :n"), params={"n": n + 1})  # type: ignore[call-overload]
        session.commit()
    assert not _other_writer_locked_out(tmp_path)
    engine.dispose()


def test_a_read_only_session_leaves_writers_free(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with Session(engine) as session:
        session.exec(text("SELECT n FROM counter")).one()  # type: ignore[call-overload]
        assert not _other_writer_locked_out(tmp_path)
    engine.dispose()
