"""Named secrets over HTTP (noc, admin): set, list names, delete; a value is never returned."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field, SecretStr

from api.deps import SessionDep, SessionRoute, SettingsDep, guard
from api.pages import PageOut, list_page
from api.params import Limit, Offset
from core import secret_store
from core.audit import Actor
from core.keys import installation_key
from core.models import NamedSecret
from core.policy import Operation
from core.timeutil import utcnow

router = APIRouter(prefix="/secrets", tags=["secrets"], route_class=SessionRoute)
Keeper = Annotated[Actor, Depends(guard(Operation.SECRET_MANAGE))]


class SecretIn(BaseModel):
    value: SecretStr = Field(description="the PSK or RADIUS secret; stored encrypted, never shown")


class SecretOut(BaseModel):
    customer: str
    name: str
    reference: str
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, row: NamedSecret) -> SecretOut:
        return cls(
            customer=row.customer,
            name=row.name,
            reference=f"secret:{row.name}",
            updated_at=row.updated_at,
            updated_by=row.updated_by,
        )


@router.put("/{customer}/{name}", response_model=SecretOut)
def set_secret(
    customer: str, name: str, body: SecretIn, session: SessionDep, cfg: SettingsDep, actor: Keeper
) -> SecretOut:
    """Create or replace a customer's secret; sheets name it `secret:NAME`."""
    row = secret_store.set_secret(
        session=session,
        actor=actor,
        cipher=installation_key(cfg).fernet(),
        customer=customer,
        name=name,
        value=body.value.get_secret_value(),
        now=utcnow(),
    )
    return SecretOut.of(row)


@router.get("", response_model=PageOut[SecretOut])
def list_secrets(
    session: SessionDep,
    actor: Keeper,
    customer: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[SecretOut]:
    rows = secret_store.list_secrets(session=session, customer=customer)
    return list_page((SecretOut.of(r) for r in rows), limit=limit, offset=offset)


@router.delete("/{customer}/{name}", status_code=204)
def delete_secret(customer: str, name: str, session: SessionDep, actor: Keeper) -> Response:
    secret_store.delete_secret(session=session, actor=actor, customer=customer, name=name)
    return Response(status_code=204)
