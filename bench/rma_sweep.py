"""Benchmark the RMA sweep and the logistics views (run by hand; prints figures).

    .venv/bin/python bench/rma_sweep.py                # PostgreSQL, 1,000,000 RMAs, 1% overdue
    .venv/bin/python bench/rma_sweep.py --rows 100000  # smaller
    .venv/bin/python bench/rma_sweep.py --db sqlite    # the same rows in a SQLite file
    .venv/bin/python bench/rma_sweep.py --runs 3       # PostgreSQL: 3 first sweeps, one load

On PostgreSQL rows are bulk-loaded with COPY into a dedicated schema of database `test`
(127.0.0.1:5432, user postgres); on SQLite into a file in a temporary directory. Either is
dropped afterwards unless --keep is given.

With --runs N (PostgreSQL) the rows are loaded once into a database of their own,
`bench_rma_<rows>`, and every run sweeps a fresh copy of it (CREATE DATABASE ... TEMPLATE,
file copy, then the migrations to head and ANALYZE as after a load): N first sweeps of the same
rows for the price of one load. --reuse keeps that loaded database for the next invocation (and
uses it when it exists): the loaded rows do not depend on the code, and a newer migration is
applied to each copy before it is swept.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session

from core import migrate
from core.audit import Actor
from core.db import make_engine
from inventory.catalogue_defaults import seed_catalogue
from rma import views
from rma.domain import RmaStatus
from rma.sweep import sweep

DSN = "postgresql://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # Friday 12:00 JST
BENCH = Actor(name="bench", role="admin")
MODELS = ("MX67", "MX68", "MX75", "MR36", "MR44", "Z4")
WAITING = ("shipped", "swapped", "pickup_requested")
# Share of rows per state besides the overdue 1%: most RMAs are long closed.
MIX = (
    ("closed", 0.86),
    ("resolved_remotely", 0.06),
    ("waiting", 0.03),  # shipped/swapped/pickup_requested, not yet due
    ("charged", 0.02),
    ("open", 0.005),
    ("replacement_needed", 0.005),
    ("replacement_reserved", 0.005),
    ("exception", 0.005),
)


def timed(label: str, func: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = func()
    print(f"  {label:<44} {time.perf_counter() - start:8.3f} s")
    return result


Rows = list[tuple[Any, ...]]


def generate(rows: int, overdue_share: float) -> tuple[Rows, Rows, Rows, int]:
    """Device, RMA and charge rows (`rows` of each but charges) and the overdue count."""
    rng = random.Random(6)
    today = NOW.date()
    overdue_n = int(rows * overdue_share)
    states: list[str] = ["overdue"] * overdue_n
    for name, share in MIX:
        states += [name] * int(rows * share)
    states += ["closed"] * (rows - len(states))
    rng.shuffle(states)
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    devices: Rows = []
    for i in range(rows):
        state = states[i]
        status = (
            "in_rma"
            if state in ("overdue", "waiting")
            else "lost"
            if state == "charged"
            else "failed"
            if state in ("open", "replacement_needed", "replacement_reserved")
            else "disposed"
        )
        serial = f"QBEN-{i // 10000:04d}-{i % 10000:04d}"
        devices.append((i + 1, serial, MODELS[i % len(MODELS)], status, "", stamp, stamp))
    rmas: Rows = []
    charges: Rows = []
    for i in range(rows):
        state = states[i]
        age = rng.randint(0, 900)
        shipped = NOW - timedelta(days=age + 31)
        due: date | None = shipped.date() + timedelta(days=31)
        status = state
        if state == "overdue":
            status = WAITING[i % 3]
            due = today - timedelta(days=rng.randint(1, 60))
        elif state == "waiting":
            status = WAITING[i % 3]
            due = today + timedelta(days=rng.randint(0, 30))
        elif state in ("open", "replacement_needed", "replacement_reserved", "resolved_remotely"):
            due = None
        if state == "charged":
            assert due is not None
            issued = datetime.combine(due + timedelta(days=1), datetime.min.time(), UTC)
            charges.append((i + 1, MODELS[i % len(MODELS)], 128_000, 12_800, 140_800, issued))
        closed = shipped + timedelta(days=10) if state == "closed" else None
        rmas.append(
            (
                i + 1,
                status,
                None,
                i + 1,
                f"QBEN-{i // 10000:04d}-{i % 10000:04d}",
                MODELS[i % len(MODELS)],
                "no power",
                "bench",
                shipped - timedelta(days=1),
                "",
                False,
                shipped if due else None,
                due,
                False,
                closed,
                stamp,
                stamp,
            )
        )
    return devices, rmas, charges, overdue_n


DEVICE_COLUMNS = "id, serial, model, status, notes, created_at, updated_at"
RMA_COLUMNS = (
    "id, status, waiting_status, failed_device_id, failed_serial, failed_model, symptom, "
    "reporter, reported_at, decision_note, substitution, shipped_at, due_date, late_arrival, "
    "closed_at, created_at, updated_at"
)
CHARGE_COLUMNS = "rma_id, model, net_yen, tax_yen, total_yen, issued_at"


def load_postgres(schema: str, rows: int, overdue_share: float, dsn: str = DSN) -> int:
    """COPY `rows` devices and RMAs (and charges for the already charged); returns overdue count."""
    devices, rmas, charges, overdue_n = generate(rows, overdue_share)
    with psycopg.connect(dsn, options=f"-csearch_path={schema}") as conn:
        with conn.cursor() as cur:
            for table, columns, data in (
                ("device", DEVICE_COLUMNS, devices),
                ("rma", RMA_COLUMNS, rmas),
                ("rma_damage_charge", CHARGE_COLUMNS, charges),
            ):
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in data:
                        copy.write_row(row)
            cur.execute(f"SELECT setval('device_id_seq', {rows})")
            cur.execute(f"SELECT setval('rma_id_seq', {rows})")
        conn.commit()
        conn.autocommit = True
        for table in ("device", "rma", "rma_damage_charge"):
            conn.execute(f"ANALYZE {table}")
    return overdue_n


def _sqlite_value(value: Any) -> Any:
    """A value as SQLAlchemy stores it in SQLite (naive UTC text with microseconds, 0/1)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def load_sqlite(path: Path, rows: int, overdue_share: float) -> int:
    """Insert the same rows into the SQLite file; returns the overdue count."""
    devices, rmas, charges, overdue_n = generate(rows, overdue_share)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")  # a scratch file: loading speed only
    try:
        for table, columns, data in (
            ("device", DEVICE_COLUMNS, devices),
            ("rma", RMA_COLUMNS, rmas),
            ("rma_damage_charge", CHARGE_COLUMNS, charges),
        ):
            marks = ", ".join("?" for _ in columns.split(","))
            conn.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                ([_sqlite_value(v) for v in row] for row in data),
            )
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()
    return overdue_n


