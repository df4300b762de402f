"""What the logistics pages share: who may use them, the states in the order of the work."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from sqlmodel import Session

from core.policy import Operation
from core.settings import Settings
from rma.domain import RmaStatus
from web.session import WebUser, staff_user

Clerk = Annotated[WebUser, staff_user(Operation.RMA_LOGISTICS)]
"""A logistics clerk or an admin: the roles the API lets reserve, ship, swap and receive."""
Stocker = Annotated[WebUser, staff_user(Operation.INVENTORY_STOCK)]
"""A logistics clerk or an admin: the roles the API lets import devices."""

S = RmaStatus
STATUS_ORDER: tuple[RmaStatus, ...] = (
    S.OPEN,
    S.REPLACEMENT_NEEDED,
    S.REPLACEMENT_RESERVED,
    S.SHIPPED,
    S.SWAPPED,
    S.PICKUP_REQUESTED,
    S.EXCEPTION,
    S.OVERDUE,
    S.CHARGED,
    S.WAIVED,
    S.RECEIVED,
    S.CLOSED,
    S.RESOLVED_REMOTELY,
)
"""The states in the order a unit goes through them (the board's tabs)."""


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def undo(session: Session) -> None:
    """Throw away what a refused form did (its form key too), so it can be sent again fixed."""
    session.rollback()
