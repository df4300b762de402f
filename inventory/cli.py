"""`netkeep inventory`, `netkeep catalogue` and `netkeep contract`: thin over the services."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core.audit import history
from core.cli_support import (
    cli_actor,
    cli_session,
    console,
    emit_json,
    err_console,
    handle_errors,
    note,
    settings,
)
from core.exit_codes import ExitCode
from core.timeutil import parse_instant, show, utcnow
from inventory import contracts as contract_service
from inventory import importer, service, stale_holds
from inventory.domain import (
    DeviceStatus,
    ProductType,
)
from inventory.schemas import CatalogueOut, DeviceOut, OwnershipEventOut

inventory_app = typer.Typer(
    help="Devices: import, list, show, status, reconcile.", no_args_is_help=True
)
catalogue_app = typer.Typer(
    help="The model catalogue (successors, list prices).", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def device_table(devices: list[DeviceOut]) -> Table:
    table = Table("serial", "model", "status", "customer", "site", "owner", "network")
    for d in devices:
        owner = f"{d.owner.kind}:{d.owner.name}" if d.owner else ""
        table.add_row(
            d.serial, d.model, d.status, d.customer or "", d.site or "", owner, d.network_id or ""
        )
    return table


@inventory_app.command("import")
@handle_errors
def import_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX")],
    commit: Annotated[
        bool, typer.Option(help="write (all rows or none); default is a dry run")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Import devices; a dry run lists every row's problems and what would change."""
    with cli_session() as session:
        report = importer.import_devices(
            session=session, actor=cli_actor(), path=file, now=utcnow(), commit=commit
        )
    if json_out:
        emit_json(
            report.summary()
            | {
                "problems": [p.to_dict() for p in report.problems],
                "created": report.created,
                "updated": report.updated,
            }
        )
    else:
        s = report.summary()
        mode = "imported" if report.committed else "dry run"
        console.print(
            f"{mode}: {s['rows']} rows, {s['created']} to create, {s['updated']} to update, "
            f"{s['unchanged']} unchanged, {s['problems']} problem(s)"
        )
        for problem in report.problems:
            err_console.print(f"  - {problem}", markup=False)
    if report.problems:
        raise typer.Exit(ExitCode.INVALID)


@inventory_app.command("list")
@handle_errors
def list_cmd(
    status: DeviceStatus | None = None,
    customer: str | None = None,
    model: str | None = None,
    site: str | None = None,
    contract: str | None = None,
    limit: int = 100,
    offset: int = 0,
    json_out: JsonOpt = False,
) -> None:
    """List devices with filters."""
    with cli_session() as session:
        contract_id = (
            contract_service.get_contract(session=session, number=contract).id if contract else None
        )
        filters = service.DeviceFilter(
            status=status, customer=customer, model=model, site=site, contract_id=contract_id
        )
        page = service.list_devices(session=session, filters=filters, limit=limit, offset=offset)
        items = [DeviceOut.of(d, page.owners.get(d.id or 0)) for d in page.items]
    if json_out:
        emit_json({"total": page.total, "items": items})
        return
    console.print(device_table(items))
    note(f"{len(items)} of {page.total}")