def trace_slow_statements(engine: Any, threshold_s: float = 0.05) -> None:
    """Print each statement that takes longer than `threshold_s` (its first words)."""
    from sqlalchemy import event

    starts: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _before(*_: Any) -> None:
        starts.append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(_conn: Any, _cursor: Any, statement: str, *__: Any) -> None:
        took = time.perf_counter() - starts.pop()
        if took > threshold_s:
            print(f"      {took:7.3f} s  {' '.join(statement.split())[:90]}")


class Breakdown:
    """Time per kind of statement (its first words) while `on`, summed over the sweep's batches.

    On a PostgreSQL server on this machine it also reads the backend's CPU time and its time
    waiting for a CPU from /proc: on a shared machine the wall time is mostly the latter.
    """

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.on = False
        self.rows: dict[str, list[float]] = {}
        self._start: tuple[float, float, float] | None = None
        self._pid: int | None = None

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn: Any, *_: Any) -> None:
            if self.on:
                self._start = (time.perf_counter(), *self._server(conn))

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn: Any, _cursor: Any, statement: str, *__: Any) -> None:
            if not self.on or self._start is None:
                return
            wall, cpu, queued = self._start
            now_cpu, now_queued = self._server(conn)
            row = self.rows.setdefault(" ".join(statement.split()[:3])[:32], [0, 0.0, 0.0, 0.0])
            row[0] += 1
            row[1] += time.perf_counter() - wall
            row[2] += now_cpu - cpu
            row[3] += now_queued - queued
            self._start = None

    def _server(self, conn: Any) -> tuple[float, float]:
        """The local backend's CPU seconds and seconds spent waiting for a CPU (0, 0 if remote)."""
        if conn.dialect.name != "postgresql":
            return 0.0, 0.0
        pid = conn.connection.dbapi_connection.info.backend_pid
        try:
            with open(f"/proc/{pid}/stat") as stat, open(f"/proc/{pid}/schedstat") as sched:
                fields = stat.read().rsplit(")", 1)[1].split()
                waited = int(sched.read().split()[1]) / 1e9
        except OSError:
            return 0.0, 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), waited

    def print(self, server: bool) -> None:
        """One line per kind of statement; the backend's CPU and queueing with `server`."""
        head = f"    {'statement':<34} {'count':>5} {'wall s':>8}"
        print(head + (f" {'db cpu s':>9} {'db queued s':>12}" if server else ""))
        rows = [
            *self.rows.items(),
            ("all", [sum(r[i] for r in self.rows.values()) for i in range(4)]),
        ]
        for label, (count, wall, cpu, queued) in rows:
            line = f"    {label:<34} {count:5.0f} {wall:8.3f}"
            print(line + (f" {cpu:9.2f} {queued:12.2f}" if server else ""))


