"""Small builders for service tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from core import migrate
from core.audit import Actor
from core.db import make_engine, writer_engine
from inventory import importer
from inventory.importer import ImportReport


@contextmanager
def migrated_writer_engine(path: Path) -> Iterator[Engine]:
    """A SQLite file migrated to head, behind the process's writer gate (as the CLI opens it)."""
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    made = writer_engine(make_engine(url))
    try:
        yield made
    finally:
        made.dispose()


ACTOR = Actor(name="tester", role="admin", request_id="req-1")
T0 = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)

HEADER = (
    "serial,model,mac,status,customer,site,contract,acquisition,leasing_company,network_id,"
    "owner_since,notes\n"
)


def write_csv(tmp_path: Path, body: str, name: str = "devices.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def import_csv(
    session: Session, path: Path, *, commit: bool = True, now: datetime = T0
) -> ImportReport:
    report = importer.import_devices(
        session=session, actor=ACTOR, path=path, now=now, commit=commit
    )
    session.flush()
    return report


def seed_demo_inventory(session: Session) -> None:
    """The demo's catalogue, contracts and units: the serials the example sheets list are known
    to the inventory, in stock, and each example's customer has its contract."""
    from netkeep.demo import seed_demo_data

    seed_demo_data(session)
    session.flush()


def seed_demo_inventory_at(database_url: str) -> None:
    """`seed_demo_inventory` in a database of its own (a CLI test's), committed."""
    from core.db import get_engine, session_scope

    with session_scope(get_engine(database_url)) as session:
        seed_demo_inventory(session)
