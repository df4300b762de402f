"""The NOC engineer's pages (/ui/noc): the change-request queue, a change's page, liveness.

Reads here; the forms that change something are in `web.noc_actions`, the apply that runs after
the answer and its live progress in `web.noc_live`. Every page calls the same service functions
as the CLI and the API, guarded by the API's operations (core.policy).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from api.deps import SessionDep, SessionRoute
from changes import preview, queue, service
from changes.claims import STALE_AFTER
from changes.domain import ChangeStatus, QueueStage, Target
from changes.models import ChangeRequest
from core.calendar import Service
from core.errors import DomainError
from core.policy import Operation, may
from core.settings import Settings, business_calendar
from core.timeutil import utcnow
from monitoring import alerts as monitor_alerts
from monitoring import service as monitoring
from provisioning.router import get_provisioning_dashboard
from provisioning.service import ProvisioningOptions
from web.i18n import catalogue
from web.progress import progress_context
from web.render import render
from web.session import WebUser, staff_user

router = APIRouter(prefix="/ui/noc", include_in_schema=False, route_class=SessionRoute)
Reader = Annotated[WebUser, staff_user(Operation.READ)]
Planner = Annotated[WebUser, staff_user(Operation.PROVISIONING_PLAN)]
PAGE_SIZE = 50
OPERATIONS = Service.OPERATIONS
DONE_MESSAGES = frozenset(
    {
        "approved", "rejected", "cancelled", "scheduled", "apply_started", "notified",
        "accepted", "defect_reported", "rolled_back", "rma_opened",
    }
)  # fmt: skip
# What a status lets the NOC do next, each with the operation that guards it (core.policy).
NEXT_ACTS: dict[str, tuple[tuple[str, Operation], ...]] = {
    ChangeStatus.SUBMITTED: (("reject", Operation.CHANGE_APPROVE),),
    ChangeStatus.VALIDATED: (
        ("approve", Operation.CHANGE_APPROVE),
        ("reject", Operation.CHANGE_APPROVE),
    ),
    ChangeStatus.APPROVED: (("schedule", Operation.CHANGE_OPERATE),),
    ChangeStatus.FAILED: (("schedule", Operation.CHANGE_OPERATE),),
    ChangeStatus.SCHEDULED: (
        ("apply", Operation.CHANGE_OPERATE),
        ("schedule", Operation.CHANGE_OPERATE),
    ),
    ChangeStatus.APPLIED: (("notify", Operation.CHANGE_OPERATE),),
    ChangeStatus.NOTIFIED: (
        ("accept", Operation.CHANGE_ACCEPT),
        ("defect", Operation.CHANGE_SUBMIT),
    ),
}
CANCELLABLE = frozenset(
    {
        ChangeStatus.SUBMITTED, ChangeStatus.VALIDATED, ChangeStatus.APPROVED,
        ChangeStatus.SCHEDULED, ChangeStatus.FAILED, ChangeStatus.REOPENED,
    }
)  # fmt: skip


def settings_of(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


def change_url(request_id: int) -> str:
    return f"/ui/noc/changes/{request_id}"


def progress_url(request_id: int) -> str:
    return f"/ui/noc/changes/{request_id}/progress"


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    user: Reader,
    session: SessionDep,
    stage: Annotated[QueueStage | None, Query()] = None,
    customer: Annotated[str | None, Query(max_length=120)] = None,
    q: Annotated[str | None, Query(max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """The queue: how many wait at each stage, and one stage's requests (all when none)."""
    now = utcnow()
    page = queue.queue_page(
        session=session,
        calendar=business_calendar(settings_of(request)),
        now=now,
        stage=stage,
        customer=customer or None,
        search=q,
        limit=limit,
        offset=offset,
    )
    context = {
        "stages": list(QueueStage),
        "counts": queue.stage_counts(session=session),
        "stage": stage,
        "customer": customer or "",
        "q": q or "",
        "customers": queue.customers_with_requests(session=session),
        "page": page,
        "limit": limit,
        "offset": offset,
    }
    return render(request, "noc/index.html", context, user=user)


