"""The one transport-level seam: every HTTP request an SDK session sends passes a RequestMeter.

The meter paces requests under the organization's budget (a token bucket shared by every
client of the process, paused by a 429's Retry-After) and counts them as the HTTP layer saw
them, SDK retries included. A shared budget across processes or a check of each request
against Cisco's specification belongs here too: both see every request and response.

meraki 4.7 offers no public option for the httpx client it builds (only timeout, certificate
and proxy reach it), so `sdk_http_client` reaches the SDK's private `_session._client`. It is
the only place that does; `tests/contract/test_dashboard_transport.py` fails on an SDK release
that moves it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from dashboard.patience import Wait
from dashboard.patience import retry_after as retry_after
from dashboard.session import patience_of

ANY_ORGANIZATION = "*"
"""The budget key of a client that talks to several organizations."""


@dataclass
class CallStats:
    """Requests this client sent, as the HTTP layer saw them (SDK retries included)."""

    calls: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    waits: int = 0
    """Times a request was held back and sent again (429, 5xx, dropped connection)."""
    waited_ms: int = 0
    """Milliseconds spent in those waits (Retry-After with jitter, backoff)."""

    def snapshot(self) -> dict[str, int]:
        return {
            "calls": self.calls,
            "rate_limited": self.rate_limited,
            "server_errors": self.server_errors,
            "waits": self.waits,
            "waited_ms": self.waited_ms,
        }


class Budget(Protocol):
    """A per-organization request budget: `dashboard.pacing.OrgRateLimiter` in one process; a
    budget shared by several processes implements the same two calls."""

    def acquire(self, organization_id: str) -> float:
        """Wait until the organization may send one more request; the seconds waited."""
        ...

    def pause(self, organization_id: str, seconds: float) -> None:
        """Hold the organization's requests (the dashboard answered 429 with Retry-After)."""
        ...


def sdk_http_client(sdk: Any) -> httpx.Client:
    """The httpx client inside a `meraki.DashboardAPI` (no public accessor in meraki 4.x)."""
    client = getattr(getattr(sdk, "_session", None), "_client", None)
    if not isinstance(client, httpx.Client):
        raise RuntimeError(
            "the meraki SDK no longer keeps its httpx client at sdk._session._client; "
            "update dashboard.transport.sdk_http_client for this SDK release"
        )
    return client


@dataclass
class RequestMeter:
    """Pacing and accounting of one organization's requests (httpx event hooks)."""

    organization_id: str
    limiter: Budget | None = None
    stats: CallStats = field(default_factory=CallStats)
    observers: list[Callable[[str, Wait], None]] = field(default_factory=list)
    """Told of every wait with the organization (progress output)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def before_request(self, request: httpx.Request) -> None:
        if self.limiter is not None:
            self.limiter.acquire(self.organization_id)
        with self._lock:
            self.stats.calls += 1

    def after_response(self, response: httpx.Response) -> None:
        status = response.status_code
        if status == 429:
            with self._lock:
                self.stats.rate_limited += 1
            if self.limiter is not None:
                self.limiter.pause(self.organization_id, retry_after(response))
        elif status >= 500:
            with self._lock:
                self.stats.server_errors += 1

    def on_wait(self, wait: Wait) -> None:
        """Count a wait before a request is sent again (`dashboard.patience`)."""
        with self._lock:
            self.stats.waits += 1
            self.stats.waited_ms += round(wait.seconds * 1000)
        for observer in list(self.observers):
            observer(self.organization_id, wait)

    def attach(self, sdk: Any) -> None:
        """Put this meter on every request the SDK session sends from now on."""
        client = sdk_http_client(sdk)
        hooks = dict(client.event_hooks)
        hooks["request"] = [*hooks.get("request", []), self.before_request]
        hooks["response"] = [*hooks.get("response", []), self.after_response]
        client.event_hooks = hooks
        patience = patience_of(sdk)
        if patience is not None:
            patience.watch(self.on_wait)
