"""Benchmark: import 100,000 devices from CSV (dry run, commit, repeat) on SQLite and PostgreSQL.

Run by hand:  .venv/bin/python bench/inventory_import.py [--rows 100000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlmodel import Session

from core import migrate
from core.audit import Actor
from core.db import make_engine
from core.timeutil import utcnow
from inventory import importer
from inventory.catalogue_defaults import seed_catalogue

ACTOR = Actor(name="bench", role="admin")
MODELS = ["MX67", "MX68", "Z4", "MR36", "MR44", "MR46"]


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("シリアル番号,モデル,MACアドレス,ステータス,設置場所,備考\n")
        for i in range(rows):
            serial = f"Q{i // 100_000_000 % 10}BN-{i // 10_000 % 10_000:04d}-{i % 10_000:04d}"
            mac = ":".join(
                f"{b:02x}"
                for b in (0xE0, 0x55, (i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255)
            )
            f.write(f"{serial},{MODELS[i % len(MODELS)]},{mac},在庫,倉庫{i % 20},bench\n")


@contextmanager
def sqlite_db(tmp: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp / 'bench.db'}"


@contextmanager
def pg_db(url: str) -> Iterator[str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run(label: str, url: str, csv: Path, rows: int) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        seed_catalogue(session=session, actor=ACTOR)
        session.commit()
    timings = {}
    for step, commit in (
        ("dry run (all new)", False),
        ("commit", True),
        ("dry run (all unchanged)", False),
    ):
        with Session(engine) as session:
            start = time.perf_counter()
            report = importer.import_devices(
                session=session, actor=ACTOR, path=csv, now=utcnow(), commit=commit
            )
            session.commit()
            timings[step] = time.perf_counter() - start
        assert not report.problems
        print(
            f"  {label:10} {step:24} {timings[step]:7.2f} s  {rows / timings[step]:9,.0f} rows/s  "
            f"(created {len(report.created)}, unchanged {report.unchanged})"
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        csv = tmp / "devices.csv"
        write_csv(csv, args.rows)
        print(f"import of {args.rows:,} devices from {csv.stat().st_size / 1e6:.1f} MB of CSV")
        with sqlite_db(tmp) as url:
            run("SQLite", url, csv, args.rows)
        with pg_db(args.pg) as url:
            run("PostgreSQL", url, csv, args.rows)


if __name__ == "__main__":
    main()
