"""Token administration over HTTP (admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from api.deps import SessionDep, guard
from core import auth
from core.audit import Actor
from core.auth import Role
from core.policy import Operation
from core.timeutil import utcnow

router = APIRouter(tags=["tokens"])
Admin = Annotated[Actor, Depends(guard(Operation.TOKEN_MANAGE))]


class TokenCreate(BaseModel):
    name: str
    role: Role


class TokenIssued(BaseModel):
    name: str
    role: Role
    token: str


class TokenOut(BaseModel):
    name: str
    role: str
    prefix: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


@router.post("/tokens", status_code=201, response_model=TokenIssued)
def create_token(body: TokenCreate, session: SessionDep, actor: Admin) -> TokenIssued:
    issued = auth.create_token(session=session, actor=actor, name=body.name, role=body.role)
    return TokenIssued(name=issued.name, role=issued.role, token=issued.token)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: SessionDep, actor: Admin) -> list[TokenOut]:
    return [
        TokenOut.model_validate(t, from_attributes=True) for t in auth.list_tokens(session=session)
    ]


@router.delete("/tokens/{name}", response_model=TokenOut)
def revoke_token(name: str, request: Request, session: SessionDep, actor: Admin) -> TokenOut:
    row = auth.revoke_token(session=session, actor=actor, name=name, now=utcnow())
    request.app.state.token_cache.clear()
    return TokenOut.model_validate(row, from_attributes=True)
