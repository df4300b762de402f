"""`netkeep vpn`: thin over the VPN services (the local CLI acts as admin)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml
from rich.table import Table

from core.cli_support import cli_actor, cli_session, console, emit_json, handle_errors, settings
from core.errors import NotFound, Problem, ValidationFailed
from core.exit_codes import ExitCode
from core.timeutil import show, utcnow
from provisioning.service import ProvisioningOptions
from vpn import client_users, construction, eligibility, status
from vpn.client_users import UserRequest
from vpn.domain import NOTE_CGNAT, NOTE_RECONNECT, ClientUser, EventKind
from vpn.schemas import BuildOut, CheckOut, EventOut, ReportSummaryOut, UserOutcomeOut

if TYPE_CHECKING:
    from dashboard.vpn import MerakiVpnDashboard

vpn_app = typer.Typer(
    help="VPN service (Option 4): eligibility checks, construction, client users, status reports.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _dashboard() -> MerakiVpnDashboard:
    from dashboard.meraki import MerakiDashboard  # the Meraki SDK only when it is used
    from dashboard.vpn import MerakiVpnDashboard

    cfg = settings()
    return MerakiVpnDashboard(MerakiDashboard.from_settings(cfg), per_page=cfg.vpn_status_per_page)


def _pair(raw: str, what: str) -> tuple[str, str]:
    head, sep, tail = raw.partition("=")
    if not sep:
        raise ValidationFailed([Problem(f"expected EMAIL=NAME, got {raw!r}", what)])
    return head.strip(), tail.strip()


def _print_outcomes(outcomes: list[UserOutcomeOut]) -> None:
    for o in outcomes:
        secret = f"  password (shown once): {o.password}" if o.password else ""
        console.print(f"{o.network_id} {o.email} {o.name}: {o.action}{secret}", highlight=False)


@vpn_app.command("check")
@handle_errors
def check_cmd(
    network_ids: Annotated[list[str], typer.Argument(help="network ids of the sites")],
    user: Annotated[
        list[str] | None, typer.Option(help="client VPN user NETWORK:EMAIL=NAME (repeat)")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Check sites before construction (plan, VPN option, global WAN IP, users' e-mail)."""
    users = []
    for raw in user or []:
        network_id, _, rest = raw.partition(":")
        email, name = _pair(rest, f"--user {raw}")
        users.append(ClientUser(network_id, email, name))
    cfg = settings()
    with cli_session() as session:
        rows = eligibility.check_sites(
            session=session,
            dashboard=_dashboard(),
            actor=cli_actor(),
            organization_id=cfg.meraki_org_id,
            network_ids=network_ids,
            users=users,
            now=utcnow(),
            accept_documentation=cfg.vpn_accept_documentation_ips,
        )
        out = [CheckOut.of(r) for r in rows]
    if json_out:
        emit_json(out)
    else:
        for row in out:
            verdict = "eligible" if row.eligible else "NOT eligible"
            console.print(f"check {row.id} {row.site_name} ({row.network_id}): {verdict}")
            for reason in row.reasons:
                console.print(f"  - [{reason['code']}] {reason['message']}", markup=False)
    if not all(r.eligible for r in out):
        raise typer.Exit(ExitCode.FOUND)


