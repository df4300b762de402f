"""How the hot reads reach the database: long-lived connections, a memo on SQLite, batches on
PostgreSQL (`api.deps` re-exports these)."""

from __future__ import annotations

import asyncio
import contextlib
import queue
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar, cast

import anyio
import anyio.to_thread
import psycopg
import psycopg.errors
from fastapi import Request
from psycopg import pq
from sqlalchemy import Connection, Select, select, true
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError

from core.db import KeyedQuery, PreparedQuery
from core.models import READ_COUNTER_ID, ReadCounter

T = TypeVar("T")


class ReadPath:
    """How the hot read endpoints reach the database: long-lived autocommit connections.

    A read then costs one statement — no pool checkout, no pre-ping, no BEGIN/ROLLBACK round
    trips. SQLite is a local file read in microseconds, so its reads run on the event loop.
    PostgreSQL's prepared reads (`first`) wait on the network on the event loop too, over psycopg
    async connections (at most READ_CONNECTIONS; no thread hand-off per read); other reads
    (`run`) run in threads, at most READ_THREADS at once.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.inline = engine.dialect.name == "sqlite"
        self.on_loop = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        self._idle: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        self._idle_async: list[psycopg.AsyncConnection[Any]] = []
        self._gates: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
        self.limiter = anyio.CapacityLimiter(READ_THREADS)
        self.memo = ReadMemo(engine) if self.inline and _on_file(engine) else None
        self._batches: dict[Hashable, _Batch] = {}
        self._flushing: set[asyncio.Task[None]] = set()
        self._flights: dict[Hashable, asyncio.Semaphore] = {}
        self.version_memo = VersionMemo()
        self._with_version: dict[KeyedQuery, PreparedQuery] = {}

    def _take(self) -> Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def run(self, func: Callable[[Connection], T]) -> T:
        """Run a read on an idle connection; a dropped one is replaced and tried once more."""
        for attempt in (1, 2):
            connection = self._take()
            try:
                result = func(connection)
            except DBAPIError as exc:
                connection.invalidate()
                connection.close()
                if exc.connection_invalidated and attempt == 1:
                    continue
                raise
            except BaseException:
                self._idle.put(connection)
                raise
            self._idle.put(connection)
            return result
        raise AssertionError("unreachable")

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(READ_CONNECTIONS)
        return gate

    async def _take_async(self) -> psycopg.AsyncConnection[Any]:
        if self._idle_async:
            return self._idle_async.pop()
        url = self.engine.url.set(drivername="postgresql")
        return await psycopg.AsyncConnection.connect(
            url.render_as_string(hide_password=False), autocommit=True
        )

    async def first(self, query: PreparedQuery, **params: Any) -> dict[str, Any] | None:
        """A prepared query's first row; a dropped connection is replaced and tried once more."""
        if not self.on_loop:
            run = partial(query.first, **params)
            if self.inline:
                return self.run(run)
            return await anyio.to_thread.run_sync(self.run, run, limiter=self.limiter)
        async with self._gate():
            return await self._on_loop(query, params, query.first_async)

    async def _on_loop(
        self, query: PreparedQuery, params: dict[str, Any], read: Callable[..., Awaitable[T]]
    ) -> T:
        """`read` on an idle async connection (the caller holds the gate), once more on a fresh
        one if the connection had dropped."""
        for attempt in (1, 2):
            connection = await self._take_async()
            try:
                result = await read(connection, self.engine.dialect, **params)
            except psycopg.Error as exc:
                await connection.close()
                if connection.broken and attempt == 1:
                    continue
                raise DBAPIError.instance(
                    query.sql_for(self.engine.dialect), params, exc, psycopg.Error
                ) from exc
            except BaseException:
                await connection.close()  # cancelled mid-read: its state is unknown
                raise
            self._idle_async.append(connection)
            return result
        raise AssertionError("unreachable")

    async def first_keyed(self, query: KeyedQuery, key: Any) -> dict[str, Any] | None:
        """`query.one`'s row for `key`. On PostgreSQL the keys asked for together — in one turn
        of the event loop, or while BATCH_FLIGHTS batches are being answered — are read by one
        `query.many` (one round trip for them all, sent after every one of them was asked)."""
        if not self.on_loop:
            return await self.first(query.one, **{query.key: key})
        loop = asyncio.get_running_loop()
        row = await self._ask(loop, (loop, query), key, self._rows, query)
        return None if row is None else dict(row)  # each caller its own copy

    def first_derived(
        self, query: KeyedQuery, key: Any, derive: Callable[[Any, dict[str, Any] | None], T]
    ) -> asyncio.Future[Derived[T]]:
        """`derive(key, row)` of `query.one`'s row for `key`, kept in a memo while the database is
        unchanged (see `read_derived`; PostgreSQL on the loop only, batched as `first_keyed`),
        with the read counter's value it stands for.

        Each batch reads the read counter (`VersionMemo`): when every key of the batch is kept
        and the counter is where it was when the kept values were read, the batch costs that one
        small query and no row is read or derived; otherwise the rows are read with the counter,
        and each key's value derived once for all of its callers. The answer is the batch's
        future itself: no coroutine of its own per read.
        """
        if not self.on_loop:
            raise RuntimeError("first_derived reads on the event loop (PostgreSQL, psycopg)")
        loop = asyncio.get_running_loop()
        return self._ask(loop, (loop, query, derive), key, self._derived, query, derive)

    async def _rows(self, query: KeyedQuery, keys: list[Hashable]) -> dict[Hashable, Any]:
        rows = await self._on_loop(query.many, {"keys": keys}, query.many.all_async)
        return {row[query.key]: row for row in rows}

    async def _derived(
        self,
        query: KeyedQuery,
        derive: Callable[[Any, dict[str, Any] | None], Any],
        keys: list[Hashable],
    ) -> dict[Hashable, Derived[Any]]:
        memo = self.version_memo
        wanted = [(derive, key) for key in keys]
        if memo.version is not None and memo.covers(wanted):
            now = await self._on_loop(VERSION, {}, read_counter)
            # the memo may have moved on while the counter was read: compare with it as it is
            version = memo.version
            if now is not None and now[VERSION_COLUMN] == version and memo.covers(wanted):
                return {
                    key: Derived(memo.get(kept), None, version)
                    for key, kept in zip(keys, wanted, strict=True)
                }
        many = self._with_version.get(query)
        if many is None:
            many = self._with_version[query] = PreparedQuery(_with_version(query.many.statement))
        rows = await self._on_loop(many, {"keys": keys}, many.all_async)
        if not rows:  # no counter row (emptied by hand): read without keeping anything
            found = await self._rows(query, keys)
            return {key: _derive(derive, key, found.get(key), None) for key in keys}
        version = rows[0][VERSION_COLUMN]  # the counter's row, left-joined to the rows found
        found = {row[query.key]: row for row in rows if row[query.key] is not None}
        answers: dict[Hashable, Derived[Any]] = {}
        for key in keys:
            row = found.get(key)
            if row is not None:
                del row[VERSION_COLUMN]
            answer = answers[key] = _derive(derive, key, row, version)
            if answer.error is None:
                memo.put(version, (derive, key), answer.value)
        return answers

    def _ask(
        self,
        loop: asyncio.AbstractEventLoop,
        slot: Hashable,
        key: Hashable,
        answer: Callable[..., Awaitable[dict[Hashable, Any]]],
        *args: Any,
    ) -> asyncio.Future[Any]:
        """A future of `answer(*args, keys)[key]`, `keys` being every key asked for in `slot`
        together (on `loop`, the running one)."""
        batch = self._batches.get(slot)
        if batch is None or len(batch) >= BATCH_MAX:
            batch = self._batches[slot] = {}
            flush = loop.create_task(self._flush(slot, batch, partial(answer, *args)))
            self._flushing.add(flush)
            flush.add_done_callback(self._flushing.discard)
        waiter: asyncio.Future[Any] = loop.create_future()
        batch.setdefault(key, []).append(waiter)
        return waiter

    async def _flush(
        self,
        slot: Hashable,
        batch: _Batch,
        answer: Callable[[list[Hashable]], Awaitable[dict[Hashable, Any]]],
    ) -> None:
        def close() -> None:
            if self._batches.get(slot) is batch:
                del self._batches[slot]

        flights = self._flights.get(slot)
        if flights is None:
            flights = self._flights[slot] = asyncio.Semaphore(BATCH_FLIGHTS)
        try:
            async with flights, self._gate():
                close()  # the keys asked for from here on go to the next batch
                found = await answer(list(batch))
        except BaseException as exc:
            close()
            for waiters in batch.values():
                for waiter in waiters:
                    if not waiter.done():
                        if isinstance(exc, Exception):
                            waiter.set_exception(exc)
                        else:
                            waiter.cancel()
            if not isinstance(exc, Exception):
                raise
            return
        for key, waiters in batch.items():
            value = found.get(key)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(value)


