"""A double-submitted approval or acceptance from the portal, sent at once on separate
connections (as two API processes would run them): exactly one effect, no error.

Run against a real SQLite file and a PostgreSQL schema with committed rows (the rolled-back
`session` fixture cannot show concurrency).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from changes.models import ChangeRequestEvent
from core import migrate
from core.db import begin_write, make_engine
from core.models import AuditEntry
from inventory.catalogue_defaults import seed_catalogue
from tests.conftest import ADMIN, PG_URL
from tests.service.portal_builders import (
    NOW,
    TwoTenants,
    accept_as_asahi,
    approve_as_asahi,
    two_tenants,
)

TWINS = 6


@pytest.fixture(params=["sqlite", "postgresql"])
def committed(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Engine, TwoTenants]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'portal.db'}"
        yield _filled(url)
        return
    schema = f"nk_portal_{uuid.uuid4().hex[:10]}"
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        engine, world = _filled(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
        yield engine, world
        engine.dispose()
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _filled(url: str) -> tuple[Engine, TwoTenants]:
    migrate.upgrade(url)
    engine = make_engine(url, pool_size=TWINS + 2, max_overflow=0)
    with Session(engine, expire_on_commit=False) as session:
        seed_catalogue(session=session, actor=ADMIN)
        world = two_tenants(session, NOW)
        session.commit()
    return engine, world


def _at_once(engine: Engine, act: Callable[[Session], object]) -> list[BaseException]:
    barrier = threading.Barrier(TWINS)
    errors: list[BaseException] = []

    def one() -> None:
        try:
            with Session(engine, expire_on_commit=False) as session:
                begin_write(session)  # as the API opens every writing request
                barrier.wait(timeout=30)
                act(session)
                session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(TWINS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_twin_approvals_record_one(committed: tuple[Engine, TwoTenants]) -> None:
    engine, world = committed
    errors = _at_once(
        engine,
        lambda session: approve_as_asahi(session, world.a.survey_id),
    )
    assert errors == []
    with Session(engine) as session:
        stmt = select(AuditEntry).where(col(AuditEntry.action) == "survey.approve")
        assert len(session.exec(stmt).all()) == 1


def test_twin_acceptances_record_one(committed: tuple[Engine, TwoTenants]) -> None:
    engine, world = committed
    errors = _at_once(
        engine,
        lambda session: accept_as_asahi(session, world.a.change_id),
    )
    assert errors == []
    with Session(engine) as session:
        stmt = select(ChangeRequestEvent).where(
            ChangeRequestEvent.request_id == world.a.change_id,
            col(ChangeRequestEvent.action) == "accepted",
        )
        assert len(session.exec(stmt).all()) == 1
