"""Live progress of a provisioning job (a sheet's apply, or a change request's): read from the
database (ProvisioningJob, JobStep) every ~0.3 s, so it works whichever process runs the job.

A page shows `partials/job_progress.html` with `progress_context(...)`; `progress.js` follows
`events_url` (an SSE stream of `job_progress_events`): a `step` event per step as it completes
(the step's row, rendered) and a final `done` event (the outcome, rendered). With JavaScript off
the page offers a refresh link instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio.to_thread
from fastapi import Request
from sqlmodel import Session, col, select

from core.errors import NotFound
from provisioning.domain import JobStatus, StepStatus
from provisioning.models import JobStep, ProvisioningJob
from web.i18n import translator
from web.render import environment, tokyo
from web.session import WebUser

POLL_SECONDS = 0.3
FINISHED_STEPS = frozenset({StepStatus.DONE.value, StepStatus.FAILED.value})
FINISHED_JOBS = frozenset(
    {JobStatus.DONE.value, JobStatus.FAILED.value, JobStatus.VERIFY_FAILED.value}
)
SessionFactory = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True, slots=True)
class StepView:
    number: int
    action: str
    resources: tuple[str, ...]
    status: str
    error: str | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class JobView:
    id: int
    kind: str
    status: str
    network_name: str
    error: str | None
    finished_at: datetime | None
    steps: tuple[StepView, ...]

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_JOBS


def read_job(*, session: Session, job_id: int) -> JobView:
    """The job and its steps as they are now (fresh from the database, never cached rows)."""
    job = session.exec(
        select(ProvisioningJob)
        .where(ProvisioningJob.id == job_id)
        .execution_options(populate_existing=True)
    ).first()
    if job is None:
        raise NotFound(f"provisioning job {job_id} does not exist", job_id=job_id)
    steps = session.exec(
        select(JobStep)
        .where(JobStep.job_id == job_id)
        .order_by(col(JobStep.number))
        .execution_options(populate_existing=True)
    ).all()
    return JobView(
        id=job_id,
        kind=job.kind,
        status=job.status,
        network_name=job.network_name,
        error=job.error,
        finished_at=job.finished_at,
        steps=tuple(
            StepView(
                number=s.number,
                action=s.action,
                resources=tuple(s.resources),
                status=s.status,
                error=s.error,
                finished_at=s.finished_at,
            )
            for s in steps
        ),
    )


def _fragment(name: str, locale: str, **values: Any) -> str:
    template = environment().get_template(f"partials/{name}.html")
    return template.render(_=translator(locale), tokyo=tokyo, **values)


def step_html(step: StepView, locale: str) -> str:
    return _fragment("job_step", locale, step=step)


def outcome_html(job: JobView, locale: str) -> str:
    return _fragment("job_outcome", locale, job=job)


def progress_context(*, session: Session, job_id: int, events_url: str) -> dict[str, Any]:
    """What `partials/job_progress.html` needs: the job now and where its events come from."""
    return {"job": read_job(session=session, job_id=job_id), "events_url": events_url}


async def job_progress_events(
    job_id: int,
    *,
    session_factory: SessionFactory,
    locale: str = "ja",
    poll_seconds: float = POLL_SECONDS,
) -> AsyncIterator[tuple[str, str]]:
    """`("step", row html)` once per completed step, then `("done", outcome html)`."""
    sent: dict[int, str] = {}

    def read() -> JobView:
        with session_factory() as session:
            return read_job(session=session, job_id=job_id)

    while True:
        job = await anyio.to_thread.run_sync(read)
        for step in job.steps:
            if step.status in FINISHED_STEPS and sent.get(step.number) != step.status:
                sent[step.number] = step.status
                yield "step", step_html(step, locale)
        if job.finished:
            yield "done", outcome_html(job, locale)
            return
        await asyncio.sleep(poll_seconds)


def events_for(request: Request, user: WebUser, job_id: int) -> AsyncIterator[tuple[str, str]]:
    """`job_progress_events` with this app's sessions, in the user's language."""
    factory: SessionFactory = request.app.state.session_factory
    return job_progress_events(job_id, session_factory=factory, locale=user.locale)