@dataclass(frozen=True, slots=True)
class Derived(Generic[T]):
    """A value derived from a read (or what deriving it raised), and the read counter's value
    (PostgreSQL, `VersionMemo`) the read was made at: None where there is no counter."""

    value: T | None
    error: Exception | None
    version: int | None

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return cast(T, self.value)


def _derive(
    derive: Callable[[Any, dict[str, Any] | None], T],
    key: Any,
    row: dict[str, Any] | None,
    version: int | None,
) -> Derived[T]:
    """`derive(key, row)` (given its own copy of the row) as a Derived, what it raised included."""
    try:
        return Derived(derive(key, None if row is None else dict(row)), None, version)
    except Exception as exc:
        return Derived(None, exc, version)


VERSION_COLUMN = "netkeep_read_version"
_COUNTER = ReadCounter.__table__  # type: ignore[attr-defined]
VERSION = PreparedQuery(
    select(_COUNTER.c.value.label(VERSION_COLUMN)).where(_COUNTER.c.id == READ_COUNTER_ID)
)
"""The read counter (revision 0021_read_counter): it moves at every commit that changes a table
the hot device read depends on (device, ownership_event, api_token)."""


COUNTER_STATEMENT = b"netkeep_read_counter"
"""The name the read counter's query is prepared under on a read connection (`read_counter`)."""


