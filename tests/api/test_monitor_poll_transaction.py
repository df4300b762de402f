"""`POST /api/v1/monitor/poll` holds no transaction while the dashboard answers.

The sandbox answers slowly (latency fault); meanwhile another writer commits at once (on SQLite
a write transaction held across the call would make it wait for the whole answer), and on
PostgreSQL none of the API's connections sits "idle in transaction". The poll then records its
outage as usual. A real SQLite file and a PostgreSQL schema, committed rows, the real SDK.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.app import create_app
from core import auth, migrate
from core.audit import SYSTEM
from core.auth import Role
from core.db import begin_write, make_engine
from core.settings import Settings
from inventory.catalogue_defaults import seed_catalogue
from monitoring.models import Outage
from monitoring.notices import MAIL, add_contact
from sandbox.server import SandboxServer
from tests.conftest import ADMIN, PG_URL, bearer
from tests.service.rma_builders import FAILED, build_world

LATENCY = 1.5  # seconds the sandbox takes per answer while the poll runs
QUICK = 0.75  # a write that waited for the poll's dashboard call would take LATENCY or more
APP_NAME = f"nk_poll_{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=["sqlite", "postgresql"])
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'poll.db'}"
    else:
        schema = f"nk_poll_{uuid.uuid4().hex[:10]}"
        dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in PG_URL else "?"
        url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}&application_name={APP_NAME}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            seed_catalogue(session=session, actor=ADMIN)
            build_world(session, tmp_path)
            session.commit()
        yield engine
    finally:
        engine.dispose()
        if schema is not None:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def open_transactions(engine: Engine) -> list[str]:
    """PostgreSQL: the states of this test's connections that are inside a transaction."""
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT state FROM pg_stat_activity WHERE application_name = %s "
            "AND state LIKE 'idle in transaction%%'",
            (APP_NAME,),
        ).fetchall()
    return [str(r[0]) for r in rows]


def test_a_slow_dashboard_blocks_no_writer(committed: Engine, sandbox: SandboxServer) -> None:
    settings = Settings(
        database_url=str(committed.url.render_as_string(hide_password=False)),
        meraki_base_url=sandbox.base_url,
        meraki_api_key=SecretStr(sandbox.api_key),
        monitor_change_history=False,
        monitor_debounce_polls=1,
        _env_file=None,
    )
    with Session(committed) as session:
        token = auth.create_token(session=session, actor=ADMIN, name="noc", role=Role.NOC).token
        session.commit()
    app = create_app(settings, committed)
    answers: list[Any] = []
    with TestClient(app) as client:
        first = client.post("/api/v1/monitor/poll", headers=bearer(token))
        assert first.status_code == 200, first.text
        sandbox.admin.set_device_status(FAILED, "offline")
        sandbox.admin.set_faults(f"latency={LATENCY}s")
        polling = threading.Thread(
            target=lambda: answers.append(
                client.post("/api/v1/monitor/poll", headers=bearer(token))
            )
        )
        started = time.monotonic()
        polling.start()
        time.sleep(0.4)  # the poll is now waiting on the dashboard
        assert polling.is_alive()
        if committed.dialect.name == "postgresql":
            assert open_transactions(committed) == []
        began = time.monotonic()
        with Session(committed) as writer:
            begin_write(writer)
            add_contact(
                session=writer,
                actor=SYSTEM,
                customer="株式会社さくら商事",
                channel=MAIL,
                address="night-shift@sakura.example",
                now=datetime.now(UTC),
            )
            writer.commit()
        waited = time.monotonic() - began
        still_polling = polling.is_alive()
        polling.join(timeout=60)
        sandbox.admin.clear_faults()
    assert waited < QUICK, f"a writer waited {waited:.2f} s behind the poll"
    assert still_polling, "the poll ended before the write: nothing was shown"
    assert time.monotonic() - started >= LATENCY
    [answer] = answers
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["opened"]) == 1
    with Session(committed) as session:
        [outage] = session.exec(select(Outage).where(Outage.serial == FAILED)).all()
        assert outage.ended_at is None
        assert session.execute(text("SELECT count(*) FROM notice_contact")).scalar_one() == 1
