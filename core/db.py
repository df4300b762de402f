"""Engines and sessions for SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Connection, MetaData, Select, event
from sqlalchemy.engine import Dialect, Engine
from sqlmodel import Session, SQLModel, create_engine

from core.keys import private_file

if TYPE_CHECKING:
    from psycopg import AsyncConnection

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


def metadata() -> MetaData:
    """Every table of netkeep, with all model modules imported."""
    import_models()
    return SQLModel.metadata


def import_models() -> None:
    """Import every models module so their tables are registered on the metadata."""
    import changes.models  # noqa: F401
    import core.models  # noqa: F401
    import dashboard.models  # noqa: F401
    import helpdesk.models  # noqa: F401
    import inventory.models  # noqa: F401
    import monitoring.models  # noqa: F401
    import provisioning.models  # noqa: F401
    import rma.models  # noqa: F401
    import sla.models  # noqa: F401
    import survey.models  # noqa: F401
    import vpn.models  # noqa: F401
    import web.models  # noqa: F401


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, issue BEGIN, so SAVEPOINTs behave (SQLAlchemy's recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class GatedConnection(sqlite3.Connection):
    """A SQLite connection whose writer transactions pass this process's gate for its file.

    SQLite lets one writer in at a time; a connection that finds the lock taken sleeps in its
    busy handler (1, 2, 5 … then 100 ms at a time) and notices a release only when it wakes, so
    threads of one process writing to one file in short transactions spend most of their time
    asleep while the lock is free (a rollout's organizations, each journalling every step, ran
    at a fraction of their dashboard budgets). Writers of this process therefore queue on a
    `threading.Lock` per file instead, taken before `BEGIN IMMEDIATE` and released as soon as
    the transaction commits or rolls back, so the next one is woken at once. Other processes
    still meet SQLite's own lock and busy timeout; a gate not had within the timeout leaves
    the decision to SQLite, as before.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate_timeout = float(kwargs.get("timeout", args[1] if len(args) > 1 else 5.0))
        self.gate: threading.Lock | None = None

    def enter_gate(self, gate: threading.Lock, timeout: float | None = None) -> None:
        wait = self.gate_timeout if timeout is None else timeout
        if self.gate is None and gate.acquire(timeout=wait):
            self.gate = gate

    def leave_gate(self) -> None:
        gate, self.gate = self.gate, None
        if gate is not None:
            gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_gate()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_gate()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave_gate()


_GATES: dict[str, threading.Lock] = {}
_GATES_LOCK = threading.Lock()


@lru_cache(maxsize=64)
def _writer_gate(database: str | None) -> threading.Lock | None:
    """This process's gate for writers of one SQLite file (None: in memory, no file)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = os.path.realpath(database)
    with _GATES_LOCK:
        return _GATES.setdefault(path, threading.Lock())


def _sqlite_begin(connection: Any) -> None:
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    if not options.get(_IMMEDIATE):
        connection.exec_driver_sql("BEGIN")
        return
    driver = connection.connection.dbapi_connection
    gate = _writer_gate(connection.engine.url.database)
    if gate is not None and isinstance(driver, GatedConnection):
        driver.enter_gate(gate, options.get(_GATE_WAIT))
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if isinstance(driver, GatedConnection):
            driver.leave_gate()
        raise


_IMMEDIATE = "netkeep_sqlite_immediate"
_GATE_WAIT = "netkeep_sqlite_gate_wait"


def writer_engine(engine: Engine) -> Engine:
    """The engine for sessions that write from several threads at once.

    On SQLite each transaction takes the write lock at BEGIN (waiting up to the busy timeout)
    instead of failing when another thread committed after it had read. Other databases are
    unaffected.
    """
    return engine.execution_options(**{_IMMEDIATE: True})


def patient_writer_engine(engine: Engine, wait: float = 300.0) -> Engine:
    """`writer_engine` for background work with many writer threads (a rollout's organizations):
    on SQLite a transaction queues up to `wait` seconds for this process's writer gate instead
    of the request-sized LOCK_WAIT_SECONDS (fifty organizations starting their jobs at once
    queue longer than that on a busy machine). Other processes still meet SQLite's busy
    timeout; other databases are unaffected."""
    return writer_engine(engine).execution_options(**{_GATE_WAIT: wait})


def begin_write(session: Session) -> None:
    """Make the session's transactions writers': on SQLite they open with `BEGIN IMMEDIATE`.

    The write lock is then taken (waiting up to LOCK_WAIT_SECONDS) at the transaction's first
    statement, before its first read, so it never has to upgrade a read snapshot into a write:
    the upgrade SQLite refuses at once ("database is locked") when another writer committed in
    between. The lock is taken lazily, so a request's authentication runs before it queues.
    A session bound to a connection (tests) is left as it is.
    """
    if isinstance(session.bind, Engine) and not session.in_transaction():
        session.bind = _writer_of(session.bind)


@lru_cache(maxsize=16)
def _writer_of(engine: Engine) -> Engine:
    return writer_engine(engine)


LOCK_WAIT_SECONDS = 10
"""How long a statement waits for a lock (SQLite busy timeout, PostgreSQL lock_timeout)."""


def _postgres_lock_timeout(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = '{LOCK_WAIT_SECONDS}s'")
    dbapi_connection.commit()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets its private file and directory, WAL and foreign keys."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            private_file(Path(path))  # 0600 in a 0700 directory; SQLite's -wal/-shm follow it
        kwargs["connect_args"] = {
            "check_same_thread": False,
            "timeout": LOCK_WAIT_SECONDS,
            "factory": GatedConnection,
            **kwargs.get("connect_args", {}),
        }
        # Every API worker thread may hold a connection while it queues for the write lock.
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 40)
        kwargs.setdefault("pool_timeout", LOCK_WAIT_SECONDS)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _postgres_lock_timeout)
    return engine


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per URL per process.

    It does not import every table: a CLI command loads only the models modules it uses (each
    imports the modules its foreign keys point to), which keeps start-up short. `metadata()`
    has them all for Alembic and the checks.
    """
    return make_engine(url)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def bulk_insert(session: Session, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Insert many rows in the session's transaction: COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        for start in range(0, len(rows), 5000):
            connection.execute(table.insert(), rows[start : start + 5000])
        return
    columns = [c.name for c in table.columns if c.name in rows[0]]
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    driver = connection.connection.driver_connection
    assert driver is not None
    quoted = ", ".join(f'"{c}"' for c in columns)
    with (
        driver.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row.get(c), ensure_ascii=False) if c in json_columns else row.get(c)
                    for c in columns
                ]
            )


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    positions: tuple[str, ...] | None
    defaults: dict[str, Any]
    names: list[str]
    converters: list[tuple[str, Any]]


