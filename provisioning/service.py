"""Provisioning use cases: plan a sheet, apply it as a journalled job, resume, roll back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.audit import Actor
from core.errors import Conflict
from core.keys import installation_key
from core.settings import Settings
from provisioning.apply import (
    ApplyHooks,
    BatchTimings,
    Clock,
    Progress,
    create_job,
    get_job,
    run_job,
    snapshot_of,
)
from provisioning.domain import JobKind, JobStatus, desired_resources
from provisioning.models import ProvisioningJob
from provisioning.plan import SitePlan, desired_digest, make_plan, sheet_secrets
from provisioning.ports import ProvisioningDashboard
from provisioning.rollback import rollback_plan
from provisioning.secret_diff import secret_values
from provisioning.secret_record import FileRecord, MemoryRecord, SecretRecord, scope_of
from provisioning.sheet_io import dashboard_view
from provisioning.sheet_model import Plan, Sheet, SheetKind
from provisioning.units import check_units
from survey.versions import require_approved_survey

if TYPE_CHECKING:
    from cryptography.fernet import Fernet


@dataclass(frozen=True)
class ProvisioningOptions:
    """Pacing, the survey gate and the installation's secret handling, from Settings.

    `secret_key` fingerprints secrets; `secret_record` is netkeep's record of the secrets it
    set (what plans compare with); `cipher` opens named secrets (``secret:NAME``).
    """

    secret_key: bytes
    rate: float = 9.0
    poll_seconds: float = 0.5
    require_survey: bool = True
    full_verify: bool = False
    poll_backoff: float = 1.5
    poll_max_seconds: float = 5.0
    batch_deadline_seconds: float = 600.0
    claim_settle_seconds: float = 300.0
    """How long newly claimed devices may answer 404 before the step addressing them fails."""
    network_settle_seconds: float = 300.0
    """How long a newly created network may answer 404 before the step addressing it fails."""
    claim_limit: int | None = 10
    """Claim requests a rollout sends per organization within `claim_window_seconds`."""
    claim_window_seconds: float = 300.0
    secret_record: SecretRecord = field(default_factory=MemoryRecord)
    cipher: Fernet | None = None

    @property
    def batch_timings(self) -> BatchTimings:
        """How action batches are waited for, by a job alone and by a rollout alike."""
        return BatchTimings(
            poll_seconds=self.poll_seconds,
            backoff=self.poll_backoff,
            max_delay=self.poll_max_seconds,
            deadline=self.batch_deadline_seconds,
            claim_settle=self.claim_settle_seconds,
            network_settle=self.network_settle_seconds,
            claim_limit=self.claim_limit,
            claim_window=self.claim_window_seconds,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ProvisioningOptions:
        key = installation_key(settings)
        return cls(
            secret_key=key.fingerprint_key,
            rate=settings.provisioning_rate_per_org,
            poll_seconds=settings.provisioning_batch_poll_seconds,
            require_survey=settings.provisioning_require_survey,
            full_verify=settings.provisioning_full_verify,
            poll_backoff=settings.provisioning_batch_poll_backoff,
            poll_max_seconds=settings.provisioning_batch_poll_max_seconds,
            batch_deadline_seconds=settings.provisioning_batch_deadline_seconds,
            network_settle_seconds=settings.provisioning_network_settle_seconds,
            claim_limit=settings.provisioning_claim_limit or None,
            claim_window_seconds=settings.provisioning_claim_window_seconds,
            secret_record=FileRecord(settings.secret_record_path),
            cipher=key.fernet(),
        )

    def remember_secrets(self, *jobs: ProvisioningJob) -> None:
        """Finished applies' secrets become the record later plans compare with (one write
        for them all: a rollout's organization records before committing its jobs done)."""
        scopes = {
            scope_of(job.organization_id, job.network_id): secret_values(job.desired)
            for job in jobs
            if job.kind == JobKind.APPLY
            and job.status == JobStatus.DONE
            and job.network_id is not None
        }
        self.secret_record.remember_many(scopes)


