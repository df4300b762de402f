"""Every job netkeep runs by itself: its name, its schedule, and the one function that runs it.

Both engines call these functions, so a job is the same code on PostgreSQL (procrastinate) and
on SQLite (the in-process scheduler). A periodic job's `now` is the moment it was scheduled for,
so one tick has one `now` whichever worker runs it. Schedules are cron lines (UTC, minutes;
a sixth field is seconds) and can be changed per job with NETKEEP_JOB_SCHEDULE.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.errors import Problem, ValidationFailed
from core.keys import installation_key
from core.settings import Settings


@dataclass
class JobContext:
    """What a job needs: settings, the database and the dashboard adapters (built on first use)."""

    settings: Settings
    engine: Engine
    session_factory: Callable[[], AbstractContextManager[Session]] | None = None
    adapters: dict[str, Any] = field(default_factory=dict)
    _adapters_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        factory = self.session_factory or (lambda: Session(self.engine, expire_on_commit=False))
        with factory() as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise

    @cached_property
    def dashboard(self) -> Any:
        from dashboard.meraki import MerakiDashboard

        return self.adapters.get("dashboard") or MerakiDashboard.from_settings(self.settings)

    @cached_property
    def monitoring(self) -> Any:
        from dashboard.monitoring import MerakiMonitoring

        found = self.adapters.get("monitoring")
        return found or MerakiMonitoring.from_settings(self.settings)

    @cached_property
    def provisioning(self) -> Any:
        from dashboard.provisioning import MerakiProvisioning

        found = self.adapters.get("provisioning")
        return found or MerakiProvisioning.from_settings(self.settings)

    def provisioning_for(self, organization_ids: Iterable[str]) -> dict[str, Any]:
        """The provisioning adapters of these organizations (one shared budget), each built
        once per context; the configured organization's is `provisioning`."""
        from dashboard.provisioning import dashboards_for

        wanted = list(dict.fromkeys(organization_ids))
        with self._adapters_lock:
            built: dict[str, Any] = self.adapters.setdefault("provisioning_by_org", {})
            if self.settings.meraki_org_id in wanted:
                built.setdefault(self.settings.meraki_org_id, self.provisioning)
            missing = [org for org in wanted if org not in built]
            if missing:
                built.update(dashboards_for(self.settings, missing))
            return {org: built[org] for org in wanted}


def rma_sweep(ctx: JobContext, now: datetime) -> object:
    from rma.jobs import sweep_overdue

    with ctx.session() as session:
        report = sweep_overdue(
            session=session, now=now, tax_rate_percent=ctx.settings.tax_rate_percent
        )
    return {"overdue": report.overdue, "charged": report.charged, "total_yen": report.total_yen}


def rma_reminders(ctx: JobContext, now: datetime) -> object:
    from rma.jobs import send_reminders

    with ctx.session() as session:
        sent = send_reminders(session=session, now=now)
    return {"sent": [s.number for s in sent]}


def change_auto_acceptance(ctx: JobContext, now: datetime) -> object:
    from changes.jobs import auto_accept

    with ctx.session() as session:
        return {"accepted": auto_accept(session=session, now=now)}