class PreparedQuery:
    """A SELECT compiled once per dialect and run on the driver's cursor: for the hottest reads.

    It skips SQLAlchemy's per-execution work but keeps its type processing, so values come back
    exactly as a Core query would return them.
    """

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._prepared: dict[str, _Prepared] = {}

    def _prepare(self, dialect: Dialect) -> _Prepared:
        compiled = self.statement.compile(dialect=dialect)
        columns = list(self.statement.selected_columns)
        return _Prepared(
            sql=str(compiled),
            positions=tuple(compiled.positiontup) if compiled.positiontup else None,
            defaults={name: bind.effective_value for name, bind in compiled.binds.items()},
            names=[str(c.key) for c in columns],
            converters=[
                (str(c.key), proc)
                for c in columns
                if (proc := c.type.dialect_impl(dialect).result_processor(dialect, None))
            ],
        )

    def _for(self, dialect: Dialect) -> _Prepared:
        prepared = self._prepared.get(dialect.name)
        if prepared is None:
            prepared = self._prepared[dialect.name] = self._prepare(dialect)
        return prepared

    def sql_for(self, dialect: Dialect) -> str:
        """The SQL this query runs on `dialect` (for error reports)."""
        return self._for(dialect).sql

    @staticmethod
    def _args(prepared: _Prepared, params: dict[str, Any]) -> Any:
        values = prepared.defaults | params
        positions = prepared.positions
        return tuple(values[p] for p in positions) if positions is not None else values

    @staticmethod
    def _values(prepared: _Prepared, row: Any) -> dict[str, Any] | None:
        if row is None:
            return None
        values = dict(zip(prepared.names, row, strict=True))
        for name, proc in prepared.converters:  # only the columns whose type converts
            value = values[name]
            if value is not None:
                values[name] = proc(value)
        return values

    def first(self, connection: Connection, **params: Any) -> dict[str, Any] | None:
        """The first row as a dict of column key → value, or None."""
        prepared = self._for(connection.dialect)
        driver = connection.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            cursor.execute(prepared.sql, self._args(prepared, params))
            row = cursor.fetchone()
        finally:
            cursor.close()
        return self._values(prepared, row)

    async def first_async(
        self, connection: AsyncConnection[Any], dialect: Dialect, **params: Any
    ) -> dict[str, Any] | None:
        """`first` on a psycopg async connection (PostgreSQL, read on the event loop)."""
        prepared = self._for(dialect)
        async with connection.cursor() as cursor:
            await cursor.execute(prepared.sql, self._args(prepared, params))
            row = await cursor.fetchone()
        return self._values(prepared, row)

    async def all_async(
        self, connection: AsyncConnection[Any], dialect: Dialect, **params: Any
    ) -> list[dict[str, Any]]:
        """Every row, on a psycopg async connection."""
        prepared = self._for(dialect)
        async with connection.cursor() as cursor:
            await cursor.execute(prepared.sql, self._args(prepared, params))
            rows = await cursor.fetchall()
        return [values for row in rows if (values := self._values(prepared, row)) is not None]


@dataclass(frozen=True, eq=False)
class KeyedQuery:
    """A row by one key (`one`, parameter `key`), and the same for many keys at once (`many`,
    parameter `keys`, a list): concurrent reads of `one` may be answered by one `many`."""

    one: PreparedQuery
    many: PreparedQuery
    key: str
