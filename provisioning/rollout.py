"""Rollouts: many sheets applied together, sharing reads and action batches per organization.

A field team opening a chain of sites applies their sheets in one go. Every sheet stays its own
journalled job (snapshot, steps, verification, rollback, resume), the jobs grouped by a rollout
id; what they share is the dashboard work of one organization (`org_rollout.OrgRollout`):
planning reads the organization's networks once, then each existing network's collections; the
runners of its jobs are composed phase by phase. Organizations are planned side by side
(`rollout_plan`), and run in parallel, one thread and one database session each (`own_sessions`:
on the caller's engine unless a session factory is given), each at its own budget; on SQLite
their journals' writes queue on the process's writer gate (`core.db.GatedConnection`), and each
organization starts and ends its jobs in one transaction.
`--rollout R` resumes: each unfinished job continues from its journal.
"""

from __future__ import annotations

import secrets as token
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Engine
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from core.audit import Actor
from core.db import patient_writer_engine
from core.errors import Conflict, Problem, ValidationFailed
from core.heap import bulk_run
from inventory import holds
from provisioning.apply import claim_jobs, runners_for
from provisioning.domain import JobKind, JobStatus, StepStatus, desired_resources
from provisioning.journal import ApplyHooks, Clock, create_jobs
from provisioning.models import ProvisioningJob
from provisioning.org_rollout import OrgRollout
from provisioning.plan import desired_digest, sheet_secrets
from provisioning.ports import ProvisioningDashboard
from provisioning.rollout_cost import alone_calls, rollout_cost, rollout_estimate
from provisioning.rollout_plan import RolloutSite, plan_rollout
from provisioning.runner import Progress
from provisioning.service import ProvisioningOptions, recheck_units, survey_gate
from provisioning.sheet_io import dashboard_view

SessionFactory = Callable[[], Session]


@dataclass
class RolloutOutcome:
    """The jobs of a rollout and what the whole rollout cost."""

    rollout: str
    jobs: list[ProvisioningJob]
    calls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def done(self) -> bool:
        return all(j.status == JobStatus.DONE for j in self.jobs)


def new_rollout_id(now: datetime) -> str:
    return f"R{now:%Y%m%d%H%M%S}-{token.token_hex(3)}"


# --- use cases -----------------------------------------------------------------------------------


@contextmanager
def _session_for(factory: SessionFactory | None, fallback: Session) -> Iterator[Session]:
    if factory is None:
        yield fallback
        return
    with factory() as session:
        yield session


@dataclass
class PreparedRollout:
    """A rollout journalled (its jobs pending, committed) and ready to run."""

    rollout: str
    groups: dict[str, tuple[ProvisioningDashboard, list[tuple[int, Mapping[str, str]]]]]
    whole: bool = False
    """The outcome holds every job of the rollout (a resume), not only those run."""

    @property
    def job_ids(self) -> list[int]:
        return sorted(job_id for _, jobs in self.groups.values() for job_id, _ in jobs)


@dataclass
class _RunContext:
    """What every organization's share of one rollout run needs."""

    rollout: str
    actor: Actor
    clock: Clock
    options: ProvisioningOptions
    hooks: ApplyHooks | None
    progress: Progress | None
    sleep: Callable[[float], None]


def run_organization(
    *,
    session: Session,
    dashboard: ProvisioningDashboard,
    jobs: list[tuple[int, Mapping[str, str]]],
    context: _RunContext,
) -> dict[str, int]:
    """One organization's jobs run together and finished; returns the calls they made."""
    options, org = context.options, dashboard.organization_id
    runners = runners_for(
        session=session,
        dashboard=dashboard,
        jobs=jobs,
        secret_key=options.secret_key,
        clock=context.clock,
        hooks=context.hooks,
        sleep=context.sleep,
        full_verify=options.full_verify,
        timings=options.batch_timings,
        actor=context.actor,
    )
    before = dashboard.stats.snapshot()

    def phase(label: str) -> None:
        if context.progress:
            steps = [s for r in runners for s in r.steps]
            done = sum(s.status == StepStatus.DONE for s in steps)
            context.progress(done, len(steps), f"{org}: {label}")

    OrgRollout(runners, dashboard, phase).run()
    after = dashboard.stats.snapshot()
    spent = {k: after[k] - before[k] for k in after}
    own_calls = sum(r.calls.get("calls", 0) for r in runners)
    shared = {"rollout": context.rollout, "jobs": len(runners), "calls": spent["calls"] - own_calls}
    held = holds.held_by_jobs(session=session, job_ids=[r.job.id for r in runners if r.job.id])
    for runner in runners:
        mine = held.get(runner.job.id, []) if runner.job.id is not None else None
        runner.finish(context.actor, shared=shared, commit=False, held=mine)
    # The secrets' record before the outcomes: a crash between the two leaves the jobs not
    # done, so the resume finishes and records them again; the other way round it left jobs
    # done that no resume takes up, their secrets unrecorded, the plan showing them as to set.
    options.remember_secrets(*(runner.job for runner in runners))
    session.commit()  # the organization's outcomes and audit entries together
    return spent


