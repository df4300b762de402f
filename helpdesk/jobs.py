"""The helpdesk's recurring job: close answered incidents after 5 days of silence."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from core.audit import SYSTEM
from helpdesk.service import sweep


def close_unanswered(*, session: Session, now: datetime) -> list[str]:
    """Close every incident whose 5 days after the desk's answer have run out; committed."""
    closed = [incident.number for incident in sweep(session=session, actor=SYSTEM, now=now)]
    session.commit()
    return closed
