"""Which engine runs the jobs: procrastinate on PostgreSQL, this process on SQLite."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.settings import Settings
from jobs.catalogue import JobContext
from jobs.inprocess import InProcessJobs

if TYPE_CHECKING:
    from jobs.worker import QueuedRollouts


def queue_for(
    settings: Settings,
    engine: Engine,
    session_factory: Callable[[], AbstractContextManager[Session]] | None = None,
) -> InProcessJobs | QueuedRollouts:
    """The API's queue of background rollouts (and, on SQLite, its periodic scheduler)."""
    ctx = JobContext(settings=settings, engine=engine, session_factory=session_factory)
    if engine.dialect.name == "postgresql":
        from jobs.worker import QueuedRollouts

        return QueuedRollouts(ctx)
    return InProcessJobs(ctx)
