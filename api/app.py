"""The HTTP API: one FastAPI app composed of each domain's router."""

from __future__ import annotations

import gc
import logging
import os
import random
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.telemetry import TelemetryConfig
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.armour import API_JSON_HEADERS, SecurityHeaders, armour
from api.deps import ReadPath
from api.docs import add_offline_docs
from api.identity import RefusalLedger, TokenCache
from api.openapi import document_error_statuses
from core.db import get_engine
from core.db_errors import translate
from core.errors import (
    AuthenticationFailed,
    Busy,
    DomainError,
    Problem,
    ValidationFailed,
    error_body,
)
from core.render_gate import RenderGate
from core.settings import Settings, get_settings
from jobs.engines import queue_for

log = logging.getLogger("netkeep.api")


class RequestIdMiddleware:
    """Gives every request an id (or keeps the caller's X-Request-ID) and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers: dict[str, str] = {}
    if isinstance(exc, AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, Busy):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers or None)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Lock waits past their bound → 503, broken keys → 409/422; anything else stays a 500."""
    assert isinstance(exc, DBAPIError | PoolTimeout)
    domain = translate(exc)
    if domain is None:
        raise exc
    log.warning("%s %s: %s (%s)", request.method, request.url.path, domain.message, exc)
    return await _domain_error(request, domain)


def _printable(text: str, limit: int = 200) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")[:limit]


