"""The HTTP API: one FastAPI app composed of each domain's router."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import ReadPath
from api.docs import add_offline_docs
from api.error_handlers import ERROR_HANDLERS as ERROR_HANDLERS
from api.hot_read import HotReadDispatcher as HotReadDispatcher
from api.hot_read import RequestIdMiddleware as RequestIdMiddleware
from api.identity import RefusalLedger, TokenCache
from api.openapi import document_error_statuses
from core.db import get_engine
from core.render_gate import RenderGate
from core.settings import Settings, get_settings
from jobs.engines import queue_for


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Once the app is built, move its long-lived objects out of the garbage collector's way.

    With `jobs_in_process` (netkeep serve on SQLite) the periodic jobs run on a thread until the
    app stops; on PostgreSQL `netkeep worker` runs them.
    """
    gc.collect()
    gc.freeze()
    jobs = app.state.background_jobs
    scheduler = getattr(jobs, "start", None) if app.state.settings.jobs_in_process else None
    if scheduler is not None:
        scheduler()
    try:
        yield
    finally:
        jobs.close()


API_DESCRIPTION = """Managed Meraki network service: inventory, contracts, provisioning, RMA.

One dialect on every route:
- every error is the `Error` object `{error, message, problems, details}`, all four keys present;
- every list is a page `{total, limit, offset, items}` over `limit` (1-1000, default 100) and
  `offset` (default 0); a write that did several things (`POST /incidents`, `POST /vpn/checks`,
  `POST /vpn/users`, `POST /rmas/reminders/send`, `PUT /surveys/{id}/aps/serials`) answers
  `{count, items}`, never a bare array;
- RMAs and surveys are addressed by the number people see (`RMA-000004`, `SV-000001`) or the id;
- a body whose fields are all optional may be left out;
- exports show times in Asia/Tokyo with the offset and money in integer yen.
"""

TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def api_routers() -> tuple[APIRouter, ...]:
    """Every domain's router, in the order the app serves them under /api/v1."""
    from api.secrets import router as secrets_router
    from api.tokens import router as tokens_router
    from changes.router import router as changes_router
    from changes.router import site_check_router
    from doctor.router import router as doctor_router
    from helpdesk.router import router as helpdesk_router
    from inventory.router import contracts_router
    from inventory.router import router as inventory_router
    from monitoring.router import router as monitoring_router
    from provisioning.router import router as provisioning_router
    from rma.router import router as rma_router
    from sla.router import router as sla_router
    from survey.router import router as survey_router
    from vpn.router import router as vpn_router

    return (
        inventory_router,
        contracts_router,
        tokens_router,
        secrets_router,
        rma_router,
        provisioning_router,
        survey_router,
        vpn_router,
        changes_router,
        site_check_router,
        helpdesk_router,
        sla_router,
        doctor_router,
        monitoring_router,
    )


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> HotReadDispatcher:
    """Build the app; tests pass their own settings and engine."""
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=_lifespan,
        # FastAPI's native OpenTelemetry looks its providers up on every request; off unless wanted.
        telemetry=None if settings.opentelemetry else TELEMETRY_OFF,
        title="netkeep",
        version="0.1.0",
        description=API_DESCRIPTION,
        docs_url=None,  # served offline by api.docs, never from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine or get_engine(settings.database_url)
    app.state.session_factory = partial(Session, app.state.engine, expire_on_commit=False)
    app.state.token_cache = TokenCache(settings.token_cache_seconds)
    app.state.refusals = RefusalLedger()
    app.state.read_path = ReadPath(app.state.engine)
    app.state.background_jobs = queue_for(
        settings, app.state.engine, lambda: app.state.session_factory()
    )
    app.state.render_gate = RenderGate(
        slots=settings.render_concurrency, wait_seconds=settings.render_wait_seconds
    )
    app.add_middleware(RequestIdMiddleware)
    from web.app import mount_web
    from web.errors import page_aware

    for exc_class, handler in ERROR_HANDLERS.items():
        app.add_exception_handler(exc_class, page_aware(handler))  # /ui: the error as a page
    add_offline_docs(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, Any]:
        with app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "database": app.state.engine.dialect.name}

    for router in api_routers():
        app.include_router(router, prefix="/api/v1")
    from api.portal import router as portal_router  # customer tokens only: not a staff route

    app.include_router(portal_router, prefix="/api/v1")
    from monitoring.router import WEBHOOK_PATH, meraki_webhook_fast, webhook_router

    app.include_router(webhook_router)
    mount_web(app)
    from inventory.router import device_fast
    from rma.read_path import hot_route as rma_hot_route

    document_error_statuses(app)
    return HotReadDispatcher(
        app,
        device_fast,
        settings,
        hot_posts={WEBHOOK_PATH: meraki_webhook_fast},
        hot_gets=(rma_hot_route,),
    )
