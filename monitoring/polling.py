"""Poll many organizations at once: each in its own thread and database session, each paced by
its own dashboard budget (the dashboard limits requests per organization, so ten organizations
give ten budgets usable at the same time); at most `concurrency` organizations at a time.

Per organization as `monitoring.jobs.poll_liveness`: the baseline is read and that transaction
ended before the dashboard call, then the write takes the lock, so no transaction is held
across a dashboard call. The dashboard reads overlap; the records go one at a time (a process
lock): they are CPU work under one GIL anyway, and on SQLite ten writers queueing in the
busy timeout could outwait it on a loaded machine (seen: "database is locked" after 10 s).
Idempotent as `service.poll`: the same tick again records nothing. A failed read of one
organization (a 429/5xx storm the SDK gave up on) records nothing for it and does not stop the
others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from core.audit import Actor
from core.calendar import BusinessCalendar
from core.db import begin_write
from core.errors import DomainError
from monitoring.domain import Debounce
from monitoring.ports import MonitoringDashboard
from monitoring.service import (
    FULL_LIST,
    PollReport,
    last_poll_at,
    read_liveness,
    record_poll,
)

log = logging.getLogger(__name__)

CONCURRENCY = 8
"""Organizations polled at once by default (a thread and a database connection each)."""


@dataclass
class OrganizationsPolled:
    """What a poll over several organizations did: a report per organization that was read,
    the error of each that could not be."""

    reports: list[PollReport] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    errors: dict[str, DomainError] = field(default_factory=dict, repr=False)
    """The error behind each of `failed` (an API answers it as such when every one failed)."""

    @property
    def devices(self) -> int:
        return sum(r.devices for r in self.reports)

    @property
    def opened(self) -> list[int]:
        return [o for r in self.reports for o in r.opened]

    @property
    def closed(self) -> list[int]:
        return [c for r in self.reports for c in r.closed]

    def raise_if_none_polled(self) -> None:
        """Raise the first organization's error when every organization failed."""
        if not self.reports and self.errors:
            raise next(iter(self.errors.values()))


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

    writing = threading.Lock()

    def one(organization_id: str) -> PollReport:
        with session_factory() as session:
            try:
                baseline = last_poll_at(session=session, organization_id=organization_id)
                session.commit()  # end the read: nothing is held while the dashboard answers
                if baseline is not None and now <= baseline:
                    return PollReport(organization_id, now, FULL_LIST, 0, repeated=True)
                sighting = read_liveness(
                    dashboard=dashboard,
                    organization_id=organization_id,
                    baseline=baseline,
                    now=now,
                    prefer_change_history=prefer_change_history,
                )
                with writing:  # one record at a time: waits here, not in SQLite's busy timeout
                    begin_write(session)
                    report = record_poll(
                        session=session,
                        sighting=sighting,
                        actor=actor,
                        debounce=debounce,
                        calendar=calendar,
                    )
                    session.commit()
                return report
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
                done.errors[org] = exc
    return done