@inventory_app.command("show")
@handle_errors
def show_cmd(
    serial: str,
    at: Annotated[
        str | None, typer.Option(help="who owned it then: YYYY-MM-DD (JST) or ISO time")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """A device, its owner (now or --at a past moment), its ownership ledger and history."""
    with cli_session() as session:
        device = service.get_device(session=session, serial=serial)
        out = DeviceOut.of(device, service.current_owner(session=session, device=device))
        ledger = [
            OwnershipEventOut.of(e)
            for e in service.ownership_history(session=session, device=device)
        ]
        when = parse_instant(at) if at else None
        owner_then = None
        if when is not None:
            event = service.owner_event_at(session=session, device=device, at=when)
            owner_then = None if event is None else OwnershipEventOut.of(event)
        events = history(session, entity_type="device", entity_id=device.serial)
        log = [(show(e.at), e.actor, e.action, e.outcome) for e in events]
    if json_out:
        data: dict[str, object] = {"device": out, "ownership": ledger}
        if when is not None:
            data["at"] = when.isoformat()
            data["owner_at"] = owner_then
        emit_json(data)
        return
    console.print(device_table([out]))
    if when is not None:
        who = (
            f"{owner_then.owner_kind}:{owner_then.owner_name} ({owner_then.reason})"
            if owner_then
            else "nobody on record"
        )
        console.print(f"owner at {show(when)}: [bold]{who}[/bold]")
    table = Table("effective (JST)", "owner", "reason", "by", title="ownership ledger 所有権履歴")
    for e in ledger:
        table.add_row(show(e.effective_at), f"{e.owner_kind}:{e.owner_name}", e.reason, e.actor)
    console.print(table)
    table = Table("when (JST)", "who", "action", "outcome", title="history 変更履歴")
    for row in log:
        table.add_row(*row)
    console.print(table)


@inventory_app.command("status")
@handle_errors
def status_cmd(serial: str, target: DeviceStatus, note: str | None = None) -> None:
    """Move a device to another status (the transition table is enforced)."""
    with cli_session() as session:
        device = service.change_status(
            session=session,
            actor=cli_actor(),
            serial=serial,
            target=target,
            now=utcnow(),
            note=note,
        )
        console.print(f"{device.serial} is now {device.status}")


@inventory_app.command("release-hold")
@handle_errors
def release_hold_cmd(
    serial: str,
    reason: Annotated[str, typer.Option(help="why the hold is stale (audited)")],
) -> None:
    """Clear a stale RMA or job hold that `netkeep doctor` reports; a live hold is refused."""
    with cli_session() as session:
        device = stale_holds.release_hold(
            session=session, actor=cli_actor(), serial=serial, reason=reason, now=utcnow()
        )
        console.print(f"{device.serial}: hold released", markup=False, highlight=False)


@inventory_app.command("verify")
@handle_errors
def verify_cmd(serial: str) -> None:
    """Record that a stock unit was checked to work."""
    with cli_session() as session:
        device = service.mark_verified(
            session=session, actor=cli_actor(), serial=serial, now=utcnow()
        )
        console.print(f"{device.serial} verified at {show(device.verified_at)}")


@inventory_app.command("owner")
@handle_errors
def owner_cmd(
    serial: str,
    owner: Annotated[str, typer.Argument(help="KIND:NAME, e.g. customer:株式会社さくら商事")],
) -> None:
    """Correct the ledger: from now on the unit belongs to OWNER (audited, reason correction)."""
    from core.errors import Problem, ValidationFailed
    from inventory.domain import Owner, OwnerKind

    kind, _, name = owner.partition(":")
    kinds = [k.value for k in OwnerKind]
    if kind not in kinds or not name.strip():
        raise ValidationFailed(
            [Problem(f"{owner!r} is not KIND:NAME with KIND one of {', '.join(kinds)}", "owner")]
        )
    with cli_session() as session:
        service.correct_owner(
            session=session,
            actor=cli_actor(),
            serial=serial,
            owner=Owner(OwnerKind(kind), name.strip()),
            now=utcnow(),
        )
    console.print(f"{serial.upper()} now belongs to {kind}:{name.strip()}")


@inventory_app.command("reconcile")
@handle_errors
def reconcile_cmd(
    apply: Annotated[bool, typer.Option(help="import serials only the dashboard knows")] = False,
    org: Annotated[str | None, typer.Option(help="organization id (default from settings)")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Compare netkeep's inventory with the dashboard organization's (all pages)."""
    from dashboard.meraki import MerakiDashboard  # the Meraki SDK only for the commands using it
    from inventory import reconcile

    cfg = settings()
    dashboard = MerakiDashboard.from_settings(cfg)
    with cli_session() as session:
        report = reconcile.reconcile(
            session=session,
            dashboard=dashboard,
            actor=cli_actor(),
            organization_id=org or cfg.meraki_org_id,
            now=utcnow(),
            apply=apply,
        )
    data = {**report.__dict__, "in_sync": report.in_sync}
    if json_out:
        emit_json(data)
        return
    console.print(
        f"organization {report.organization_id}: dashboard {report.dashboard_count} devices, "
        f"netkeep {report.netkeep_count}"
    )
    for key, title in (
        ("only_in_dashboard", "only on the dashboard"),
        ("only_in_netkeep", "only in netkeep (expected on the dashboard)"),
        ("network_mismatch", "network differs"),
        ("model_mismatch", "model differs"),
    ):
        rows = data[key]
        assert isinstance(rows, list)
        if rows:
            table = Table(*rows[0].keys(), title=title)
            for r in rows:
                table.add_row(*(str(v) if v is not None else "" for v in r.values()))
            console.print(table)
    if report.imported:
        console.print(f"imported {len(report.imported)}: {', '.join(report.imported)}")
    if report.unknown_models:
        console.print(f"not imported (model not in catalogue): {', '.join(report.unknown_models)}")
    if report.in_sync:
        console.print("[green]in sync[/green]")


@catalogue_app.command("list")
@handle_errors
def catalogue_list(json_out: JsonOpt = False) -> None:
    """The model catalogue."""
    with cli_session() as session:
        rows = [CatalogueOut.of(m) for m in service.list_catalogue(session=session)]
    if json_out:
        emit_json(rows)
        return
    table = Table("model", "type", "successor", "list price (¥)", "end of sale")
    for r in rows:
        table.add_row(
            r.model,
            r.product_type,
            r.successor or "",
            f"{r.list_price_yen:,}",
            "yes" if r.end_of_sale else "",
        )
    console.print(table)


@catalogue_app.command("set")
@handle_errors
def catalogue_set(
    model: str,
    product_type: Annotated[ProductType, typer.Option()],
    price: Annotated[int, typer.Option(help="list price in yen, tax excluded")],
    successor: str | None = None,
    end_of_sale: bool = False,
    description: str = "",
) -> None:
    """Add or edit a catalogue model."""
    with cli_session() as session:
        row = service.upsert_catalogue_model(
            session=session,
            actor=cli_actor(),
            model=model,
            product_type=product_type,
            list_price_yen=price,
            successor=successor,
            end_of_sale=end_of_sale,
            description=description,
        )
        console.print(f"{row.model}: ¥{row.list_price_yen:,}, successor {row.successor or '-'}")