def run_sweep(engine: Any) -> Any:
    with Session(engine, expire_on_commit=False) as session:
        report = sweep(session=session, actor=BENCH, now=NOW)
        session.commit()
    return report


def measure_sweep(engine: Any, overdue_n: int, server: bool) -> float:
    """The first sweep (timed, with its breakdown) and a repeated one; the first's seconds."""
    breakdown = Breakdown(engine)
    breakdown.on = True
    start = time.perf_counter()
    first = run_sweep(engine)
    took = time.perf_counter() - start
    breakdown.on = False
    print(f"  {'sweep, first run':<44} {took:8.3f} s")
    breakdown.print(server=server)
    print(
        f"    overdue {len(first.overdue):,}, charged {len(first.charged):,} "
        f"(expected {overdue_n:,}), billed ¥{first.total_yen:,}"
    )
    second = timed("sweep, repeated run", lambda: run_sweep(engine))
    print(f"    overdue {len(second.overdue)}, charged {len(second.charged)} (must be 0, 0)")
    assert len(first.charged) == overdue_n and not second.charged and not second.overdue
    return took


def measure_views(engine: Any) -> None:
    with Session(engine) as session:
        counts = timed("view: open by state", lambda: views.open_by_state(session=session))
        print(f"    {counts}")
        week = timed(
            "view: due this week (Tokyo)", lambda: views.due_this_week(session=session, now=NOW)
        )
        print(f"    {len(week):,} rows")
        late = timed("view: overdue (first 1,000)", lambda: views.overdue(session=session, now=NOW))
        print(f"    {len(late):,} rows")
        month = timed(
            "view: charges issued this month",
            lambda: views.charges_in_month(session=session, now=NOW, limit=20_000),
        )
        print(f"    {len(month):,} rows")
        page = timed(
            "list: status=exception page 1 + count",
            lambda: views.list_rmas(session=session, status=RmaStatus.EXCEPTION, limit=100),
        )
        print(f"    total {page.total:,}")
        exported = timed(
            "CSV export of charged RMAs",
            lambda: sum(
                1 for _ in views.export_rows(session=session, status=RmaStatus.CHARGED, chunk=5000)
            ),
        )
        print(f"    {exported - 1:,} rows")


def load_into(url: str, load: Callable[[], int], label: str, trace: bool) -> tuple[Any, int]:
    """Migrate the empty database at `url`, seed the catalogue, load the rows: (engine, overdue)."""
    timed("migrate", lambda: migrate.upgrade(url))
    engine = make_engine(url)
    if trace:
        trace_slow_statements(engine)
    with Session(engine) as session:
        seed_catalogue(session=session, actor=BENCH)
        session.commit()
    return engine, timed(label, load)


