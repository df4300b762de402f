"""The sandbox dashboard engine: routes every API operation, for HTTP and for action batches."""

from __future__ import annotations

import copy
import logging
import math
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox import (
    batches,
    routes_appliance,
    routes_devices,
    routes_monitor,
    routes_org,
    routes_security,
    routes_wireless,
)
from sandbox.ratelimit import retry_after_header
from sandbox.router import ApiError, Call, Reply, Route, Router
from sandbox.spec.known import NETKEEP_KNOWN_BATCH_MISMATCHES, NETKEEP_KNOWN_BODY_MISMATCHES
from sandbox.spec.sdk import Operation, catalog
from sandbox.spec.validate import body_problems
from sandbox.state import SandboxState

log = logging.getLogger(__name__)
INTERNAL_ERROR = "Internal server error (a sandbox bug, not a client mistake)"
REQUEST_LOG_SIZE = 10_000
LOGGED_ITEMS = 50
"""A logged list answer keeps its first items only (pages of a large inventory stay small)."""
LEGACY_VERBS = {"create": "POST", "update": "PUT", "destroy": "DELETE"}


def base_router() -> Router:
    """Every operation except action batches (which may contain any of these)."""
    combined = Router()
    for module in (
        routes_org,
        routes_devices,
        routes_appliance,
        routes_security,
        routes_wireless,
        routes_monitor,
    ):
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
NETWORK_PATH = re.compile(r"^/networks/([^/]+)(?:/.*)?$")
CREATE_NETWORK_PATH = re.compile(r"^/organizations/[^/]+/networks$")
CLAIM_WINDOW = 300.0
"""The specification: claimNetworkDevices "can be used up to ten times within a single five
minute window" (counted per organization here)."""


@dataclass
class Claims:
    """Claim timing as the dashboard has it: newly claimed devices answer 404 for `settle`
    seconds, and at most `limit` claims per organization within five minutes (None: no limit).
    Newly created networks likewise answer 404 for `network_settle` seconds."""

    settle: float = 0.2
    limit: int | None = None
    window: float = CLAIM_WINDOW
    """Seconds the limit counts over (the dashboard: five minutes; tests use a short one)."""
    network_settle: float = 0.0
    """Seconds every `/networks/{id}...` request about a just created network answers 404."""
    settling: dict[str, float] = field(default_factory=dict)
    networks_settling: dict[str, float] = field(default_factory=dict)
    recent: dict[str, list[float]] = field(default_factory=dict)
    admitted: dict[str, list[float]] = field(default_factory=dict)
    """Every claim request let through, per organization (what tests check the limit with)."""
    refused: int = 0
    """Claim requests answered 429."""

    def refuse_unsettled(self, path: str, now: float) -> None:
        """404 for a request about a device claimed less than `settle` seconds ago."""
        found = DEVICE_PATH.match(path)
        if found and self.settling.get(found.group(1), 0.0) > now:
            raise ApiError(404, f"Device {found.group(1)} not found")
        network = NETWORK_PATH.match(path)
        if network and self.networks_settling.get(network.group(1), 0.0) > now:
            raise ApiError(404, f"Network {network.group(1)} not found")

    def admit(self, org_id: str, now: float) -> None:
        """429 when the organization used its claims of the last five minutes."""
        if self.limit is None:
            return
        kept = [t for t in self.recent.get(org_id, []) if t > now - self.window]
        self.recent[org_id] = kept
        if len(kept) >= self.limit:
            self.refused += 1
            raise ClaimLimited(kept[0] + self.window - now, self.limit, self.window)
        kept.append(now)
        self.admitted.setdefault(org_id, []).append(now)

    def claimed(self, serials: Any, now: float) -> None:
        """Serials just claimed: they answer 404 until `settle` seconds have passed."""
        for serial in serials if isinstance(serials, list) else []:
            self.settling[str(serial)] = now + self.settle

    def network_created(self, reply: Any, now: float) -> None:
        """A network just created: requests about it answer 404 for `network_settle` seconds."""
        if self.network_settle > 0 and isinstance(reply, dict) and reply.get("id"):
            self.networks_settling[str(reply["id"])] = now + self.network_settle

    def reset(self) -> None:
        self.settling.clear()
        self.networks_settling.clear()
        self.recent.clear()
        self.admitted.clear()
        self.refused = 0


