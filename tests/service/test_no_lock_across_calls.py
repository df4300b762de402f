"""Issue 20, item 1: no database write transaction is held while an outside call is under way.

Rule (docs/architecture.md, "Outside calls and transactions"): a use case claims what it is
about to do and commits, then calls the dashboard (or SMTP), then records the outcome in a new
transaction — so that another writer is never kept waiting on the dashboard's or the mail
server's latency, and a SQLite database is never locked for the length of a call.

Each use case runs on a real SQLite file, in a session opened as the API opens one for a POST
(`begin_write`: BEGIN IMMEDIATE), against the sandbox. At every HTTP request the transport seam
sends (its `Budget.acquire`, the pacing hook) and at every mail the SMTP server receives, a
second connection tries to begin a write with a 50 ms busy timeout: it must get the lock.
"""

from __future__ import annotations

import socket
import sqlite3
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine
from sqlmodel import Session

from changes import acceptance, applying, scheduling
from changes import service as changes
from changes.mailer import SmtpMailer
from core import migrate
from core.db import begin_write, make_engine
from dashboard.meraki import MerakiDashboard
from inventory import reconcile
from inventory.catalogue_defaults import seed_catalogue
from provisioning import rollout as rollouts
from provisioning.service import apply_plan, plan_sheet, rollback_job
from sandbox.server import SandboxServer
from tests.service.helpers import seed_demo_inventory
from tests.service.test_provisioning_apply import ACTOR, OPTIONS, ORG, apply, dashboard_for
from tests.service.test_provisioning_units import UTM_UNIT, clock, utm_with
from tests.unit.changes.builders import (
    ENV,
    TUESDAY_10,
    as_bytes,
    build_contracts,
    link_site,
    typical_utm_change,
)
from tests.unit.provisioning.sheets import EXAMPLE_ENV, EXAMPLES

REPO = str(Path(__file__).resolve().parents[2]) + "/"  # netkeep's own frames only


@dataclass
class WriteProbe:
    """At each outside call: can another connection begin a write right now?"""

    path: Path
    calls: int = 0
    blocked: list[str] = field(default_factory=list)

    def check(self, what: str) -> None:
        self.calls += 1
        other = sqlite3.connect(self.path, timeout=0.05, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        except sqlite3.OperationalError:
            frames = [
                f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno} {f.name}"
                for f in traceback.extract_stack()
                if f.filename.startswith(REPO) and "/.venv/" not in f.filename
                and "/tests/" not in f.filename
            ]  # fmt: skip
            self.blocked.append(f"{what} via {' < '.join(reversed(frames[-6:]))}")
        finally:
            other.close()

    # the transport seam's Budget protocol: called before every HTTP request goes out
    def acquire(self, organization_id: str) -> float:
        self.check(f"dashboard request ({organization_id})")
        return 0.0

    def pause(self, organization_id: str, seconds: float) -> None:
        return None


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "locks.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        yield engine, path
    finally:
        engine.dispose()


def writer(engine: Engine) -> Session:
    """A session as the API opens one for a POST: a writer (SQLite: BEGIN IMMEDIATE)."""
    session = Session(engine, expire_on_commit=False)
    begin_write(session)
    return session


def test_apply_rollback_and_rollout_hold_no_write_lock_during_dashboard_calls(
    db: tuple[Engine, Path], sandbox: SandboxServer
) -> None:
    engine, path = db
    with Session(engine) as session:
        seed_demo_inventory(session)
        session.commit()
    probe = WriteProbe(path)
    dash = dashboard_for(sandbox, limiter=probe)
    sheet = utm_with(UTM_UNIT, name="さくら商事 本社")
    with writer(engine) as session:
        plan = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS, session=session)
        job = apply_plan(
            session=session, dashboard=dash, sheet=sheet, plan=plan, actor=ACTOR, clock=clock,
            options=OPTIONS,
        )  # fmt: skip
        session.commit()
    assert job.status == "done" and job.id is not None
    with writer(engine) as session:
        back = rollback_job(
            session=session, dashboard=dash, job_id=job.id, actor=ACTOR, clock=clock,
            options=OPTIONS, delete_network=True,
        )  # fmt: skip
        session.commit()
    assert back.status == "done"
    sites = [
        rollouts.RolloutSite(dash, utm_with(UTM_UNIT, name="さくら商事 新本社")),
        rollouts.RolloutSite(dash, utm_with("Q2KY-BBBB-0001", "MX68", name="さくら商事 倉庫")),
    ]
    with writer(engine) as session:
        rollouts.plan_rollout(sites, OPTIONS, session=session)
        outcome = rollouts.apply_rollout(
            session=session, sites=sites, actor=ACTOR, clock=clock, options=OPTIONS
        )
        session.commit()
    assert [j.status for j in outcome.jobs] == ["done", "done"]
    assert probe.calls > 20  # the probe did look, at every request
    assert probe.blocked == [], "\n".join(probe.blocked)


def test_inventory_reconcile_holds_no_write_lock_during_the_dashboard_read(
    db: tuple[Engine, Path], sandbox: SandboxServer
) -> None:
    engine, path = db
    probe = WriteProbe(path)
    dashboard = MerakiDashboard(api_key=sandbox.api_key, base_url=sandbox.base_url)
    dashboard.meter.limiter = probe
    with writer(engine) as session:
        reconcile.reconcile(
            session=session, dashboard=dashboard, organization_id=ORG, actor=ACTOR,
            now=datetime.now(UTC), apply=True,
        )  # fmt: skip
        session.commit()
    assert probe.calls >= 1
    assert probe.blocked == [], "\n".join(probe.blocked)


