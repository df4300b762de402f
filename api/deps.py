"""Dependencies shared by every router: settings, session, dashboard, the acting user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import audit
from core.audit import Actor
from core.auth import ALL_ROLES, Role, authenticate, require_role
from core.dashboard import MerakiDashboard
from core.errors import AuthenticationFailed, PermissionDenied
from core.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine_dep(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the route returns without error."""
    with Session(get_engine_dep(request), expire_on_commit=False) as session:
        try:
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


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
DashboardDep = Annotated[MerakiDashboard, Depends(get_dashboard)]

_bearer = HTTPBearer(auto_error=False, description="API token: `netkeep token create`")


class RoleGuard:
    """Resolves the token to an Actor and refuses roles outside `allowed` (401 vs 403, audited)."""

    def __init__(self, allowed: frozenset[Role]) -> None:
        self.allowed = allowed

    def __call__(
        self,
        request: Request,
        session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Actor:
        request_id = getattr(request.state, "request_id", None)
        where = f"{request.method} {request.url.path}"
        try:
            token = authenticate(
                session=session, token=credentials.credentials if credentials else None
            )
        except AuthenticationFailed:
            if credentials is not None:
                anonymous = Actor(name="unknown-token", role="none", request_id=request_id)
                _audit_refusal(session, anonymous, where, "unauthenticated")
            raise
        actor = Actor(name=token.name, role=token.role, request_id=request_id)
        try:
            require_role(actor, self.allowed)
        except PermissionDenied:
            _audit_refusal(session, actor, where, "denied")
            raise
        return actor


def _audit_refusal(session: Session, actor: Actor, where: str, outcome: str) -> None:
    """Keep the refused attempt even though the request fails."""
    audit.record(
        session,
        actor=actor,
        action="auth.refused",
        entity_type="endpoint",
        entity_id=where[:120],
        outcome=outcome,
    )
    session.commit()


def roles(*allowed: Role) -> RoleGuard:
    return RoleGuard(frozenset(allowed))


Reader = Annotated[Actor, Depends(RoleGuard(ALL_ROLES))]
Admin = Annotated[Actor, Depends(roles(Role.ADMIN))]
