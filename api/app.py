"""The HTTP API: one FastAPI app composed of each domain's router."""

from __future__ import annotations

import gc
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import ReadPath, TokenCache
from core.db import get_engine
from core.errors import AuthenticationFailed, DomainError
from core.settings import Settings, get_settings


class RequestIdMiddleware:
    """Gives every request an id (or keeps the caller's X-Request-ID) and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:64]
                break
        request_id = request_id or secrets.token_hex(16)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationFailed) else None
    return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Once the app is built, move its long-lived objects out of the garbage collector's way."""
    gc.collect()
    gc.freeze()
    yield


TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


HOT_READ = re.compile(r"^/api/v1/devices/[^/]+$")


class HotReadDispatcher:
    """Sends `GET /api/v1/devices/{serial}` to a lean Starlette app, everything else to FastAPI.

    The device read is the API's hottest path; the lean app skips FastAPI's middleware stack but
    shares its state (database, token cache), auth, error mapping and request ids. FastAPI still
    documents the route in the OpenAPI schema.
    """

    def __init__(self, api: FastAPI, hot: Starlette) -> None:
        self.api = api
        self.hot = hot
        hot.state = api.state

    @property
    def state(self) -> Any:
        return self.api.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and HOT_READ.match(scope["path"]):
            await self.hot(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> HotReadDispatcher:
    """Build the app; tests pass their own settings and engine."""
    from api.tokens import router as tokens_router
    from changes.router import router as changes_router
    from changes.router import site_check_router
    from doctor.router import router as doctor_router
    from inventory.router import contracts_router, device_fast_route
    from inventory.router import router as inventory_router
    from provisioning.router import router as provisioning_router
    from rma.router import router as rma_router
    from survey.router import router as survey_router
    from vpn.router import router as vpn_router

    settings = settings or get_settings()
    app = FastAPI(
        lifespan=_lifespan,
        # FastAPI's native OpenTelemetry looks its providers up on every request; off unless wanted.
        telemetry=None if settings.opentelemetry else TELEMETRY_OFF,
        title="netkeep",
        version="0.1.0",
        description="Managed Meraki network service: inventory, contracts, provisioning, RMA.",
    )
    app.state.settings = settings
    app.state.engine = engine or get_engine(settings.database_url)
    app.state.session_factory = partial(Session, app.state.engine, expire_on_commit=False)
    app.state.token_cache = TokenCache(settings.token_cache_seconds)
    app.state.read_path = ReadPath(app.state.engine)
    app.add_middleware(RequestIdMiddleware)
    app.add_exception_handler(DomainError, _domain_error)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, Any]:
        with app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "database": app.state.engine.dialect.name}

    for router in (
        inventory_router,
        contracts_router,
        tokens_router,
        rma_router,
        provisioning_router,
        survey_router,
        vpn_router,
        changes_router,
        site_check_router,
        doctor_router,
    ):
        app.include_router(router, prefix="/api/v1")
    hot = Starlette(
        routes=[device_fast_route],
        middleware=[Middleware(RequestIdMiddleware)],
        exception_handlers={DomainError: _domain_error},
    )
    return HotReadDispatcher(app, hot)
