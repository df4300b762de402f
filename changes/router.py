"""Thin HTTP routes: /api/v1/change-requests... and /api/v1/site-checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from sqlmodel import Session

from api.deps import Reader, SessionDep, SessionRoute, SettingsDep, guard
from api.pages import PageOut, list_page
from api.params import Limit, Offset
from api.uploads import read_upload
from changes import acceptance, applying, scheduling, service, site_checks
from changes.domain import ChangeStatus, Target
from changes.mailer import MailNotSent, SmtpMailer
from changes.ports import CliFactory, Mailer
from changes.schemas import (
    AcceptIn,
    ChangeRequestOut,
    DefectIn,
    EventOut,
    NoteIn,
    NoticeOut,
    ReasonIn,
    ScheduleIn,
    SiteCheckIn,
    SiteCheckOut,
    SweepIn,
    SweepOut,
)
from core import secret_store
from core.audit import Actor
from core.bounds import record_number
from core.errors import Problem, ValidationFailed
from core.fields import Code, Email, HostName, Name
from core.keys import installation_key
from core.policy import Operation
from core.secret_store import SecretLookup
from core.settings import Settings, business_calendar
from core.timeutil import as_utc, utcnow
from netdevices.netmiko_adapter import NetmikoDeviceCLI
from netdevices.ports import DeviceTarget
from provisioning.router import ProvisioningDep
from provisioning.service import ProvisioningOptions

router = APIRouter(prefix="/change-requests", tags=["change requests"], route_class=SessionRoute)
site_check_router = APIRouter(
    prefix="/site-checks", tags=["change requests"], route_class=SessionRoute
)

Submitter = Annotated[Actor, Depends(guard(Operation.CHANGE_SUBMIT))]
Approver = Annotated[Actor, Depends(guard(Operation.CHANGE_APPROVE))]
Noc = Annotated[Actor, Depends(guard(Operation.CHANGE_OPERATE))]
Acceptor = Annotated[Actor, Depends(guard(Operation.CHANGE_ACCEPT))]


def _request_ref(actor_type: Any) -> Callable[..., int]:
    """A change request in the path: its id or its sheet's request number, looked up only after
    the route's own guard (the same dependency, run once) has let the caller in."""
    role_guard = actor_type.__metadata__[0].dependency

    def request_ref(request_id: str, session: Session, actor: Actor) -> int:
        if request_id.isascii() and request_id.isdigit():
            try:
                return record_number(request_id, "")
            except ValueError as exc:
                raise ValidationFailed([Problem(str(exc), "path.request_id")]) from None
        return service.request_id_of(session=session, ref=request_id)

    request_ref.__annotations__.update(
        request_id=Annotated[
            str,
            Path(
                pattern=r"^[^/]{1,80}$",
                description="the change request's id (digits) or the request number on its "
                "sheet (e.g. CR-2026-0042; 409 if several requests carry it)",
                examples=["3", "CR-2026-0042"],
            ),
        ],
        session=SessionDep,
        actor=Annotated[Actor, Depends(role_guard)],
        **{"return": int},
    )
    return request_ref


ReadRef = Annotated[int, Depends(_request_ref(Reader))]
SubmitRef = Annotated[int, Depends(_request_ref(Submitter))]
ApproveRef = Annotated[int, Depends(_request_ref(Approver))]
OperateRef = Annotated[int, Depends(_request_ref(Noc))]
AcceptRef = Annotated[int, Depends(_request_ref(Acceptor))]
SiteChecker = Annotated[Actor, Depends(guard(Operation.SITE_CHECK))]


def _secrets(session: Session, cfg: Settings) -> SecretLookup:
    """`secret:NAME` references of an uploaded sheet are read from netkeep's store."""
    return secret_store.lookup(session, installation_key(cfg).fernet())


def get_mailer(request: Request) -> Mailer:
    """The app's mailer (tests may set app.state.mailer), SMTP from settings by default."""
    found: Mailer | None = getattr(request.app.state, "mailer", None)
    return found or SmtpMailer.from_settings(request.app.state.settings)


def get_cli_factory(request: Request) -> CliFactory:
    """How the app opens an SSH CLI (tests may set app.state.device_cli_factory)."""
    found: CliFactory | None = getattr(request.app.state, "device_cli_factory", None)
    return found or NetmikoDeviceCLI


MailerDep = Annotated[Mailer, Depends(get_mailer)]
CliFactoryDep = Annotated[CliFactory, Depends(get_cli_factory)]