def own_sessions(session: Session) -> SessionFactory | None:
    """Sessions of their own on the caller's database, so that the organizations of a rollout
    run side by side (on SQLite writers' sessions: each transaction takes the write lock at
    BEGIN, queueing for it as long as background work may); None when the caller's session is
    bound to one connection, which threads cannot share (then they run one after another)."""
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        return None
    writer = patient_writer_engine(bind)
    return lambda: Session(writer, expire_on_commit=False)


@bulk_run()
def run_rollout(
    *,
    session: Session,
    prepared: PreparedRollout,
    actor: Actor,
    clock: Clock,
    options: ProvisioningOptions,
    session_factory: SessionFactory | None = None,
    hooks: ApplyHooks | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    jobs_in_full: bool = True,
) -> RolloutOutcome:
    """Run a prepared rollout's jobs together (also in another session or thread later).

    The outcome's jobs are read again once all have ended; `jobs_in_full` False leaves their
    plan (`PLAN_COLUMNS`) out for a caller that only wants how they ended (`outcome_jobs`)."""
    started = time.monotonic()
    calls = _run_groups(
        session=session, prepared=prepared, actor=actor, clock=clock, options=options,
        session_factory=session_factory, hooks=hooks, progress=progress, sleep=sleep,
    )  # fmt: skip
    return RolloutOutcome(
        rollout=prepared.rollout,
        jobs=outcome_jobs(session, outcome_of(prepared), in_full=jobs_in_full),
        calls=calls,
        seconds=round(time.monotonic() - started, 3),
    )


def outcome_of(prepared: PreparedRollout) -> ColumnElement[bool]:
    """The jobs an outcome holds: those the run had; of a resumed rollout (no job ids given,
    `resume_rollout`), every job of the rollout, those done before included."""
    if prepared.whole:
        return col(ProvisioningJob.rollout) == prepared.rollout
    return col(ProvisioningJob.id).in_(prepared.job_ids)


PLAN_COLUMNS = ("desired", "changes")
"""A job's plan as journalled (what it sets, the change rows its page shows): most of a job's
row (about 7 of its 8 kB for a site of the bench), and nothing an outcome's status needs."""


def outcome_jobs(
    session: Session, where: ColumnElement[bool], *, in_full: bool = True
) -> list[ProvisioningJob]:
    """The jobs `where` selects, in id order, as committed now (read again). Not `in_full`:
    detached copies without their `PLAN_COLUMNS`, which raise if touched rather than being read
    one job at a time (a rollout of thousands of sites read in full held hundreds of MB at its
    end), read by a session of their own on the caller's connection, so that the caller's own
    objects for those jobs stay as they are (a worker's caller may hold them)."""
    session.expire_all()
    stmt = select(ProvisioningJob).where(where).order_by(col(ProvisioningJob.id))
    if in_full:
        return list(session.exec(stmt))
    stmt = stmt.options(
        *(defer(getattr(ProvisioningJob, name), raiseload=True) for name in PLAN_COLUMNS)
    )
    with Session(bind=session.connection(), expire_on_commit=False) as reader:
        return list(reader.exec(stmt))


def _run_groups(
    *,
    session: Session,
    prepared: PreparedRollout,
    actor: Actor,
    clock: Clock,
    options: ProvisioningOptions,
    session_factory: SessionFactory | None,
    hooks: ApplyHooks | None,
    progress: Progress | None,
    sleep: Callable[[float], None],
) -> dict[str, int]:
    """Every organization's jobs run and ended; returns the calls they made in all."""
    groups, rollout = prepared.groups, prepared.rollout
    context = _RunContext(rollout, actor, clock, options, hooks, progress, sleep)
    totals: dict[str, int] = defaultdict(int)
    session_factory = session_factory or own_sessions(session)
    parallel = session_factory is not None and len(groups) > 1

    def one(org: str) -> None:
        dashboard, jobs = groups[org]
        with _session_for(session_factory if parallel else None, session) as own:
            spent = run_organization(session=own, dashboard=dashboard, jobs=jobs, context=context)
        for key, value in spent.items():
            totals[key] += value

    if parallel:
        with ThreadPoolExecutor(len(groups)) as pool:
            list(pool.map(one, sorted(groups)))
    else:
        for org in sorted(groups):
            one(org)
    if progress:
        progress(1, 1, "done")
    return dict(totals)


