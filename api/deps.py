"""Dependencies shared by every router: settings, session, dashboard, the acting user."""

from __future__ import annotations

import asyncio
import logging
import queue
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
import psycopg
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from api.identity import REVOKED_COUNT, Identity, RefusalLedger, TokenCache
from core import audit
from core.audit import Actor
from core.auth import Role, TokenRole, authenticate_digest, token_digest
from core.db import PreparedQuery, begin_write
from core.errors import AuthenticationFailed, PermissionDenied
from core.policy import Operation, allowed_roles
from core.render_gate import RenderGate
from core.settings import Settings
from dashboard.meraki import MerakiDashboard

SessionFactory = Callable[[], AbstractContextManager[Session]]
log = logging.getLogger("netkeep.auth")
T = TypeVar("T")


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def session_factory(request: Request) -> SessionFactory:
    """How this app opens a session (tests swap in their rolled-back one)."""
    factory: SessionFactory = request.app.state.session_factory
    return factory


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the route returns without error.

    A request that may write opens its transaction as a writer (`BEGIN IMMEDIATE` on SQLite), so
    concurrent writers queue for the lock instead of failing when they upgrade a read.
    """
    with session_factory(request)() as session:
        try:
            if request.method not in SAFE_METHODS:
                begin_write(session)
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_dashboard(request: Request) -> MerakiDashboard:
    """The process's dashboard client, built on first use."""
    dashboard: MerakiDashboard | None = getattr(request.app.state, "dashboard", None)
    if dashboard is None:
        dashboard = MerakiDashboard.from_settings(get_settings_dep(request))
        request.app.state.dashboard = dashboard
    return dashboard


class ReadPath:
    """How the hot read endpoints reach the database: long-lived autocommit connections.

    A read then costs one statement — no pool checkout, no pre-ping, no BEGIN/ROLLBACK round
    trips. SQLite is a local file read in microseconds, so its reads run on the event loop.
    PostgreSQL's prepared reads (`first`) wait on the network on the event loop too, over psycopg
    async connections (at most READ_CONNECTIONS; no thread hand-off per read); other reads
    (`run`) run in threads, at most READ_THREADS at once.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.inline = engine.dialect.name == "sqlite"
        self.on_loop = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        self._idle: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        self._idle_async: list[psycopg.AsyncConnection[Any]] = []
        self._gates: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
        self.limiter = anyio.CapacityLimiter(READ_THREADS)

    def _take(self) -> Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def run(self, func: Callable[[Connection], T]) -> T:
        """Run a read on an idle connection; a dropped one is replaced and tried once more."""
        for attempt in (1, 2):
            connection = self._take()
            try:
                result = func(connection)
            except DBAPIError as exc:
                connection.invalidate()
                connection.close()
                if exc.connection_invalidated and attempt == 1:
                    continue
                raise
            except BaseException:
                self._idle.put(connection)
                raise
            self._idle.put(connection)
            return result
        raise AssertionError("unreachable")

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(READ_CONNECTIONS)
        return gate

    async def _take_async(self) -> psycopg.AsyncConnection[Any]:
        if self._idle_async:
            return self._idle_async.pop()
        url = self.engine.url.set(drivername="postgresql")
        return await psycopg.AsyncConnection.connect(
            url.render_as_string(hide_password=False), autocommit=True
        )

    async def first(self, query: PreparedQuery, **params: Any) -> dict[str, Any] | None:
        """A prepared query's first row; a dropped connection is replaced and tried once more."""
        if not self.on_loop:
            run = partial(query.first, **params)
            if self.inline:
                return self.run(run)
            return await anyio.to_thread.run_sync(self.run, run, limiter=self.limiter)
        async with self._gate():
            for attempt in (1, 2):
                connection = await self._take_async()
                try:
                    result = await query.first_async(connection, self.engine.dialect, **params)
                except psycopg.Error as exc:
                    await connection.close()
                    if connection.broken and attempt == 1:
                        continue
                    raise DBAPIError.instance(
                        query.sql_for(self.engine.dialect), params, exc, psycopg.Error
                    ) from exc
                except BaseException:
                    await connection.close()  # cancelled mid-read: its state is unknown
                    raise
                self._idle_async.append(connection)
                return result
        raise AssertionError("unreachable")


READ_THREADS = 16
READ_CONNECTIONS = 8


async def run_read(request: Request, func: Callable[[Connection], T]) -> T:
    """Run a read-only function with the app's read path (inline for SQLite, else a thread)."""
    path: ReadPath = request.app.state.read_path
    if path.inline:
        return path.run(func)
    return await anyio.to_thread.run_sync(path.run, func, limiter=path.limiter)


async def read_first(
    request: Request, query: PreparedQuery, **params: Any
) -> dict[str, Any] | None:
    """A prepared query's first row through the app's read path (PostgreSQL: on the loop)."""
    path: ReadPath = request.app.state.read_path
    if getattr(path, "on_loop", False):
        return await path.first(query, **params)
    return await run_read(request, partial(query.first, **params))


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
DashboardDep = Annotated[MerakiDashboard, Depends(get_dashboard)]