@router.post("", response_model=ChangeRequestOut, status_code=201)
def submit(
    actor: Submitter,
    session: SessionDep,
    cfg: SettingsDep,
    file: Annotated[UploadFile, File(description="設定変更依頼書: .yaml/.yml or .xlsx")],
    notice_email: Annotated[Email, Form(description="where the completion notice goes")],
    target: Annotated[Target, Form()] = Target.DASHBOARD,
    host: Annotated[HostName | None, Form()] = None,
    port: Annotated[int | None, Form(ge=1, le=65535)] = None,
    device_type: Annotated[Code | None, Form()] = None,
    username: Annotated[Name | None, Form()] = None,
    password_env: Annotated[Code | None, Form()] = None,
    wan_interface: Annotated[Code | None, Form()] = None,
    secret_env: Annotated[Code | None, Form(description="enable secret's variable")] = None,
) -> Any:
    """Store and validate a request; a sheet with problems is kept and answered with 422."""
    for name, given in (("password_env", password_env), ("secret_env", secret_env)):
        if given:
            raise ValidationFailed([Problem(NO_SERVER_ENV, name)])
    cli = {
        "host": host,
        "port": port,
        "device_type": device_type,
        "username": username,
        "password_env": password_env,
        "wan_interface": wan_interface,
    }
    req = service.submit_request(
        session=session,
        actor=actor,
        filename=file.filename or "sheet.yaml",
        content=read_upload(file, limit=cfg.sheet_max_bytes, what="sheet"),
        notice_email=notice_email,
        now=utcnow(),
        target=target,
        cli=cli if target is Target.CLI else None,
        allow_env=False,
        secrets=_secrets(session, cfg),
    )
    out = ChangeRequestOut.of(req)
    if req.problems:
        failed = ValidationFailed(
            [Problem(**p) for p in req.problems],
            f"change request {req.id} stored with {len(req.problems)} problem(s)",
        )
        failed.details["request"] = out.model_dump(mode="json")
        return JSONResponse(failed.to_dict(), status_code=422)
    return out


