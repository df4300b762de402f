"""PostgreSQL's device read keeps its answers, and never serves an old one.

Stated on their own: a device, its owner or a token changed elsewhere (another process, the
CLI) and committed before a request arrives is what that request sees — the very next request,
no waiting; a refusal that follows is audited. An unchanged device is answered without reading
its row again. Writers of different devices do not wait for one another, and SQLite's memo does
not carry an answer over a commit made in the same turn of the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from sqlmodel import select as sql_select

import api.read_path
from api.app import create_app
from api.deps import ReadPath
from core import auth, migrate
from core.audit import Actor
from core.auth import Role
from core.db import make_engine
from core.models import AuditEntry
from core.settings import Settings
from core.timeutil import utcnow
from inventory import service
from inventory.catalogue_defaults import seed_catalogue
from inventory.domain import Owner, OwnerKind, OwnershipReason
from tests.service.helpers import ACTOR, import_csv, write_csv
from tests.service.test_read_path_async import pg_engine  # noqa: F401 - the fixture

ROWS = "Q2FY-CNTR-0001,MX67,,,,本社,,,,,,\nQ2FY-CNTR-0002,MX67,,,,倉庫,,,,,,\n"
CLI = Actor(name="cli", role="admin")


def _seed(engine: Engine, tmp_path: Path) -> str:
    """The two devices, and a viewer token (returned)."""
    with Session(engine) as session:
        seed_catalogue(session=session, actor=ACTOR)
        import_csv(session, write_csv(tmp_path, ROWS))
        viewer = auth.create_token(session=session, actor=ACTOR, name="desk", role=Role.VIEWER)
        session.commit()
    return viewer.token


@pytest.fixture
def pg_client(
    pg_engine: Engine,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    token = _seed(pg_engine, tmp_path)
    settings = Settings(
        database_url=pg_engine.url.render_as_string(hide_password=False),
        var_dir=tmp_path / "var",
        _env_file=None,
    )
    app = create_app(settings, pg_engine)
    assert app.state.read_path.on_loop
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {token}"}


def _elsewhere(engine: Engine, sql: str) -> None:
    """A change committed on a connection of its own, as another process would make it."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with other.begin() as connection:
            connection.execute(text(sql))
    finally:
        other.dispose()


def test_a_device_changed_elsewhere_is_read_fresh_at_the_next_request(
    pg_client: tuple[TestClient, dict[str, str]],
    pg_engine: Engine,  # noqa: F811 - the imported fixture
) -> None:
    client, headers = pg_client
    for _ in range(3):  # kept by now
        assert client.get("/api/v1/devices/Q2FY-CNTR-0001", headers=headers).json()["site"] == (
            "本社"
        )
    _elsewhere(pg_engine, "UPDATE device SET site = '大阪' WHERE serial = 'Q2FY-CNTR-0001'")
    assert client.get("/api/v1/devices/Q2FY-CNTR-0001", headers=headers).json()["site"] == "大阪"


def test_a_new_owner_recorded_elsewhere_is_read_fresh_at_the_next_request(
    pg_client: tuple[TestClient, dict[str, str]],
    pg_engine: Engine,  # noqa: F811 - the imported fixture
) -> None:
    client, headers = pg_client
    before = client.get("/api/v1/devices/Q2FY-CNTR-0002", headers=headers).json()
    assert before["owner"] == {"kind": "provider", "name": "provider"}
    assert client.get("/api/v1/devices/Q2FY-CNTR-0002", headers=headers).json() == before
    with Session(pg_engine) as session:
        device = service.get_device(session=session, serial="Q2FY-CNTR-0002")
        service.transfer_ownership(
            session=session,
            actor=CLI,
            device=device,
            owner=Owner(OwnerKind.CUSTOMER, "ACME"),
            reason=OwnershipReason.INITIAL_FEE_PAID,
            effective_at=utcnow(),
        )
        session.commit()
    after = client.get("/api/v1/devices/Q2FY-CNTR-0002", headers=headers).json()
    assert after["owner"] == {"kind": "customer", "name": "ACME"}


def test_a_token_revoked_elsewhere_is_refused_at_the_next_request_and_audited(
    pg_client: tuple[TestClient, dict[str, str]],
    pg_engine: Engine,  # noqa: F811 - the imported fixture
) -> None:
    client, headers = pg_client
    for _ in range(3):  # the token is in the process's cache, the device in the memo
        assert client.get("/api/v1/devices/Q2FY-CNTR-0001", headers=headers).status_code == 200
    with Session(pg_engine) as cli:  # the CLI: this app's cache is not told
        auth.revoke_token(session=cli, actor=CLI, name="desk", now=utcnow())
        cli.commit()
    refused = client.get("/api/v1/devices/Q2FY-CNTR-0001", headers=headers)  # no waiting
    assert refused.status_code == 401 and refused.json()["error"] == "unauthenticated"
    missing = client.get("/api/v1/devices/Q2FY-CNTR-9999", headers=headers)
    assert missing.status_code == 401  # a revoked token does not learn which serials exist
    with Session(pg_engine) as session:
        entries = session.exec(
            sql_select(AuditEntry).where(AuditEntry.action == "auth.refused")
        ).all()
    assert [(e.entity_id, e.outcome) for e in entries] == [
        ("GET /api/v1/devices/Q2FY-CNTR-0001", "unauthenticated")
    ]


