"""GET /api/v1/doctor: the invariants, for admin and NOC."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import DashboardDep, SessionDep, SessionRoute, SettingsDep, guard
from core.audit import Actor
from core.policy import Operation
from core.timeutil import utcnow
from doctor import service
from doctor.schemas import DoctorOut

router = APIRouter(tags=["doctor"], route_class=SessionRoute)
Checker = Annotated[Actor, Depends(guard(Operation.DOCTOR))]


@router.get("/doctor", response_model=DoctorOut)
def doctor(
    session: SessionDep,
    settings: SettingsDep,
    dashboard: DashboardDep,
    actor: Checker,
    stuck_after_minutes: Annotated[int, Query(ge=1, le=100_000)] = 60,
    dashboard_checks: bool = True,
) -> DoctorOut:
    """Every violation with its repair; `clean` is true when there is none (always 200)."""
    findings = service.check(
        session=session,
        dashboard=dashboard if dashboard_checks else None,
        organization_id=settings.meraki_org_id,
        now=utcnow(),
        stuck_after=timedelta(minutes=stuck_after_minutes),
    )
    return DoctorOut.of(findings)
