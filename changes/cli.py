"""`netkeep change`: thin over the change-request services (the local CLI acts as admin)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr
from rich.table import Table
from sqlmodel import Session

from changes import acceptance, applying, scheduling, service, site_checks
from changes.domain import ChangeStatus, Target
from changes.mailer import MailNotSent, SmtpMailer
from changes.models import ChangeRequest
from changes.schemas import ChangeRequestOut, EventOut, NoticeOut, SiteCheckOut
from core.cli_support import cli_actor, cli_session, console, emit_json, handle_errors, settings
from core.errors import Problem, ValidationFailed
from core.exit_codes import ExitCode
from core.secret_cli import local_lookup
from core.settings import business_calendar
from core.timeutil import parse_instant, show, utcnow
from netdevices.ports import DeviceTarget, Platform
from provisioning.service import ProvisioningOptions

change_app = typer.Typer(
    help="Change requests (設定変更依頼): submit, approve, schedule, apply, accept; site checks.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
RequestId = Annotated[int, typer.Argument(help="change request id")]


def _done(req: ChangeRequest, json_out: bool) -> None:
    out = ChangeRequestOut.of(req)
    if json_out:
        emit_json(out)
        return
    when = f", scheduled {show(out.scheduled_for)}" if out.scheduled_for else ""
    console.print(
        f"change request {out.id} ({out.number}, {out.customer}): {out.status}{when}",
        markup=False,
        highlight=False,
    )
    for p in out.problems:
        console.print(f"  - {p['location']}: {p['message']}", markup=False)
    if out.apply_error:
        console.print(f"  error: {out.apply_error}", markup=False)
    if out.notice_error:
        console.print(f"  notice not sent: {out.notice_error}", markup=False)


@change_app.command("submit")
@handle_errors
def submit(
    sheet: Annotated[Path, typer.Argument(exists=True, help="設定変更依頼書 (.yaml or .xlsx)")],
    notice_email: Annotated[str, typer.Option("--notice-email", help="completion notice to")],
    target: Annotated[Target, typer.Option("--target")] = Target.DASHBOARD,
    host: Annotated[str | None, typer.Option("--host")] = None,
    port: Annotated[int, typer.Option("--port")] = 22,
    device_type: Annotated[Platform | None, typer.Option("--device-type")] = None,
    username: Annotated[str | None, typer.Option("--username")] = None,
    password_env: Annotated[str | None, typer.Option("--password-env")] = None,
    wan_interface: Annotated[str | None, typer.Option("--wan-interface")] = None,
    secret_env: Annotated[str | None, typer.Option("--secret-env", help="enable secret")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Enter a customer's change-request sheet; problems are stored and listed (exit 2)."""
    cli = {
        "host": host,
        "port": port,
        "device_type": device_type.value if device_type else None,
        "username": username,
        "password_env": password_env,
        "wan_interface": wan_interface,
    }
    with cli_session() as session:
        req = service.submit_request(
            session=session,
            actor=cli_actor(),
            filename=sheet.name,
            content=sheet.read_bytes(),
            notice_email=notice_email,
            now=utcnow(),
            target=target,
            cli=cli if target is Target.CLI else None,
            secrets=local_lookup,
        )
    _done(req, json_out)
    if req.problems:
        raise typer.Exit(ExitCode.INVALID)