def change_resume_applies(ctx: JobContext, now: datetime) -> object:
    """Applies left by a process that died (`changes.applying.resume_interrupted_applies`),
    finished here; an applied one's completion notice mailed as the apply would have."""
    from changes.acceptance import send_completion_notice
    from changes.applying import interrupted_applies, resume_interrupted_apply
    from changes.domain import ChangeStatus
    from changes.mailer import MailNotSent, SmtpMailer
    from core.audit import SYSTEM
    from core.db import begin_write
    from netdevices.netmiko_adapter import NetmikoDeviceCLI
    from provisioning.service import ProvisioningOptions

    settings = ctx.settings
    with ctx.session() as session:
        waiting = interrupted_applies(session=session)
    resumed: dict[str, str] = {}
    for request_id in waiting:
        with ctx.session() as session:
            begin_write(session)  # SQLite: each of its transactions a writer from the start
            req = resume_interrupted_apply(
                session=session, actor=SYSTEM, request_id=request_id, now=now,
                dashboard=ctx.provisioning, options=ProvisioningOptions.from_settings(settings),
                cli_factory=ctx.adapters.get("cli_factory") or NetmikoDeviceCLI,
                environ=ctx.adapters.get("environ"),
            )  # fmt: skip
            if req is None:
                continue  # its process is alive (or it ended meanwhile)
            resumed[str(request_id)] = req.status
            if req.status != ChangeStatus.APPLIED:
                continue
            mailer = ctx.adapters.get("mailer") or SmtpMailer.from_settings(settings)
            with suppress(MailNotSent):  # kept on the request (notice_error): resent from its page
                send_completion_notice(
                    session=session, actor=SYSTEM, mailer=mailer, request_id=request_id,
                    now=now, acceptance_days=settings.change_acceptance_days,
                    sender_name=settings.smtp_from_name,
                )  # fmt: skip
            session.commit()
    return {"resumed": resumed, "alive": len(waiting) - len(resumed)}


def incident_auto_close(ctx: JobContext, now: datetime) -> object:
    from helpdesk.jobs import close_unanswered

    with ctx.session() as session:
        return {"closed": close_unanswered(session=session, now=now)}


def doctor_check(ctx: JobContext, now: datetime) -> object:
    from doctor.jobs import record_check

    with ctx.session() as session:
        findings = record_check(
            session=session,
            dashboard=ctx.dashboard,
            organization_id=ctx.settings.meraki_org_id,
            now=now,
        )
    if findings is None:
        return {"skipped": "this tick's result is already recorded"}
    return {"violations": len(findings.violations), "error": findings.dashboard_error}


def monitor_poll(ctx: JobContext, now: datetime) -> object:
    """Every monitored organization (NETKEEP_MONITOR_ORG_IDS) side by side; one failing is
    logged and reported, the others are recorded."""
    from core.audit import SYSTEM
    from core.settings import business_calendar, monitor_organizations
    from monitoring.domain import Debounce
    from monitoring.polling import poll_organizations

    settings = ctx.settings
    done = poll_organizations(
        session_factory=ctx.session,
        dashboard=ctx.monitoring,
        organization_ids=monitor_organizations(settings),
        actor=SYSTEM,
        now=now,
        debounce=Debounce(settings.monitor_debounce_polls, settings.monitor_debounce_minutes),
        prefer_change_history=settings.monitor_change_history,
        calendar=business_calendar(settings),
    )
    done.raise_if_none_polled()
    return {
        "devices": done.devices,
        "opened": done.opened,
        "closed": done.closed,
        "organizations": {
            r.organization_id: {"method": r.method, "devices": r.devices, "repeated": r.repeated}
            for r in done.reports
        },
        "failed": done.failed,
    }


def monitor_notices(ctx: JobContext, now: datetime) -> object:
    from changes.mailer import SmtpMailer
    from core import secret_store
    from monitoring.jobs import deliver_failure_notices
    from monitoring.outbound import HttpNoticePoster

    cipher = installation_key(ctx.settings).fernet()

    def secrets(customer: str, name: str) -> str | None:
        with ctx.session() as session:
            return secret_store.reveal(session=session, cipher=cipher, customer=customer, name=name)

    with ctx.session() as session:
        done = deliver_failure_notices(
            session=session,
            mailer=ctx.adapters.get("mailer") or SmtpMailer.from_settings(ctx.settings),
            poster=ctx.adapters.get("poster") or HttpNoticePoster(),
            secrets=secrets,
            now=now,
        )
    return {"sent": done.sent, "retrying": done.retrying}


@dataclass(frozen=True, slots=True)
class Periodic:
    """A recurring job: its name (also its lock: never two runs at once), cron line, function."""

    name: str
    cron: str
    run: Callable[[JobContext, datetime], object]
    why: str


