"""Inventory: the device list (search, paged) and the import (upload → dry run → commit).

The dry run's report is a table with every row's problems on that row; the commit imports the
very bytes that were checked (kept by their SHA-256, `inventory.import_report`) and changes
nothing when any row has a problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import UploadFile

from api.deps import SessionDep, SessionRoute
from api.uploads import read_upload
from core.errors import Problem, ValidationFailed
from core.timeutil import utcnow
from inventory import importer
from inventory import service as inventory
from inventory.domain import DeviceStatus
from inventory.import_report import located, stash_upload, stashed_upload
from web.forms import CheckedForm, claim_submission, finish_submission, form_key_of
from web.logistics_common import Stocker, settings_of, undo
from web.render import render
from web.session import actor_of

router = APIRouter(prefix="/inventory", route_class=SessionRoute)
Text = Annotated[str, Query(max_length=120)]


@router.get("")
def devices_page(
    request: Request,
    session: SessionDep,
    user: Stocker,
    serial: Text = "",
    customer: Text = "",
    site: Text = "",
    status: DeviceStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    created: int | None = None,
    updated: int | None = None,
) -> HTMLResponse:
    """Devices by serial prefix, customer, site and status, a page at a time."""
    filters = inventory.DeviceFilter(
        status=status,
        customer=customer.strip() or None,
        site=site.strip() or None,
        serial_prefix=serial.strip() or None,
    )
    page = inventory.list_devices(session=session, filters=filters, limit=limit, offset=offset)
    return render(
        request,
        "logistics/devices.html",
        {
            "page": page,
            "limit": limit,
            "offset": offset,
            "filters": {"serial": serial, "customer": customer, "site": site},
            "status": status.value if status else "",
            "statuses": list(DeviceStatus),
            "imported": None if created is None else {"created": created, "updated": updated or 0},
        },
        user=user,
    )


def _report_page(
    request: Request,
    user: Any,
    *,
    source: str,
    report: importer.ImportReport | None,
    problems: list[Problem],
    token: str | None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "logistics/import.html",
        {
            "source": source,
            "report": report,
            "rows": located(source, problems),
            "token": token,
        },
        user=user,
        status_code=status_code,
    )


@router.get("/import")
def import_form(request: Request, user: Stocker) -> HTMLResponse:
    return _report_page(request, user, source="", report=None, problems=[], token=None)


def _dry_run(session: Session, request: Request, user: Any, name: str, content: bytes) -> Any:
    settings = settings_of(request)
    return importer.import_devices(
        session=session,
        actor=actor_of(user, request),
        path=Path(name),
        content=content,
        now=utcnow(),
        commit=False,
        max_rows=settings.import_max_rows,
    )


@router.post("/import")
def import_dry_run(
    request: Request, session: SessionDep, user: Stocker, form: CheckedForm
) -> HTMLResponse:
    """Check the uploaded file and show every row's problems; nothing is imported yet."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        problem = Problem("choose a CSV or Excel file", "file")
        return _report_page(
            request, user, source="", report=None, problems=[problem], token=None, status_code=422
        )
    settings = settings_of(request)
    content = read_upload(upload, limit=settings.import_max_bytes, what="import file")  # type: ignore[arg-type]
    name = Path(upload.filename).name
    try:
        token = stash_upload(spool=settings.var_dir / "web-imports", name=name, content=content)
        report = _dry_run(session, request, user, name, content)
    except ValidationFailed as exc:  # unreadable file, unknown columns, too many rows
        return _report_page(
            request,
            user,
            source=name,
            report=None,
            problems=list(exc.problems),
            token=None,
            status_code=422,
        )
    return _report_page(
        request,
        user,
        source=report.source,
        report=report,
        problems=report.problems,
        token=None if report.problems else token,
        status_code=422 if report.problems else 200,
    )


@router.post("/import/commit", response_model=None)
def import_commit(
    request: Request, session: SessionDep, user: Stocker, form: CheckedForm
) -> Response:
    """Import the checked file: every row or, when any row has a problem, none."""
    token = form.get("token")
    settings = settings_of(request)
    name, content = stashed_upload(
        spool=settings.var_dir / "web-imports", token=token if isinstance(token, str) else ""
    )
    key = form_key_of(form)
    earlier = claim_submission(session=session, key=key, account=user.account, scope="import")
    if earlier is not None:
        return RedirectResponse(earlier, status_code=303)
    try:
        report = importer.import_devices(
            session=session,
            actor=actor_of(user, request),
            path=Path(name),
            content=content,
            now=utcnow(),
            commit=True,
            max_rows=settings.import_max_rows,
        )
    except ValidationFailed as exc:
        undo(session)
        return _report_page(
            request,
            user,
            source=name,
            report=None,
            problems=list(exc.problems),
            token=None,
            status_code=422,
        )
    url = f"/ui/logistics/inventory?created={len(report.created)}&updated={len(report.updated)}"
    finish_submission(session=session, key=key, result_url=url)
    return RedirectResponse(url, status_code=303)
