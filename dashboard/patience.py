"""Patience with a dashboard that says "wait", and no patience with one that is not there.

`Patience.wrap` takes the SDK session's send of one HTTP request and makes it wait out every
429 (its Retry-After, with jitter), every 5xx and every dropped connection (growing backoff)
for as long as the operation's deadline allows, never giving up on a count of retries alone.
The SDK never sees a 429 or a 5xx: its own retry count is left only for its 4xx "busy"
answers (an action batch or a network delete already running).

A connection nothing accepts (refused, unknown host) is not a wait: it fails at once with the
dashboard's URL, instead of the SDK's retries with 1 s sleeps.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from core.errors import DashboardError

DEFAULT_PATIENCE_SECONDS = 300.0
"""How long one dashboard call may keep waiting out 429s and 5xx before it fails."""
PATIENCE_ENV = "NETKEEP_DASHBOARD_PATIENCE_SECONDS"
"""The setting's variable (core.settings `dashboard_patience_seconds`), read for adapters built
without settings too, so one variable sets the patience of every SDK client."""


def configured_patience() -> float:
    """The patience when none is passed: the setting's variable, else the default."""
    raw = os.environ.get(PATIENCE_ENV, "").strip()
    return float(raw) if raw else DEFAULT_PATIENCE_SECONDS


MAX_BACKOFF_SECONDS = 10.0
"""The longest wait between two attempts after a 5xx or a dropped connection."""


@dataclass(frozen=True)
class Wait:
    """One wait before a request is sent again."""

    method: str
    path: str
    status: int  # 429, 5xx, or 0 for a dropped connection
    seconds: float
    attempt: int


Observer = Callable[[Wait], None]


def retry_after(response: httpx.Response) -> float:
    """A 429's Retry-After in seconds (1 when missing or not a number; fractions kept)."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


@dataclass
class Patience:
    """The retry policy of one SDK session (see the module text)."""

    base_url: str
    deadline: float = DEFAULT_PATIENCE_SECONDS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random
    observers: list[Observer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def watch(self, observer: Observer) -> None:
        """Call `observer` with every wait from now on (progress output, job accounting)."""
        with self._lock:
            self.observers.append(observer)

    def wrap(self, send: Callable[..., httpx.Response]) -> Callable[..., httpx.Response]:
        def patient_send(method: str, url: str, **kwargs: Any) -> httpx.Response:
            return self.send(send, method, url, **kwargs)

        return patient_send

    def send(
        self, send: Callable[..., httpx.Response], method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = send(method, url, **kwargs)
            except httpx.ConnectError as exc:
                operation = f"{method} {_path(url)}"
                raise DashboardError(
                    f"dashboard unreachable at {self.base_url}: {_reason(exc)} ({operation})",
                    operation=operation,
                ) from None
            except httpx.TransportError:  # dropped, reset or timed out: may answer next time
                status, wait = 0, self._backoff(attempt)
            else:
                status = response.status_code
                if status == 429:
                    wait = retry_after(response) * (1.0 + 0.2 * self.jitter())
                elif status >= 500:
                    wait = self._backoff(attempt)
                else:
                    return response
            waited = self.clock() - started
            if waited + wait > self.deadline:
                what = f"{status}" if status else "dropped connections"
                raise DashboardError(
                    f"dashboard still answering {what} to {method} {_path(url)} after "
                    f"{waited:.1f} s and {attempt} attempts (patience {self.deadline:g} s)",
                    operation=f"{method} {_path(url)}",
                    status=status or None,
                )
            notice = Wait(method, _path(url), status, wait, attempt)
            with self._lock:
                observers = list(self.observers)
            for observer in observers:
                observer(notice)
            self.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        """0.5 s, 1 s, 2 s … up to MAX_BACKOFF_SECONDS, each with up to 20% jitter."""
        return min(0.5 * 2.0 ** (attempt - 1), MAX_BACKOFF_SECONDS) * (1.0 + 0.2 * self.jitter())


def _path(url: str) -> str:
    return httpx.URL(url).path


def _reason(exc: httpx.ConnectError) -> str:
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ConnectionRefusedError) or "refused" in str(exc).lower():
        return "connection refused"
    return str(exc) or type(exc).__name__
