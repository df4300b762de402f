"""FastAPI application: auth, faults, rate limits and counters around the dashboard engine."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.types import Receive, Scope, Send

from sandbox.engine import Claims, Dashboard
from sandbox.faults import FAULT_HEADER, FaultConfig, FaultInjector, FaultKind
from sandbox.ratelimit import RateLimiter, retry_after_header
from sandbox.seeds import build_seed
from sandbox.state import SandboxState

API_PREFIX = "/api/v1"
_API_PATH = re.compile(r"^/api/v1(?:https?:/+[^/]+/api/v1)?(/.*)?$")
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


@dataclass
class SandboxConfig:
    """How a sandbox instance behaves; rate limits of None or 0 mean unlimited."""

    api_key: str = "sandbox-api-key"
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    """Random for every instance (printed once at start): the admin API returns every secret."""
    seed: str = "demo"
    rate_limit: float | None = 10.0
    ip_rate_limit: float | None = 100.0
    faults: FaultConfig = field(default_factory=FaultConfig)
    state_file: Path | None = None
    batch_delay: float = 0.2
    """Seconds an asynchronous action batch stays pending before it runs."""
    claim_settle: float = 0.2
    """Seconds a newly claimed device answers 404 (the dashboard: "may take a few minutes")."""
    claim_limit: int | None = None
    """Claims per organization within five minutes (the dashboard's is 10; None: no limit)."""
    claim_window: float = 300.0
    """Seconds the claim limit counts over (the dashboard: 300)."""
    network_settle: float = 0.2
    """Seconds a newly created network answers 404 (the dashboard's eventual consistency)."""


class ConnectionDropped(Exception):
    """Raised after the response has started so the server closes the socket mid-response."""


class DroppedConnection(Response):
    """Starts a response, then aborts it: the client sees the connection drop."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send headers promising a body that never comes, then abort."""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )
        raise ConnectionDropped("sandbox fault: connection dropped")


class Counters:
    """Requests per "METHOD /path/{template}", with a tally per status code."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        # Requests arriving per organization per wall-clock second (any answer, 429s too).
        self.per_second: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def arrived(self, org_id: str | None, at: float) -> None:
        """Count one authorized request of `org_id` in the second it arrived."""
        if org_id is not None:
            self.per_second[org_id][int(at)] += 1

    def add(self, method: str, template: str, status: int) -> None:
        """Count one answered request."""
        entry = self.data[f"{method} {template}"]
        entry["count"] += 1
        entry[str(status)] += 1

    def snapshot(self) -> dict[str, Any]:
        """Per-operation counts plus totals by status."""
        totals: dict[str, int] = defaultdict(int)
        for entry in self.data.values():
            for key, value in entry.items():
                totals[key] += value
        return {
            "operations": {k: dict(v) for k, v in sorted(self.data.items())},
            "totals": dict(totals),
            "per_second": {
                org: {str(second): n for second, n in sorted(seconds.items())}
                for org, seconds in sorted(self.per_second.items())
            },
        }

    def reset(self) -> None:
        """Zero every counter."""
        self.data.clear()
        self.per_second.clear()


class SandboxRuntime:
    """Mutable per-app runtime: engine, limiter, faults, counters and config."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        state = self._initial_state(config)
        self.dashboard = Dashboard(
            state,
            config.batch_delay,
            Claims(
                config.claim_settle,
                config.claim_limit,
                config.claim_window,
                network_settle=config.network_settle,
            ),
        )
        self.limiter = RateLimiter(config.rate_limit or None, config.ip_rate_limit or None)
        self.faults = FaultInjector(config.faults)
        self.counters = Counters()

    @staticmethod
    def _initial_state(config: SandboxConfig) -> SandboxState:
        if config.state_file is not None and config.state_file.exists():
            return SandboxState.load(config.state_file)
        return build_seed(config.seed)

    def reset(self, seed: str) -> None:
        """Replace the state with a named seed."""
        self.dashboard.state.replace_with(build_seed(seed).to_dict())
        self.dashboard.claims.reset()

    def save(self) -> None:
        """Persist to the configured state file, if any."""
        if self.config.state_file is not None:
            self.dashboard.state.save(self.config.state_file)

    def authorized(self, request: Request) -> bool:
        """Whether the request carries the API key (Bearer or X-Cisco-Meraki-API-Key)."""
        headers = request.headers
        bearer = headers.get("authorization", "")
        key = bearer[7:].strip() if bearer[:7].lower() == "bearer " else None
        key = key or headers.get("x-cisco-meraki-api-key")
        return key == self.config.api_key


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Compact UTF-8 JSON; None body means no content."""
    if body is None and status == 204:
        return Response(status_code=204, headers=headers)
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status, headers, media_type="application/json")


def errors(status: int, *messages: str, headers: dict[str, str] | None = None) -> Response:
    """The dashboard's error body."""
    return json_response({"errors": list(messages)}, status, headers)


