"""Change requests' recurring job: the work counts as accepted once the defect window ends."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from changes.acceptance import sweep_acceptance
from core.db import begin_write


def auto_accept(*, session: Session, now: datetime) -> list[str]:
    """Accept every notified request whose window has ended (seed 001); their numbers."""
    begin_write(session)  # SQLite: two sweeps run one after the other, never interleaved
    accepted = [req.number for req in sweep_acceptance(session=session, now=now)]
    session.commit()
    return accepted