async def read_counter(
    connection: psycopg.AsyncConnection[Any], dialect: Dialect
) -> dict[str, Any] | None:
    """VERSION's row, as `VERSION.first_async` answers it, spoken to libpq directly.

    The counter is read once per batch of kept device reads, the commonest query of the hot
    read: psycopg's cursor machinery (a cursor, its execute generator, its prepare bookkeeping)
    cost about three times the CPU of the query's own round trip. Here it is one prepared
    statement (named COUNTER_STATEMENT, prepared on the connection at its first use) sent and
    its one row read off the connection's socket. An error is raised as psycopg raises it.
    """
    pgconn = connection.pgconn
    results = await _pq_run(pgconn, COUNTER_STATEMENT)
    if (not results or results[0].status != pq.ExecStatus.TUPLES_OK) and _missing_statement(
        results
    ):
        # a new connection (or one whose statements were deallocated): prepare, then run
        _raise_unless(await _pq_prepare(pgconn, dialect), pq.ExecStatus.COMMAND_OK, connection)
        results = await _pq_run(pgconn, COUNTER_STATEMENT)
    _raise_unless(results, pq.ExecStatus.TUPLES_OK, connection)
    result = results[0]
    if result.ntuples == 0:
        return None
    value = result.get_value(0, 0)
    assert value is not None  # NOT NULL
    return {VERSION_COLUMN: int(value)}


async def _pq_run(pgconn: pq.abc.PGconn, name: bytes) -> list[pq.abc.PGresult]:
    pgconn.send_query_prepared(name, None)
    return await _pq_results(pgconn)