@router.get("", response_model=PageOut[ChangeRequestOut])
def list_requests(
    session: SessionDep,
    actor: Reader,
    status: ChangeStatus | None = None,
    customer: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[ChangeRequestOut]:
    rows = service.list_requests(session=session, status=status, customer=customer)
    return list_page((ChangeRequestOut.of(r) for r in rows), limit=limit, offset=offset)


@router.post("/sweep", response_model=SweepOut)
def sweep(session: SessionDep, actor: Noc, body: SweepIn | None = None) -> SweepOut:
    """Accept every request whose one-week defect window has ended (idempotent)."""
    now = as_utc(body.now) if body and body.now else utcnow()
    return SweepOut(
        accepted=[r.id or 0 for r in acceptance.sweep_acceptance(session=session, now=now)]
    )


@router.get("/{request_id}", response_model=ChangeRequestOut)
def show(request_id: ReadRef, session: SessionDep, actor: Reader) -> ChangeRequestOut:
    return ChangeRequestOut.of(service.get_request(session=session, request_id=request_id))


@router.get("/{request_id}/events", response_model=PageOut[EventOut])
def events(
    request_id: ReadRef,
    session: SessionDep,
    actor: Reader,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[EventOut]:
    rows = service.events_of(session=session, request_id=request_id)
    return list_page((EventOut.of(e) for e in rows), limit=limit, offset=offset)


@router.get("/{request_id}/notices", response_model=PageOut[NoticeOut])
def notices(
    request_id: ReadRef,
    session: SessionDep,
    actor: Reader,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[NoticeOut]:
    rows = service.notices_of(session=session, request_id=request_id)
    return list_page((NoticeOut.of(n) for n in rows), limit=limit, offset=offset)


@router.post("/{request_id}/validate", response_model=ChangeRequestOut)
def validate(
    request_id: SubmitRef,
    actor: Submitter,
    session: SessionDep,
    cfg: SettingsDep,
    file: Annotated[UploadFile | None, File(description="a corrected sheet")] = None,
) -> ChangeRequestOut:
    """Validate again, optionally with a corrected sheet (after a defect or a contract fix)."""
    req = service.revalidate_request(
        session=session,
        actor=actor,
        request_id=request_id,
        now=utcnow(),
        filename=file.filename if file else None,
        content=read_upload(file, limit=cfg.sheet_max_bytes, what="sheet") if file else None,
        allow_env=False,
        secrets=_secrets(session, cfg),
    )
    return ChangeRequestOut.of(req)


@router.post("/{request_id}/approve", response_model=ChangeRequestOut)
def approve(
    request_id: ApproveRef, actor: Approver, session: SessionDep, body: NoteIn = NoteIn()
) -> ChangeRequestOut:
    req = service.approve_request(
        session=session, actor=actor, request_id=request_id, now=utcnow(), note=body.note
    )
    return ChangeRequestOut.of(req)


@router.post("/{request_id}/reject", response_model=ChangeRequestOut)
def reject(
    request_id: ApproveRef, body: ReasonIn, actor: Approver, session: SessionDep
) -> ChangeRequestOut:
    req = service.reject_request(
        session=session, actor=actor, request_id=request_id, now=utcnow(), reason=body.reason
    )
    return ChangeRequestOut.of(req)


@router.post("/{request_id}/cancel", response_model=ChangeRequestOut)
def cancel(
    request_id: SubmitRef, body: ReasonIn, actor: Submitter, session: SessionDep
) -> ChangeRequestOut:
    req = service.cancel_request(
        session=session, actor=actor, request_id=request_id, now=utcnow(), reason=body.reason
    )
    return ChangeRequestOut.of(req)


@router.post("/{request_id}/schedule", response_model=ChangeRequestOut)
def schedule(
    request_id: OperateRef,
    actor: Noc,
    session: SessionDep,
    cfg: SettingsDep,
    body: ScheduleIn = ScheduleIn(),
) -> ChangeRequestOut:
    """Schedule in the operations window (next window start by default), or by override."""
    req = scheduling.schedule_request(
        session=session,
        actor=actor,
        calendar=business_calendar(cfg),
        request_id=request_id,
        now=utcnow(),
        at=body.at,
        emergency_reason=body.emergency_reason,
    )
    return ChangeRequestOut.of(req)


@router.post("/{request_id}/apply", response_model=ChangeRequestOut)
def apply(
    request_id: OperateRef,
    actor: Noc,
    session: SessionDep,
    cfg: SettingsDep,
    dash: ProvisioningDep,
    mailer: MailerDep,
    cli_factory: CliFactoryDep,
) -> ChangeRequestOut:
    """Apply now (synchronously); when verified, the completion notice is mailed."""
    req = applying.apply_request(
        session=session,
        actor=actor,
        calendar=business_calendar(cfg),
        request_id=request_id,
        now=utcnow(),
        dashboard=dash,
        options=ProvisioningOptions.from_settings(cfg),
        cli_factory=cli_factory,
        clock=utcnow,
        allow_env=False,
    )
    if req.status == ChangeStatus.APPLIED:
        try:
            req = _notify(request_id, actor, session, cfg, mailer)
        except MailNotSent:
            req = service.get_request(session=session, request_id=request_id)
    return ChangeRequestOut.of(req)


def _notify(request_id: int, actor: Actor, session: Any, cfg: Any, mailer: Mailer) -> Any:
    return acceptance.send_completion_notice(
        session=session,
        actor=actor,
        mailer=mailer,
        request_id=request_id,
        now=utcnow(),
        acceptance_days=cfg.change_acceptance_days,
        sender_name=cfg.smtp_from_name,
    )


@router.post("/{request_id}/notify", response_model=ChangeRequestOut)
def notify(
    request_id: OperateRef, actor: Noc, session: SessionDep, cfg: SettingsDep, mailer: MailerDep
) -> ChangeRequestOut:
    """Send (again) the completion notice of applied work whose mail failed."""
    return ChangeRequestOut.of(_notify(request_id, actor, session, cfg, mailer))


@router.post("/{request_id}/accept", response_model=ChangeRequestOut)
def accept(
    request_id: AcceptRef, body: AcceptIn, actor: Acceptor, session: SessionDep
) -> ChangeRequestOut:
    req = acceptance.accept_request(
        session=session,
        actor=actor,
        request_id=request_id,
        now=utcnow(),
        accepted_by=body.accepted_by,
        evidence=body.evidence,
    )
    return ChangeRequestOut.of(req)


@router.post("/{request_id}/report-defect", response_model=ChangeRequestOut)
def report_defect(
    request_id: SubmitRef, body: DefectIn, actor: Submitter, session: SessionDep
) -> ChangeRequestOut:
    """A defect inside the one-week window reopens the request."""
    req = acceptance.report_defect(
        session=session,
        actor=actor,
        request_id=request_id,
        now=utcnow(),
        description=body.description,
        reported_by=body.reported_by,
    )
    return ChangeRequestOut.of(req)


NO_SERVER_ENV = (
    "a request over the network cannot name a variable of the server's environment; give the "
    "credential itself (or run the command from the CLI, where env names your own variable)"
)


def _credential(value: SecretStr | None, env: str | None, field: str) -> SecretStr | None:
    """A credential given in the body; the API server's environment is never read for it."""
    if env:
        raise ValidationFailed([Problem(NO_SERVER_ENV, f"{field}_env")])
    return value


@site_check_router.post("", response_model=SiteCheckOut, status_code=201)
def create_site_check(
    body: SiteCheckIn, actor: SiteChecker, session: SessionDep, cli_factory: CliFactoryDep
) -> SiteCheckOut:
    """Log in to the site's edge device and store whether it routes (then no UTM/router)."""
    password = _credential(body.password, body.password_env, "password")
    if password is None:
        raise ValidationFailed([Problem("give password or password_env", "password")])
    target = DeviceTarget(
        host=body.host,
        port=body.port,
        device_type=body.device_type,
        username=body.username,
        password=password,
        secret=_credential(body.secret, body.secret_env, "secret"),
    )
    row = site_checks.run_site_check(
        session=session,
        actor=actor,
        cli_factory=cli_factory,
        target=target,
        site=body.site,
        now=utcnow(),
    )
    return SiteCheckOut.of(row)


@site_check_router.get("", response_model=PageOut[SiteCheckOut])
def list_site_checks(
    session: SessionDep,
    actor: Reader,
    site: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[SiteCheckOut]:
    rows = site_checks.list_site_checks(session=session, site=site)
    return list_page((SiteCheckOut.of(r) for r in rows), limit=limit, offset=offset)