async def handle_api(runtime: SandboxRuntime, request: Request, path: str) -> Response:
    """Answer one /api/v1 request: auth, faults, rate limit, then the engine."""
    method = request.method
    engine = runtime.dashboard
    if not runtime.authorized(request):
        runtime.counters.add(method, engine.template_of(method, path), 401)
        return errors(401, "Invalid API key")
    runtime.counters.arrived(engine.state.org_of_path(path), time.time())
    fault = runtime.faults.decide(request.headers.get(FAULT_HEADER))
    if fault.delay_s:
        await asyncio.sleep(fault.delay_s)
    if fault.kind is not FaultKind.NONE:
        runtime.counters.add(
            method,
            engine.template_of(method, path),
            fault.status if fault.kind is FaultKind.STATUS else 0,
        )
        if fault.kind is FaultKind.DROP:
            return DroppedConnection()
        if fault.status == 429:
            return errors(
                429,
                "API rate limit exceeded for organization",
                headers={"Retry-After": f"{runtime.faults.config.retry_after_429:g}"},
            )
        return errors(fault.status, "Sandbox injected server error")
    client_ip = request.client.host if request.client else "unknown"
    limited = runtime.limiter.check(engine.state.org_of_path(path), client_ip, time.monotonic())
    if limited is not None:
        scope, wait = limited
        runtime.counters.add(method, engine.template_of(method, path), 429)
        return errors(
            429,
            f"API rate limit exceeded for {scope}",
            headers={"Retry-After": retry_after_header(wait)},
        )
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError:
        runtime.counters.add(method, engine.template_of(method, path), 400)
        return errors(400, "The request body is not valid JSON")
    query: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        query.setdefault(key, []).append(value)
    link_base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    outcome = engine.dispatch(
        method,
        path,
        query,
        body,
        datetime.now(UTC),
        link_base + API_PREFIX,
        agent=request.headers.get("user-agent", ""),
    )
    reply = outcome.reply
    runtime.counters.add(method, outcome.template, reply.status)
    return json_response(reply.body, reply.status, reply.headers)


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """Build a sandbox dashboard; the admin API lives under /_sandbox."""
    from sandbox.admin import admin_router

    runtime = SandboxRuntime(config or SandboxConfig())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        runtime.save()

    app = FastAPI(
        title="netkeep Meraki dashboard sandbox",
        lifespan=lifespan,
        docs_url="/_sandbox/docs",
        openapi_url="/_sandbox/openapi.json",
        swagger_ui_oauth2_redirect_url="/_sandbox/docs/oauth2-redirect",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.include_router(admin_router(runtime))

    @app.api_route("/{full_path:path}", methods=METHODS, include_in_schema=False)
    async def dashboard_api(request: Request, full_path: str) -> Response:
        """Every Dashboard API path, plus JSON 404s elsewhere."""
        found = _API_PATH.match(request.url.path)
        if found is None:
            return errors(404, f"No such path: {request.url.path}")
        path = (found.group(1) or "/").rstrip("/") or "/"
        return await handle_api(runtime, request, path)

    return app