def pg_database_url(database: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"


def runs_from_template(args: argparse.Namespace) -> None:
    """Load once into database bench_rma_<rows>, then sweep a fresh copy of it per run."""
    template = f"bench_rma_{args.rows}"
    copy = f"{template}_run"
    with psycopg.connect(DSN, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (template,)
        ).fetchone()
        if exists and not args.reuse:
            conn.execute(f'DROP DATABASE "{template}"')
        if not exists or not args.reuse:
            conn.execute(f'CREATE DATABASE "{template}" TEMPLATE template0')
            exists = None
    overdue_n = int(args.rows * args.overdue)
    if exists:
        print(
            f"PostgreSQL database {template} reused: {args.rows:,} RMAs, {args.overdue:.1%} overdue"
        )
    else:
        print(f"PostgreSQL database {template}: {args.rows:,} RMAs, {args.overdue:.1%} overdue")
        dsn = DSN.rsplit("/", 1)[0] + f"/{template}"
        engine, overdue_n = load_into(
            pg_database_url(template),
            lambda: load_postgres("public", args.rows, args.overdue, dsn=dsn),
            "COPY devices, RMAs, charges + ANALYZE",
            args.trace,
        )
        engine.dispose()
    seconds: list[float] = []
    url, copy_dsn = pg_database_url(copy), DSN.rsplit("/", 1)[0] + f"/{copy}"
    try:
        for run in range(1, args.runs + 1):
            with psycopg.connect(DSN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{copy}"')
                timed(
                    f"run {run}: copy of {template}",
                    lambda: conn.execute(
                        f'CREATE DATABASE "{copy}" TEMPLATE "{template}" STRATEGY FILE_COPY'
                    ),
                )
            timed(f"run {run}: migrate to head", lambda: migrate.upgrade(url))
            with psycopg.connect(copy_dsn, autocommit=True) as conn:
                timed(f"run {run}: ANALYZE", lambda: conn.execute("ANALYZE"))
            engine = make_engine(url)
            if args.trace:
                trace_slow_statements(engine)
            print(f"  run {run}, load average {os.getloadavg()[0]:.2f}")
            seconds.append(measure_sweep(engine, overdue_n, server=True))
            if run == args.runs:
                measure_views(engine)
            engine.dispose()
        print(f"first sweeps: {', '.join(f'{s:.2f}' for s in seconds)} s")
    finally:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{copy}"')
            if not args.reuse:
                conn.execute(f'DROP DATABASE IF EXISTS "{template}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--overdue", type=float, default=0.01, help="share overdue (0.01 = 1%%)")
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--trace", action="store_true", help="print statements over 50 ms")
    parser.add_argument("--runs", type=int, default=0, help="PostgreSQL: N first sweeps, 1 load")
    parser.add_argument("--reuse", action="store_true", help="with --runs: keep the loaded rows")
    args = parser.parse_args()
    if args.runs:
        if args.db != "postgresql":
            parser.error("--runs needs PostgreSQL")
        runs_from_template(args)
        return
    schema = f"bench_rma_{args.rows}"
    scratch = Path(tempfile.mkdtemp(prefix="netkeep-bench-"))
    if args.db == "sqlite":
        db_file = scratch / "bench.db"
        url = f"sqlite:///{db_file}"
        print(f"SQLite {db_file}: {args.rows:,} RMAs, {args.overdue:.1%} overdue")
    else:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
        print(f"PostgreSQL schema {schema}: {args.rows:,} RMAs, {args.overdue:.1%} overdue")
    try:
        if args.db == "sqlite":
            engine, overdue_n = load_into(
                url,
                lambda: load_sqlite(db_file, args.rows, args.overdue),
                "INSERT devices, RMAs, charges + ANALYZE",
                args.trace,
            )
        else:
            engine, overdue_n = load_into(
                url,
                lambda: load_postgres(schema, args.rows, args.overdue),
                "COPY devices, RMAs, charges + ANALYZE",
                args.trace,
            )
        measure_sweep(engine, overdue_n, server=args.db == "postgresql")
        measure_views(engine)
        engine.dispose()
    finally:
        if args.keep:
            print(f"kept: {url}")
        elif args.db == "sqlite":
            shutil.rmtree(scratch)
        else:
            with psycopg.connect(DSN, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