PERIODIC: tuple[Periodic, ...] = (
    Periodic("rma.sweep", "7 * * * *", rma_sweep, "overdue RMAs marked and charged once"),
    Periodic("rma.reminders", "12 * * * *", rma_reminders, "return reminders due today"),
    Periodic(
        "changes.auto_accept",
        "*/5 * * * *",
        change_auto_acceptance,
        "change requests accepted when the defect window ends",
    ),
    Periodic(
        "changes.resume_applies",
        "* * * * *",
        change_resume_applies,
        "change-request applies left by a process that died finished from their journal",
    ),
    Periodic("doctor.check", "30 * * * *", doctor_check, "the invariants checked and recorded"),
    Periodic(
        "helpdesk.auto_close",
        "20 * * * *",
        incident_auto_close,
        "answered incidents closed 5 days after the answer with no reply",
    ),
    Periodic(
        "monitor.poll", "* * * * *", monitor_poll, "device liveness polled; outages opened/closed"
    ),
    Periodic(
        "monitor.notices",
        "* * * * *",
        monitor_notices,
        "failure notices due in their window sent; failed ones retried with backoff",
    ),
)
BY_NAME = {p.name: p for p in PERIODIC}
RETRY_STALLED = "jobs.retry_stalled"
"""The engine's own periodic job (PostgreSQL): jobs of a dead worker are run again."""
RETRY_STALLED_CRON = "* * * * *"
PRUNE_FINISHED = "jobs.prune_finished"
"""The engine's own daily job (PostgreSQL): succeeded jobs older than the kept days removed."""
PRUNE_FINISHED_CRON = "17 4 * * *"
ROLLOUT = "provisioning.rollout"


def schedule(settings: Settings) -> dict[str, str]:
    """Each periodic job's cron line, NETKEEP_JOB_SCHEDULE overriding the defaults."""
    from croniter import croniter

    lines = {p.name: p.cron for p in PERIODIC} | {
        RETRY_STALLED: RETRY_STALLED_CRON,
        PRUNE_FINISHED: PRUNE_FINISHED_CRON,
    }
    problems = []
    for name, line in sorted(settings.job_schedule.items()):
        where = f"NETKEEP_JOB_SCHEDULE.{name}"
        if name not in lines:
            problems.append(Problem(f"no job is called {name!r}: {', '.join(lines)}", where))
        elif not croniter.is_valid(line):
            problems.append(Problem(f"{line!r} is not a cron line", where))
    if problems:
        raise ValidationFailed(problems, "the job schedule is invalid; no job was started")
    return lines | dict(settings.job_schedule)


def run_rollout(
    ctx: JobContext, payload: Mapping[str, Any], dashboards: Mapping[str, Any] | None = None
) -> object:
    """A background rollout: read the sealed sheets again and run the rollout from its journal,
    each sheet in the organization the payload recorded for it (`dashboards`: the adapters to
    use, by organization; else the context's)."""
    from core import secret_store
    from core.process_claims import ClaimHeld
    from core.settings import managed_organizations
    from provisioning.jobs import (
        payload_actor,
        payload_organizations,
        payload_sheets,
        read_all_uploaded,
        run_background_rollout,
    )
    from provisioning.service import ProvisioningOptions

    key = installation_key(ctx.settings)
    cipher = key.fernet()

    def secrets(customer: str, name: str) -> str | None:
        with ctx.session() as session:
            return secret_store.reveal(session=session, cipher=cipher, customer=customer, name=name)

    managed = managed_organizations(ctx.settings)
    sheets = read_all_uploaded(payload_sheets(payload, key.job_fernet()), secrets, managed)
    organizations = payload_organizations(payload, ctx.settings.meraki_org_id)
    if dashboards is None:
        dashboards = ctx.provisioning_for(organizations)
    with ctx.session() as session:
        try:
            outcome = run_background_rollout(
                session=session,
                rollout=str(payload["rollout"]),
                sheets=sheets,
                organizations=organizations,
                dashboards=dashboards,
                actor=payload_actor(payload),
                options=ProvisioningOptions.from_settings(ctx.settings),
            )
        except ClaimHeld as held:  # another process runs it (and finishes it): not a failure
            return {"rollout": str(payload["rollout"]), "skipped": held.message}
        return {"rollout": outcome.rollout, "done": outcome.done}
