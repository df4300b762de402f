"""The sandbox dashboard engine: routes every API operation, for HTTP and for action batches."""

from __future__ import annotations

from dataclasses import dataclass
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


class Dashboard:
    """Holds the state and answers operations by method and path, with batch execution."""

    def __init__(self, state: SandboxState, batch_delay: float = 0.2) -> None:
        self.state = state
        self.batch_delay = batch_delay
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
            reply = route.handler(self.state, call)
        except ApiError as err:
            reply = error_reply(err)
        return Outcome(reply, route.template)

    def template_of(self, method: str, path: str) -> str:
        """The path template a request would match, for counting early refusals."""
        route, _, _ = self.router.match(method, path)
        return route.template if route else "<unmatched>"

    def _run_action(self, method: str, path: str, body: Any, now: datetime) -> Reply:
        route, params, _ = self.operations.match(method, path)
        if route is None:
            raise ApiError(400, f"Invalid action resource or operation: {method} {path}")
        return route.handler(self.state, Call(params, {}, body, now, path=path))
