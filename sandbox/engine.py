"""The sandbox dashboard engine: routes every API operation, for HTTP and for action batches."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox import (
    batches,
    routes_appliance,
    routes_devices,
    routes_org,
    routes_security,
    routes_wireless,
)
from sandbox.ratelimit import retry_after_header
from sandbox.router import ApiError, Call, Reply, Router
from sandbox.state import SandboxState


def base_router() -> Router:
    """Every operation except action batches (which may contain any of these)."""
    combined = Router()
    for module in (routes_org, routes_devices, routes_appliance, routes_security, routes_wireless):
        combined.include(module.router)
    return combined


def error_reply(err: ApiError) -> Reply:
    """The dashboard's error body."""
    return Reply({"errors": err.messages}, err.status)


@dataclass
class Outcome:
    """A dispatched operation: the reply and the path template it matched (for counters)."""

    reply: Reply
    template: str


CLAIM_PATH = re.compile(r"^/networks/([^/]+)/devices/claim$")
DEVICE_PATH = re.compile(r"^/devices/([^/]+)(?:/.*)?$")
CLAIM_WINDOW = 300.0
"""The specification: claimNetworkDevices "can be used up to ten times within a single five
minute window" (counted per organization here)."""


@dataclass
class Claims:
    """Claim timing as the dashboard has it: newly claimed devices answer 404 for `settle`
    seconds, and at most `limit` claims per organization within five minutes (None: no limit)."""

    settle: float = 0.2
    limit: int | None = None
    settling: dict[str, float] = field(default_factory=dict)
    recent: dict[str, list[float]] = field(default_factory=dict)

    def refuse_unsettled(self, path: str, now: float) -> None:
        """404 for a request about a device claimed less than `settle` seconds ago."""
        found = DEVICE_PATH.match(path)
        if found and self.settling.get(found.group(1), 0.0) > now:
            raise ApiError(404, f"Device {found.group(1)} not found")

    def admit(self, org_id: str, now: float) -> None:
        """429 when the organization used its claims of the last five minutes."""
        if self.limit is None:
            return
        kept = [t for t in self.recent.get(org_id, []) if t > now - CLAIM_WINDOW]
        self.recent[org_id] = kept
        if len(kept) >= self.limit:
            wait = kept[0] + CLAIM_WINDOW - now
            raise ClaimLimited(wait)
        kept.append(now)

    def claimed(self, serials: Any, now: float) -> None:
        for serial in serials if isinstance(serials, list) else []:
            self.settling[str(serial)] = now + self.settle

    def reset(self) -> None:
        self.settling.clear()
        self.recent.clear()


class ClaimLimited(ApiError):
    """429: claimNetworkDevices used ten times within five minutes; Retry-After in seconds."""

    def __init__(self, wait: float) -> None:
        super().__init__(
            429, "Claims are limited to 10 within 5 minutes; retry after the time given"
        )
        self.wait = wait


class Dashboard:
    """Holds the state and answers operations by method and path, with batch execution."""

    def __init__(
        self, state: SandboxState, batch_delay: float = 0.2, claims: Claims | None = None
    ) -> None:
        self.state = state
        self.batch_delay = batch_delay
        self.claims = claims or Claims()
        self.operations = base_router()
        self.router = Router()
        self.router.include(self.operations)
        self.router.include(batches.make_router(self._run_action, lambda: self.batch_delay))

    def dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Any,
        now: datetime,
        link_base: str = "",
    ) -> Outcome:
        """Answer one API operation; ApiError becomes an error reply."""
        batches.run_due_batches(self.state, now, self._run_action)
        route, params, path_known = self.router.match(method, path)
        if route is None:
            if path_known:
                return Outcome(
                    error_reply(ApiError(405, f"{method} not allowed on {path}")),
                    "<method not allowed>",
                )
            return Outcome(error_reply(ApiError(404, f"No such path: {path}")), "<unmatched>")
        call = Call(params, query, body, now, path=path.rstrip("/") or "/", link_base=link_base)
        try:
            reply = self._answer(route.handler, method, path, call)
        except ClaimLimited as err:
            reply = error_reply(err)
            reply.headers["Retry-After"] = retry_after_header(err.wait)
        except ApiError as err:
            reply = error_reply(err)
        return Outcome(reply, route.template)

    def _answer(self, handler: Any, method: str, path: str, call: Call) -> Reply:
        """One operation, with the dashboard's claim timing around it."""
        stamp = call.now.timestamp()
        self.claims.refuse_unsettled(path, stamp)
        claim = CLAIM_PATH.match(path) if method == "POST" else None
        if claim:
            self.claims.admit(self.state.org_of_path(path) or "", stamp)
        reply: Reply = handler(self.state, call)
        if claim:
            self.claims.claimed((call.body or {}).get("serials"), stamp)
        return reply

    def template_of(self, method: str, path: str) -> str:
        """The path template a request would match, for counting early refusals."""
        route, _, _ = self.router.match(method, path)
        return route.template if route else "<unmatched>"

    def _run_action(self, method: str, path: str, body: Any, now: datetime) -> Reply:
        route, params, _ = self.operations.match(method, path)
        if route is None:
            raise ApiError(400, f"Invalid action resource or operation: {method} {path}")
        return self._answer(route.handler, method, path, Call(params, {}, body, now, path=path))
