"""Benchmark the /ui pages' server time against the JSON API over the same data (run by hand).

    .venv/bin/python bench/ui_pages.py                    # PostgreSQL, 100,000 RMAs
    .venv/bin/python bench/ui_pages.py --db sqlite        # the same rows in a SQLite file
    .venv/bin/python bench/ui_pages.py --samples 500 --only board

The RMAs (mostly closed, a few percent waiting, overdue or charged) are loaded as
`bench/rma_sweep.py` loads them, then given customers and sites to search by. The whole app
(API and pages) runs in this process; each measure is taken `--samples` times after a warm-up,
one request at a time, round robin over the measures (so a burst of load from elsewhere falls on
all alike), and its **server time** (from the ASGI call to the response's last byte, without
the client) is reported as p50/p99/max, with the p50 of this process's CPU time per request
(the Python side, less sensitive to other processes; the database's time is not in it).

Measures are a list (`MEASURES`): a page or API route is `Page(name, kind, path)`; anything else
that yields one duration per run (e.g. the field page's scan → verified on the sandbox) is a
`Measure` with a `run(bench) -> seconds` function. Add yours to the list.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from bench.rma_sweep import BENCH, DSN, load_postgres, load_sqlite  # rma_sweep.py's loader
from core import auth, migrate
from core.auth import Role
from core.db import make_engine
from core.settings import Settings
from inventory.catalogue_defaults import seed_catalogue

CUSTOMERS = 500
SITES_PER_CUSTOMER = 4


class ServerTime:
    """The app wrapped to time each request from the ASGI call until its response is sent."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0
        self.last_cpu = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        start, cpu = time.perf_counter(), time.process_time()
        await self.app(scope, receive, send)
        self.last = time.perf_counter() - start
        self.last_cpu = time.process_time() - cpu


@dataclass
class Bench:
    """What a measure may use: the timed app's clients, signed in, and the database."""

    timer: ServerTime
    web: TestClient  # signed in to /ui as a logistics clerk
    api: TestClient  # carrying a logistics API token
    engine: Any
    args: argparse.Namespace


@dataclass
class Measure:
    name: str
    run: Callable[[Bench], float]  # one sample: seconds
    samples: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # this process's CPU seconds, if known


def Page(name: str, kind: str, path: str) -> Measure:
    """A GET of `path` by the web (`kind="web"`) or API client; its server time."""

    def run(bench: Bench) -> float:
        client = bench.web if kind == "web" else bench.api
        answer = client.get(path)
        if answer.status_code != 200:
            raise SystemExit(f"{name}: {path} answered {answer.status_code}: {answer.text[:300]}")
        measure.cpu.append(bench.timer.last_cpu)
        return bench.timer.last

    measure = Measure(name, run)
    return measure


MEASURES: list[Measure] = [
    Page("ui  board, active (default)", "web", "/ui/logistics/"),
    Page("api rmas, status=shipped", "api", "/api/v1/rmas?status=shipped&limit=50"),
    Page("ui  board, status=shipped", "web", "/ui/logistics/?state=shipped"),
    Page("api rmas, all, first page", "api", "/api/v1/rmas?limit=50"),
    Page("ui  board, all, first page", "web", "/ui/logistics/?state=all"),
    Page("api rmas, all, offset 50,000", "api", "/api/v1/rmas?limit=50&offset=50000"),
    Page("ui  board, all, offset 50,000", "web", "/ui/logistics/?state=all&offset=50000"),
    Page("api rmas, serial search", "api", "/api/v1/rmas?serial=QBEN-0004-0321"),
    Page("ui  board, serial search", "web", "/ui/logistics/?state=all&q=QBEN-0004-0321"),
    Page("ui  board, overdue", "web", "/ui/logistics/?due=overdue"),
    Page("ui  board, due this week", "web", "/ui/logistics/?due=this_week"),
    Page("ui  board, charged", "web", "/ui/logistics/?due=charged"),
    Page("ui  board, customer prefix", "web", "/ui/logistics/?state=all&q=Customer+042"),
    Page("ui  board, site prefix", "web", "/ui/logistics/?state=all&q=Site+042-1"),
    # The lead adds: Page("ui  field site page", "web", "/ui/field/…"), and
    # Measure("scan → verified (sandbox)", run=…) once the field page lands.
]