def acts_for(
    req: ChangeRequest, user: WebUser, now: datetime, *, rolled_back: bool = False
) -> list[str]:
    """The forms the change's page shows this user (the services still decide)."""
    acts = [name for name, op in NEXT_ACTS.get(req.status, ()) if may(user.role, op)]
    if req.claimed_for is not None and req.claimed_at and now - req.claimed_at < STALE_AFTER:
        return []  # an apply or a notice under way: nothing else meanwhile
    if req.status in CANCELLABLE and may(user.role, Operation.CHANGE_SUBMIT):
        acts.append("cancel")
    if (
        req.job_id is not None
        and not rolled_back
        and Target(req.target) is Target.DASHBOARD
        and req.status in (ChangeStatus.APPLIED, ChangeStatus.NOTIFIED, ChangeStatus.FAILED)
        and may(user.role, Operation.PROVISIONING_APPLY)
    ):
        acts.append("rollback")
    return acts


def change_page(
    request: Request,
    user: WebUser,
    session: Session,
    request_id: int,
    *,
    refusal: DomainError | None = None,
    problems: dict[str, list[str]] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A change's page: its sheet's head, problems, plan, history, job and the next acts."""
    req = service.get_request(session=session, request_id=request_id)
    progress: dict[str, Any] | None = None
    if req.job_id is not None:
        progress = progress_context(
            session=session, job_id=req.job_id, events_url=progress_url(request_id)
        )
    rollbacks = preview.rollback_jobs(session=session, request_id=request_id)
    now, calendar = utcnow(), business_calendar(settings_of(request))
    done = request.query_params.get("done", "")
    context = {
        "req": req,
        "events": service.events_of(session=session, request_id=request_id),
        "notices": service.notices_of(session=session, request_id=request_id),
        "row": queue.queue_row(req, now=now, window=calendar.is_service_time(OPERATIONS, now)),
        "acts": acts_for(req, user, now, rolled_back=bool(rollbacks)),
        "progress": progress,
        "starting": req.claimed_for == "apply" and req.job_id is None,
        "events_url": progress_url(request_id),
        "rollbacks": rollbacks,
        "refusal": refusal,
        "refusal_key": refusal_key(refusal),
        "problems": problems or {},
        "form": form or {},
        "done": done if done in DONE_MESSAGES else "",
        "may_preview": Target(req.target) is Target.DASHBOARD
        and bool(req.sheet_yaml)
        and may(user.role, Operation.PROVISIONING_PLAN),
    }
    return render(request, "noc/change.html", context, user=user, status_code=status_code)


def refusal_key(refusal: DomainError | None) -> str:
    """The page's heading of a refusal: by the error's code where the catalogue has one."""
    key = f"noc.refused_{refusal.code}" if refusal is not None else "noc.refused"
    return key if key in catalogue() else "noc.refused"


@router.get("/changes/{request_id}/plan", response_class=HTMLResponse)
def plan(request_id: int, request: Request, user: Planner, session: SessionDep) -> HTMLResponse:
    """The change's sheet planned against the dashboard now (reads only; secrets masked)."""
    req = service.get_request(session=session, request_id=request_id)
    rows = preview.preview_plan(
        session=session,
        request_id=request_id,
        dashboard=get_provisioning_dashboard(request),
        options=ProvisioningOptions.from_settings(settings_of(request)),
    )
    return render(request, "noc/plan.html", {"req": req, "rows": rows}, user=user)


@router.get("/changes/{request_id}", response_class=HTMLResponse)
def show_change(request_id: int, request: Request, user: Reader, session: SessionDep) -> Any:
    return change_page(request, user, session, request_id)


@router.get("/liveness", response_class=HTMLResponse)
def liveness(
    request: Request,
    user: Reader,
    session: SessionDep,
    show: Annotated[str, Query(pattern="^(open|all)$")] = "open",
    serial: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """Devices down now (or every outage), the alerts received lately, an RMA in one step."""
    outages = monitoring.list_outages(
        session=session, open_only=show == "open", serial=serial or None, limit=limit,
        offset=offset,
    )  # fmt: skip
    context = {
        "outages": outages,
        "alerts": monitor_alerts.list_alerts(session=session, serial=serial or None, limit=20),
        "show": show,
        "serial": serial or "",
        "may_rma": may(user.role, Operation.MONITOR),
        "done": request.query_params.get("done", ""),
        "rma": request.query_params.get("rma", ""),
        "refusal": None,
    }
    return render(request, "noc/liveness.html", context, user=user)


from web import noc_actions, noc_live  # noqa: E402  (their routes join this router)

router.include_router(noc_actions.router)
router.include_router(noc_live.router)
