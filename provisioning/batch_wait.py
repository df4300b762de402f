"""Waiting for action batches: the one polling loop every provisioning path uses, and the slots.

A job alone waits for its own batch; a rollout follows up to five shared batches at once, each
sent as soon as it may be. Both read a batch through `Following`: a first read `poll_seconds`
after it was sent, then one GET per batch still running, the delay growing by `backoff` up to
`max_delay`, until the batch ended or the deadline passed (`wait_for_batches` sleeps until the
next read of any; a rollout fills that wait with direct writes). Timings come
from Settings (`provisioning_batch_*`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.errors import DashboardError, DomainError

Outcome = dict[str, Any] | DomainError


class BatchReader(Protocol):
    """The one call waiting needs (a `ProvisioningDashboard` is one)."""

    def get_batch(self, batch_id: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class BatchTimings:
    """How often a running action batch is read again, and for how long at most."""

    poll_seconds: float = 0.5
    backoff: float = 1.5
    max_delay: float = 5.0
    deadline: float = 600.0
    claim_settle: float = 300.0
    """How long newly claimed devices may answer 404 before a batch addressing them gives up
    (the specification: "it may take a few minutes for API requests against that device")."""
    network_settle: float = 300.0
    """How long a newly created network may answer 404 before a request or batch about it
    gives up (the dashboard is eventually consistent after a network creation too)."""
    claim_limit: int | None = 10
    """Claim requests per organization within `claim_window` (the dashboard: 10; None: none)."""
    claim_window: float = 300.0
    """Seconds the claim limit counts over (the dashboard: five minutes)."""


@dataclass
class Waiter:
    """The timings with the clock and sleep they run on (tests pass instant ones)."""

    timings: BatchTimings = field(default_factory=BatchTimings)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def batch_ended(batch: Mapping[str, Any]) -> bool:
    """Whether the dashboard finished the batch, either way."""
    status = batch.get("status") or {}
    return bool(status.get("completed") or status.get("failed"))


@dataclass
class Following:
    """One running action batch followed: when it is read next, and until when at most."""

    batch: dict[str, Any]
    due: float
    delay: float
    deadline: float

    @classmethod
    def start(cls, batch: dict[str, Any], waiter: Waiter) -> Following:
        """Following a batch just sent: the first read `poll_seconds` from now."""
        timings, now = waiter.timings, waiter.clock()
        return cls(batch, now + timings.poll_seconds, timings.poll_seconds, now + timings.deadline)

    def read(self, dashboard: BatchReader, waiter: Waiter, now: float) -> Outcome | None:
        """Read the batch once (at `now`): how it ended, or the error that stops following it
        (the read failed, the deadline passed); None while it runs (the next read is due
        after a delay grown by `backoff`, up to `max_delay`)."""
        try:
            self.batch = dashboard.get_batch(str(self.batch["id"]))
        except DomainError as exc:
            return exc
        if batch_ended(self.batch):
            return self.batch
        timings = waiter.timings
        if waiter.clock() > self.deadline:
            return DashboardError(
                f"action batch {self.batch['id']} did not finish in {timings.deadline:g} seconds"
            )
        self.delay = min(self.delay * timings.backoff, timings.max_delay)
        self.due = now + self.delay
        return None


def wait_for_batches(
    dashboard: BatchReader, batches: Sequence[dict[str, Any]], waiter: Waiter
) -> list[Outcome]:
    """Each batch as it ended, or the error that stopped following it (read failed, too slow)."""
    out: list[Outcome] = list(batches)
    following = {i: Following.start(b, waiter) for i, b in enumerate(batches) if not batch_ended(b)}
    while following:
        wait = min(f.due for f in following.values()) - waiter.clock()
        if wait > 0:
            waiter.sleep(wait)
        now = waiter.clock()
        for i, one in list(following.items()):
            if one.due <= now and (ended := one.read(dashboard, waiter, now)) is not None:
                out[i] = ended
                del following[i]
    return out


def wait_for_batch(dashboard: BatchReader, batch: dict[str, Any], waiter: Waiter) -> dict[str, Any]:
    """One batch until it ended; the error that stopped following it is raised."""
    [ended] = wait_for_batches(dashboard, [batch], waiter)
    if isinstance(ended, DomainError):
        raise ended
    return ended


class BatchSlots:
    """At most `limit` asynchronous action batches running per organization in this process."""

    def __init__(self, limit: int = 5) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    def slot(self, organization_id: str) -> threading.BoundedSemaphore:
        with self._lock:
            if organization_id not in self._slots:
                self._slots[organization_id] = threading.BoundedSemaphore(self.limit)
            return self._slots[organization_id]


BATCH_SLOTS = BatchSlots()
"""This process's slots: at most five asynchronous batches per organization (Meraki's limit)."""
