"""A write route's transaction ends when its function returns, before its answer is validated.

FastAPI validates a plain (`def`) route's answer on a thread of the pool, and a function-scoped
yield dependency (the request's session) exits only after that. Rule: a request's writes are
committed (its row locks released) before the answer waits for a thread, so racing requests that
wait for those locks can never hold every thread while the lock holder waits for one; an error
raised by the route still leaves nothing behind; an answer built from the committed ORM objects
reads no row again. Every route of the app that opens the request's session commits this way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import Engine, event, func
from sqlmodel import Session, SQLModel, select

from api.app import create_app
from api.deps import SessionDep, SessionRoute, get_session
from core import audit, auth, migrate
from core.auth import Role
from core.db import make_engine
from core.models import AuditEntry
from core.settings import Settings
from inventory.catalogue_defaults import seed_catalogue
from rma.models import Rma
from tests.conftest import ADMIN
from tests.load.test_serve_load import private_pg_schema
from tests.service.rma_builders import FAILED, build_world, shipped_rma

WRITER = audit.Actor(name="test-writer", role="admin", request_id="t")


@pytest.fixture
def audit_engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file (the app's engine settings) holding only the audit table."""
    engine = make_engine(f"sqlite:///{tmp_path / 'commit.db'}")
    SQLModel.metadata.create_all(engine, tables=[AuditEntry.__table__])  # type: ignore[attr-defined]
    try:
        yield engine
    finally:
        engine.dispose()


def _entries(engine: Engine, action: str) -> int:
    """Audit entries with `action` as another connection sees them (committed ones only)."""
    with Session(engine) as other:
        return other.exec(select(func.count()).where(AuditEntry.action == action)).one()


def _app(engine: Engine, route_class: type[APIRoute], seen: list[int] | None = None) -> FastAPI:
    """Two writing routes on `route_class`, the session made as the app makes it; the answer's
    validation notes (in `seen`, if given) how many entries another connection sees then."""

    class EntryOut(BaseModel):
        model_config = ConfigDict(from_attributes=True)
        action: str
        entity_id: str
        at: datetime

        @model_validator(mode="before")
        @classmethod
        def note_what_others_see(cls, data: Any) -> Any:
            if seen is not None:
                seen.append(_entries(engine, "note.added"))
            return data

    router = APIRouter(route_class=route_class)

    @router.post("/notes", response_model=EntryOut)
    def add(session: SessionDep) -> AuditEntry:
        return audit.record(
            session, actor=WRITER, action="note.added", entity_type="note", entity_id="n-1"
        )

    @router.post("/notes/refused")
    def refuse(session: SessionDep) -> None:
        audit.record(session, actor=WRITER, action="note.added", entity_type="note", entity_id="x")
        session.flush()
        raise HTTPException(409, "refused after writing")

    app = FastAPI()
    app.state.session_factory = create_app(
        Settings(database_url=str(engine.url), _env_file=None), engine
    ).api.state.session_factory
    app.include_router(router)
    return app


def test_fastapi_alone_validates_the_answer_before_the_session_commits(
    audit_engine: Engine,
) -> None:
    """The installed FastAPI's order, which `SessionRoute` exists for: with a plain route the
    answer is validated while the request's write is still uncommitted."""
    seen: list[int] = []
    with TestClient(_app(audit_engine, APIRoute, seen)) as client:
        assert client.post("/notes").status_code == 200
    assert seen == [0]
    assert _entries(audit_engine, "note.added") == 1


def test_the_answer_is_validated_once_the_write_is_committed(audit_engine: Engine) -> None:
    seen: list[int] = []
    with TestClient(_app(audit_engine, SessionRoute, seen)) as client:
        answer = client.post("/notes")
    assert answer.status_code == 200
    assert answer.json()["action"] == "note.added" and answer.json()["entity_id"] == "n-1"
    assert seen == [1]
    assert _entries(audit_engine, "note.added") == 1


