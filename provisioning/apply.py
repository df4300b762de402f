"""Apply a plan through the journal: a snapshot first, each step committed as it completes, verify.

The use cases over the engine's pieces: `journal` (the job, its steps and their moves),
`runner` (one job's steps against the dashboard), `batch_wait` (polling action batches) and
`verification` (read back and compare). A rollout (`provisioning.rollout`) runs many jobs
together through the same runner.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from core.audit import Actor
from core.errors import NotFound
from core.paging import Page, page_of_query
from core.process_claims import ProcessClaim, claimed
from provisioning.actions import created_here, own_created
from provisioning.batch_wait import BatchTimings, Waiter
from provisioning.domain import JobStatus
from provisioning.journal import (
    VERIFY,
    ApplyHooks,
    Clock,
    Journal,
    create_job,
    snapshot_of,
    steps_of,
)
from provisioning.models import JobStep, ProvisioningJob
from provisioning.ports import ProvisioningDashboard
from provisioning.runner import Progress, StepRunner
from provisioning.verification import SharedReads


def get_job(*, session: Session, job_id: int) -> ProvisioningJob:
    job = session.get(ProvisioningJob, job_id)
    if job is None:
        raise NotFound(f"provisioning job {job_id} does not exist", job_id=job_id)
    return job


def list_jobs(*, session: Session, limit: int = 50) -> list[ProvisioningJob]:
    stmt = select(ProvisioningJob).order_by(col(ProvisioningJob.id).desc()).limit(limit)
    return list(session.exec(stmt))


def page_jobs(*, session: Session, limit: int, offset: int) -> Page[ProvisioningJob]:
    """Jobs newest first, a page at a time."""
    stmt = select(ProvisioningJob).order_by(col(ProvisioningJob.id).desc())
    return page_of_query(session, stmt, limit=limit, offset=offset)


def journal(*, session: Session, job_id: int) -> list[JobStep]:
    """A job's steps in order."""
    return steps_of(session=session, job_id=job_id)


def job_key(job_id: int) -> str:
    """The claim of one job's run (`core.process_claims`): one process runs a job at a time."""
    return f"provisioning-job:{job_id}"


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


@contextmanager
def claim_jobs(*, session: Session, job_ids: Sequence[int], what: str) -> Iterator[ProcessClaim]:
    """Hold the jobs' run for the block: a second run (a resume racing a resume, a worker
    taking over a job whose worker is only slow) is refused with a Conflict, nothing sent.

    The claim ends with the block or with this process; the journal is read after it is
    held (runner_for, runners_for read the rows again), so the holder sees every step the
    one before it committed.
    """
    ids = sorted(set(job_ids))
    shown = ", ".join(str(i) for i in ids)
    refusal = (
        f"{what}: job(s) {shown} are being run by another process right now; nothing was sent "
        "(it continues them; follow GET /api/v1/jobs/{id})"
    )
    with claimed(_engine_of(session), [job_key(i) for i in ids], refusal) as claim:
        yield claim


def unfinished_jobs(*, session: Session, rollout: str) -> list[int]:
    """The ids of a rollout's jobs not done (read-only; the transaction ends)."""
    stmt = select(ProvisioningJob.id).where(
        ProvisioningJob.rollout == rollout, ProvisioningJob.status != JobStatus.DONE.value
    )
    ids = [i for i in session.exec(stmt) if i is not None]
    session.commit()
    return ids


def _fresh_job(session: Session, job_id: int) -> ProvisioningJob:
    job = session.get(ProvisioningJob, job_id, populate_existing=True)
    if job is None:
        raise NotFound(f"provisioning job {job_id} does not exist", job_id=job_id)
    return job


def _fresh_steps(session: Session, job_ids: Sequence[int]) -> list[JobStep]:
    """The journal as committed now (rows this session read before are read again)."""
    stmt = select(JobStep).where(col(JobStep.job_id).in_(job_ids))
    stmt = stmt.order_by(col(JobStep.job_id), col(JobStep.number))
    return list(session.exec(stmt.execution_options(populate_existing=True)))


def runner_for(
    *,
    session: Session,
    dashboard: ProvisioningDashboard,
    job_id: int,
    secrets: Mapping[str, str],
    secret_key: bytes,
    clock: Clock,
    poll_seconds: float = 0.5,
    hooks: ApplyHooks | None = None,
    sleep: Callable[[float], None] = time.sleep,
    full_verify: bool = False,
    timings: BatchTimings | None = None,
    actor: Actor | None = None,
) -> StepRunner:
    """The runner of one journalled job (used alone by `run_job`, together by a rollout)."""
    return StepRunner(
        journal=Journal(session, clock, hooks, actor),
        dashboard=dashboard,
        job=_fresh_job(session, job_id),
        steps=_fresh_steps(session, [job_id]),
        secrets=secrets,
        secret_key=secret_key,
        waiter=Waiter(timings or BatchTimings(poll_seconds=poll_seconds), sleep),
        full_verify=full_verify,
    )