def _load_request(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValidationFailed([Problem("the request must be a mapping with 'sites'", str(path))])
    return data


@vpn_app.command("build")
@handle_errors
def build_cmd(
    request_file: Annotated[
        Path | None, typer.Argument(help="YAML/JSON: sites (role, hubs, subnets), users")
    ] = None,
    revert: Annotated[int | None, typer.Option("--revert", help="revert build ID")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Construct the VPN from a request file (provisioning jobs), or revert an earlier build."""
    from dashboard.provisioning import MerakiProvisioning  # the Meraki SDK only when it is used

    cfg = settings()
    with cli_session() as session:
        if revert is not None:
            build = construction.revert_build(
                session=session,
                dashboard=_dashboard(),
                provisioning=MerakiProvisioning.from_settings(cfg),
                options=ProvisioningOptions.from_settings(cfg),
                clock=utcnow,
                actor=cli_actor(),
                build_id=revert,
                now=utcnow(),
            )
            out = BuildOut.of(build)
        else:
            if request_file is None:
                raise NotFound("give a request file, or --revert ID")
            result = construction.build_vpn(
                session=session,
                dashboard=_dashboard(),
                provisioning=MerakiProvisioning.from_settings(cfg),
                options=ProvisioningOptions.from_settings(cfg),
                clock=utcnow,
                actor=cli_actor(),
                organization_id=cfg.meraki_org_id,
                request=construction.parse_request(_load_request(request_file)),
                now=utcnow(),
                accept_documentation=cfg.vpn_accept_documentation_ips,
            )
            out = BuildOut.of(result.build, result.users)
    if json_out:
        emit_json(out)
        return
    console.print(f"VPN build {out.id}: {out.status}", highlight=False)
    for change in out.changes:
        mark = f"changed (job {change['job_id']})" if change["changed"] else "unchanged"
        console.print(f"  {change['network_id']}: {mark}", highlight=False)
    _print_outcomes(out.one_time_passwords)
    for note in out.notes:
        console.print(f"note: {note}", markup=False, highlight=False)


@vpn_app.command("users")
@handle_errors
def users_cmd(
    network_id: Annotated[str | None, typer.Option("--network", help="network id")] = None,
    add: Annotated[
        list[str] | None, typer.Option(help="EMAIL=NAME to create or update (repeat)")
    ] = None,
    password: Annotated[
        str | None, typer.Option(help="password for --add users (generated if left out)")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """List client VPN users, or create/update them by e-mail with --network and --add."""
    with cli_session() as session:
        if add:
            if network_id is None:
                raise ValidationFailed([Problem("--add needs --network", "--network")])
            requests = [
                UserRequest(network_id, *_pair(raw, f"--add {raw}"), password) for raw in add
            ]
            outcomes = client_users.ensure_client_users(
                session=session,
                dashboard=_dashboard(),
                actor=cli_actor(),
                users=requests,
                now=utcnow(),
            )
            result = [UserOutcomeOut.of(o) for o in outcomes]
            if json_out:
                emit_json(result)
            else:
                _print_outcomes(result)
            return
        rows = client_users.list_users(session=session, network_id=network_id)
        listed = [{"network_id": r.network_id, "email": r.email, "name": r.name} for r in rows]
    if json_out:
        emit_json(listed)
        return
    table = Table("network", "email", "name")
    for item in listed:
        table.add_row(item["network_id"], item["email"], item["name"])
    console.print(table)


@vpn_app.command("report")
@handle_errors
def report_cmd(
    show_id: Annotated[
        int | None, typer.Option("--show", help="an earlier report instead of a new one")
    ] = None,
    pdf: Annotated[Path | None, typer.Option(help="write the PDF here")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="write the CSV here")] = None,
    customer: Annotated[str | None, typer.Option(help="only this customer's sites")] = None,
    history: Annotated[bool, typer.Option("--history", help="list earlier reports")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Take a VPN status snapshot (or show one); write the customer's PDF and CSV."""
    cfg = settings()
    with cli_session() as session:
        if history:
            listed = [ReportSummaryOut.of(r) for r in status.list_reports(session=session)]
            if json_out:
                emit_json(listed)
            else:
                for r in listed:
                    console.print(
                        f"report {r.id} {show(r.taken_at)}: {r.site_count} sites, "
                        f"{r.peers_down} peers down, {r.wan_ip_changes} WAN IP changes",
                        highlight=False,
                    )
            return
        if show_id is not None:
            report = status.get_report(session=session, report_id=show_id)
        else:
            report = status.take_snapshot(
                session=session,
                dashboard=_dashboard(),
                actor=cli_actor(),
                organization_id=cfg.meraki_org_id,
                now=utcnow(),
            )
        events = status.list_events(session=session, report_id=report.id)
        from vpn.report_pdf import render_report_pdf, report_csv  # reportlab only to print

        if pdf is not None:
            pdf.write_bytes(render_report_pdf(report, events, customer=customer))
        if csv_path is not None:
            csv_path.write_text(report_csv(report, customer=customer), encoding="utf-8")
        summary = ReportSummaryOut.of(report)
        event_out = [EventOut.of(e) for e in events]
    if json_out:
        emit_json({"report": summary, "events": event_out})
        return
    console.print(
        f"report {summary.id} {show(summary.taken_at)}: {summary.site_count} sites, "
        f"{summary.peer_count} peers, {summary.peers_down} down, "
        f"{summary.wan_ip_changes} WAN IP changes, {len(event_out)} events",
        highlight=False,
    )
    for e in event_out:
        console.print(f"  {e.kind} {e.site_name} {e.peer_name or ''} {e.detail}", highlight=False)
    if summary.wan_ip_changes:
        console.print(f"note: {NOTE_RECONNECT}", markup=False)
    console.print(f"note: {NOTE_CGNAT}", markup=False)


@vpn_app.command("events")
@handle_errors
def events_cmd(
    kind: Annotated[list[EventKind] | None, typer.Option(help="peer_down, peer_up, ...")] = None,
    network_id: Annotated[str | None, typer.Option("--network")] = None,
    json_out: JsonOpt = False,
) -> None:
    """VPN events (peer down/up, WAN IP changed), oldest first."""
    with cli_session() as session:
        events = [
            EventOut.of(e)
            for e in status.list_events(session=session, kinds=kind or [], network_id=network_id)
        ]
    if json_out:
        emit_json(events)
        return
    table = Table("at", "kind", "site", "peer", "detail")
    for e in events:
        table.add_row(show(e.at), e.kind, e.site_name, e.peer_name or "", e.detail)
    console.print(table)
