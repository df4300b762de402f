"""PostgreSQL's prepared hot reads on the event loop: same rows, one reused connection, a dropped
one replaced, and the device read served that way through the whole app; on both databases a
token revoked elsewhere is refused within the documented 2 s, and the refusal is audited."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from sqlmodel import select as sql_select

from api.app import create_app
from api.deps import ReadPath
from core import auth, migrate
from core.audit import Actor
from core.auth import Role
from core.db import PreparedQuery, make_engine
from core.models import AuditEntry
from core.settings import Settings
from core.timeutil import utcnow
from inventory import service
from inventory.catalogue_defaults import seed_catalogue
from tests.conftest import PG_URL
from tests.service.helpers import ACTOR, import_csv, write_csv

BACKEND = PreparedQuery(select(func.pg_backend_pid().label("pid")))


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A committed database of its own (the read path's connections see only committed rows)."""
    admin = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    schema = f"nk_async_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_the_async_read_returns_what_the_sync_read_does(pg_engine: Engine, tmp_path: Path) -> None:
    with Session(pg_engine) as session:
        seed_catalogue(session=session, actor=ACTOR)
        import_csv(
            session, write_csv(tmp_path, "Q2FY-ASYN-0001,MX67,e0:55:3d:00:00:01,,,本社,,,,N_1,,\n")
        )
        session.commit()
        sync = service.DEVICE_WITH_OWNER.first(session.connection(), serial="Q2FY-ASYN-0001")
    path = ReadPath(pg_engine)
    assert path.on_loop

    async def reads() -> tuple[object, object]:
        found = await path.first(service.DEVICE_WITH_OWNER, serial="Q2FY-ASYN-0001")
        missing = await path.first(service.DEVICE_WITH_OWNER, serial="Q2FY-ASYN-9999")
        return found, missing

    found, missing = asyncio.run(reads())
    assert sync is not None and found == sync
    assert isinstance(found, dict) and found["site"] == "本社" and found["owner_kind"] == "provider"
    assert found["updated_at"].tzinfo is not None
    assert missing is None


def test_async_reads_reuse_a_connection_and_replace_a_dropped_one(pg_engine: Engine) -> None:
    path = ReadPath(pg_engine)

    async def pid() -> int:
        row = await path.first(BACKEND)
        assert row is not None
        return int(row["pid"])

    first = asyncio.run(pid())
    assert asyncio.run(pid()) == first  # a later event loop reuses the idle connection
    with pg_engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        admin.commit()
    fresh = asyncio.run(pid())
    assert fresh != first
    assert asyncio.run(pid()) == fresh


def test_the_device_read_through_the_app_on_the_loop(pg_engine: Engine, tmp_path: Path) -> None:
    with Session(pg_engine) as session:
        seed_catalogue(session=session, actor=ACTOR)
        import_csv(session, write_csv(tmp_path, "Q2FY-ASYN-0002,MX67,,,,倉庫,,,,,,\n"))
        viewer = auth.create_token(session=session, actor=ACTOR, name="v", role=Role.VIEWER)
        session.commit()
    settings = Settings(
        database_url=pg_engine.url.render_as_string(hide_password=False),
        var_dir=tmp_path / "var",
        _env_file=None,
    )
    app = create_app(settings, pg_engine)
    assert app.state.read_path.on_loop
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {viewer.token}"}
        found = client.get("/api/v1/devices/q2fy-asyn-0002", headers=headers)
        missing = client.get("/api/v1/devices/Q2FY-ASYN-9999", headers=headers)
        refused = client.get("/api/v1/devices/Q2FY-ASYN-0002")
    assert found.status_code == 200
    assert found.json()["serial"] == "Q2FY-ASYN-0002" and found.json()["site"] == "倉庫"
    assert found.json()["owner"] == {"kind": "provider", "name": "provider"}
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert refused.status_code == 401


@pytest.fixture(params=["sqlite", "postgresql"])
def committed_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_engine")
        return
    url = f"sqlite:///{tmp_path / 'revoke.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_a_token_revoked_elsewhere_is_refused_within_2_s_and_audited(
    committed_engine: Engine, tmp_path: Path
) -> None:
    engine = committed_engine
    with Session(engine) as session:
        seed_catalogue(session=session, actor=ACTOR)
        import_csv(session, write_csv(tmp_path, "Q2FY-REVK-0001,MX67,,,,本社,,,,,,\n"))
        desk = auth.create_token(session=session, actor=ACTOR, name="desk", role=Role.VIEWER)
        session.commit()
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        var_dir=tmp_path / "var",
        _env_file=None,
    )
    app = create_app(settings, engine)
    headers = {"Authorization": f"Bearer {desk.token}"}
    with TestClient(app) as client:
        for _ in range(3):  # the token is now in the process's cache
            assert client.get("/api/v1/devices/Q2FY-REVK-0001", headers=headers).status_code == 200
        with Session(engine) as cli:  # the CLI, another process: this app's cache is not told
            auth.revoke_token(
                session=cli, actor=Actor(name="cli", role="admin"), name="desk", now=utcnow()
            )
            cli.commit()
        revoked_at = time.monotonic()
        status = 200
        while status == 200 and time.monotonic() - revoked_at < 2.0:
            status = client.get("/api/v1/devices/Q2FY-REVK-0001", headers=headers).status_code
            time.sleep(0.05)
        assert status == 401, "a revoked token still served 2 s after its revocation"
        refused = client.get("/api/v1/devices/Q2FY-REVK-0001", headers=headers)
        assert refused.status_code == 401
    with Session(engine) as session:
        entries = session.exec(
            sql_select(AuditEntry).where(AuditEntry.action == "auth.refused")
        ).all()
    assert [(e.entity_id, e.outcome) for e in entries] == [
        ("GET /api/v1/devices/Q2FY-REVK-0001", "unauthenticated")
    ]
