"""The field engineer's pages, made for a phone (360 px): scan the box, read the site's sheet and
what the plan changes, claim and apply it with one tap, watch each step and the verification.

Thin over `provisioning.field` (the composite) and the journal: every rule is the service's; a
refused scan, sheet or unit re-renders the page with each problem next to its field (422) and
nothing changed. The plan's sheet travels sealed to the apply form (`field.seal_upload`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, cast
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi import UploadFile as FastUploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select
from starlette.datastructures import FormData, UploadFile

from api.deps import SessionDep, SessionRoute, SettingsDep
from api.uploads import read_upload
from core import secret_store
from core.errors import Problem, ValidationFailed
from core.keys import installation_key
from core.policy import Operation
from core.settings import Settings
from core.timeutil import utcnow
from provisioning import apply as jobs
from provisioning import field
from provisioning.jobs import RolloutQueue, SecretLookup, SheetUpload
from provisioning.models import ProvisioningJob
from provisioning.router import (
    ProvisioningDep,
    background_queue,
)
from provisioning.schemas import PlanOut
from provisioning.service import ProvisioningOptions
from web.field_view import job_outcome, plan_view, sheet_summary
from web.forms import CheckedForm, claim_submission, finish_submission, form_key_of
from web.models import FormSubmission
from web.progress import progress_context
from web.render import render
from web.session import WebUser, actor_of, staff_user

router = APIRouter(prefix="/ui/field", include_in_schema=False, route_class=SessionRoute)
Reader = Annotated[WebUser, staff_user(Operation.READ)]
Planner = Annotated[WebUser, staff_user(Operation.PROVISIONING_PLAN)]
Applier = Annotated[WebUser, staff_user(Operation.PROVISIONING_APPLY)]
Queue = Annotated[RolloutQueue, Depends(background_queue)]
SCOPE = "field.apply"


@router.get("/")
def index(request: Request, user: Reader) -> HTMLResponse:
    """The scan form: a scanner types the serial and Enter opens the site."""
    return render(request, "field/index.html", {"serial": "", "by_field": {}}, user=user)


@router.get("/site")
def site(request: Request, user: Planner, session: SessionDep, serial: str = "") -> HTMLResponse:
    """The scanned unit and its site's sheet: the stored one, or the upload form."""
    try:
        unit = field.scanned_unit(session=session, serial=serial)
    except ValidationFailed as refused:
        asked = {"serial": serial, "by_field": by_field(refused)}
        return render(request, "field/index.html", asked, user=user, status_code=422)
    stored = field.stored_sheet_for(session=session, serial=unit.serial)
    context: dict[str, Any] = {"unit": unit, "stored": stored, "by_field": {}}
    return render(request, "field/site.html", context, user=user)


@router.post("/site/plan")
def plan(
    request: Request,
    user: Planner,
    form: CheckedForm,
    session: SessionDep,
    dash: ProvisioningDep,
    cfg: SettingsDep,
) -> HTMLResponse:
    """What claiming and applying the sheet would change (nothing is written)."""
    serial = _text(form, "serial")
    try:
        upload = _sheet_of(session, form, cfg, serial)
        planned = field.plan_site(
            session=session, dashboard=dash, serial=serial, upload=upload,
            secrets=_named_secrets(session, cfg), options=ProvisioningOptions.from_settings(cfg),
        )  # fmt: skip
    except ValidationFailed as refused:
        return _refused_site(request, user, session, serial, refused)
    sealed = field.seal_upload(
        planned.upload,
        cipher=installation_key(cfg).job_fernet(),
        account=user.account,
        serial=planned.unit.serial,
    )
    context = {
        "unit": planned.unit,
        "sheet": sheet_summary(planned.sheet),
        "plan": plan_view(PlanOut.of(planned.plan)),
        "empty": planned.plan.empty,
        "sealed": sealed,
        "by_field": {},
    }
    return render(request, "field/plan.html", context, user=user)


@router.post("/site/apply")
def apply(
    request: Request,
    user: Applier,
    form: CheckedForm,
    session: SessionDep,
    dash: ProvisioningDep,
    cfg: SettingsDep,
    queue: Queue,
    background: BackgroundTasks,
) -> Response:
    """One tap: the job journalled (with the form's key, so a second tap finds it) and queued."""
    serial = _text(form, "serial")
    key = form_key_of(form)
    cipher = installation_key(cfg).job_fernet()

    def record(job: ProvisioningJob) -> None:
        earlier = claim_submission(session=session, key=key, account=user.account, scope=SCOPE)
        if earlier is not None:
            raise _AlreadySent(earlier)
        finish_submission(session=session, key=key, result_url=f"/ui/field/jobs/{job.id}")

    earlier = _earlier_result(session, key, user.account)
    if earlier is not None:  # a second tap: the first one's job
        return RedirectResponse(earlier, status_code=303)
    try:
        upload = field.open_upload(
            _text(form, "sealed"), cipher=cipher, account=user.account, serial=serial
        )
        started = _claim_and_apply(
            session, dash, cfg, queue, background.add_task, user, request, serial,
            upload, record,
        )  # fmt: skip
    except _AlreadySent as sent:
        session.rollback()
        return RedirectResponse(sent.url, status_code=303)
    except ValidationFailed as refused:
        session.rollback()
        earlier = _earlier_result(session, key, user.account)
        if earlier is not None:  # two taps at once: the other one journalled the job first
            return RedirectResponse(earlier, status_code=303)
        return _refused_site(request, user, session, serial, refused)
    if started.job is None:  # the site already matches its sheet
        where = f"/ui/field/site?serial={quote(serial)}&unchanged=1"
        return RedirectResponse(where, status_code=303)
    return RedirectResponse(f"/ui/field/jobs/{started.job.id}", status_code=303)