def plan_sheet(
    *,
    dashboard: ProvisioningDashboard,
    sheet: Sheet,
    options: ProvisioningOptions,
    network_id: str | None = None,
    session: Session | None = None,
    source: str = "",
) -> SitePlan:
    """The field-level plan of a validated sheet against the dashboard (`network_id`: that one).

    With `session`, the sheet's serials are first checked against the inventory
    (`units.check_units`): a refused unit is a ValidationFailed before any dashboard call, and
    the plan carries what the check decided so that the apply keeps the inventory.
    """
    placement = None
    if session is not None:
        placement = check_units(session=session, sheet=sheet, network_id=network_id, source=source)
        session.commit()  # it only read: no transaction (SQLite: no write lock) across the plan
    plan = make_plan(
        dashboard=dashboard,
        sheet=sheet,
        secret_key=options.secret_key,
        rate=options.rate,
        poll_seconds=options.poll_seconds,
        secret_record=options.secret_record,
        network_id=network_id,
    )
    plan.units = placement
    return plan


def recheck_units(*, session: Session, sheet: Sheet, plan: SitePlan, source: str = "") -> None:
    """A plan that was checked against the inventory is checked again before its first write
    (the inventory may have moved since), now knowing the plan's network."""
    if plan.units is not None:
        plan.units = check_units(
            session=session, sheet=sheet, network_id=plan.network_id, source=source
        )


def survey_gate(*, session: Session, sheet: Sheet, options: ProvisioningOptions) -> None:
    """A wireless settings sheet (initial set-up) waits for the customer's approved survey.

    The sheet's `site.name` (surrounding spaces trimmed) must equal a survey's `site` exactly;
    the newest such survey's latest version must be approved. Change requests are not gated.
    """
    if not options.require_survey:
        return
    if sheet.kind != SheetKind.SETTINGS or sheet.site.plan != Plan.WIRELESS:
        return
    site = sheet.site.name.strip()
    try:
        require_approved_survey(session=session, site=site)
    except Conflict as refused:
        raise Conflict(
            f"{refused.message} (the sheet's site.name {site!r} is matched exactly against the "
            "survey's site name; no dashboard write was made)",
            **refused.details,
        ) from refused


def apply_plan(
    *,
    session: Session,
    dashboard: ProvisioningDashboard,
    sheet: Sheet,
    plan: SitePlan,
    actor: Actor,
    clock: Clock,
    options: ProvisioningOptions,
    hooks: ApplyHooks | None = None,
    progress: Progress | None = None,
) -> ProvisioningJob:
    """Journal the plan as a job (snapshot first) and run it to the verification.

    A wireless settings sheet is refused (Conflict) before anything is journalled or written
    unless the site's survey is approved (`survey_gate`).
    """
    survey_gate(session=session, sheet=sheet, options=options)
    recheck_units(session=session, sheet=sheet, plan=plan)
    job = create_job(session=session, plan=plan, actor=actor, now=clock())
    assert job.id is not None
    if hooks is not None and hooks.after_create is not None:
        hooks.after_create(job)
    done = run_job(
        session=session,
        dashboard=dashboard,
        job_id=job.id,
        secrets=sheet_secrets(sheet),
        secret_key=options.secret_key,
        actor=actor,
        clock=clock,
        hooks=hooks,
        progress=progress,
        full_verify=options.full_verify,
        timings=options.batch_timings,
        before_done=options.remember_secrets,
    )
    return done


def resume_job(
    *,
    session: Session,
    dashboard: ProvisioningDashboard,
    job_id: int,
    sheet: Sheet,
    actor: Actor,
    clock: Clock,
    options: ProvisioningOptions,
    hooks: ApplyHooks | None = None,
    progress: Progress | None = None,
) -> ProvisioningJob:
    """Continue an interrupted apply with the same sheet (its secrets are needed again)."""
    job = get_job(session=session, job_id=job_id)
    if job.kind == JobKind.APPLY:
        desired = desired_resources(dashboard_view(sheet, secret_key=options.secret_key))
        if desired_digest(desired) != job.sheet_digest:
            raise Conflict(
                f"job {job_id} was planned from another sheet (or other secrets); "
                "resume it with the sheet it was created from",
                job_id=job_id,
            )
    if job.status == JobStatus.DONE:
        return job
    done = run_job(
        session=session,
        dashboard=dashboard,
        job_id=job_id,
        secrets=sheet_secrets(sheet),
        secret_key=options.secret_key,
        actor=actor,
        clock=clock,
        hooks=hooks,
        progress=progress,
        full_verify=options.full_verify,
        timings=options.batch_timings,
        before_done=options.remember_secrets,
    )
    return done


