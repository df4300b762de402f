"""A change request's outside call (the apply, the completion mail) is claimed before it goes out.

`claim` is a conditional UPDATE — the request in the expected status and not claimed (or its
claim older than `STALE_AFTER`, left by a process that died) — that only one of several racing
requests wins; it is audited and committed before the dashboard, SSH or SMTP call, so no write
transaction is held during the call and the call goes out once. The loser gets a Conflict
saying what is under way since when. The outcome is recorded, and the claim cleared, in a new
transaction (`release` on a failure that records nothing else).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import or_, update
from sqlmodel import Session, col

from changes.domain import ENTITY, ChangeStatus
from changes.models import ChangeRequest
from changes.service import get_request, snapshot
from core import audit
from core.audit import Actor
from core.errors import Conflict
from core.timeutil import show

STALE_AFTER: Final = timedelta(minutes=30)
"""A claim this old was left by a process that died: another attempt may take it over."""


def claim(
    session: Session,
    req: ChangeRequest,
    what: str,
    *,
    statuses: Collection[ChangeStatus],
    actor: Actor,
    now: datetime,
) -> None:
    """Claim `what` (apply, notice) for the request, audited and committed; else Conflict."""
    assert req.id is not None
    won = session.execute(
        update(ChangeRequest)
        .where(
            col(ChangeRequest.id) == req.id,
            col(ChangeRequest.status).in_([s.value for s in statuses]),
            or_(
                col(ChangeRequest.claimed_for).is_(None),
                col(ChangeRequest.claimed_at) < now - STALE_AFTER,
            ),
        )
        .values(claimed_for=what, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(won, "rowcount", 0) != 1:
        session.rollback()
        current = get_request(session=session, request_id=req.id)
        session.refresh(current)
        session.rollback()  # only read: no transaction left open
        if current.claimed_for and current.claimed_at is not None:
            raise Conflict(
                f"change request {req.id}: its {current.claimed_for} is under way since "
                f"{show(current.claimed_at)}; nothing was sent again",
                claimed_for=current.claimed_for,
            )
        raise Conflict(
            f"change request {req.id} is {current.status}; its {what} cannot start",
            status=current.status,
        )
    session.refresh(req)
    _audit(session, req, f"{what}_claimed", None, actor=actor, now=now)
    session.commit()


def clear(req: ChangeRequest) -> None:
    """The claim ends with the outcome recorded in the caller's transaction."""
    req.claimed_for, req.claimed_at = None, None


def release(
    session: Session, req: ChangeRequest, *, actor: Actor, now: datetime, note: str
) -> None:
    """The call failed before any outcome was recorded: the claim ends, audited, committed."""
    session.rollback()
    session.refresh(req)
    what = req.claimed_for
    before = snapshot(req)
    clear(req)
    session.add(req)
    _audit(session, req, f"{what}_released", before, actor=actor, now=now, note=note)
    session.commit()


def _audit(
    session: Session,
    req: ChangeRequest,
    action: str,
    before: dict[str, Any] | None,
    *,
    actor: Actor,
    now: datetime,
    note: str = "",
) -> None:
    """The claim's move in the audit log (the request's history keeps its statuses only)."""
    after = {k: v for k, v in snapshot(req).items() if k in ("status", "claimed_for", "claimed_at")}
    audit.record(
        session,
        actor=actor,
        action=f"{ENTITY}.{action}",
        entity_type=ENTITY,
        entity_id=str(req.id),
        before=None if before is None else {k: before.get(k) for k in after},
        after={**after, **({"note": note[:2000]} if note else {})},
        outcome="ok" if before is None else "failed",
        at=now,
    )