def _claim_and_apply(
    session: Session,
    dash: Any,
    cfg: Settings,
    queue: RolloutQueue,
    after_response: Callable[[Callable[[], None]], None],
    user: WebUser,
    request: Request,
    serial: str,
    upload: SheetUpload,
    record: Callable[[ProvisioningJob], None],
) -> field.SiteApply:
    return field.claim_and_apply_site(
        session=session, dashboard=dash, serial=serial, upload=upload,
        secrets=_named_secrets(session, cfg),
        actor=actor_of(user, request), clock=utcnow,
        options=ProvisioningOptions.from_settings(cfg), cipher=installation_key(cfg).job_fernet(),
        queue=queue, after_response=after_response, record=record,
    )  # fmt: skip


@router.get("/jobs/{job_id}")
def job(request: Request, user: Reader, session: SessionDep, job_id: int) -> HTMLResponse:
    """The job's steps as they complete, then the verification (live with JS; refresh without)."""
    found = jobs.get_job(session=session, job_id=job_id)
    context = {
        "outcome": job_outcome(found),
        "progress": progress_context(
            session=session, job_id=job_id, events_url=f"/ui/jobs/{job_id}/events"
        ),
    }
    return render(request, "field/job.html", context, user=user)


class _AlreadySent(Exception):
    """The form's key was used: the earlier tap's job is the answer."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def _named_secrets(session: Session, cfg: Settings) -> SecretLookup:
    """A sheet's ``secret:NAME`` read from netkeep's store in the request's session (a read
    before the plan, which ends the transaction before any dashboard call)."""
    return secret_store.lookup(session, installation_key(cfg).fernet())


def _earlier_result(session: Session, key: str, account: str) -> str | None:
    """Where an earlier post of this form (same key, same account) shows its result."""
    if not key:
        return None
    stmt = select(FormSubmission).where(
        FormSubmission.key == key, FormSubmission.account == account
    )
    found = session.exec(stmt).first()
    return found.result_url if found is not None and found.result_url else None


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _sheet_of(session: Session, form: FormData, cfg: Settings, serial: str) -> SheetUpload:
    """The uploaded file, or the sheet netkeep keeps for the site when the engineer chose it."""
    if _text(form, "use_stored"):
        unit = field.scanned_unit(session=session, serial=serial)
        stored = field.stored_sheet_for(session=session, serial=unit.serial)
        if stored is None:
            raise ValidationFailed([Problem("no sheet is kept for this site: upload it", "sheet")])
        return stored.upload
    file = form.get("sheet")
    if not isinstance(file, UploadFile) or not file.filename:
        raise ValidationFailed([Problem("choose the site's sheet (.xlsx or .yaml)", "sheet")])
    data = read_upload(cast(FastUploadFile, file), limit=cfg.sheet_max_bytes, what="sheet")
    return SheetUpload(name=file.filename, content=data)


def by_field(refused: ValidationFailed) -> dict[str, list[str]]:
    """Problems of the serial under `serial`; every other one (the sheet's, each with its
    place in the sheet, and the inventory's) under `sheet`."""
    found: dict[str, list[str]] = {}
    for problem in refused.problems:
        if problem.location == field.SERIAL:
            found.setdefault(field.SERIAL, []).append(problem.message)
        elif problem.location in ("", field.SHEET, "file"):
            found.setdefault(field.SHEET, []).append(problem.message)
        else:
            found.setdefault(field.SHEET, []).append(str(problem))
    if not found:
        found[field.SHEET] = [refused.message]
    return found


def _refused_site(
    request: Request, user: WebUser, session: Session, serial: str, refused: ValidationFailed
) -> HTMLResponse:
    """The site page again (or the scan form, for a bad serial) with every problem placed."""
    session.rollback()
    problems = by_field(refused)
    try:
        unit = field.scanned_unit(session=session, serial=serial)
    except ValidationFailed:
        asked = {"serial": serial, "by_field": problems}
        return render(request, "field/index.html", asked, user=user, status_code=422)
    stored = field.stored_sheet_for(session=session, serial=unit.serial)
    context: dict[str, Any] = {"unit": unit, "stored": stored, "by_field": problems}
    return render(request, "field/site.html", context, user=user, status_code=422)
