"""Data for the logistics page tests (no tests here): RMAs at the stages the pages act on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, col, func, select

from core.models import AuditEntry
from rma import replacement
from rma.domain import SwapParty
from rma.models import Rma
from tests.service.rma_builders import LOGI, REPORTED, build_world, open_and_decide


def reserved_rma(session: Session, tmp_path: Path) -> Rma:
    """The failed MX67 reported, a replacement needed and the checked spare reserved for it."""
    build_world(session, tmp_path)
    rma = open_and_decide(session)
    replacement.reserve_replacement(session=session, actor=LOGI, rma_id=rma.id or 0, now=REPORTED)
    session.commit()  # a savepoint: the pages' requests see it
    return rma


def record_swap(session: Session, rma_id: int) -> None:
    """The engineer put the replacement in (recorded by the API/CLI, not a logistics page)."""
    replacement.swap_replacement(
        session=session,
        actor=LOGI,
        rma_id=rma_id,
        now=datetime.now(UTC),
        dashboard=None,
        organization_id="537758",
        swapped_by=SwapParty.PROVIDER,
    )
    session.commit()


def actions(session: Session, action: str) -> int:
    """How many audit entries of `action` there are (one per change made)."""
    stmt = select(func.count()).select_from(AuditEntry).where(col(AuditEntry.action) == action)
    return int(session.exec(stmt).one())


def status_of(session: Session, rma_id: int) -> str:
    session.expire_all()
    rma = session.get(Rma, rma_id)
    assert rma is not None
    return rma.status
