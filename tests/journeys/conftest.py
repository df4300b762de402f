"""The journeys' world: the demo data loaded fresh, the sandbox, a mail sink, a clock, the doctor.

Each journey gets its own database (a SQLite file, or a fresh PostgreSQL schema) loaded by the
demo's own `load_demo`, the session sandbox reset to the demo seed, and a real SMTP sink. Every
CLI command and HTTP request a journey makes is a step; after each one `netkeep doctor`'s
service runs (with the dashboard) and must find nothing.
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session
from typer.testing import CliRunner

import core.timeutil
from api.app import create_app
from core import migrate
from core.db import get_engine
from core.settings import Settings, get_settings
from dashboard.meraki import MerakiDashboard
from doctor import service as doctor
from netkeep.cli import app
from netkeep.demo import load_demo
from netkeep.mailsink import MailSink, readable, running_mail_sink
from sandbox.server import SandboxServer
from tests.conftest import PG_URL, _pg_admin_dsn

# Who runs a CLI command unless a step names someone else (the field engineer of the tour).
DEFAULT_ACTOR = "field-tanaka"
# A Tuesday inside the operations window (Mon-Sat 9:00-17:00 JST), no holiday near.
START = datetime(2027, 1, 12, 1, 0, tzinfo=UTC)  # 10:00 JST

# Every module that imports `utcnow` (grep "import.*utcnow"): the edges' commands and routes
# follow the journey clock; the models are imported first so that their defaults stay real.
_TIMED = (
    "core.models", "inventory.models", "provisioning.models", "rma.models", "changes.models",
    "survey.models", "vpn.models", "core.audit", "netkeep.demo", "core.cli", "core.secret_cli",
    "api.tokens", "api.secrets", "inventory.cli", "inventory.contract_cli", "inventory.router",
    "rma.cli", "rma.router", "changes.cli", "changes.router", "vpn.cli", "vpn.router",
    "survey.cli", "survey.router", "provisioning.cli", "provisioning.cli_rollback",
    "provisioning.router", "doctor.cli", "doctor.router",
)  # fmt: skip


@dataclass
class Clock:
    """The journey's `now`: fixed, moved on by the journey where the business needs time."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """Every edge that asks `utcnow()` (CLI commands, routes, the demo loader) gets the clock."""
    fixed = Clock()
    real = core.timeutil.utcnow
    for name in _TIMED:
        importlib.import_module(name)
    for module in list(sys.modules.values()):
        if getattr(module, "utcnow", None) is real and module is not core.timeutil:
            monkeypatch.setattr(module, "utcnow", fixed)
    monkeypatch.setattr(core.timeutil, "utcnow", fixed)
    yield fixed
    for module in list(sys.modules.values()):  # a module first imported meanwhile took the clock
        if isinstance(getattr(module, "utcnow", None), Clock) and module is not core.timeutil:
            vars(module)["utcnow"] = real  # not monkeypatch: its undo would put the clock back


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database at the head revision, copied for each journey."""
    path = tmp_path_factory.mktemp("journeys") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def migrated_postgresql() -> Iterator[str]:
    """A PostgreSQL schema at the head revision, emptied for each journey."""
    schema = f"nkj_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_pg_admin_dsn(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    migrate.upgrade(url)
    yield url
    get_engine(url).dispose()
    with psycopg.connect(_pg_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def journey_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of its own for one journey: schema at head, no rows (the demo loads them)."""
    if request.param == "sqlite":
        path = tmp_path / "demo.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("migrated_postgresql")
    with get_engine(url).begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))  # a session left open fails, not hangs
        tables = [
            name
            for name in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).scalars()
            if name != "alembic_version"
        ]
        quoted = ", ".join(f'"{name}"' for name in tables)
        conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    return url


class StepFailed(AssertionError):
    pass


def items(answer: Any) -> list[Any]:
    """A list's rows, paged or bare: only the integrator's journey holds lists to one shape."""
    rows: list[Any] = answer["items"] if isinstance(answer, dict) else answer
    return rows


