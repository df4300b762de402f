"""The logistics clerk's pages: the RMA board, an RMA's detail and notice, scanning, inventory.

Thin: each handler parses the query or form, calls the same service functions as the CLI and
API (`rma.board`, `rma.scanning`, `inventory.service`, `inventory.importer`) and renders.
An RMA's page and its acts are in `web.logistics_acts`; the scan and inventory pages in
`web.logistics_scan` and `web.logistics_inventory`.
"""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import RenderGateDep, SessionDep, SessionRoute
from core.errors import Problem, ValidationFailed
from core.timeutil import utcnow
from rma import board as rma_board
from rma import views
from rma.board import BoardQuery, DueFilter, StateFilter
from rma.domain import ACTIVE, RmaStatus
from rma.notice_pdf import render_damage_notice
from web.logistics_acts import rma_view
from web.logistics_acts import router as acts_router
from web.logistics_common import STATUS_ORDER, Clerk
from web.logistics_inventory import router as inventory_router
from web.logistics_scan import router as scan_router
from web.render import render

router = APIRouter(prefix="/ui/logistics", include_in_schema=False, route_class=SessionRoute)


def _state(value: str) -> RmaStatus | StateFilter:
    for kind in (StateFilter, RmaStatus):
        try:
            return kind(value)
        except ValueError:
            continue
    raise ValidationFailed([Problem(f"unknown state {value!r}", "state")])


@router.get("/")
def board_page(
    request: Request,
    session: SessionDep,
    user: Clerk,
    state: str = "active",
    due: DueFilter | None = None,
    q: Annotated[str, Query(max_length=120)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    """RMAs by state with their due dates: due this week, overdue in red, charged."""
    query = BoardQuery(state=_state(state), due=due, q=q.strip(), limit=limit, offset=offset)
    page = rma_board.board(session=session, query=query, now=utcnow())
    return render(
        request,
        "logistics/board.html",
        {
            "page": page,
            "query": query,
            "state": state,
            "states": [s for s in STATUS_ORDER if s in ACTIVE],
            "count_cap": rma_board.COUNT_CAP,
        },
        user=user,
    )


@router.get("/rmas/{rma_id}")
def rma_page(
    request: Request,
    session: SessionDep,
    user: Clerk,
    rma_id: int,
    done: str | None = None,
) -> HTMLResponse:
    """One RMA: where it stands, its units, due date, charge, reminders, history and the acts."""
    return rma_view(request, session, user, rma_id, done=done)


@router.get("/rmas/{rma_id}/notice.pdf")
def notice_pdf(session: SessionDep, gate: RenderGateDep, user: Clerk, rma_id: int) -> Response:
    """The damage-charge notice (機器損害金のご請求): the API's PDF, from the same render gate."""
    notice = views.damage_notice(session=session, rma_id=rma_id)
    key = "rma-notice:" + hashlib.sha256(repr(notice).encode()).hexdigest()
    return Response(
        gate.render(key, partial(render_damage_notice, notice)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{notice.number}-notice.pdf"'},
    )


router.include_router(acts_router)
router.include_router(scan_router)
router.include_router(inventory_router)
