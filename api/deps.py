"""Dependencies shared by every router: settings, session, dashboard, the acting user."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from api.identity import REVOKED_COUNT, Identity, RefusalLedger, TokenCache
from api.read_path import ReadMemo as ReadMemo
from api.read_path import ReadPath as ReadPath
from api.read_path import read_derived as read_derived
from api.read_path import read_derived_at as read_derived_at
from api.read_path import read_first as read_first
from api.read_path import read_keyed as read_keyed
from api.read_path import read_memo as read_memo
from api.read_path import run_read as run_read
from core import audit
from core.audit import Actor
from core.auth import Role, TokenRole, authenticate_digest, token_digest
from core.db import begin_write
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


class _RequestTransactions:
    """The sessions a request opened (with the bind each had before `begin_write`)."""

    __slots__ = ("sessions",)

    def __init__(self) -> None:
        self.sessions: list[tuple[Session, Any]] = []

    def end(self) -> None:
        """Commit each session now; later reads (a lazy load) are readers' again (SQLite)."""
        for session, reader in self.sessions:
            session.commit()
            session.bind = reader


_TRANSACTIONS: ContextVar[_RequestTransactions | None] = ContextVar(
    "netkeep_request_transactions", default=None
)


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the route returns without error.

    A request that may write opens its transaction as a writer (`BEGIN IMMEDIATE` on SQLite), so
    concurrent writers queue for the lock instead of failing when they upgrade a read.

    On a `SessionRoute` (every router of the app) the commit happens on the route's own thread
    as soon as its function returns, before FastAPI validates the answer: see `SessionRoute`.
    The commit here is then a no-op; an error still rolls everything back.
    """
    with session_factory(request)() as session:
        try:
            transactions = _TRANSACTIONS.get()
            if transactions is not None:
                transactions.sessions.append((session, session.bind))
            if request.method not in SAFE_METHODS:
                begin_write(session)
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _commits_on_return(endpoint: Callable[..., T]) -> Callable[..., T]:
    """`endpoint`, committing the request's sessions on its thread once it returned.

    Only a plain function: an `async def` route's answer is validated on the event loop (no
    thread to wait for), and a generator streams after the dependencies' exit anyway.
    """
    plain = (
        inspect.isfunction(endpoint)
        and not inspect.iscoroutinefunction(endpoint)
        and not inspect.isgeneratorfunction(endpoint)
        and not inspect.isasyncgenfunction(endpoint)
    )
    if not plain:
        return endpoint

    @functools.wraps(endpoint)
    def committing(*args: Any, **kwargs: Any) -> T:
        answer = endpoint(*args, **kwargs)
        transactions = _TRANSACTIONS.get()
        if transactions is not None:
            transactions.end()
        return answer

    return committing


class SessionRoute(APIRoute):
    """A route whose request's transaction ends when its function returns, before its answer.

    FastAPI runs a plain (`def`) route on a thread of the pool, then validates its answer on
    another one, and only then exits the function-scoped session dependency (which used to
    commit). A route holding a row lock that many racing requests wait for (fifty NOC clicks
    on "approve", racing receipts of one RMA) then waited for a free thread while every thread
    waited for its lock, until the lock wait gave up (503). Here the route's function commits
    on its own thread as it returns (an error raised by it rolls back as before: nothing is
    committed and the dependency rolls back), so the answer is built with no lock held. The
    app's sessions keep their objects loaded across the commit (`expire_on_commit=False`).
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _commits_on_return(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            token = _TRANSACTIONS.set(_RequestTransactions())
            try:
                return await handler(request)
            finally:
                _TRANSACTIONS.reset(token)

        return handle


def get_dashboard(request: Request) -> MerakiDashboard:
    """The process's dashboard client, built on first use."""
    dashboard: MerakiDashboard | None = getattr(request.app.state, "dashboard", None)
    if dashboard is None:
        dashboard = MerakiDashboard.from_settings(get_settings_dep(request))
        request.app.state.dashboard = dashboard
    return dashboard


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
        generation = cache.generation
        identity = await run_in_threadpool(_load_identity, request, digest)
        if identity is None:
            request_id = request.scope.get("state", {}).get("request_id")
            anonymous = Actor(name="unknown-token", role="none", request_id=request_id)
            await _refused(request, anonymous, "unauthenticated")
            raise AuthenticationFailed("the API token is unknown or revoked")
        cache.put(digest, identity, generation)
    return identity


async def authorize(request: Request, token: str | None, allowed: frozenset[Role]) -> Actor:
    """The Actor behind a bearer token, if its role is allowed (401 vs 403, refusals audited)."""
    identity = await permitted(request, token, allowed)
    request_id = request.scope.get("state", {}).get("request_id")
    return Actor(name=identity.name, role=identity.role, request_id=request_id)


async def permitted(request: Request, token: str | None, allowed: frozenset[Role]) -> Identity:
    """`authorize` for a caller that needs no Actor (the hot reads): the same 401 and 403, the
    same refusals logged and audited."""
    identity = await identify(request, token)
    if identity.role not in allowed:
        request_id = request.scope.get("state", {}).get("request_id")
        actor = Actor(name=identity.name, role=identity.role, request_id=request_id)
        await _refused(request, actor, "denied")
        raise PermissionDenied(
            f"role {actor.role!r} may not do this; needs one of {', '.join(sorted(allowed))}",
            role=actor.role,
            allowed=sorted(allowed),
        )
    return identity


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
