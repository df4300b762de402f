"""Monitoring's recurring job: the liveness poll (`jobs/` runs it on either engine)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from core.audit import SYSTEM
from monitoring.domain import Debounce
from monitoring.ports import MonitoringDashboard
from monitoring.service import PollReport, poll


def poll_liveness(
    *,
    session: Session,
    dashboard: MonitoringDashboard,
    organization_id: str,
    now: datetime,
    debounce: Debounce,
    prefer_change_history: bool = True,
) -> PollReport:
    """One poll of the organization, committed; the same tick run twice records nothing new."""
    report = poll(
        session=session,
        dashboard=dashboard,
        organization_id=organization_id,
        actor=SYSTEM,
        now=now,
        debounce=debounce,
        prefer_change_history=prefer_change_history,
    )
    session.commit()
    return report