def rollback_job(
    *,
    session: Session,
    dashboard: ProvisioningDashboard,
    job_id: int,
    actor: Actor,
    clock: Clock,
    options: ProvisioningOptions,
    progress: Progress | None = None,
    delete_network: bool = False,
) -> ProvisioningJob:
    """Restore a job's snapshot as a new, journalled rollback job.

    A network the job created is left in place (reset to a new network's settings and named in
    `not_restorable`) unless `delete_network`, which deletes it instead.
    """
    job = get_job(session=session, job_id=job_id)
    if job.kind != JobKind.APPLY:
        raise Conflict(f"job {job_id} is a {job.kind} job; only applies can be rolled back")
    if job.network_id is None:
        raise Conflict(f"job {job_id} never reached the dashboard; nothing to roll back")
    _refuse_open_rollback(session, job_id)
    snapshots = snapshot_of(session=session, job_id=job_id)
    session.commit()  # it only read: no transaction held across the dashboard's reads
    plan, not_restorable, absent = rollback_plan(
        job=job,
        snapshots=snapshots,
        dashboard=dashboard,
        secret_key=options.secret_key,
        rate=options.rate,
        poll_seconds=options.poll_seconds,
        delete_network=delete_network,
    )
    _refuse_open_rollback(session, job_id)
    try:
        back = create_job(
            session=session,
            plan=plan,
            actor=actor,
            now=clock(),
            kind=JobKind.ROLLBACK,
            rollback_of=job_id,
            not_restorable=not_restorable,
            expect_absent=absent,
        )
    except IntegrityError:  # another rollback of the job was journalled meanwhile
        session.rollback()
        _refuse_open_rollback(session, job_id)
        raise
    assert back.id is not None
    return run_job(
        session=session,
        dashboard=dashboard,
        job_id=back.id,
        secrets={},
        secret_key=options.secret_key,
        actor=actor,
        clock=clock,
        progress=progress,
        full_verify=options.full_verify,
        timings=options.batch_timings,
    )


def _refuse_open_rollback(session: Session, job_id: int) -> None:
    """One unfinished rollback per job (a partial unique index holds the rule when two race):
    a rollback of it pending or running is a Conflict. One that ended (done or failed) leaves
    the job free to be rolled back again (e.g. now deleting the network it kept)."""
    stmt = select(ProvisioningJob).where(
        ProvisioningJob.rollback_of == job_id,
        ProvisioningJob.kind == JobKind.ROLLBACK.value,
        col(ProvisioningJob.status).in_([JobStatus.PENDING.value, JobStatus.RUNNING.value]),
    )
    found = session.exec(stmt).first()
    if found is not None:
        raise Conflict(
            f"job {job_id} is being rolled back by job {found.id} ({found.status}); nothing was "
            f"sent (continue that one: netkeep rollback --resume {found.id}, "
            f"POST /api/v1/jobs/{found.id}/resume)",
            job_id=job_id,
            rollback_job=found.id,
        )


def resume_rollback(
    *,
    session: Session,
    dashboard: ProvisioningDashboard,
    job_id: int,
    actor: Actor,
    clock: Clock,
    options: ProvisioningOptions,
    progress: Progress | None = None,
) -> ProvisioningJob:
    """Continue a rollback job at its first unfinished step (a rollback needs no sheet)."""
    job = get_job(session=session, job_id=job_id)
    if job.kind != JobKind.ROLLBACK:
        raise Conflict(
            f"job {job_id} is an {job.kind} job: resume it with the sheet it was planned from "
            f"(netkeep apply SHEET --resume {job_id}, site {job.network_name})",
            job_id=job_id,
        )
    if job.status == JobStatus.DONE:
        return job
    return run_job(
        session=session,
        dashboard=dashboard,
        job_id=job_id,
        secrets={},
        secret_key=options.secret_key,
        actor=actor,
        clock=clock,
        poll_seconds=options.poll_seconds,
        progress=progress,
        full_verify=options.full_verify,
    )


__all__ = [
    "ApplyHooks",
    "ProvisioningOptions",
    "apply_plan",
    "plan_sheet",
    "resume_job",
    "resume_rollback",
    "rollback_job",
    "survey_gate",
]
