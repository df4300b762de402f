"""The doctor as a recurring job: each run's result is kept as an audit entry (`doctor.checked`)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlmodel import Session, select

from core import audit
from core.audit import SYSTEM
from core.models import AuditEntry
from doctor.facts import Findings
from doctor.ports import DoctorDashboard
from doctor.service import DEFAULT_STUCK_AFTER, check

CHECKED = "doctor.checked"


def record_check(
    *,
    session: Session,
    dashboard: DoctorDashboard | None,
    organization_id: str,
    now: datetime,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
) -> Findings | None:
    """Check every invariant and record the result (violations per invariant), committed.

    A tick already recorded (a run whose worker died after its commit, queued again) is not
    checked again: None.
    """
    recorded = select(AuditEntry.id).where(
        AuditEntry.action == CHECKED, AuditEntry.entity_id == organization_id, AuditEntry.at == now
    )
    if session.exec(recorded).first() is not None:
        return None
    findings = check(
        session=session,
        dashboard=dashboard,
        organization_id=organization_id,
        now=now,
        stuck_after=stuck_after,
    )
    per_invariant = Counter(v.invariant.value for v in findings.violations)
    audit.record(
        session,
        actor=SYSTEM,
        action=CHECKED,
        entity_type="doctor",
        entity_id=organization_id,
        after={
            "violations": len(findings.violations),
            "by_invariant": dict(sorted(per_invariant.items())),
            "subjects": sorted({v.subject for v in findings.violations})[:100],
            "dashboard_checked": findings.dashboard_checked,
            "dashboard_error": findings.dashboard_error,
        },
        outcome="ok" if findings.clean else "failed",
        at=now,
    )
    session.commit()
    return findings