class _ProbingHandler:
    def __init__(self, probe: WriteProbe) -> None:
        self.probe = probe
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.probe.check("SMTP DATA")
        self.received += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_change_request_apply_and_notice_hold_no_write_lock_during_calls(
    db: tuple[Engine, Path], sandbox: SandboxServer
) -> None:
    engine, path = db
    from core.calendar import BusinessCalendar
    from provisioning.sheet_io import load_sheet
    from tests.service.test_changes_lifecycle import DESK, FIELD, NOC

    probe = WriteProbe(path)
    dash = dashboard_for(sandbox, limiter=probe)
    with Session(engine, expire_on_commit=False) as session:
        seed_catalogue(session=session, actor=ACTOR)
        build_contracts(session)
        job = apply(
            session, dashboard_for(sandbox), load_sheet(EXAMPLES / "utm.yaml", environ=EXAMPLE_ENV)
        )
        link_site(session, job.network_id)
        req = changes.submit_request(
            session=session, actor=FIELD, filename="cr.yaml",
            content=as_bytes(typical_utm_change()), notice_email="soumu@sakura.example.jp",
            now=TUESDAY_10, environ=ENV,
        )  # fmt: skip
        assert req.id is not None and req.status == "validated", req.problems
        changes.approve_request(session=session, actor=NOC, request_id=req.id, now=TUESDAY_10)
        scheduling.schedule_request(
            session=session, actor=NOC, calendar=BusinessCalendar(), request_id=req.id,
            now=TUESDAY_10,
        )  # fmt: skip
        session.commit()
    calls = probe.calls
    with writer(engine) as session:
        applied = applying.apply_request(
            session=session, actor=NOC, calendar=BusinessCalendar(), request_id=req.id,
            now=TUESDAY_10, dashboard=dash, options=OPTIONS, environ=ENV,
        )  # fmt: skip
    assert applied.status == "applied", applied.apply_error
    assert probe.calls > calls
    handler = _ProbingHandler(probe)
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mailer = SmtpMailer(host="127.0.0.1", port=port, sender="noc@example.jp", sender_name="NOC")
        with writer(engine) as session:
            notified = acceptance.send_completion_notice(
                session=session, actor=DESK, mailer=mailer, request_id=req.id,
                now=TUESDAY_10 + timedelta(minutes=5), acceptance_days=7,
            )  # fmt: skip
            session.commit()
    finally:
        controller.stop()
    assert notified.status == "notified" and handler.received == 1
    assert probe.blocked == [], "\n".join(probe.blocked)


def test_vpn_check_and_build_hold_no_write_lock_during_dashboard_calls(
    db: tuple[Engine, Path], sandbox: SandboxServer
) -> None:
    from dashboard.vpn import MerakiVpnDashboard
    from tests.conftest import ADMIN
    from tests.service.test_vpn_service import request
    from tests.unit.vpn import world
    from vpn import construction, eligibility

    engine, path = db
    probe = WriteProbe(path)
    world.load(sandbox)
    with Session(engine) as session:
        seed_catalogue(session=session, actor=ADMIN)
        world.contracts(session)
        session.commit()
    plain = MerakiDashboard(api_key=sandbox.api_key, base_url=sandbox.base_url)
    plain.meter.limiter = probe
    vpn = MerakiVpnDashboard(plain)
    provisioning = world.provisioning_dashboard(sandbox)
    provisioning.meter.limiter = probe
    with writer(engine) as session:
        rows = eligibility.check_sites(
            session=session, dashboard=vpn, actor=ADMIN, organization_id=world.ORG,
            network_ids=[world.TOKYO, world.OSAKA], now=world.T1, accept_documentation=True,
        )  # fmt: skip
        session.commit()
    assert len(rows) == 2
    with writer(engine) as session:
        built = construction.build_vpn(
            session=session, dashboard=vpn, provisioning=provisioning, options=world.OPTIONS,
            actor=ADMIN, organization_id=world.ORG, request=request(), now=world.T1,
            accept_documentation=True,
        )  # fmt: skip
        session.commit()
    assert built.build.status == "applied" and built.build.id is not None
    with writer(engine) as session:
        reverted = construction.revert_build(
            session=session, dashboard=vpn, provisioning=provisioning, options=world.OPTIONS,
            actor=ADMIN, build_id=built.build.id, now=world.T2,
        )  # fmt: skip
        session.commit()
    assert reverted.status == "reverted"
    assert probe.calls > 5
    assert probe.blocked == [], "\n".join(probe.blocked)


def test_a_router_change_requests_ssh_push_holds_no_write_lock(
    db: tuple[Engine, Path], fake_ios: Any, monkeypatch: Any
) -> None:
    from core.calendar import BusinessCalendar
    from netdevices.ports import DeviceTarget
    from tests.service.test_changes_window_and_cli_device import NOC, cli_request, fast_cli

    engine, path = db
    probe = WriteProbe(path)
    with Session(engine, expire_on_commit=False) as session:
        seed_catalogue(session=session, actor=ACTOR)
        rid = cli_request(session, fake_ios, monkeypatch)
        session.commit()

    def probing_cli(target: DeviceTarget) -> Any:
        probe.check("SSH session")
        return fast_cli(target)

    with writer(engine) as session:
        req = applying.apply_request(
            session=session, actor=NOC, calendar=BusinessCalendar(), request_id=rid,
            now=TUESDAY_10, cli_factory=probing_cli,
        )  # fmt: skip
    assert (req.status, req.push_status) == ("applied", "verified")
    assert probe.calls == 1
    assert probe.blocked == [], "\n".join(probe.blocked)
