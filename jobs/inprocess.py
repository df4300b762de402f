"""SQLite: the same jobs inside `netkeep serve` — a thread keeps the periodic schedule, and a
background rollout runs in a thread after the API answered. No extra process for the demo.

SQLite has one writer at a time, so these jobs simply queue for the write lock like any
request; the job functions are safe to run concurrently anyway (see each domain's `jobs.py`).
A rollout interrupted by a stopped server is not picked up by itself here (nothing outlives the
process): `netkeep apply SHEETS --rollout R` resumes it from its journal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from croniter import croniter

from core.timeutil import utcnow
from jobs.catalogue import PERIODIC, JobContext, Periodic, run_rollout, schedule

log = logging.getLogger("netkeep.jobs")


class InProcessJobs:
    """The periodic jobs on one daemon thread; rollouts handed to the caller's background."""

    def __init__(
        self,
        ctx: JobContext,
        *,
        clock: Callable[[], datetime] = utcnow,
        poll_seconds: float = 1.0,
    ) -> None:
        self.ctx = ctx
        self.clock = clock
        self.poll_seconds = poll_seconds
        lines = schedule(ctx.settings)
        self.cron = {p.name: lines[p.name] for p in PERIODIC}
        start = clock()
        self.next_run = {name: self._after(name, start) for name in self.cron}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _after(self, name: str, moment: datetime) -> datetime:
        found: datetime = croniter(self.cron[name], moment).get_next(datetime)
        return found

    def _tick_at_or_before(self, name: str, moment: datetime) -> datetime:
        """The latest tick not after `moment` (cron lines resolve to whole seconds at most)."""
        whole = moment.replace(microsecond=0) + timedelta(seconds=1)
        found: datetime = croniter(self.cron[name], whole).get_prev(datetime)
        return found

    def run_due(self, now: datetime | None = None) -> dict[str, object]:
        """Run each periodic job whose tick has come (once, for its latest tick); their results."""
        now = now or self.clock()
        ran: dict[str, object] = {}
        for periodic in PERIODIC:
            if self.next_run[periodic.name] > now:
                continue
            tick = self._tick_at_or_before(periodic.name, now)
            self.next_run[periodic.name] = self._after(periodic.name, now)
            ran[periodic.name] = self._run(periodic, tick)
        return ran

    def _run(self, periodic: Periodic, tick: datetime) -> object:
        try:
            outcome = periodic.run(self.ctx, tick)
        except Exception:  # one failing job must not stop the schedule
            log.exception("%s at %s failed", periodic.name, tick.isoformat())
            return "failed"
        log.info("%s at %s: %s", periodic.name, tick.isoformat(), outcome)
        return outcome

    def start(self) -> None:
        """Keep the schedule on a daemon thread until `stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="netkeep-jobs", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.run_due()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None

    def defer_rollout(
        self,
        payload: Mapping[str, Any],
        *,
        after_response: Callable[[Callable[[], None]], None],
        dashboards: Mapping[str, Any] | None = None,
    ) -> int | None:
        """Run the rollout in a thread once the answer has gone (the same job function)."""

        def later() -> None:
            try:
                run_rollout(self.ctx, payload, dashboards=dashboards)
            except Exception:
                log.exception("rollout %s failed in the background", payload.get("rollout"))

        after_response(later)
        return None

    def close(self) -> None:
        self.stop()