async def _request_invalid(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's request validation, answered with the same JSON error as ValidationFailed."""
    assert isinstance(exc, RequestValidationError)
    problems = [
        Problem(
            message=_printable(str(error.get("msg", "invalid"))),
            location=_printable(".".join(str(part) for part in error.get("loc", ()))),
        )
        for error in exc.errors()[:50]
    ]
    failed = ValidationFailed(problems, "the request is invalid; nothing was changed")
    return await _domain_error(request, failed)


async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
    """A number or date too large for the database or the calendar (a bound a schema missed)."""
    log.warning("%s %s: out of range: %s", request.method, request.url.path, exc)
    failed = ValidationFailed(
        [Problem("a number or date in the request is out of range", location="request")]
    )
    return await _domain_error(request, failed)


HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (no such route, wrong method, an unreadable body) in our JSON."""
    assert isinstance(exc, StarletteHTTPException)
    body = error_body(HTTP_CODES.get(exc.status_code, "http_error"), str(exc.detail))
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug: the JSON error with the request id to quote, never a trace (logged by uvicorn)."""
    request_id = getattr(request.state, "request_id", None)
    body = error_body(
        "internal_error",
        "an unexpected error; nothing is known to have changed. Quote the request id",
        details={"request_id": request_id},
    )
    return JSONResponse(body, status_code=500)


ERROR_HANDLERS = {
    DomainError: _domain_error,
    DBAPIError: _database_error,
    PoolTimeout: _database_error,
    RequestValidationError: _request_invalid,
    OverflowError: _out_of_range,
    StarletteHTTPException: _http_error,
    Exception: _unexpected,
}


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
  `offset` (default 0);
- RMAs and surveys are addressed by the number people see (`RMA-000004`, `SV-000001`) or the id;
- a body whose fields are all optional may be left out;
- exports show times in Asia/Tokyo with the offset and money in integer yen.
"""

TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


HOT_READ = re.compile(r"^/api/v1/devices/([^/]+)$")
HotEndpoint = Callable[[Request, str, str | None], Awaitable[bytes]]
"""The hot read: (request, path parameter, bearer token or None) → the 200 JSON body."""
HotPost = Callable[[Request], Awaitable[Response]]
HotRoute = Callable[[str, bytes], tuple[HotEndpoint, str, dict[str, str]] | None]
"""Another hot read: (path, query string) → its endpoint, the parameter passed to it and the
request's path parameters; None for a request it leaves to FastAPI (which also documents it)."""


class HotReadDispatcher:
    """Sends `GET /api/v1/devices/{serial}` straight to its endpoint, everything else to FastAPI.

    The device read is the API's hottest path; it skips FastAPI's and Starlette's middleware and
    routing and the armour's layers (one plain ASGI call instead of ten nested ones) but shares
    the app's state (database, token cache), auth, error mapping (`ERROR_HANDLERS`) and request
    ids, and answers with the armour's headers (`api.armour.API_JSON_HEADERS`). A request the
    armour could refuse or alter — a Host not yet seen allowed, a body (Content-Length or
    Transfer-Encoding) — takes the armoured path instead. FastAPI still documents the route.
    `hot_posts` skips FastAPI the same way for POSTs to exact paths (the Meraki webhook
    receiver, whose ingest rate is its point: `bench/webhook_ingest.py`), inside the armour.
    `hot_gets` adds other hot reads the same way (the RMA reads: `rma.read_path.hot_route`).
    """

    def __init__(
        self,
        api: FastAPI,
        hot: HotEndpoint,
        settings: Settings,
        hot_posts: dict[str, HotPost] | None = None,
        hot_gets: tuple[HotRoute, ...] = (),
    ) -> None:
        self.api = api
        self.hot = hot
        self.hot_gets = hot_gets
        self.hot_posts = dict(hot_posts or {})
        self.entry, self.hosts = armour(self.dispatch, settings)

    @property
    def state(self) -> Any:
        return self.api.state

    def _hot_for(self, scope: Scope) -> tuple[HotEndpoint, str, dict[str, str]] | None:
        path = scope["path"]
        match = HOT_READ.match(path)
        if match is not None:
            return self.hot, match.group(1), {"serial": match.group(1)}
        for route in self.hot_gets:
            found = route(path, scope["query_string"])
            if found is not None:
                return found
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            hot = self._hot_for(scope)
            if hot is not None:
                host = token = request_id = None
                plain = True
                for name, value in scope["headers"]:
                    if name == b"host":
                        host = value if host is None else host
                    elif name == b"authorization":
                        token = value if token is None else token
                    elif name == b"x-request-id":
                        request_id = value if request_id is None else request_id
                    elif name in BODY_HEADERS:
                        plain = False
                if plain and host in self.hosts.seen_allowed:
                    await self.serve_hot(scope, receive, send, hot, token, request_id)
                    return
        await self.entry(scope, receive, send)

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Inside the armour: the hot read (its Host now checked), else FastAPI."""
        if scope["type"] == "http" and scope["method"] == "GET":
            hot = self._hot_for(scope)
            if hot is not None:
                headers = scope["headers"]
                token = next((v for k, v in headers if k == b"authorization"), None)
                request_id = next((v for k, v in headers if k == b"x-request-id"), None)
                await self.serve_hot(scope, receive, send, hot, token, request_id)
                return
        elif scope["type"] == "http" and scope["method"] == "POST":
            post = self.hot_posts.get(scope["path"])
            if post is not None:
                await self.serve_post(scope, receive, send, post)
                return
        await self.api(scope, receive, send)

    async def serve_post(self, scope: Scope, receive: Receive, send: Send, post: HotPost) -> None:
        """A hot POST (inside the armour, which adds its headers) with the app's error mapping."""
        request_id = _request_id(scope)
        scope["app"] = self.api
        scope.setdefault("state", {})["request_id"] = request_id
        scope["path_params"] = {}
        request = Request(scope, receive)
        unexpected: Exception | None = None
        try:
            response = await post(request)
        except Exception as exc:
            try:
                response = await _handler_for(exc)(request, exc)
            except Exception:  # a handler that declines (an untranslated database error)
                response = await _unexpected(request, exc)
            unexpected = exc if response.status_code == 500 else None
        response.raw_headers.append((b"x-request-id", request_id.encode()))
        await response(scope, receive, send)
        if unexpected is not None:
            raise unexpected  # logged by the server, as Starlette's ServerErrorMiddleware does

    async def serve_hot(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        hot: tuple[HotEndpoint, str, dict[str, str]],
        authorization: bytes | None,
        given_id: bytes | None,
    ) -> None:
        endpoint, param, path_params = hot
        request_id = _given_or_new_id(given_id)
        scope["app"] = self.api
        scope.setdefault("state", {})["request_id"] = request_id
        scope["path_params"] = path_params
        request = Request(scope, receive)
        try:
            body = await endpoint(request, param, _bearer(authorization))
        except Exception as exc:
            await self.serve_error(scope, receive, send, request, exc, request_id)
            return
        headers = [
            (b"content-length", str(len(body)).encode()),
            *API_JSON_HEADERS,
            (b"x-request-id", request_id.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def serve_error(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: Request,
        exc: Exception,
        request_id: str,
    ) -> None:
        """The hot read's failure as the app's JSON error, in the armour's headers."""
        try:
            response = await _handler_for(exc)(request, exc)
        except Exception:  # a handler that declines (an untranslated database error)
            response = await _unexpected(request, exc)
        response.raw_headers.append((b"x-request-id", request_id.encode()))
        await SecurityHeaders(response)(scope, receive, send)
        if response.status_code == 500:
            raise exc  # logged by the server, as Starlette's ServerErrorMiddleware does


BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


def _given_or_new_id(given: bytes | None) -> str:
    found = given.decode("latin-1")[:64] if given is not None else ""
    return found or f"{_ids.getrandbits(128):032x}"


_ids = random.Random(secrets.randbits(128))
"""Request ids: unique, not secret (they are echoed and logged), so no system call per request."""
os.register_at_fork(after_in_child=lambda: _ids.seed(secrets.randbits(128)))


def _bearer(authorization: bytes | None) -> str | None:
    """The token of an `Authorization: Bearer` header value (as `api.deps.bearer_token`)."""
    if authorization is None:
        return None
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _request_id(scope: Scope) -> str:
    return _given_or_new_id(next((v for k, v in scope["headers"] if k == b"x-request-id"), None))


def _handler_for(exc: Exception) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    for cls in type(exc).__mro__:
        handler = ERROR_HANDLERS.get(cls)
        if handler is not None:
            return handler
    return _unexpected


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