@change_app.command("validate")
@handle_errors
def validate(
    request_id: RequestId,
    sheet: Annotated[Path | None, typer.Option("--sheet", exists=True, help="corrected")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Validate again, optionally with a corrected sheet."""
    with cli_session() as session:
        req = service.revalidate_request(
            session=session,
            actor=cli_actor(),
            request_id=request_id,
            now=utcnow(),
            filename=sheet.name if sheet else None,
            content=sheet.read_bytes() if sheet else None,
            secrets=local_lookup,
        )
    _done(req, json_out)
    if req.problems:
        raise typer.Exit(ExitCode.INVALID)


@change_app.command("approve")
@handle_errors
def approve(request_id: RequestId, note: str = "", json_out: JsonOpt = False) -> None:
    """Approve a validated request."""
    with cli_session() as session:
        req = service.approve_request(
            session=session, actor=cli_actor(), request_id=request_id, now=utcnow(), note=note
        )
    _done(req, json_out)


@change_app.command("reject")
@handle_errors
def reject(
    request_id: RequestId,
    reason: Annotated[str, typer.Option("--reason")],
    json_out: JsonOpt = False,
) -> None:
    """Reject a request."""
    with cli_session() as session:
        req = service.reject_request(
            session=session, actor=cli_actor(), request_id=request_id, now=utcnow(), reason=reason
        )
    _done(req, json_out)


@change_app.command("cancel")
@handle_errors
def cancel(
    request_id: RequestId,
    reason: Annotated[str, typer.Option("--reason")],
    json_out: JsonOpt = False,
) -> None:
    """Cancel a request."""
    with cli_session() as session:
        req = service.cancel_request(
            session=session, actor=cli_actor(), request_id=request_id, now=utcnow(), reason=reason
        )
    _done(req, json_out)


@change_app.command("schedule")
@handle_errors
def schedule(
    request_id: RequestId,
    at: Annotated[str | None, typer.Option("--at", help="ISO time (JST if no zone)")] = None,
    emergency: Annotated[str | None, typer.Option("--emergency", help="override reason")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Schedule in the operations window (next window start by default)."""
    with cli_session() as session:
        req = scheduling.schedule_request(
            session=session,
            actor=cli_actor(),
            calendar=business_calendar(settings()),
            request_id=request_id,
            now=utcnow(),
            at=parse_instant(at) if at else None,
            emergency_reason=emergency,
        )
    _done(req, json_out)


def _notify(session: Session, request_id: int) -> ChangeRequest:
    cfg = settings()
    return acceptance.send_completion_notice(
        session=session,
        actor=cli_actor(),
        mailer=SmtpMailer.from_settings(cfg),
        request_id=request_id,
        now=utcnow(),
        acceptance_days=cfg.change_acceptance_days,
        sender_name=cfg.smtp_from_name,
    )


@change_app.command("apply")
@handle_errors
def apply(request_id: RequestId, json_out: JsonOpt = False) -> None:
    """Apply a scheduled request now and mail the completion notice."""
    from dashboard.provisioning import MerakiProvisioning
    from netdevices.netmiko_adapter import NetmikoDeviceCLI  # SSH and the SDK: only here

    cfg = settings()
    with cli_session() as session:
        req = applying.apply_request(
            session=session,
            actor=cli_actor(),
            calendar=business_calendar(cfg),
            request_id=request_id,
            now=utcnow(),
            dashboard=MerakiProvisioning.from_settings(cfg),
            options=ProvisioningOptions.from_settings(cfg),
            cli_factory=NetmikoDeviceCLI,
            clock=utcnow,
        )
        if req.status == ChangeStatus.APPLIED:
            try:
                req = _notify(session, request_id)
            except MailNotSent:
                req = service.get_request(session=session, request_id=request_id)
    _done(req, json_out)
    if req.status == ChangeStatus.FAILED:
        raise typer.Exit(ExitCode.DASHBOARD)


@change_app.command("notify")
@handle_errors
def notify(request_id: RequestId, json_out: JsonOpt = False) -> None:
    """Send the completion notice again (after a mail failure)."""
    with cli_session() as session:
        req = _notify(session, request_id)
    _done(req, json_out)


@change_app.command("accept")
@handle_errors
def accept(
    request_id: RequestId,
    by: Annotated[str, typer.Option("--by", help="the customer's name")],
    evidence: Annotated[
        str, typer.Option("--evidence", help="where the signed acceptance is kept")
    ],
    json_out: JsonOpt = False,
) -> None:
    """Record the customer's acceptance (not by whoever submitted or applied the change)."""
    with cli_session() as session:
        req = acceptance.accept_request(
            session=session,
            actor=cli_actor(),
            request_id=request_id,
            now=utcnow(),
            accepted_by=by,
            evidence=evidence,
        )
    _done(req, json_out)


@change_app.command("report-defect")
@handle_errors
def report_defect(
    request_id: RequestId,
    description: Annotated[str, typer.Option("--description")],
    by: Annotated[str, typer.Option("--by")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Record a defect inside the one-week window; the request is reopened."""
    with cli_session() as session:
        req = acceptance.report_defect(
            session=session,
            actor=cli_actor(),
            request_id=request_id,
            now=utcnow(),
            description=description,
            reported_by=by,
        )
    _done(req, json_out)


@change_app.command("show")
@handle_errors
def show_cmd(request_id: RequestId, json_out: JsonOpt = False) -> None:
    """A request, its history and its notices."""
    with cli_session() as session:
        req = service.get_request(session=session, request_id=request_id)
        events = [EventOut.of(e) for e in service.events_of(session=session, request_id=request_id)]
        notices = [
            NoticeOut.of(n) for n in service.notices_of(session=session, request_id=request_id)
        ]
    if json_out:
        emit_json({"request": ChangeRequestOut.of(req), "events": events, "notices": notices})
        return
    _done(req, False)
    table = Table("at", "action", "from", "to", "by", "note")
    for e in events:
        table.add_row(show(e.at), e.action, e.from_status or "", e.to_status, e.actor, e.note[:60])
    console.print(table)
    for n in notices:
        console.print(f"notice to {n.to} at {show(n.sent_at)}: {n.subject}", markup=False)


@change_app.command("list")
@handle_errors
def list_cmd(
    status: Annotated[ChangeStatus | None, typer.Option("--status")] = None,
    customer: Annotated[str | None, typer.Option("--customer")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Recent change requests."""
    with cli_session() as session:
        rows = [
            ChangeRequestOut.of(r)
            for r in service.list_requests(session=session, status=status, customer=customer)
        ]
    if json_out:
        emit_json(rows)
        return
    table = Table("id", "number", "customer", "site", "status", "scheduled")
    for r in rows:
        table.add_row(str(r.id), r.number, r.customer, r.site_name, r.status, show(r.scheduled_for))
    console.print(table)


@change_app.command("sweep")
@handle_errors
def sweep(
    now: Annotated[
        str | None, typer.Option("--now", help="judge as of (ISO; JST if no zone)")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Accept every request whose one-week defect window ended with no defect report."""
    with cli_session() as session:
        done = acceptance.sweep_acceptance(
            session=session, now=parse_instant(now) if now else utcnow()
        )
        ids = [r.id for r in done]
    if json_out:
        emit_json({"accepted": ids})
    else:
        listed = ", ".join(str(i) for i in ids) or "none"
        console.print(f"auto-accepted: {listed}", markup=False, highlight=False)


@change_app.command("site-check")
@handle_errors
def site_check(
    host: Annotated[str, typer.Option("--host")],
    device_type: Annotated[Platform, typer.Option("--device-type")],
    site: Annotated[str, typer.Option("--site", help="the site (network) name")],
    username: Annotated[str, typer.Option("--username")],
    password_env: Annotated[str, typer.Option("--password-env")] = "NETKEEP_SITE_PASSWORD",
    secret_env: Annotated[
        str, typer.Option("--secret-env", help="enable secret, if the device asks for one")
    ] = "NETKEEP_SITE_SECRET",
    port: Annotated[int, typer.Option("--port")] = 22,
    json_out: JsonOpt = False,
) -> None:
    """Log in to the site's edge device: does it route? (then UTM/router install is refused)."""
    from netdevices.netmiko_adapter import NetmikoDeviceCLI  # netmiko/paramiko: only to log in

    if password_env not in os.environ:
        raise ValidationFailed([Problem(f"{password_env} is not set", "--password-env")])
    target = DeviceTarget(
        host=host,
        port=port,
        device_type=device_type,
        username=username,
        password=SecretStr(os.environ[password_env]),
        secret=SecretStr(os.environ[secret_env]) if secret_env in os.environ else None,
    )
    with cli_session() as session:
        row = site_checks.run_site_check(
            session=session,
            actor=cli_actor(),
            cli_factory=NetmikoDeviceCLI,
            target=target,
            site=site,
            now=utcnow(),
        )
        out = SiteCheckOut.of(row)
    if json_out:
        emit_json(out)
        return
    console.print(
        f"{out.host}: routing {'yes' if out.routing else 'no'} — {out.verdict}", markup=False
    )
    for e in out.evidence:
        console.print(f"  {e['command']}: {e['line']} ({e['meaning']})", markup=False)
