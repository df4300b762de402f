"""Webhook alerts stored in batches by one writer thread (group commit).

Each request checks its alert itself (`alerts.check_payload`: the constant-time secret, the
stale and malformed refusals), then hands it to the process's `AlertWriter` and waits: the
writer takes every alert waiting, stores them in one transaction (one statement for the alerts,
one for their audit entries), commits, and only then answers each request. So a 2xx still means
stored, a replayed `alertId` is still refused (already in the database, or twice in one batch:
the first wins), and an alert that opens or closes an outage goes through `alerts.store_alert`
in the same transaction, in arrival order.

Why: with a transaction per request, on SQLite every request queues for the write lock and
commits alone; the writer holds the lock once per batch (no request holds it while it waits
for a thread), and the per-alert ORM work becomes two executemany statements. If a batch fails
(an id another process stored meanwhile, a database error), its alerts are written again one
by one, each in its own transaction, so each gets its own answer and a bad one fails alone.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from core import audit
from core.audit import SYSTEM, Actor
from core.calendar import BusinessCalendar
from core.db import begin_write
from core.models import AuditEntry
from monitoring.alerts import (
    alert_values,
    audit_after,
    follows_outage,
    replayed,
    store_alert,
)
from monitoring.models import MonitorAlert

log = logging.getLogger(__name__)

MAX_BATCH = 500
"""Alerts stored in one transaction at most."""
IDLE_SECONDS = 5.0
"""The writer thread ends after this long without an alert (the next one starts it again)."""


@dataclass(frozen=True, slots=True)
class Received:
    """A stored alert: its id, what it means, the outage it opened or closed."""

    alert_id: str
    kind: str
    outage_id: int | None = None


@dataclass
class _Pending:
    body: dict[str, Any]
    now: datetime
    future: Future[Received] = field(default_factory=Future)


def store_alerts(
    *,
    session: Session,
    items: Sequence[tuple[dict[str, Any], datetime]],
    actor: Actor,
    calendar: BusinessCalendar | None = None,
) -> list[Received | Exception]:
    """Store checked alerts in the caller's transaction; per alert its receipt or its refusal
    (a replayed id). Alerts that follow an outage are stored one by one, in order; the others
    in one statement, with their audit entries in another."""
    ids = [str(body["alertId"]) for body, _ in items]
    known = set(
        session.exec(select(MonitorAlert.alert_id).where(col(MonitorAlert.alert_id).in_(ids)))
    )
    results: list[Received | Exception] = []
    alert_rows: list[dict[str, Any]] = []
    audit_rows: list[dict[str, Any]] = []
    for (body, now), alert_id in zip(items, ids, strict=True):
        if alert_id in known:
            results.append(replayed(alert_id))
            continue
        known.add(alert_id)
        if follows_outage(body):
            alert = store_alert(session=session, body=body, actor=actor, now=now, calendar=calendar)
            results.append(Received(alert.alert_id, alert.kind, alert.outage_id))
            continue
        row = alert_values(body, now=now)
        alert_rows.append(row)
        audit_rows.append(
            audit.entry_values(
                actor=actor,
                action="alert.receive",
                entity_type="alert",
                entity_id=alert_id,
                after=audit_after(row["alert_type"], row["kind"], row["serial"], None),
                at=now,
            )
        )
        results.append(Received(alert_id, row["kind"]))
    if alert_rows:
        session.execute(insert(MonitorAlert), alert_rows)
        session.execute(insert(AuditEntry), audit_rows)
    return results


SessionFactory = Callable[[], AbstractContextManager[Session]]


class AlertWriter:
    """The process's one writer of webhook alerts: `submit` a checked alert, await the future
    (resolved after the commit that stored it, or with the alert's refusal)."""

    def __init__(
        self,
        *,
        session_factory: Callable[[], SessionFactory],
        actor: Actor = SYSTEM,
        calendar: BusinessCalendar | None = None,
        max_batch: int = MAX_BATCH,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self._factory = session_factory
        self.actor = actor
        self.calendar = calendar
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self.batches = 0
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False

    def submit(self, body: dict[str, Any], now: datetime) -> Future[Received]:
        pending = _Pending(body, now)
        with self._lock:
            self._queue.put(pending)
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="alert-writer", daemon=True).start()
        return pending.future

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._running = False
                        return
                continue
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write(batch)
            except BaseException as exc:  # never leave a request waiting
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)

    def _write(self, batch: list[_Pending]) -> None:
        try:
            results = self._transaction(batch)
        except Exception:
            log.warning("a batch of %d alerts failed; storing them one by one", len(batch))
            for pending in batch:
                try:
                    [result] = self._transaction([pending])
                except Exception as exc:
                    result = exc
                _resolve(pending, result)
            return
        self.batches += 1
        for pending, result in zip(batch, results, strict=True):
            _resolve(pending, result)

    def _transaction(self, batch: list[_Pending]) -> list[Received | Exception]:
        with self._factory()() as session:
            try:
                begin_write(session)
                results = store_alerts(
                    session=session,
                    items=[(p.body, p.now) for p in batch],
                    actor=self.actor,
                    calendar=self.calendar,
                )
                session.commit()
            except BaseException:
                session.rollback()
                raise
        return results


def _resolve(pending: _Pending, result: Received | Exception) -> None:
    if isinstance(result, Exception):
        pending.future.set_exception(result)
    else:
        pending.future.set_result(result)