class ClaimLimited(ApiError):
    """429: claimNetworkDevices used ten times within five minutes; Retry-After in seconds."""

    def __init__(self, wait: float, limit: int = 10, window: float = CLAIM_WINDOW) -> None:
        super().__init__(
            429,
            f"Claims are limited to {limit} within {window:g} seconds; "
            f"retry after {math.ceil(wait)} seconds",
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
        self.router.include(batches.make_router(self, lambda: self.batch_delay))
        self.catalog = catalog()
        self.spec: dict[tuple[str, str], Operation | None] = {
            (r.method, r.template): self.catalog.find(r.method, r.template)
            for r in self.router.routes
        }
        self.tolerated = set(NETKEEP_KNOWN_BODY_MISMATCHES)
        self.batch_agent = ""
        """User-Agent of the latest batch request (batch actions are logged under it)."""
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        """Every answered operation (direct or batch action): body, answer, spec problems."""

    def operation_of(self, route: Route) -> Operation | None:
        """The published operation a sandbox route serves (None: not in the specification)."""
        return self.spec.get((route.method, route.template))

    def body_refusals(self, route: Route, body: Any, entry: dict[str, Any]) -> list[str]:
        """Messages for a body that breaks the route's published schema (tolerated ones logged)."""
        op = self.operation_of(route)
        if op is None or route.method not in ("POST", "PUT"):
            return []
        problems = body_problems(op.operation_id, op.body, body)
        entry["problems"] = [m for _, m in problems]
        return [m for f, m in problems if (op.operation_id, f) not in self.tolerated]

    def query_refusals(self, route: Route, query: dict[str, list[str]]) -> list[str]:
        """``perPage`` outside the operation's documented range (e.g. 3 - 1000) is refused."""
        op = self.operation_of(route)
        raw = query.get("perPage")
        if op is None or not op.paged or op.per_page is None or not raw:
            return []
        low, high = op.per_page
        try:
            value = int(raw[0])
        except ValueError:
            return [f"'perPage' must be an integer between {low} and {high}"]
        if not low <= value <= high:
            return [f"'perPage' must be between {low} and {high}, got {value}"]
        return []

    def _entry(
        self, method: str, path: str, route: Route | None, body: Any, agent: str
    ) -> dict[str, Any]:
        op = self.operation_of(route) if route else None
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "template": route.template if route else None,
            "operationId": op.operation_id if op else None,
            "body": copy.deepcopy(body),
            "problems": [],
            "status": None,
            "reply": None,
            "batch": False,
            "agent": agent,
        }
        self.request_log.append(entry)
        return entry

    def dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Any,
        now: datetime,
        link_base: str = "",
        agent: str = "",
    ) -> Outcome:
        """Answer one API operation; ApiError becomes an error reply."""
        batches.run_due_batches(self.state, now, self)
        route, params, path_known = self.router.match(method, path)
        if route is None:
            if path_known:
                return Outcome(
                    error_reply(ApiError(405, f"{method} not allowed on {path}")),
                    "<method not allowed>",
                )
            return Outcome(error_reply(ApiError(404, f"No such path: {path}")), "<unmatched>")
        entry = self._entry(method, path, route, body, agent)
        if route.template.endswith("/actionBatches") or "/actionBatches/" in route.template:
            self.batch_agent = agent
        call = Call(params, query, body, now, path=path.rstrip("/") or "/", link_base=link_base)
        refused = self.body_refusals(route, body, entry) + self.query_refusals(route, query)
        try:
            if refused:
                raise ApiError(400, *refused)
            reply = self._answer(route, method, path, call)
        except ClaimLimited as err:
            reply = error_reply(err)
            reply.headers["Retry-After"] = retry_after_header(err.wait)
        except ApiError as err:
            reply = error_reply(err)
        except Exception:  # a sandbox bug: client mistakes are ApiErrors above
            log.exception("sandbox handler failed: %s %s", method, path)
            reply = Reply({"errors": [INTERNAL_ERROR]}, 500)
        entry["status"] = reply.status
        answer = reply.body[:LOGGED_ITEMS] if isinstance(reply.body, list) else reply.body
        entry["reply"] = copy.deepcopy(answer)  # handlers answer live state records
        return Outcome(reply, route.template)

    def _answer(self, route: Route, method: str, path: str, call: Call) -> Reply:
        """One operation, with the dashboard's claim timing around it."""
        stamp = call.now.timestamp()
        self.claims.refuse_unsettled(path, stamp)
        claim = CLAIM_PATH.match(path) if method == "POST" else None
        if claim:
            self.claims.admit(self.state.org_of_path(path) or "", stamp)
        reply: Reply = route.handler(self.state, call)
        if claim:
            self.claims.claimed((call.body or {}).get("serials"), stamp)
        if method == "POST" and CREATE_NETWORK_PATH.match(path) and reply.status < 300:
            self.claims.network_created(reply.body, stamp)
        return reply

    def template_of(self, method: str, path: str) -> str:
        """The path template a request would match, for counting early refusals."""
        route, _, _ = self.router.match(method, path)
        return route.template if route else "<unmatched>"

    # --- action batches (sandbox.batches.Actions) ----------------------------------------

    def resolve(self, action: Any) -> tuple[str, str]:
        """Method and path of a batch action, which must be a published batchable operation."""
        if (
            not isinstance(action, dict)
            or not isinstance(action.get("resource"), str)
            or not isinstance(action.get("operation"), str)
        ):
            raise ApiError(400, "each action needs a string 'resource' and 'operation'")
        resource = action["resource"].removeprefix("/api/v1").split("?", 1)[0].rstrip("/")
        verb = action["operation"]
        for method in ("POST", "PUT", "DELETE"):
            route, _, _ = self.operations.match(method, resource)
            if route is None:
                continue
            batch = self.catalog.find_batch(route.template, verb)
            op = self.operation_of(route)
            if batch is not None and op is not None and batch.operation_id == op.operation_id:
                return method, resource
        legacy = self._legacy(resource, verb)
        if legacy is not None:
            return legacy
        raise ApiError(400, f"'{verb}' on '{action['resource']}' is not a batchable operation")

    def _legacy(self, resource: str, verb: str) -> tuple[str, str] | None:
        """The pre-spec mapping, kept only for netkeep's known batch mismatches."""
        method = LEGACY_VERBS.get(verb, "POST")
        path = resource if verb in LEGACY_VERBS else f"{resource}/{verb}"
        route, _, _ = self.operations.match(method, path)
        if route is None:
            return None
        for template, known_verb in NETKEEP_KNOWN_BATCH_MISMATCHES:
            pattern = re.sub(r"\{\w+\}", "[^/]+", template)
            if known_verb == verb and re.fullmatch(pattern, resource):
                return method, path
        return None

    def refusals(self, method: str, path: str, body: Any) -> list[str]:
        """Schema problems of one action's body (logged as a batch entry)."""
        route, _, _ = self.operations.match(method, path)
        if route is None:
            return [f"No such operation: {method} {path}"]
        entry = self._entry(method, path, route, body, self.batch_agent)
        entry["batch"] = True
        return self.body_refusals(route, body, entry)

    def run(self, method: str, path: str, body: Any, now: datetime) -> Reply:
        """Apply one action through the same handler a direct call uses."""
        route, params, _ = self.operations.match(method, path)
        if route is None:
            raise ApiError(400, f"Invalid action resource or operation: {method} {path}")
        return self._answer(route, method, path, Call(params, {}, body, now, path=path))
