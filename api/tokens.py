"""Token administration over HTTP (admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api.deps import SessionDep, SessionRoute, guard
from api.pages import PageOut, list_page
from api.params import Limit, Offset
from core import auth
from core.audit import Actor
from core.auth import TokenRole
from core.policy import Operation
from core.timeutil import utcnow

router = APIRouter(tags=["tokens"], route_class=SessionRoute)
Admin = Annotated[Actor, Depends(guard(Operation.TOKEN_MANAGE))]


class TokenCreate(BaseModel):
    name: str = Field(
        min_length=1,
        max_length=auth.TOKEN_NAME_MAX,
        description="1-64 printable characters without '/', unique ignoring case",
    )
    role: TokenRole
    customer: str | None = Field(
        default=None,
        max_length=auth.CUSTOMER_MAX,
        description="the customer a `customer` token is bound to (as on its contracts)",
    )


class TokenIssued(BaseModel):
    name: str
    role: TokenRole
    token: str
    customer: str | None = None


class TokenOut(BaseModel):
    name: str
    role: str
    prefix: str
    customer: str | None
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


@router.post("/tokens", status_code=201, response_model=TokenIssued)
def create_token(body: TokenCreate, session: SessionDep, actor: Admin) -> TokenIssued:
    issued = auth.create_token(
        session=session, actor=actor, name=body.name, role=body.role, customer=body.customer
    )
    return TokenIssued(
        name=issued.name, role=issued.role, token=issued.token, customer=issued.customer
    )


@router.get("/tokens", response_model=PageOut[TokenOut])
def list_tokens(
    session: SessionDep, actor: Admin, limit: Limit = 100, offset: Offset = 0
) -> PageOut[TokenOut]:
    rows = auth.list_tokens(session=session)
    return list_page(
        (TokenOut.model_validate(t, from_attributes=True) for t in rows), limit=limit, offset=offset
    )


@router.delete("/tokens/{name:path}", response_model=TokenOut)
def revoke_token(
    name: str,
    request: Request,
    session: SessionDep,
    actor: Admin,
    force: Annotated[
        bool,
        Query(
            description="also revoke the caller's own token; never the last live admin token "
            "(only `netkeep token revoke --force` on the server may)"
        ),
    ] = False,
) -> TokenOut:
    """Revoke a token by name (any stored name, `/` included); effective everywhere within 2 s."""
    row = auth.revoke_token(session=session, actor=actor, name=name, now=utcnow(), allow_own=force)
    request.app.state.token_cache.clear()
    return TokenOut.model_validate(row, from_attributes=True)