def add_customers_and_sites(engine: Any) -> None:
    """Give every RMA a customer and every failed unit a site (the board searches them)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE rma SET customer = 'Customer ' || "
                f"substr('000' || (id % {CUSTOMERS}), -3, 3)"
                if engine.dialect.name == "sqlite"
                else "UPDATE rma SET customer = 'Customer ' || "
                f"lpad((id % {CUSTOMERS})::text, 3, '0')"
            )
        )
        conn.execute(
            text(
                "UPDATE device SET site = 'Site ' || "
                f"substr('000' || (id % {CUSTOMERS}), -3, 3) || '-' || (id % {SITES_PER_CUSTOMER})"
                if engine.dialect.name == "sqlite"
                else "UPDATE device SET site = 'Site ' || "
                f"lpad((id % {CUSTOMERS})::text, 3, '0') || '-' || (id % {SITES_PER_CUSTOMER})"
            )
        )
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:  # the steady state autovacuum keeps: no dead rows, the visibility map set
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE rma"))
            conn.execute(text("VACUUM ANALYZE device"))


def signed_in_clients(app: Any, engine: Any) -> tuple[TestClient, TestClient]:
    """A web client signed in through the login form, and an API client with a token."""
    from web import accounts  # the foundation's accounts service

    password = "bench-password-123"
    with Session(engine) as session:
        accounts.create_account(
            session=session, actor=BENCH, name="bench-clerk", password=password, role="logistics"
        )
        token = auth.create_token(
            session=session, actor=BENCH, name="bench-api", role=Role.LOGISTICS
        ).token
        session.commit()
    web = TestClient(app)
    web.__enter__()
    form = web.get("/ui/login")
    found = re.search(r'name="login_token" value="([^"]*)"', form.text)
    data = {"name": "bench-clerk", "password": password}
    if found:
        data["login_token"] = found.group(1)
    answer = web.post("/ui/login", data=data, follow_redirects=False)
    if answer.status_code != 303:
        raise SystemExit(f"sign-in failed: {answer.status_code} {answer.text[:300]}")
    api = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    api.__enter__()
    return web, api


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(measures: list[Measure]) -> None:
    print(f"  {'measure':<34} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'cpu p50':>8} {'n':>5}")
    for m in measures:
        ms = [s * 1000 for s in m.samples]
        cpu = f"{statistics.median(m.cpu) * 1000:8.1f}" if m.cpu else f"{'-':>8}"
        print(
            f"  {m.name:<34} {statistics.median(ms):8.1f} {percentile(ms, 0.99):8.1f} "
            f"{max(ms):8.1f} {cpu} {len(ms):5d}"
        )


def run(args: argparse.Namespace, url: str, scratch: Path, load: Callable[[], Any]) -> None:
    from api.app import create_app

    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        seed_catalogue(session=session, actor=BENCH)
        session.commit()
    start = time.perf_counter()
    load()
    add_customers_and_sites(engine)
    print(f"  loaded in {time.perf_counter() - start:.1f} s")
    settings = Settings(database_url=url, var_dir=scratch / "var", _env_file=None)
    timer = ServerTime(create_app(settings, engine))
    web, api = signed_in_clients(timer, engine)
    bench = Bench(timer=timer, web=web, api=api, engine=engine, args=args)
    chosen = [m for m in MEASURES if not args.only or args.only in m.name]
    for m in chosen:
        for _ in range(args.warmup):
            m.run(bench)
        m.cpu.clear()
    # Round robin: a burst of load on the machine falls on every measure alike.
    for _ in range(args.samples):
        for m in chosen:
            m.samples.append(m.run(bench))
    report(chosen)
    web.__exit__(None, None, None)
    api.__exit__(None, None, None)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--only", default="", help="only measures whose name contains this")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="netkeep-bench-ui-"))
    schema = f"bench_ui_{args.rows}"
    try:
        if args.db == "sqlite":
            db_file = scratch / "bench.db"
            url = f"sqlite:///{db_file}"
            print(f"SQLite {db_file}: {args.rows:,} RMAs; {args.samples} samples per measure")
            run(args, url, scratch, lambda: load_sqlite(db_file, args.rows, 0.01))
        else:
            with psycopg.connect(DSN, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                conn.execute(f'CREATE SCHEMA "{schema}"')
            url = (
                "postgresql+psycopg://postgres@127.0.0.1:5432/test"
                f"?options=-csearch_path%3D{schema}"
            )
            print(f"PostgreSQL schema {schema}: {args.rows:,} RMAs; {args.samples} samples each")
            run(args, url, scratch, lambda: load_postgres(schema, args.rows, 0.01))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if args.db == "postgresql":
            with psycopg.connect(DSN, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
