"""The field pages' test helpers: a queued rollout run as `netkeep worker` would run it."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from jobs.catalogue import JobContext, run_rollout
from provisioning.models import ProvisioningJob


def run_queued_rollout(api: Any, session: Session, job_id: int, wait: float = 30.0) -> object:
    """PostgreSQL: take the job's procrastinate task out of the queue and run it here.

    The test's session is reached through the app's session factory (one user at a time), as
    the server's requests reach it.
    """
    factory = api.state.session_factory
    with factory() as shared:
        job = shared.get(ProvisioningJob, job_id)
        assert job is not None and job.rollout is not None
        rollout = job.rollout
    deadline = time.monotonic() + wait
    while True:
        with api.state.engine.begin() as connection:  # the queue commits outside the test
            rows = connection.execute(
                text("DELETE FROM procrastinate_jobs WHERE lock = :lock RETURNING args"),
                {"lock": f"rollout:{rollout}"},
            ).all()
        if rows:
            break
        assert time.monotonic() < deadline, f"rollout {rollout} was never queued"
        time.sleep(0.1)
    ctx = JobContext(settings=api.state.settings, engine=api.state.engine, session_factory=factory)
    return run_rollout(ctx, rows[0].args["payload"])