async def _pq_prepare(pgconn: pq.abc.PGconn, dialect: Dialect) -> list[pq.abc.PGresult]:
    sql = str(VERSION.statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    pgconn.send_prepare(COUNTER_STATEMENT, sql.encode())
    return await _pq_results(pgconn)


async def _pq_results(pgconn: pq.abc.PGconn) -> list[pq.abc.PGresult]:
    """Every result of the command just sent: flushed, then read as the socket has them."""
    loop = asyncio.get_running_loop()
    while pgconn.flush():  # a nonblocking connection that could not send it all at once
        await _ready(loop, pgconn.socket, write=True)
    results: list[pq.abc.PGresult] = []
    while True:
        await _ready(loop, pgconn.socket, write=False)
        pgconn.consume_input()  # psycopg.OperationalError if the connection is gone
        while not pgconn.is_busy():
            result = pgconn.get_result()
            if result is None:
                return results
            results.append(result)


async def _ready(loop: asyncio.AbstractEventLoop, fd: int, *, write: bool) -> None:
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    if write:
        loop.add_writer(fd, wake)
        try:
            await ready
        finally:
            loop.remove_writer(fd)
    else:
        loop.add_reader(fd, wake)
        try:
            await ready
        finally:
            loop.remove_reader(fd)


def _missing_statement(results: list[pq.abc.PGresult]) -> bool:
    return any(
        r.status == pq.ExecStatus.FATAL_ERROR
        and r.error_field(pq.DiagnosticField.SQLSTATE) == b"26000"  # invalid_sql_statement_name
        for r in results
    )


def _raise_unless(
    results: list[pq.abc.PGresult],
    status: pq.ExecStatus,
    connection: psycopg.AsyncConnection[Any],
) -> None:
    for result in results:
        if result.status != status:
            raise psycopg.errors.error_from_result(result, encoding=connection.info.encoding)
    if len(results) != 1:
        raise psycopg.InterfaceError(f"expected one result, got {len(results)}")


def _with_version(statement: Select[Any]) -> Select[Any]:
    """`statement`'s rows, each with the read counter; one row of NULLs and the counter when no
    row matches (one statement, so the rows are exactly what the counter's value stands for)."""
    rows = statement.subquery("rows")
    counter = (
        select(_COUNTER.c.value.label(VERSION_COLUMN))
        .where(_COUNTER.c.id == READ_COUNTER_ID)
        .subquery("counter")
    )
    return select(counter.c[VERSION_COLUMN], *rows.c).select_from(counter.outerjoin(rows, true()))


class VersionMemo:
    """PostgreSQL: values derived from reads, kept with the read counter's value they were read at.

    Every commit that changes a table the kept values derive from moves the counter, in the same
    transaction (revision 0021_read_counter), and the rows are read in one statement with it:
    while a fresh read of the counter finds the value a kept value was read at, the rows it was
    derived from are unchanged. Every kept value was read at `version`; a value read at another
    one replaces them all.
    """

    def __init__(self) -> None:
        self.version: int | None = None
        self._values: dict[Hashable, Any] = {}

    def get(self, key: Hashable) -> Any:
        return self._values.get(key)

    def covers(self, keys: Iterable[Hashable]) -> bool:
        """Whether every one of `keys` is kept (at `version`)."""
        return all(key in self._values for key in keys)

    def put(self, version: int, key: Hashable, value: Any) -> None:
        if version != self.version:
            self._values.clear()
            self.version = version
        elif len(self._values) >= MEMO_MAX:
            self._values.clear()
        self._values[key] = value


_Batch = dict[Hashable, list["asyncio.Future[Any]"]]
BATCH_MAX = 64
BATCH_FLIGHTS = 1
"""Batches of one query in flight at once: the next one fills while it is answered. One: every
read asked during a round trip waits for the next one, so batches are larger and round trips
fewer than with two in flight (under wrk, 16 connections, on the shared 2-core machine: 8-12
device reads per counter read against 6-9, varying with the load; server CPU per device read
185 -> 156 µs and 0.78 -> 0.91 of bare Starlette's requests/s in one run of 6 alternating
rounds), at the price of up to one more round trip of latency per read."""
READ_THREADS = 16
READ_CONNECTIONS = 8
MEMO_MAX = 4096


def _on_file(engine: Engine) -> bool:
    database = engine.url.database or ""
    return database not in ("", ":memory:") and not database.startswith("file:")


class ReadMemo:
    """Values derived from reads (a response body), kept while the database is unchanged.

    SQLite only, on a file: `PRAGMA data_version` on a connection of the memo's own (it never
    writes) moves whenever any other connection, in this process or another, commits; the memo
    is then emptied. A value computed from reads made after `generation()` is only kept if no
    change was seen since, so a kept value is never older than the database.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._values: dict[Hashable, Any] = {}
        self._version: int | None = None
        self._generation = 0
        self._probe: Any = None
        self._driver: Any = None
        self._fresh_on: asyncio.AbstractEventLoop | None = None

    def generation(self) -> int | None:
        """Check the database for changes (emptying the memo if any); None if it cannot tell.

        On an event loop a check is reused until a callback queued right after it runs: every
        request served before that was received before the check, so it still sees every
        commit made before its request arrived (requests coming together share one check).
        """
        loop = _running_loop()
        if loop is not None and self._fresh_on is loop:
            return self._generation
        try:
            if self._probe is None:
                self._probe = self.engine.raw_connection()
                self._driver = self._probe.driver_connection
            version = self._driver.execute("PRAGMA data_version").fetchone()[0]
        except Exception:  # a memo that cannot check is not used
            self._drop_probe()
            return None
        if version != self._version:
            self._values.clear()
            self._version = version
            self._generation += 1
        if loop is not None:
            self._fresh_on = loop
            loop.call_soon(self._expire, loop)
        return self._generation

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._fresh_on is loop:
            self._fresh_on = None

    def _drop_probe(self) -> None:
        probe, self._probe = self._probe, None
        self._fresh_on = None
        self._version = None
        self._values.clear()
        self._generation += 1
        if probe is not None:
            with contextlib.suppress(Exception):
                probe.invalidate()

    def get(self, key: Hashable) -> Any:
        return self._values.get(key)

    def put(self, generation: int, key: Hashable, value: Any) -> None:
        """Keep `value` (computed after `generation()` returned `generation`) if still valid."""
        if generation == self._generation:
            if len(self._values) >= MEMO_MAX:
                self._values.clear()
            self._values[key] = value


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def read_memo(request: Request) -> ReadMemo | None:
    """The app's read memo, if its database can tell it of changes (SQLite on a file)."""
    return getattr(request.app.state.read_path, "memo", None)


async def run_read(request: Request, func: Callable[[Connection], T]) -> T:
    """Run a read-only function with the app's read path (inline for SQLite, else a thread)."""
    path: ReadPath = request.app.state.read_path
    if path.inline:
        return path.run(func)
    return await anyio.to_thread.run_sync(path.run, func, limiter=path.limiter)


async def read_first(
    request: Request, query: PreparedQuery, **params: Any
) -> dict[str, Any] | None:
    """A prepared query's first row through the app's read path (PostgreSQL: on the loop)."""
    path: ReadPath = request.app.state.read_path
    if getattr(path, "on_loop", False):
        return await path.first(query, **params)
    return await run_read(request, partial(query.first, **params))


async def read_keyed(request: Request, query: KeyedQuery, key: Any) -> dict[str, Any] | None:
    """`query.one`'s row for `key` through the app's read path (PostgreSQL: batched on the loop)."""
    path: ReadPath = request.app.state.read_path
    if getattr(path, "on_loop", False):
        return await path.first_keyed(query, key)
    return await run_read(request, partial(query.one.first, **{query.key: key}))


async def read_derived(
    request: Request, query: KeyedQuery, key: Any, derive: Callable[[Any, dict[str, Any] | None], T]
) -> T:
    """`derive(key, row)` for `query.one`'s row for `key` (None if there is none), kept while the
    database is unchanged: SQLite on a file by `ReadMemo`, PostgreSQL by `VersionMemo` (a kept
    value costs one read of the counter per batch); elsewhere computed every time.

    `derive` must be a module-level function (it names the kept values) returning an immutable,
    non-None value (one object is served to every caller); raising (NotFound) keeps nothing.
    """
    return (await read_derived_at(request, query, key, derive)).result()


def read_derived_at(
    request: Request, query: KeyedQuery, key: Any, derive: Callable[[Any, dict[str, Any] | None], T]
) -> Awaitable[Derived[T]]:
    """`read_derived`, with the read counter's value the value stands for (PostgreSQL)."""
    path: ReadPath = request.app.state.read_path
    if getattr(path, "on_loop", False):
        return path.first_derived(query, key, derive)
    return _read_derived_elsewhere(request, query, key, derive)


async def _read_derived_elsewhere(
    request: Request, query: KeyedQuery, key: Any, derive: Callable[[Any, dict[str, Any] | None], T]
) -> Derived[T]:
    """`read_derived_at` off the loop: SQLite's memo on a file, else a read every time."""
    memo = read_memo(request)
    generation = memo.generation() if memo is not None else None
    if generation is not None:
        assert memo is not None
        kept = memo.get((derive, key))
        if kept is not None:
            return Derived(kept, None, None)
    value = derive(key, await read_keyed(request, query, key))
    if generation is not None:
        assert memo is not None
        memo.put(generation, (derive, key), value)
    return Derived(value, None, None)
