"""The hot read's shortcuts never serve an old answer.

Stated on their own: on SQLite a device changed by another connection (another process, the CLI)
is served changed at the very next read; on PostgreSQL reads asked for together are answered
with each one's own row (and None for a serial that does not exist).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import ReadPath
from core import migrate
from core.db import make_engine
from inventory import service
from inventory.catalogue_defaults import seed_catalogue
from tests.service.helpers import ACTOR, import_csv, write_csv
from tests.service.test_read_path_async import pg_engine  # noqa: F401 - the fixture

ROWS = "Q2FY-MEMO-0001,MX67,,,,本社,,,,,,\nQ2FY-MEMO-0002,MX67,,,,倉庫,,,,,,\n"


def test_a_sqlite_change_elsewhere_empties_the_memo(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'memo.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        seed_catalogue(session=session, actor=ACTOR)
        import_csv(session, write_csv(tmp_path, ROWS))
        session.commit()
    memo = ReadPath(engine).memo
    assert memo is not None
    first = memo.generation()
    assert first is not None
    memo.put(first, "k", b"old")
    assert memo.get("k") == b"old"
    assert memo.generation() == first and memo.get("k") == b"old"  # nothing changed
    other = make_engine(url)  # another connection, as another process would have
    with other.begin() as connection:
        connection.execute(text("UPDATE device SET site = 'x' WHERE serial = 'Q2FY-MEMO-0001'"))
    second = memo.generation()
    assert second != first and memo.get("k") is None
    memo.put(first, "k", b"computed before the change")  # too late: not kept
    assert memo.get("k") is None


def test_postgresql_reads_asked_together_get_their_own_rows(
    pg_engine: Engine,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    with Session(pg_engine) as session:
        seed_catalogue(session=session, actor=ACTOR)
        import_csv(session, write_csv(tmp_path, ROWS))
        session.commit()
    path = ReadPath(pg_engine)
    assert path.on_loop

    async def reads() -> list[object]:
        keys = ["Q2FY-MEMO-0001", "Q2FY-MEMO-0002", "Q2FY-MEMO-9999", "Q2FY-MEMO-0001"]
        return list(
            await asyncio.gather(*(path.first_keyed(service.DEVICES_WITH_OWNER, k) for k in keys))
        )

    one, two, missing, again = asyncio.run(reads())
    assert isinstance(one, dict) and one["site"] == "本社" and one["owner_kind"] == "provider"
    assert isinstance(two, dict) and two["site"] == "倉庫"
    assert missing is None
    assert again == one and again is not one  # each caller its own copy