_bearer = HTTPBearer(auto_error=False, description="API token: `netkeep token create`")


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer` header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def identify(request: Request, token: str | None) -> Identity:
    """The live identity behind a bearer token, or 401 (the refusal logged, audited when due)."""
    request_id = getattr(request.state, "request_id", None)
    if token is None:
        raise AuthenticationFailed("an API token is required (Authorization: Bearer <token>)")
    digest = token_digest(token)
    cache: TokenCache = request.app.state.token_cache
    if cache.claim_check():
        try:
            counted = await read_first(request, REVOKED_COUNT)
        except BaseException:
            cache.check_failed()
            raise
        assert counted is not None
        cache.observe(int(counted["revoked"]))
    identity = cache.get(digest)
    if identity is None:
        identity = await run_in_threadpool(_load_identity, request, digest)
        if identity is None:
            anonymous = Actor(name="unknown-token", role="none", request_id=request_id)
            await _refused(request, anonymous, "unauthenticated")
            raise AuthenticationFailed("the API token is unknown or revoked")
        cache.put(digest, identity)
    return identity


async def authorize(request: Request, token: str | None, allowed: frozenset[Role]) -> Actor:
    """The Actor behind a bearer token, if its role is allowed (401 vs 403, refusals audited)."""
    identity = await identify(request, token)
    request_id = getattr(request.state, "request_id", None)
    actor = Actor(name=identity.name, role=identity.role, request_id=request_id)
    if actor.role not in allowed:
        await _refused(request, actor, "denied")
        raise PermissionDenied(
            f"role {actor.role!r} may not do this; needs one of {', '.join(sorted(allowed))}",
            role=actor.role,
            allowed=sorted(allowed),
        )
    return actor


class RoleGuard:
    """The acting user, refused unless the policy lets its role do `operation`."""

    def __init__(self, operation: Operation) -> None:
        self.operation = operation
        self.allowed = allowed_roles(operation)

    async def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Actor:
        token = credentials.credentials if credentials else None
        return await authorize(request, token, self.allowed)


def _load_identity(request: Request, digest: str) -> Identity | None:
    """The live token's identity, read without writing anything."""
    with session_factory(request)() as session:
        try:
            row = authenticate_digest(session=session, digest=digest)
        except AuthenticationFailed:
            return None
        return Identity(name=row.name, role=row.role, customer=row.customer)


async def _refused(request: Request, actor: Actor, outcome: str) -> None:
    """Log a refused attempt; audit it only when the ledger says one is due (see api.identity)."""
    ledger: RefusalLedger = request.app.state.refusals
    route = f"{request.method} {request.url.path}"[:120]
    source = request.client.host if request.client else "unknown"
    missed = ledger.note(source=source, actor=actor.name, route=route, reason=outcome)
    if missed is not None:
        await run_in_threadpool(_audit_refusal, request, actor, route, outcome, source, missed)


def _audit_refusal(
    request: Request, actor: Actor, route: str, outcome: str, source: str, missed: int
) -> None:
    try:
        with session_factory(request)() as session:
            audit.record(
                session,
                actor=actor,
                action="auth.refused",
                entity_type="endpoint",
                entity_id=route,
                after={"source": source, "refused_since_previous_entry": missed},
                outcome=outcome,
            )
            session.commit()
    except DBAPIError:
        log.warning("auth refusal not audited (database busy): %s %s", source, route)


@dataclass(frozen=True, slots=True)
class CustomerCaller:
    """A customer token's caller: its actor (`customer:<token name>`), customer and signer."""

    actor: Actor
    customer: str
    signer: str


async def customer_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> CustomerCaller:
    """The portal's guard: only a token bound to a customer passes (staff tokens get 403)."""
    identity = await identify(request, credentials.credentials if credentials else None)
    request_id = getattr(request.state, "request_id", None)
    if identity.role != TokenRole.CUSTOMER.value or not identity.customer:
        actor = Actor(name=identity.name, role=identity.role, request_id=request_id)
        await _refused(request, actor, "denied")
        raise PermissionDenied(
            "the portal is for customer tokens; staff use the other routes", role=identity.role
        )
    actor = Actor(
        name=f"customer:{identity.name}", role=TokenRole.CUSTOMER.value, request_id=request_id
    )
    return CustomerCaller(actor=actor, customer=identity.customer, signer=identity.name)


Customer = Annotated[CustomerCaller, Depends(customer_caller)]


def guard(operation: Operation) -> RoleGuard:
    """The route guard of an operation of the role policy (`core.policy.POLICY`)."""
    return RoleGuard(operation)


Reader = Annotated[Actor, Depends(guard(Operation.READ))]


def get_render_gate(request: Request) -> RenderGate:
    """The process's render slots and cache (coverage pictures, PDFs, layout decodes)."""
    gate: RenderGate = request.app.state.render_gate
    return gate


RenderGateDep = Annotated[RenderGate, Depends(get_render_gate)]