def runners_for(
    *,
    session: Session,
    dashboard: ProvisioningDashboard,
    jobs: Sequence[tuple[int, Mapping[str, str]]],
    secret_key: bytes,
    clock: Clock,
    hooks: ApplyHooks | None = None,
    sleep: Callable[[float], None] = time.sleep,
    full_verify: bool = False,
    timings: BatchTimings | None = None,
    actor: Actor | None = None,
) -> list[StepRunner]:
    """The runners of many journalled jobs (a rollout's organization), read in two queries.

    The read transaction ends before the runners are returned: on SQLite a rollout's session
    is a writer's, so a transaction left open would keep every other organization's journal
    waiting while this one starts. The jobs' change rows (the plan as the job page shows it,
    their largest column) are not read: running never needs them, and a rollout holds
    thousands of jobs at once (read on access, if ever).
    """
    ids = [job_id for job_id, _ in jobs]
    found = {
        j.id: j
        for j in session.exec(
            select(ProvisioningJob)
            .where(col(ProvisioningJob.id).in_(ids))
            .options(defer(ProvisioningJob.changes))  # type: ignore[arg-type]
            .execution_options(populate_existing=True)
        )
    }
    steps: dict[int, list[JobStep]] = {job_id: [] for job_id in ids}
    for step in _fresh_steps(session, ids):
        steps[step.job_id].append(step)
    session.commit()
    journal = Journal(session, clock, hooks, actor)
    waiter = Waiter(timings or BatchTimings(), sleep)
    runners = []
    for job_id, secrets in jobs:
        job = found.get(job_id)
        if job is None:
            raise NotFound(f"provisioning job {job_id} does not exist", job_id=job_id)
        runners.append(
            StepRunner(
                journal=journal,
                dashboard=dashboard,
                job=job,
                steps=steps[job_id],
                secrets=secrets,
                secret_key=secret_key,
                waiter=waiter,
                full_verify=full_verify,
            )
        )
    return runners


def run_job(
    *,
    session: Session,
    dashboard: ProvisioningDashboard,
    job_id: int,
    secrets: Mapping[str, str],
    secret_key: bytes,
    actor: Actor,
    clock: Clock,
    poll_seconds: float = 0.5,
    hooks: ApplyHooks | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    full_verify: bool = False,
    timings: BatchTimings | None = None,
    before_done: Callable[[ProvisioningJob], None] | None = None,
) -> ProvisioningJob:
    """Run (or resume) a job's unfinished steps; finished steps are never sent again.

    The run is claimed first (`claim_jobs`): a second run of the job while this one lives is
    a Conflict; a job found done once claimed (the run before finished it) is returned as is.
    `before_done` sees the job's outcome before it is committed (the secrets' record: a crash
    between the two then leaves the job to its resume, not done with its secrets unrecorded).
    """
    with claim_jobs(session=session, job_ids=[job_id], what=f"job {job_id}"):
        if _fresh_job(session, job_id).status == JobStatus.DONE:
            return get_job(session=session, job_id=job_id)
        return _run_claimed_job(
            session=session, dashboard=dashboard, job_id=job_id, secrets=secrets,
            secret_key=secret_key, actor=actor, clock=clock, poll_seconds=poll_seconds,
            hooks=hooks, progress=progress, sleep=sleep, full_verify=full_verify,
            timings=timings, before_done=before_done,
        )  # fmt: skip


def _run_claimed_job(
    *,
    session: Session,
    dashboard: ProvisioningDashboard,
    job_id: int,
    secrets: Mapping[str, str],
    secret_key: bytes,
    actor: Actor,
    clock: Clock,
    poll_seconds: float,
    hooks: ApplyHooks | None,
    progress: Progress | None,
    sleep: Callable[[float], None],
    full_verify: bool,
    timings: BatchTimings | None,
    before_done: Callable[[ProvisioningJob], None] | None = None,
) -> ProvisioningJob:
    runner = runner_for(
        session=session,
        dashboard=dashboard,
        job_id=job_id,
        secrets=secrets,
        secret_key=secret_key,
        clock=clock,
        poll_seconds=poll_seconds,
        hooks=hooks,
        sleep=sleep,
        full_verify=full_verify,
        timings=timings,
        actor=actor,
    )
    runner.start()
    runner.run_pending(progress)
    if progress:
        progress(len(runner.steps), len(runner.steps), "done")
    if before_done is None:
        return runner.finish(actor)
    job = runner.finish(actor, commit=False)
    before_done(job)
    session.commit()
    return job


__all__ = [
    "VERIFY",
    "ApplyHooks",
    "BatchTimings",
    "Clock",
    "Progress",
    "SharedReads",
    "StepRunner",
    "claim_jobs",
    "create_job",
    "created_here",
    "get_job",
    "journal",
    "list_jobs",
    "own_created",
    "run_job",
    "runner_for",
    "runners_for",
    "snapshot_of",
    "unfinished_jobs",
]
