"""`netkeep sla`: thin over the SLA services (the local CLI acts as admin)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core.cli_support import cli_actor, cli_session, console, emit_json, handle_errors, note
from core.timeutil import parse_instant, show, utcnow
from sla import causes, service
from sla.domain import CreditBasis, OutageCause, parse_cause
from sla.schemas import CreditReportOut

sla_app = typer.Typer(
    help="SLA credits (seeds 004, 000): contract policies, outages, the monthly credit report.",
    no_args_is_help=True,
)


@sla_app.command("policy")
@handle_errors
def policy_cmd(
    contract: str,
    monthly_fee: Annotated[int, typer.Option(help="tax-exclusive monthly fee in yen")],
    basis: Annotated[
        CreditBasis, typer.Option(help="calendar_days (seed 004) or year_365 (seed 000)")
    ] = CreditBasis.CALENDAR_DAYS,
) -> None:
    """Set a contract's SLA monthly fee and credit basis."""
    with cli_session() as session:
        service.set_policy(
            session=session,
            actor=cli_actor(),
            contract_number=contract,
            monthly_fee_yen=monthly_fee,
            basis=basis,
            now=utcnow(),
        )
    console.print(f"{contract}: ¥{monthly_fee:,} a month, {basis.value}", highlight=False)


@sla_app.command("outage")
@handle_errors
def outage_cmd(
    contract: str,
    started: Annotated[str, typer.Option(help="YYYY-MM-DDTHH:MM JST")],
    ended: Annotated[str | None, typer.Option(help="YYYY-MM-DDTHH:MM JST; omit if ongoing")] = None,
    learned: Annotated[
        str | None, typer.Option(help="when the provider learned of it; default the start")
    ] = None,
    cause: Annotated[OutageCause, typer.Option(help="provider, negligence or customer")] = (
        OutageCause.PROVIDER
    ),
    note_text: Annotated[str, typer.Option("--note", help="what happened")] = "",
) -> None:
    """Record a period the contract's service was completely unusable."""
    start = parse_instant(started)
    with cli_session() as session:
        outage = service.record_outage(
            session=session,
            actor=cli_actor(),
            contract_number=contract,
            started_at=start,
            learned_at=parse_instant(learned) if learned else start,
            ended_at=parse_instant(ended) if ended else None,
            cause=cause,
            note=note_text,
            now=utcnow(),
        )
        outage_id = outage.id
    console.print(f"outage {outage_id} recorded for {contract}", highlight=False)


@sla_app.command("end")
@handle_errors
def end_cmd(
    outage_id: int, ended: Annotated[str, typer.Option(help="YYYY-MM-DDTHH:MM JST")]
) -> None:
    """Record the end of an ongoing outage."""
    with cli_session() as session:
        service.end_outage(
            session=session,
            actor=cli_actor(),
            outage_id=outage_id,
            ended_at=parse_instant(ended),
            now=utcnow(),
        )
    console.print(f"outage {outage_id} ended", highlight=False)


class CauseArg(StrEnum):
    PROVIDER = "provider"
    CUSTOMER = "customer"
    INTENT = "intent"  # the provider's intent or gross negligence
    NEGLIGENCE = "negligence"


@sla_app.command("cause")
@handle_errors
def cause_cmd(
    outage_id: Annotated[int, typer.Argument(help="SLA outage id (netkeep sla report)")],
    cause: Annotated[
        CauseArg,
        typer.Option(help="customer (no credit), provider, intent/negligence (every second)"),
    ],
    note_text: Annotated[str, typer.Option("--note", help="why the cause is corrected")] = "",
    monitoring: Annotated[
        bool,
        typer.Option(
            "--monitoring", help="OUTAGE is a monitoring outage (netkeep monitor outages)"
        ),
    ] = False,
) -> None:
    """Correct an outage's cause (monitoring records the provider's); the credit follows."""
    with cli_session() as session:
        change = causes.set_cause(
            session=session,
            actor=cli_actor(),
            outage_id=outage_id,
            cause=parse_cause(cause.value),
            note=note_text,
            now=utcnow(),
            source=causes.MONITORING_SOURCE if monitoring else None,
        )
        sla_id, now_cause = change.outage.id, change.outage.cause
    if change.credit_yen is None:
        credit = "credited once it ends" if change.outage.ended_at is None else "no SLA policy"
    else:
        credit = f"credit ¥{change.credit_before_yen or 0:,} → ¥{change.credit_yen:,}"
    console.print(
        f"SLA outage {sla_id} ({change.contract}): cause {change.before.value} → {now_cause}, "
        + credit,
        highlight=False,
        markup=False,
    )


@sla_app.command("report")
@handle_errors
def report_cmd(
    month: Annotated[str, typer.Option(help="YYYY-MM (JST)")],
    csv_out: Annotated[Path | None, typer.Option("--csv", help="write the rows as CSV")] = None,
    pdf_out: Annotated[Path | None, typer.Option("--pdf", help="write the Japanese PDF")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """The month's SLA credits per contract and per outage."""
    with cli_session() as session:
        report = service.credit_report(session=session, month=month)
    if csv_out is not None:
        from core.csv_export import write_csv

        count = write_csv(csv_out, service.report_csv_rows(report)) - 1
        note(f"{count} credit row(s) written to {csv_out}")
    if pdf_out is not None:
        from sla.report_pdf import render_credit_report

        pdf_out.write_bytes(render_credit_report(report))
        note(f"PDF written to {pdf_out}")
    if json_out:
        emit_json(CreditReportOut.of(report))
        return
    table = Table("contract", "customer", "outage", "from (JST)", "to (JST)", "days", "credit")
    for r in report.rows:
        table.add_row(
            r.contract,
            r.customer,
            str(r.outage_id),
            show(max(r.started_at, r.learned_at)),
            show(r.ended_at),
            str(r.full_days) if r.full_days else f"{r.seconds / 3600:.2f} h",
            f"¥{r.credit_yen:,}",
        )
    console.print(table)
    for t in report.totals:
        console.print(
            f"{t.contract}: credit ¥{t.credit_yen:,} (tax ¥{t.tax_yen:,})", highlight=False
        )
    console.print(f"total credit {month}: ¥{report.credit_yen:,}", highlight=False)
    for contract, outage_id, started in report.ongoing:
        note(f"ongoing: {contract} outage {outage_id} since {show(started)} (credited once ended)")
    for contract in report.without_policy:
        note(f"{contract} has outages but no SLA policy: `netkeep sla policy {contract} ...`")
