"""`netkeep contract`: thin over the contract services."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from core.cli_support import cli_actor, cli_session, console, emit_json, handle_errors
from core.timeutil import parse_instant, show, utcnow
from inventory import contracts as contract_service
from inventory import service
from inventory.cli import JsonOpt, device_table
from inventory.domain import Acquisition, ContractOption, ContractStatus, Plan
from inventory.schemas import ContractOut, DeviceOut

contract_app = typer.Typer(
    help="Contracts: devices, acceptance, initial fee, end.", no_args_is_help=True
)


def _print_contract(number: str, json_out: bool) -> None:
    with cli_session() as session:
        contract = contract_service.get_contract(session=session, number=number)
        devices = contract_service.contract_devices(session=session, contract=contract)
        owners = service.current_owners(session=session, devices=devices)
        out = ContractOut.of(contract, [DeviceOut.of(d, owners.get(d.id or 0)) for d in devices])
    if json_out:
        emit_json(out)
        return
    console.print(
        f"[bold]{out.number}[/bold] {out.customer} plan={out.plan} "
        f"options={','.join(out.options) or '-'} status={out.status}"
    )
    console.print(
        f"accepted {out.acceptance_date or '-'}; initial fee paid "
        f"{show(out.initial_fee_paid_at) or '-'}; ends {out.end_date or '-'}"
    )
    console.print(device_table(out.devices))


@contract_app.command("create")
@handle_errors
def contract_create(
    number: str,
    customer: Annotated[str, typer.Option()],
    plan: Annotated[Plan, typer.Option()],
    option: Annotated[list[ContractOption] | None, typer.Option(help="repeatable")] = None,
    application_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
) -> None:
    """Register a contract (status applied)."""
    with cli_session() as session:
        contract_service.create_contract(
            session=session,
            actor=cli_actor(),
            number=number,
            customer=customer,
            plan=plan,
            options=option or [],
            application_date=date.fromisoformat(application_date) if application_date else None,
        )
    console.print(f"contract {number} created")


@contract_app.command("attach")
@handle_errors
def contract_attach(
    number: str,
    serial: str,
    acquisition: Acquisition = Acquisition.SOLD,
    leasing_company: str | None = None,
) -> None:
    """Put a device on a contract (sold, or leased from a leasing company)."""
    with cli_session() as session:
        contract_service.attach_device(
            session=session,
            actor=cli_actor(),
            number=number,
            serial=serial,
            acquisition=acquisition,
            leasing_company=leasing_company,
            now=utcnow(),
        )
    console.print(f"{serial.upper()} is on contract {number}")


@contract_app.command("accept")
@handle_errors
def contract_accept(
    number: str, acceptance_date: Annotated[str, typer.Option(help="YYYY-MM-DD")]
) -> None:
    """Record the acceptance date (検収日)."""
    with cli_session() as session:
        contract_service.accept_contract(
            session=session,
            actor=cli_actor(),
            number=number,
            acceptance_date=date.fromisoformat(acceptance_date),
        )
    console.print(f"contract {number} accepted on {acceptance_date}")


@contract_app.command("paid")
@handle_errors
def contract_paid(
    number: str,
    paid_at: Annotated[
        str | None, typer.Option(help="when it was fully paid (default now)")
    ] = None,
) -> None:
    """Mark the initial fee fully paid: sold devices become the customer's (Art. 18)."""
    with cli_session() as session:
        events = contract_service.mark_initial_fee_paid(
            session=session,
            actor=cli_actor(),
            number=number,
            paid_at=parse_instant(paid_at) if paid_at else utcnow(),
        )
        moved = [e.serial for e in events]
    console.print(f"initial fee of {number} paid; ownership moved: {', '.join(moved) or 'none'}")


@contract_app.command("end")
@handle_errors
def contract_end(number: str, notice_date: Annotated[str, typer.Option(help="YYYY-MM-DD")]) -> None:
    """Record notice to end; lists the provider-owned units that must come back (Art. 23)."""
    with cli_session() as session:
        ended = contract_service.end_contract(
            session=session,
            actor=cli_actor(),
            number=number,
            notice_date=date.fromisoformat(notice_date),
        )
        back = [d.serial for d in ended.must_return]
    console.print(
        f"contract {number} ends {ended.end_date}; must come back: {', '.join(back) or 'none'}"
    )


@contract_app.command("return")
@handle_errors
def contract_return(number: str, serial: str) -> None:
    """A unit came back from an ended contract."""
    with cli_session() as session:
        contract_service.receive_contract_return(
            session=session, actor=cli_actor(), number=number, serial=serial, now=utcnow()
        )
    console.print(f"{serial.upper()} received back from {number}")


@contract_app.command("show")
@handle_errors
def contract_show(number: str, json_out: JsonOpt = False) -> None:
    """A contract with its devices and their owners."""
    _print_contract(number, json_out)


@contract_app.command("list")
@handle_errors
def contract_list(
    customer: str | None = None, status: ContractStatus | None = None, json_out: JsonOpt = False
) -> None:
    """Contracts, optionally by customer or status."""
    with cli_session() as session:
        rows = [
            ContractOut.of(c)
            for c in contract_service.list_contracts(
                session=session, customer=customer, status=status
            )
        ]
    if json_out:
        emit_json(rows)
        return
    table = Table("number", "customer", "plan", "options", "status", "accepted", "fee paid")
    for c in rows:
        table.add_row(
            c.number,
            c.customer,
            c.plan,
            ",".join(c.options),
            c.status,
            str(c.acceptance_date or ""),
            show(c.initial_fee_paid_at),
        )
    console.print(table)
