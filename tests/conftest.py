"""Shared fixtures: DB tests run on SQLite and PostgreSQL, each in a rolled-back transaction."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.app import create_app
from core import auth, migrate
from core.audit import Actor
from core.auth import Role
from core.db import make_engine
from core.settings import Settings
from inventory.catalogue_defaults import seed_catalogue
from tests import route_state, xdist_groups
from web import accounts

pytest_plugins = [
    "sandbox.testing",
    "netdevices.testing",
    "tests.contract.spec.coverage_plugin",
    "tests.reliability.plugin",
]

# A test's dashboard outage (a 5xx storm it injects) must fail its call in seconds, not after the
# product's 5-minute patience; storms that must converge use Retry-After 0.01 s and fit in this.
# The variable reaches adapters built without settings and the `netkeep` processes tests start.
os.environ.setdefault("NETKEEP_DASHBOARD_PATIENCE_SECONDS", "10")

# Thousands of apps (one a test) for the same routes: FastAPI's per-route request state is
# built once per process and reused by every later app with the same include options.
route_state.install()

PG_URL = os.environ.get("NETKEEP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T = TypeVar("T")
ADMIN = Actor(name="test-admin", role="admin", request_id="test")


def hypothesis_profile(environ: dict[str, str] | os._Environ[str]) -> str:
    """CI (CI=true) replays the same examples every run, so a red build is never chance."""
    return "ci" if environ.get("CI", "").strip().lower() in {"true", "1"} else "explore"


_BUILT_IN = hypothesis_settings.get_profile("default")
hypothesis_settings.register_profile(
    "ci", _BUILT_IN, derandomize=True, database=None, print_blob=True
)
hypothesis_settings.register_profile("explore", _BUILT_IN)  # local runs keep drawing new examples
hypothesis_settings.load_profile(hypothesis_profile(os.environ))


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with a small cost in every test: the product's (64 MiB, 3 passes) costs ~0.2 s
    of CPU a hash, and the demo loaded by each journey hashes one password per demo account.
    (`netkeep` processes a test starts keep the product's cost.)"""
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )


# Modules whose tests share one costly module-scoped fixture (a sandbox run of the example sites,
# a `netkeep serve` per database): `--dist loadgroup` sends each to one worker, which builds the
# fixture once instead of once on each worker the tests were spread to.
SHARED_MODULE_FIXTURES = (
    "tests/contract/spec/test_spec_referee.py",
    "tests/load/test_serve_load.py",
    "tests/service/test_rma_dashboard.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        if module in SHARED_MODULE_FIXTURES:
            item.add_marker(pytest.mark.xdist_group(module))
    xdist_groups.apply(config, items)


def _pg_admin_dsn() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A private schema in the PostgreSQL test database; PostgreSQL absent is a failure."""
    schema = f"nk_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(_pg_admin_dsn(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the test suite ({PG_URL}): {exc}")
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(_pg_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "netkeep-test.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_schema_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The schema built by the real Alembic migrations, then the default catalogue committed."""
    migrate.upgrade(database_url)
    eng = make_engine(database_url)
    with Session(eng) as session:
        seed_catalogue(session=session, actor=ADMIN)
        session.commit()
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session in a transaction rolled back after the test (its commits are savepoints)."""
    connection = engine.connect()
    transaction = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        database_url=database_url, var_dir=tmp_path / "var", _env_file=None
    )


class SessionReadPath:
    """The app's hot reads, inside the test's transaction."""

    inline = True

    def __init__(self, session: Session) -> None:
        self.session = session

    def run(self, func: Callable[[Connection], T]) -> T:
        return func(self.session.connection())


@pytest.fixture
def app_client(settings: Settings, engine: Engine, session: Session) -> Iterator[TestClient]:
    app = create_app(settings, engine)
    app.state.session_factory = lambda: nullcontext(session)
    app.state.read_path = SessionReadPath(session)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def tokens(session: Session) -> dict[str, str]:
    """One token per role, by role name."""
    issued = {
        role.value: auth.create_token(
            session=session, actor=ADMIN, name=f"t-{role.value}", role=role
        )
        for role in Role
    }
    session.commit()  # a savepoint: kept if a request later rolls its work back
    return {name: t.token for name, t in issued.items()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
