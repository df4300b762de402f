"""Poll many organizations at once: each in its own thread and database session, each paced by
its own dashboard budget (the dashboard limits requests per organization, so ten organizations
give ten budgets usable at the same time); at most `concurrency` organizations at a time.

Per organization `monitoring.jobs.poll_liveness`: the baseline is read and that transaction
ended before the dashboard call, then the write takes the lock, so no transaction is held
across a dashboard call (SQLite serialises the short records, the dashboard
reads overlap). Idempotent as `service.poll`: the same tick again records nothing. A failed read
of one organization (a 429/5xx storm the SDK gave up on) records nothing for it and does not stop
the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from core.audit import Actor
from core.calendar import BusinessCalendar
from core.errors import DomainError
from monitoring.domain import Debounce
from monitoring.jobs import poll_liveness
from monitoring.ports import MonitoringDashboard
from monitoring.service import PollReport

log = logging.getLogger(__name__)

CONCURRENCY = 8
"""Organizations polled at once by default (a thread and a database connection each)."""


@dataclass
class OrganizationsPolled:
    """What a poll over several organizations did: a report per organization that was read,
    the error of each that could not be."""

    reports: list[PollReport] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def poll_organizations(
    *,
    session_factory: Callable[[], AbstractContextManager[Session]],
    dashboard: MonitoringDashboard,
    organization_ids: Sequence[str],
    actor: Actor,
    now: datetime,
    debounce: Debounce,
    prefer_change_history: bool = True,
    calendar: BusinessCalendar | None = None,
    concurrency: int = CONCURRENCY,
) -> OrganizationsPolled:
    """Poll each organization once at `now`, side by side; each one's records are committed
    on their own (reports in the order of `organization_ids`, each organization once)."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    organizations = list(dict.fromkeys(organization_ids))

    def one(organization_id: str) -> PollReport:
        with session_factory() as session:
            try:
                return poll_liveness(
                    session=session,
                    dashboard=dashboard,
                    organization_id=organization_id,
                    now=now,
                    debounce=debounce,
                    prefer_change_history=prefer_change_history,
                    calendar=calendar,
                    actor=actor,
                )
            except BaseException:
                session.rollback()
                raise

    done = OrganizationsPolled()
    if not organizations:
        return done
    workers = min(concurrency, len(organizations))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="monitor-poll") as pool:
        futures = [(org, pool.submit(one, org)) for org in organizations]
        for org, future in futures:
            try:
                done.reports.append(future.result())
            except DomainError as exc:  # this organization's read failed; the others go on
                log.warning("liveness poll of organization %s failed: %s", org, exc)
                done.failed[org] = str(exc)
    return done
