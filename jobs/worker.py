"""procrastinate on PostgreSQL: the periodic jobs, background rollouts, and `netkeep worker`.

Exactly once, however many workers run:
- procrastinate defers a periodic job once per tick: every worker's deferrer tries, and
  `procrastinate_periodic_defers` is unique on (task, periodic id, tick), so one insert wins;
- each periodic job has a `queueing_lock` (at most one waiting) and a `lock` of its name (never
  two running at once, say a slow sweep and the next tick's);
- a rollout's job is locked by its rollout id.
A worker that dies (kill -9, a lost host) stops sending heartbeats; `jobs.retry_stalled`, run
every minute by whichever worker is alive, puts the dead worker's jobs back in the queue, and the
rollout job resumes the rollout from its journal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import procrastinate
from sqlalchemy.engine import make_url

from jobs.catalogue import (
    PERIODIC,
    PRUNE_FINISHED,
    RETRY_STALLED,
    ROLLOUT,
    JobContext,
    Periodic,
    run_rollout,
    schedule,
)

log = logging.getLogger("netkeep.jobs")
PERIODIC_QUEUE = "periodic"
ROLLOUT_QUEUE = "rollouts"


def conninfo(database_url: str) -> str:
    """libpq's form of the SQLAlchemy URL (its options, e.g. search_path, kept)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the worker engine needs PostgreSQL (on SQLite `netkeep serve` runs jobs)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def rollout_lock(rollout: str) -> str:
    """A rollout's lock and queueing lock: one job of a rollout waits or runs at a time."""
    return f"rollout:{rollout}"


def build_app(ctx: JobContext, *, max_connections: int = 10) -> procrastinate.App:
    """The procrastinate app with every job of `jobs.catalogue` registered."""
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(ctx.settings.database_url), min_size=1, max_size=max_connections
    )
    app = procrastinate.App(connector=connector)
    lines = schedule(ctx.settings)
    for periodic in PERIODIC:
        _register(app, ctx, periodic, lines[periodic.name])
    _register_retry(app, ctx, lines[RETRY_STALLED])
    _register_prune(app, ctx, lines[PRUNE_FINISHED])

    def rollout(payload: dict[str, Any]) -> None:
        log.info("rollout %s: running from its journal", payload.get("rollout"))
        log.info("rollout %s: %s", payload.get("rollout"), run_rollout(ctx, payload))

    app.task(name=ROLLOUT, queue=ROLLOUT_QUEUE)(rollout)
    return app


def _register(app: procrastinate.App, ctx: JobContext, periodic: Periodic, cron: str) -> None:
    def run(timestamp: int) -> None:
        outcome = periodic.run(ctx, datetime.fromtimestamp(timestamp, UTC))
        log.info("%s at %s: %s", periodic.name, timestamp, outcome)

    task = app.task(
        name=periodic.name,
        queue=PERIODIC_QUEUE,
        lock=periodic.name,
        queueing_lock=periodic.name,
    )(run)
    app.periodic(cron=cron, periodic_id=periodic.name)(task)


def _register_retry(app: procrastinate.App, ctx: JobContext, cron: str) -> None:
    silent = ctx.settings.job_stalled_after_seconds

    async def retry_stalled(context: procrastinate.JobContext, timestamp: int) -> None:
        manager = context.app.job_manager
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=silent):
            if context.job.id == job.id:
                continue
            log.warning("job %s (%s) lost its worker: queued again", job.id, job.task_name)
            await manager.retry_job(job)

    task = app.task(
        name=RETRY_STALLED,
        queue=PERIODIC_QUEUE,
        lock=RETRY_STALLED,
        queueing_lock=RETRY_STALLED,
        pass_context=True,
    )(retry_stalled)
    app.periodic(cron=cron, periodic_id=RETRY_STALLED)(task)


def _register_prune(app: procrastinate.App, ctx: JobContext, cron: str) -> None:
    hours = max(1, round(ctx.settings.job_keep_finished_days * 24))

    async def prune_finished(context: procrastinate.JobContext, timestamp: int) -> None:
        """Succeeded jobs finished more than the kept days ago go; failed ones stay to be read."""
        await context.app.job_manager.delete_old_jobs(nb_hours=hours)

    task = app.task(
        name=PRUNE_FINISHED,
        queue=PERIODIC_QUEUE,
        lock=PRUNE_FINISHED,
        queueing_lock=PRUNE_FINISHED,
        pass_context=True,
    )(prune_finished)
    app.periodic(cron=cron, periodic_id=PRUNE_FINISHED)(task)


def run_worker(ctx: JobContext, *, concurrency: int = 1, name: str | None = None) -> None:
    """Run jobs until SIGINT/SIGTERM: the periodic ones and the queued rollouts."""
    app = build_app(ctx, max_connections=concurrency + 4)
    app.run_worker(
        concurrency=concurrency,
        name=name,
        update_heartbeat_interval=ctx.settings.job_heartbeat_seconds,
        stalled_worker_timeout=ctx.settings.job_stalled_after_seconds,
    )


class QueuedRollouts:
    """The API's side on PostgreSQL: a background rollout becomes a job for any worker."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self._app: procrastinate.App | None = None
        self._lock = threading.Lock()

    def _opened(self) -> procrastinate.App:
        with self._lock:
            if self._app is None:
                self._app = build_app(self.ctx, max_connections=2)
                self._app.open()
            return self._app

    def defer_rollout(
        self,
        payload: Mapping[str, Any],
        *,
        after_response: Callable[[Callable[[], None]], None],
        dashboards: Mapping[str, Any] | None = None,
    ) -> int:
        """Queue the rollout now (committed before the answer); a worker runs it."""
        task = self._opened().tasks[ROLLOUT]
        lock = rollout_lock(str(payload["rollout"]))
        return task.configure(lock=lock, queueing_lock=lock).defer(payload=dict(payload))

    def close(self) -> None:
        with self._lock:
            if self._app is not None:
                self._app.close()
                self._app = None
