"""`netkeep worker`: thin over `jobs.worker.run_worker`."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from core.cli_support import err_console, handle_errors, settings

EXIT_NOT_POSTGRES = 2


@handle_errors
def worker_cmd(
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="jobs this worker runs at once")
    ] = 1,
    name: Annotated[str | None, typer.Option(help="the worker's name in logs")] = None,
) -> None:
    """Run the recurring and background jobs on PostgreSQL (procrastinate) until stopped.

    Start as many as you like: each periodic job runs once per tick whichever worker takes it,
    and a rollout of a worker that died is resumed by another. On SQLite `netkeep serve` runs
    the same jobs itself.
    """
    from core.db import get_engine
    from core.migrate import require_current
    from jobs.catalogue import JobContext
    from jobs.worker import run_worker

    cfg = settings()
    if cfg.is_sqlite:
        err_console.print("netkeep worker needs PostgreSQL; on SQLite `netkeep serve` runs jobs")
        raise typer.Exit(EXIT_NOT_POSTGRES)
    engine = get_engine(cfg.database_url)
    require_current(engine)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run_worker(JobContext(settings=cfg, engine=engine), concurrency=concurrency, name=name)