def test_a_route_that_raises_after_writing_leaves_nothing(audit_engine: Engine) -> None:
    with TestClient(_app(audit_engine, SessionRoute), raise_server_exceptions=False) as client:
        answer = client.post("/notes/refused")
    assert answer.status_code == 409
    assert _entries(audit_engine, "note.added") == 0


def test_an_answer_built_from_the_committed_objects_reads_no_row_again(
    audit_engine: Engine,
) -> None:
    """The app's sessions keep their objects loaded across the commit: building the answer from
    the returned ORM object sends no statement (no reload of expired attributes on the thread
    that validates it)."""
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(audit_engine, "before_cursor_execute", note)
    try:
        with TestClient(_app(audit_engine, SessionRoute)) as client:
            answer = client.post("/notes")
    finally:
        event.remove(audit_engine, "before_cursor_execute", note)
    assert answer.status_code == 200 and answer.json()["entity_id"] == "n-1"
    assert [s.split()[0].upper() for s in statements] == ["BEGIN", "INSERT"], statements


def _opens_session(dependant: Dependant) -> bool:
    return dependant.call is get_session or any(
        _opens_session(sub) for sub in dependant.dependencies
    )


def test_every_route_of_the_app_that_opens_the_session_is_a_session_route(
    tmp_path: Path,
) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", _env_file=None))
    opening = [
        context.original_route
        for context in iter_route_contexts(app.api.routes)
        if isinstance(context.original_route, APIRoute)
        and _opens_session(context.original_route.dependant)
    ]
    assert len(opening) > 100  # the API's and the pages' routes, not an empty walk
    plain = sorted(
        f"{sorted(route.methods or ())} {route.path}"
        for route in opening
        if not isinstance(route, SessionRoute)
    )
    assert plain == []


# A pool of 4 threads and 16 racers: the first receive holds the RMA's row lock; the others queue
# for it holding threads (PostgreSQL: FOR UPDATE; SQLite: the write lock). With the answer validated
# before the commit, 12 (SQLite) and 11 (PostgreSQL) of the 16 answered 503 after the 10 s wait.
POOL_THREADS = 4
RACERS = 16


@contextmanager
def _database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'race.db'}"
        return
    with private_pg_schema() as url:
        yield url


def _limit_pool(client: TestClient, tokens: int) -> None:
    """The app's thread pool (anyio's default limiter in the client's event loop) to `tokens`."""

    def limit() -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = tokens

    assert client.portal is not None
    client.portal.call(limit)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_racing_receipts_on_a_small_pool_close_the_rma_once_without_503(
    kind: str, tmp_path: Path
) -> None:
    with _database(kind, tmp_path) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                seed_catalogue(session=session, actor=ADMIN)
                build_world(session, tmp_path)
                rma_id = shipped_rma(session).id or 0
                token = auth.create_token(
                    session=session, actor=ADMIN, name="logistics", role=Role.LOGISTICS
                ).token
                session.commit()
            settings = Settings(database_url=url, var_dir=tmp_path, _env_file=None)
            answers: list[int] = []
            lock = threading.Lock()
            with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
                _limit_pool(client, POOL_THREADS)
                barrier = threading.Barrier(RACERS)

                def one() -> None:
                    barrier.wait(timeout=60)
                    response = client.post(
                        f"/api/v1/rmas/{rma_id}/receive",
                        json={"serial": FAILED, "disposition": "dispose"},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    with lock:
                        answers.append(response.status_code)

                threads = [threading.Thread(target=one) for _ in range(RACERS)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=120)
            with Session(engine) as session:
                closed = session.exec(
                    select(func.count()).where(AuditEntry.action == "rma.closed")
                ).one()
                rma = session.get(Rma, rma_id)
                assert rma is not None and rma.status == "closed"
        finally:
            engine.dispose()
    statuses = sorted(answers)
    assert len(statuses) == RACERS
    assert set(statuses) <= {200, 409}, statuses
    assert statuses.count(200) == 1 and closed == 1, (statuses, closed)
