"""The in-process scheduler (`netkeep serve` on SQLite) runs the same job functions at their ticks.

The default schedule, as README "Jobs" states it: the RMA sweep at minute 7 of every hour, the
reminders at minute 12, change-request auto-acceptance every 5 minutes, the doctor at minute 30.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.app import create_app
from core.models import AuditEntry
from core.settings import Settings
from doctor.jobs import record_check
from jobs.catalogue import JobContext
from jobs.inprocess import InProcessJobs
from rma.models import DamageChargeRecord
from sandbox.server import SandboxServer
from tests.service.rma_builders import build_world, shipped_rma
from tests.service.test_changes_lifecycle import run_to_notified
from tests.service.test_changes_lifecycle import world as world
from tests.unit.changes.builders import (
    Inbox,
    change_raw,
    smtp_inbox_fixture,  # noqa: F401  (the smtp_inbox fixture)
)


def context(session: Session, settings: Settings, sandbox: SandboxServer) -> JobContext:
    cfg = settings.model_copy(
        update={
            "meraki_base_url": sandbox.base_url,
            "meraki_org_id": "537758",
            # the every-minute monitoring jobs are tested in tests/service/test_monitoring_*,
            # the resumption of applies in tests/reliability/test_apply_recovery.py; moved to
            # New Year's Eve here so these ticks stay the ones the docstring lists
            "job_schedule": {
                "monitor.poll": "59 23 31 12 *",
                "monitor.notices": "59 23 31 12 *",
                "changes.resume_applies": "59 23 31 12 *",
            },
        }
    )
    bind = session.get_bind()
    assert isinstance(bind, Engine) or hasattr(bind, "engine")
    return JobContext(
        settings=cfg,
        engine=bind if isinstance(bind, Engine) else bind.engine,
        session_factory=lambda: nullcontext(session),
    )


def doctor_results(session: Session) -> list[datetime]:
    stmt = select(AuditEntry.at).where(AuditEntry.action == "doctor.checked")
    return sorted(_utc(at) for at in session.exec(stmt.order_by(col(AuditEntry.at))))


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def test_the_scheduler_runs_each_job_at_its_tick_once(
    session: Session, settings: Settings, sandbox: SandboxServer, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)  # due 2026-06-12
    start = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    jobs = InProcessJobs(context(session, settings, sandbox), clock=lambda: start)
    assert jobs.run_due(start) == {}  # every next tick lies after the start
    assert set(jobs.run_due(start + timedelta(minutes=6))) == {"changes.auto_accept"}  # 00:05
    assert jobs.run_due(start + timedelta(minutes=6, seconds=30)) == {}
    ran = jobs.run_due(start + timedelta(minutes=31))  # 00:07, 00:12, 00:20, 00:30 and 00:30
    assert set(ran) == {
        "rma.sweep",
        "rma.reminders",
        "changes.auto_accept",
        "doctor.check",
        "helpdesk.auto_close",
    }
    # the MX67's list price ¥128,000 plus 10% tax, charged once
    charged = {"overdue": [rma.number], "charged": [rma.number], "total_yen": 140_800}
    assert ran["rma.sweep"] == charged
    assert doctor_results(session) == [start + timedelta(minutes=30)]  # recorded at its tick
    assert jobs.run_due(start + timedelta(minutes=32)) == {}
    later = jobs.run_due(start + timedelta(hours=1, minutes=31))
    assert set(later) == {
        "rma.sweep",
        "rma.reminders",
        "changes.auto_accept",
        "doctor.check",
        "helpdesk.auto_close",
    }
    assert later["rma.sweep"] == {"overdue": [], "charged": [], "total_yen": 0}
    charges = session.exec(select(DamageChargeRecord).where(DamageChargeRecord.rma_id == rma.id))
    assert len(charges.all()) == 1
    assert doctor_results(session) == [
        start + timedelta(minutes=30),
        start + timedelta(hours=1, minutes=30),
    ]


def test_the_scheduler_accepts_change_requests_after_the_window(
    world: Any, session: Session, settings: Settings, sandbox: SandboxServer, smtp_inbox: Inbox
) -> None:
    req = run_to_notified(session, world, smtp_inbox, change_raw())
    assert req.acceptance_due_at is not None
    due = _utc(req.acceptance_due_at)
    before = due.replace(second=0, microsecond=0) - timedelta(minutes=10)
    jobs = InProcessJobs(context(session, settings, sandbox), clock=lambda: before)
    assert jobs.run_due(before + timedelta(minutes=5))["changes.auto_accept"] == {"accepted": []}
    ran = jobs.run_due(before + timedelta(minutes=15))
    assert ran["changes.auto_accept"] == {"accepted": [req.number]}
    assert jobs.run_due(before + timedelta(minutes=20))["changes.auto_accept"] == {"accepted": []}


def test_the_scheduler_thread_runs_until_stopped(
    session: Session, settings: Settings, sandbox: SandboxServer
) -> None:
    start = datetime(2026, 7, 1, 0, 29, 59, tzinfo=UTC)
    moments = iter([start] + [start + timedelta(seconds=2)] * 1000)
    jobs = InProcessJobs(
        context(session, settings, sandbox), clock=lambda: next(moments), poll_seconds=0.01
    )
    first = dict(jobs.next_run)
    jobs.start()
    deadline = time.monotonic() + 10
    while jobs.next_run == first and time.monotonic() < deadline:
        time.sleep(0.01)
    jobs.stop()
    assert jobs.next_run["doctor.check"] == datetime(2026, 7, 1, 1, 30, tzinfo=UTC)
    assert doctor_results(session) == [datetime(2026, 7, 1, 0, 30, tzinfo=UTC)]


def test_serve_on_sqlite_starts_the_scheduler_with_the_app(settings: Settings) -> None:
    if not settings.is_sqlite:
        return  # on PostgreSQL `netkeep worker` runs the periodic jobs
    app = create_app(settings.model_copy(update={"jobs_in_process": True}))
    jobs = app.state.background_jobs
    assert isinstance(jobs, InProcessJobs)
    with TestClient(app):
        assert jobs._thread is not None and jobs._thread.is_alive()
    assert jobs._thread is None


def test_a_doctor_tick_is_recorded_once(session: Session) -> None:
    tick = datetime(2026, 7, 1, 0, 30, tzinfo=UTC)
    first = record_check(session=session, dashboard=None, organization_id="537758", now=tick)
    again = record_check(session=session, dashboard=None, organization_id="537758", now=tick)
    other = record_check(session=session, dashboard=None, organization_id="999", now=tick)
    assert first is not None and again is None and other is not None
    assert doctor_results(session) == [tick, tick]  # one per organization and tick