def test_an_unchanged_device_is_answered_without_reading_its_row(
    pg_engine: Engine,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    _seed(pg_engine, tmp_path)
    path = ReadPath(pg_engine)
    derived: list[str] = []

    def site(serial: str, row: dict[str, Any] | None) -> str:
        assert row is not None
        derived.append(serial)
        return str(row["site"])

    async def read(serial: str) -> str:
        return (await path.first_derived(service.DEVICES_WITH_OWNER, serial, site)).result()

    async def scenario() -> list[str]:
        sites = [await read("Q2FY-CNTR-0001"), await read("Q2FY-CNTR-0001")]
        _elsewhere(pg_engine, "UPDATE device SET site = '札幌' WHERE serial = 'Q2FY-CNTR-0001'")
        sites.append(await read("Q2FY-CNTR-0001"))
        return sites

    assert asyncio.run(scenario()) == ["本社", "本社", "札幌"]
    assert derived == ["Q2FY-CNTR-0001", "Q2FY-CNTR-0001"]  # the second read was kept


def _counter(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT value FROM read_counter")).scalar_one())


def test_the_counter_moves_once_per_commit_of_a_table_the_read_depends_on(
    pg_engine: Engine,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    _seed(pg_engine, tmp_path)
    start = _counter(pg_engine)
    _elsewhere(pg_engine, "UPDATE device SET notes = 'x'")  # two rows, one transaction
    assert _counter(pg_engine) == start + 1
    with pg_engine.connect() as connection:  # rolled back: nothing changed
        connection.execute(text("UPDATE device SET notes = 'y'"))
        connection.rollback()
    assert _counter(pg_engine) == start + 1
    _elsewhere(pg_engine, "UPDATE catalogue_model SET description = 'z'")  # not in the read
    assert _counter(pg_engine) == start + 1
    with Session(pg_engine) as session:
        auth.revoke_token(session=session, actor=CLI, name="desk", now=utcnow())
        session.commit()
    assert _counter(pg_engine) == start + 2


def test_writers_of_different_devices_do_not_wait_for_each_other(
    pg_engine: Engine,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    """The counter is taken at commit: an open transaction that changed one device does not hold
    back another transaction changing another device (nor can the two deadlock on it)."""
    _seed(pg_engine, tmp_path)
    dsn = pg_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as first, psycopg.connect(dsn) as second:
        first.execute("UPDATE device SET notes = 'a' WHERE serial = 'Q2FY-CNTR-0001'")
        second.execute("SET lock_timeout = '2s'")
        second.execute("UPDATE device SET notes = 'b' WHERE serial = 'Q2FY-CNTR-0002'")
        second.commit()  # would time out if the first held the counter's row
        first.commit()
    with pg_engine.connect() as connection:
        notes = connection.execute(text("SELECT serial, notes FROM device ORDER BY serial")).all()
    assert [tuple(n) for n in notes] == [("Q2FY-CNTR-0001", "a"), ("Q2FY-CNTR-0002", "b")]


def test_sqlite_memo_does_not_carry_an_answer_over_a_commit_in_the_same_turn(
    tmp_path: Path,
) -> None:
    """A check is shared by the requests of one turn of the event loop; a request that arrives
    after a commit made in that turn (its task created after it) must see the commit."""
    url = f"sqlite:///{tmp_path / 'memo.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        seed_catalogue(session=session, actor=ACTOR)
        import_csv(session, write_csv(tmp_path, ROWS))
        session.commit()
    memo = ReadPath(engine).memo
    assert memo is not None

    async def request() -> bytes | None:
        generation = memo.generation()
        assert generation is not None
        kept: bytes | None = memo.get("k")
        return kept

    async def scenario() -> tuple[bytes | None, bytes | None]:
        generation = memo.generation()  # a request's check
        assert generation is not None
        memo.put(generation, "k", b"before")
        same_turn = asyncio.get_running_loop().create_task(request())  # arrived with it
        _elsewhere(engine, "UPDATE device SET site = 'x' WHERE serial = 'Q2FY-CNTR-0001'")
        after = asyncio.get_running_loop().create_task(request())  # arrived after the commit
        return await same_turn, await after

    _, after = asyncio.run(scenario())
    assert after is None  # the memo was emptied by a check made after the commit


def _site(serial: str, row: dict[str, Any] | None) -> str:
    assert row is not None
    return str(row["site"])


def test_a_kept_batch_is_checked_without_a_psycopg_cursor(
    pg_engine: Engine,  # noqa: F811 - the imported fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The work of a kept batch: one counter read straight over libpq, no cursor machinery (its
    CPU was three times the round trip's); the value read stays the counter's."""
    _seed(pg_engine, tmp_path)
    path = ReadPath(pg_engine)
    cursors: list[object] = []
    opened = psycopg.AsyncConnection.cursor

    def counting(self: psycopg.AsyncConnection[Any], *args: Any, **kwargs: Any) -> Any:
        cursors.append(self)
        return opened(self, *args, **kwargs)

    async def read(serial: str) -> Any:
        return await path.first_derived(service.DEVICES_WITH_OWNER, serial, _site)

    async def scenario() -> list[Any]:
        first = await read("Q2FY-CNTR-0001")  # the row and the counter, by psycopg
        monkeypatch.setattr(psycopg.AsyncConnection, "cursor", counting)
        kept = [await read("Q2FY-CNTR-0001") for _ in range(3)]
        return [first, *kept]

    reads = asyncio.run(scenario())
    assert [r.result() for r in reads] == ["本社"] * 4
    assert cursors == []
    assert {r.version for r in reads} == {_counter(pg_engine)}


def test_the_counter_read_survives_a_dropped_connection_and_a_deallocate(
    pg_engine: Engine,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    _seed(pg_engine, tmp_path)
    path = ReadPath(pg_engine)

    async def read() -> str:
        return (
            await path.first_derived(service.DEVICES_WITH_OWNER, "Q2FY-CNTR-0001", _site)
        ).result()

    async def backends() -> list[int]:
        pids = []
        for connection in path._idle_async:
            row = await connection.execute("SELECT pg_backend_pid()")
            found = await row.fetchone()
            assert found is not None
            pids.append(int(found[0]))
        return pids

    assert asyncio.run(read()) == "本社"
    assert asyncio.run(read()) == "本社"  # kept: the counter's statement is prepared
    for connection in path._idle_async:  # its statement forgotten (as after DISCARD ALL)
        asyncio.run(connection.execute("DEALLOCATE ALL"))
    assert asyncio.run(read()) == "本社"
    with pg_engine.connect() as admin:
        for pid in asyncio.run(backends()):
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()
    _elsewhere(pg_engine, "UPDATE device SET site = '那覇' WHERE serial = 'Q2FY-CNTR-0001'")
    assert asyncio.run(read()) == "那覇"
    assert asyncio.run(read()) == "那覇"


def test_reads_asked_while_a_batch_is_answered_wait_for_one_more_round_trip(
    pg_engine: Engine,  # noqa: F811 - the imported fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Work per request: kept reads asked one by one while the counter is being read are all
    answered by the next read of it, not by one read each (nor two batches in flight)."""
    _seed(pg_engine, tmp_path)
    path = ReadPath(pg_engine)
    counter_reads: list[object] = []
    release = asyncio.Event()
    real = api.read_path.read_counter

    async def held(connection: Any, dialect: Any) -> dict[str, Any] | None:
        counter_reads.append(connection)
        if len(counter_reads) == 1:
            await release.wait()  # the round trip in flight while the others are asked
        return await real(connection, dialect)

    async def read() -> str:
        return (
            await path.first_derived(service.DEVICES_WITH_OWNER, "Q2FY-CNTR-0001", _site)
        ).result()

    async def scenario() -> list[str]:
        assert await read() == "本社"  # row and counter: kept from here on
        monkeypatch.setattr(api.read_path, "read_counter", held)
        first = asyncio.create_task(read())
        for _ in range(100):
            if counter_reads:  # `first`'s batch is reading the counter
                break
            await asyncio.sleep(0)
        later = []
        for _ in range(10):  # one at a time, each in a turn of its own
            later.append(asyncio.create_task(read()))
            await asyncio.sleep(0)
        release.set()
        return [await first, *[await task for task in later]]

    assert asyncio.run(scenario()) == ["本社"] * 11
    assert len(counter_reads) == 2  # `first`'s batch, then one for the ten asked meanwhile


def test_a_row_read_for_several_callers_is_derived_once(
    pg_engine: Engine,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    """Work per request: callers of one key in one batch share one derived answer (a body is
    built once, not once per caller), and a key that raised raises for each of its callers."""
    _seed(pg_engine, tmp_path)
    path = ReadPath(pg_engine)
    derived: list[str] = []

    def site(serial: str, row: dict[str, Any] | None) -> str:
        derived.append(serial)
        if row is None:
            raise LookupError(serial)
        return str(row["site"])

    async def scenario() -> list[Any]:
        keys = ["Q2FY-CNTR-0001"] * 5 + ["Q2FY-CNTR-9999"] * 2
        return list(
            await asyncio.gather(
                *(path.first_derived(service.DEVICES_WITH_OWNER, key, site) for key in keys)
            )
        )

    answers = asyncio.run(scenario())
    assert [a.value for a in answers[:5]] == ["本社"] * 5
    assert all(isinstance(a.error, LookupError) for a in answers[5:])
    assert sorted(derived) == ["Q2FY-CNTR-0001", "Q2FY-CNTR-9999"]
