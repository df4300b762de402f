"""Why SQLite writers queue instead of failing: a writer's transaction takes the lock first."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from core.db import _writer_gate, begin_write, make_engine, patient_writer_engine, writer_engine


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


# --- writers of one process queue on a gate -----------------------------------------------------
# SQLite's busy handler sleeps 1, 2, 5 … then 100 ms at a time and notices a free lock only when
# it wakes; threads of one process writing one file (a rollout's organizations) queue instead on
# a lock of the process per file (`core.db.GatedConnection`), taken before BEGIN IMMEDIATE and
# released when the transaction ends, so the next writer goes at once.


def _gate(tmp_path: Path) -> threading.Lock:
    gate = _writer_gate(str(tmp_path / "w.db"))
    assert gate is not None
    return gate


def test_a_writer_transaction_holds_the_gate_until_it_ends_however_it_ends(
    tmp_path: Path,
) -> None:
    engine = _engine(tmp_path)
    gate = _gate(tmp_path)
    for end in ("commit", "rollback", "close"):
        session = Session(engine)
        begin_write(session)
        assert not gate.locked()  # taken lazily, with the transaction's first statement
        session.exec(text("UPDATE counter SET n = n + 1"))  # type: ignore[call-overload]
        assert gate.locked(), end
        getattr(session, end)()
        assert not gate.locked(), end
    with Session(engine) as reader:  # a plain transaction (a reader) never takes it
        reader.exec(text("SELECT n FROM counter")).one()  # type: ignore[call-overload]
        assert not gate.locked()
    engine.dispose()


def test_a_second_writer_of_the_process_waits_for_the_first_then_writes(tmp_path: Path) -> None:
    """SQLite's own busy timeout is 0 here, so without the gate the second writer would fail
    with "database is locked" at once; it waits its turn on the gate instead, then writes."""
    engine = _engine(tmp_path)
    engine.dispose()

    def no_busy_wait(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 0")

    event.listen(engine, "connect", no_busy_wait)
    first_holds, second_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        first_holds.wait()
        try:
            with Session(engine) as session:
                begin_write(session)
                session.exec(text("UPDATE counter SET n = n * 10"))  # type: ignore[call-overload]
                session.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)
        second_done.set()

    worker = threading.Thread(target=second)
    worker.start()
    with Session(engine) as session:
        begin_write(session)
        session.exec(text("UPDATE counter SET n = n + 1"))  # type: ignore[call-overload]
        # the other writer's connection would now fail at once in SQLite's busy handler
        driver = sqlite3.connect(tmp_path / "w.db", timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            driver.execute("BEGIN IMMEDIATE")
        driver.close()
        first_holds.set()
        assert not second_done.wait(0.3)  # queued behind this transaction, not failed
        session.commit()
    worker.join(10)
    assert errors == [] and second_done.is_set()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar_one() == 10  # (0+1)*10
    engine.dispose()


def test_a_database_in_memory_has_no_gate() -> None:
    assert _writer_gate(":memory:") is None
    assert _writer_gate(None) is None


def test_a_patient_writer_waits_past_the_request_sized_lock_wait(tmp_path: Path) -> None:
    """Background writers (a rollout's organizations, fifty starting at once) queue for the
    process's writer gate as long as they are allowed to, where a request-sized writer gives up:
    with another writer of the process holding the lock for 1.5 s, a writer allowed 0.3 s fails
    with "locked" and a patient one allowed 10 s writes once the lock is free."""
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}", connect_args={"timeout": 0.3})
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
    hasty, patient = writer_engine(engine), patient_writer_engine(engine, wait=10.0)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with Session(hasty) as session:
            session.exec(text("UPDATE counter SET n = n + 1"))  # type: ignore[call-overload]
            holding.set()
            release.wait(5)
            session.commit()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(5)
    with Session(hasty) as session, pytest.raises(OperationalError, match="locked"):
        session.exec(text("UPDATE counter SET n = n + 10"))  # type: ignore[call-overload]
    threading.Timer(1.5, release.set).start()
    with Session(patient) as session:
        session.exec(text("UPDATE counter SET n = n + 100"))  # type: ignore[call-overload]
        session.commit()
    holder.join(5)
    with Session(engine) as session:
        assert session.exec(text("SELECT n FROM counter")).one()[0] == 101  # type: ignore[call-overload]
    engine.dispose()