@dataclass
class Journey:
    """One run of a journey: CLI and HTTP steps, each followed by the doctor."""

    settings: Settings
    sandbox: SandboxServer
    mail: MailSink
    clock: Clock
    admin_token: str
    folder: Path
    monkeypatch: pytest.MonkeyPatch
    client: TestClient
    runner: CliRunner = field(default_factory=CliRunner)
    steps: list[str] = field(default_factory=list)
    _dashboard: MerakiDashboard | None = None

    # -- the doctor ----------------------------------------------------------------------
    def doctor_clean(self, step: str) -> None:
        """The doctor service with the dashboard; its violations are the failure message."""
        __tracebackhide__ = True
        if self._dashboard is None:  # built once: the SDK costs 0.1 s to build
            self._dashboard = MerakiDashboard.from_settings(self.settings)
        dashboard = self._dashboard
        with Session(get_engine(self.settings.database_url)) as session:
            findings = doctor.check(
                session=session,
                dashboard=dashboard,
                organization_id=self.settings.meraki_org_id,
                now=self.clock(),
            )
        assert findings.dashboard_checked, f"after {step}: {findings.dashboard_error}"
        if findings.violations:
            lines = "\n".join(
                f"  [{v.invariant.value}] {v.subject}: {v.message}\n    repair: {v.repair}"
                for v in findings.violations
            )
            raise StepFailed(
                f"doctor after step {len(self.steps)} `{step}` found "
                f"{len(findings.violations)} violation(s):\n{lines}"
            )

    # -- steps ---------------------------------------------------------------------------
    def cli(
        self, *args: str, code: int = 0, actor: str | None = None, stdin: str | None = None
    ) -> str:
        """`netkeep ARGS` as someone at the terminal; exit code checked, then the doctor."""
        __tracebackhide__ = True
        if actor is not None:
            self.monkeypatch.setenv("NETKEEP_ACTOR", actor)
        try:
            result = self.runner.invoke(app, list(args), input=stdin)
        finally:
            if actor is not None:
                self.monkeypatch.setenv("NETKEEP_ACTOR", DEFAULT_ACTOR)
        step = "netkeep " + " ".join(args)
        self.steps.append(step)
        assert result.exit_code == code, (
            f"`{step}` exited {result.exit_code}, expected {code}:\n{result.output}"
            + (f"\n{result.exception!r}" if result.exception and code == 0 else "")
        )
        self.doctor_clean(step)
        return result.output

    def cli_json(self, *args: str, code: int = 0, actor: str | None = None) -> Any:
        __tracebackhide__ = True
        return json.loads(self.cli(*args, "--json", code=code, actor=actor))

    def http(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        status: int = 200,
        **kwargs: Any,
    ) -> Any:
        """One request to /api/v1; the status checked, then the doctor."""
        __tracebackhide__ = True
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        response = self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)
        step = f"{method} {path}"
        self.steps.append(step)
        assert response.status_code == status, (
            f"`{step}` answered {response.status_code}, expected {status}: {response.text}"
        )
        self.doctor_clean(step)
        if not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    def finish(self) -> None:
        """The end of the journey as a newcomer checks it: `netkeep doctor` and GET /doctor."""
        __tracebackhide__ = True
        assert "no violations" in self.cli("doctor")
        found = self.http("GET", "/doctor")
        assert found["clean"] is True, found["violations"]

    def mails(self) -> list[str]:
        """The notices the SMTP sink received, decoded, in arrival order."""
        return [readable(p.read_bytes()) for p in sorted(self.mail.folder.glob("*.eml"))]


@pytest.fixture
def journey(
    journey_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sandbox: SandboxServer,
    clock: Clock,
) -> Iterator[Journey]:
    """The demo on its own database, the CLI and the API pointed at the sandbox and a mail sink."""
    monkeypatch.chdir(tmp_path)
    with running_mail_sink(tmp_path / "var" / "mail") as sink:  # where `netkeep demo` keeps it
        env = {
            "NETKEEP_DATABASE_URL": journey_db,
            "NETKEEP_MERAKI_BASE_URL": sandbox.base_url,
            "NETKEEP_MERAKI_API_KEY": sandbox.api_key,
            "NETKEEP_MERAKI_MAX_RETRIES": "1",
            "NETKEEP_PROVISIONING_RATE_PER_ORG": "500",
            "NETKEEP_PROVISIONING_BATCH_POLL_SECONDS": "0.05",
            "NETKEEP_PROVISIONING_BATCH_POLL_MAX_SECONDS": "0.2",
            "NETKEEP_SMTP_HOST": sink.host,
            "NETKEEP_SMTP_PORT": str(sink.port),
            "NETKEEP_VAR_DIR": str(tmp_path / "var"),
            "NETKEEP_SURVEY_DIR": str(tmp_path / "var" / "survey"),
            "NETKEEP_ACTOR": DEFAULT_ACTOR,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        data = load_demo(journey_db)
        settings = get_settings()
        with TestClient(create_app(settings)) as client:
            world = Journey(
                settings=settings,
                sandbox=sandbox,
                mail=sink,
                clock=clock,
                admin_token=data.admin_token,
                folder=tmp_path,
                monkeypatch=monkeypatch,
                client=client,
            )
            world.doctor_clean("netkeep demo (load_demo)")
            yield world
        get_settings.cache_clear()