def prepare_rollout(
    *,
    session: Session,
    sites: Sequence[RolloutSite],
    actor: Actor,
    clock: Clock,
    options: ProvisioningOptions,
) -> PreparedRollout:
    """Journal every planned sheet with changes as a pending job of one new rollout.

    All survey gates are checked before anything is journalled: one refused sheet refuses the
    rollout. Sheets without changes get no job.
    """
    for site in sites:
        survey_gate(session=session, sheet=site.sheet, options=options)
    problems: list[Problem] = []
    for index, site in enumerate(sites):
        if site.plan is None:
            continue
        try:
            recheck_units(
                session=session,
                sheet=site.sheet,
                plan=site.plan,
                source=site.source or f"sheet {index + 1}",
            )
        except ValidationFailed as refused:
            problems += refused.problems
    if problems:
        raise ValidationFailed(
            problems,
            f"{len(problems)} unit(s) cannot be provisioned as the inventory holds them; "
            "nothing was sent",
        )
    rollout = new_rollout_id(clock())
    planned = [site.plan for site in sites if site.plan is not None]
    estimate, alone = rollout_cost(planned, options)
    whole = {**asdict(estimate), "calls": estimate.calls, "one_sheet_at_a_time": alone}
    if any(site.plan is None for site in sites):
        raise ValueError("plan the rollout (plan_rollout) before applying it")
    changed = [site for site in sites if site.plan is not None and not site.plan.empty]
    job_ids = create_jobs(
        session=session, plans=[site.plan for site in changed if site.plan is not None],
        actor=actor, now=clock(), rollout=rollout, estimate=whole,
    )  # fmt: skip
    groups: dict[str, tuple[ProvisioningDashboard, list[tuple[int, Mapping[str, str]]]]] = {}
    for site, job_id in zip(changed, job_ids, strict=True):
        org = site.dashboard.organization_id
        groups.setdefault(org, (site.dashboard, []))[1].append((job_id, sheet_secrets(site.sheet)))
    session.commit()
    return PreparedRollout(rollout, groups)


@bulk_run()
def apply_rollout(
    *,
    session: Session,
    sites: Sequence[RolloutSite],
    actor: Actor,
    clock: Clock,
    options: ProvisioningOptions,
    session_factory: SessionFactory | None = None,
    hooks: ApplyHooks | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    jobs_in_full: bool = True,
) -> RolloutOutcome:
    """Journal the planned sheets as one rollout (`prepare_rollout`) and run it now, its jobs
    held by this process while it runs (a `--rollout R` racing it is refused, nothing sent).
    `jobs_in_full`: as `run_rollout`'s."""
    prepared = prepare_rollout(
        session=session, sites=sites, actor=actor, clock=clock, options=options
    )
    with claim_jobs(session=session, job_ids=prepared.job_ids, what=f"rollout {prepared.rollout}"):
        return run_rollout(
            session=session,
            prepared=prepared,
            actor=actor,
            clock=clock,
            options=options,
            session_factory=session_factory,
            hooks=hooks,
            progress=progress,
            sleep=sleep,
            jobs_in_full=jobs_in_full,
        )


@bulk_run()
def resume_rollout(
    *,
    session: Session,
    rollout: str,
    sites: Sequence[RolloutSite],
    actor: Actor,
    clock: Clock,
    options: ProvisioningOptions,
    session_factory: SessionFactory | None = None,
    hooks: ApplyHooks | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    jobs_in_full: bool = True,
) -> RolloutOutcome:
    """Continue a rollout's unfinished jobs; each needs its own sheet again (for its secrets).
    The outcome holds all the rollout's jobs, those done before included (`jobs_in_full`: as
    `run_rollout`'s)."""
    jobs = rollout_jobs(session=session, rollout=rollout)
    if not jobs:
        raise Conflict(f"rollout {rollout} has no jobs", rollout=rollout)
    by_site = {(s.dashboard.organization_id, s.sheet.site.name): s for s in sites}
    problems: list[Problem] = []
    groups: dict[str, tuple[ProvisioningDashboard, list[tuple[int, Mapping[str, str]]]]] = {}
    for job in jobs:
        if job.status == JobStatus.DONE or job.kind != JobKind.APPLY:
            continue
        site = by_site.get((job.organization_id, job.network_name))
        where = f"job {job.id} ({job.network_name})"
        if site is None:
            problems.append(Problem("give the sheet this job was planned from", where))
            continue
        view = dashboard_view(site.sheet, secret_key=options.secret_key)
        if desired_digest(desired_resources(view)) != job.sheet_digest:
            problems.append(Problem("the sheet given is not the one it was planned from", where))
            continue
        assert job.id is not None
        groups.setdefault(job.organization_id, (site.dashboard, []))[1].append(
            (job.id, sheet_secrets(site.sheet))
        )
    if problems:
        raise ValidationFailed(problems, f"rollout {rollout} cannot resume; nothing was sent")
    return run_rollout(
        session=session, prepared=PreparedRollout(rollout, groups, whole=True), actor=actor,
        clock=clock, options=options, session_factory=session_factory, hooks=hooks,
        progress=progress, sleep=sleep, jobs_in_full=jobs_in_full,
    )  # fmt: skip


def rollout_jobs(*, session: Session, rollout: str) -> list[ProvisioningJob]:
    stmt = select(ProvisioningJob).where(ProvisioningJob.rollout == rollout)
    return list(session.exec(stmt.order_by(col(ProvisioningJob.id))))


__all__ = [
    "PreparedRollout",
    "RolloutOutcome",
    "RolloutSite",
    "alone_calls",
    "apply_rollout",
    "outcome_jobs",
    "plan_rollout",
    "prepare_rollout",
    "resume_rollout",
    "rollout_cost",
    "rollout_estimate",
    "rollout_jobs",
    "run_rollout",
]
