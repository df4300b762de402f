"""`netkeep rma`: thin over the RMA services (the local CLI acts as admin)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from core.bounds import record_number
from core.cli_support import (
    cli_actor,
    cli_session,
    console,
    emit_json,
    handle_errors,
    note,
    settings,
)
from core.exit_codes import ExitCode
from core.timeutil import parse_instant, show, utcnow
from rma import replacement, returns, service, views
from rma.domain import Disposition, RmaStatus, SwapParty, format_yen
from rma.schemas import ChargeOut, ChargeRowOut, RmaOut
from rma.sweep import sweep

rma_app = typer.Typer(
    help="Advance-replacement (send-back) maintenance: open, decide, reserve, release, ship, swap, "
    "pick up, receive, sweep, remind, extend, waive.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
RmaId = Annotated[
    int,
    typer.Argument(
        help="the RMA: RMA-000123 or its id 123",
        parser=lambda value: record_number(value, "RMA"),
        metavar="RMA",
    ),
]


def _out(session: Session, rma_id: int) -> RmaOut:
    rma = service.get_rma(session=session, rma_id=rma_id)
    return RmaOut.of(
        rma,
        service.charge_of(session=session, rma=rma),
        service.reminders_of(session=session, rma=rma),
        service.mismatches_of(session=session, rma=rma),
    )


def _done(out: RmaOut, json_out: bool = False) -> None:
    if json_out:
        emit_json(out)
        return
    due = f", due {out.due_date}" if out.due_date else ""
    spare = f", replacement {out.replacement_serial}" if out.replacement_serial else ""
    console.print(f"{out.number} {out.failed_serial}: {out.status}{spare}{due}", highlight=False)


def _table(items: list[RmaOut]) -> Table:
    table = Table("number", "status", "customer", "failed", "replacement", "shipped", "due")
    for r in items:
        table.add_row(
            r.number,
            r.status,
            r.customer or "",
            f"{r.failed_serial} {r.failed_model}",
            f"{r.replacement_serial or ''} {r.replacement_model or ''}".strip(),
            show(r.shipped_at),
            str(r.due_date or ""),
        )
    return table


@rma_app.command("open")
@handle_errors
def open_cmd(
    serial: str,
    symptom: Annotated[str, typer.Option(help="what the customer reports")],
    reporter: Annotated[str, typer.Option(help="who reported it")],
    reported_at: Annotated[str | None, typer.Option(help="YYYY-MM-DD[THH:MM] JST")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Open an RMA from a failure report; the device becomes failed."""
    now = utcnow()
    with cli_session() as session:
        rma = service.open_rma(
            session=session,
            actor=cli_actor(),
            serial=serial,
            symptom=symptom,
            reporter=reporter,
            reported_at=parse_instant(reported_at) if reported_at else now,
            now=now,
        )
        out = _out(session, rma.id or 0)
    _done(out, json_out)


@rma_app.command("decide")
@handle_errors
def decide_cmd(
    rma_id: RmaId,
    replace: Annotated[
        bool, typer.Option("--replace/--remote", help="replacement needed, or resolved remotely")
    ],
    note: str = "",
) -> None:
    """The NOC's judgement on a report."""
    with cli_session() as session:
        service.decide(
            session=session,
            actor=cli_actor(),
            rma_id=rma_id,
            replace=replace,
            note=note,
            now=utcnow(),
        )
        out = _out(session, rma_id)
    _done(out)


@rma_app.command("reserve")
@handle_errors
def reserve_cmd(
    rma_id: RmaId,
    serial: Annotated[
        str | None, typer.Option(help="this unit rather than the automatic pick")
    ] = None,
) -> None:
    """Reserve a verified in-stock unit of the same model, else a successor (re-reserves too)."""
    with cli_session() as session:
        replacement.reserve_replacement(
            session=session, actor=cli_actor(), rma_id=rma_id, now=utcnow(), serial=serial
        )
        out = _out(session, rma_id)
    _done(out)
    if out.substitution:
        console.print(f"substitution: {out.failed_model} → {out.replacement_model}")


@rma_app.command("release")
@handle_errors
def release_cmd(
    rma_id: RmaId,
    reason: Annotated[str, typer.Option(help="why the reserved unit goes back to stock")],
) -> None:
    """Give the reserved replacement back to stock; `rma reserve` then sets another aside."""
    with cli_session() as session:
        replacement.release_replacement(
            session=session, actor=cli_actor(), rma_id=rma_id, reason=reason, now=utcnow()
        )
        out = _out(session, rma_id)
    _done(out)


@rma_app.command("ship")
@handle_errors
def ship_cmd(
    rma_id: RmaId,
    courier: Annotated[str, typer.Option()],
    tracking: Annotated[str, typer.Option(help="tracking number")],
    shipped_at: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD[THH:MM] JST; default now")
    ] = None,
) -> None:
    """Ship the replacement; prints the return due date."""
    now = utcnow()
    with cli_session() as session:
        replacement.ship_replacement(
            session=session,
            actor=cli_actor(),
            rma_id=rma_id,
            courier=courier,
            tracking_number=tracking,
            shipped_at=parse_instant(shipped_at) if shipped_at else now,
            policy=service.policy_from_settings(settings()),
            now=now,
        )
        out = _out(session, rma_id)
    _done(out)


@rma_app.command("swap")
@handle_errors
def swap_cmd(
    rma_id: RmaId,
    by: Annotated[
        SwapParty | None, typer.Option(help="who swapped (default from the plan)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="the person who swapped")] = None,
    dashboard: Annotated[
        bool, typer.Option("--dashboard/--no-dashboard", help="swap on the Meraki dashboard")
    ] = True,
) -> None:
    """Swap: dashboard first (bulk swap or claim+copy+remove), then contract, owner, statuses."""
    cfg = settings()
    from dashboard.meraki import MerakiDashboard  # the Meraki SDK only when it is used

    adapter = MerakiDashboard.from_settings(cfg) if dashboard else None
    with cli_session() as session:
        replacement.swap_replacement(
            session=session,
            actor=cli_actor(),
            rma_id=rma_id,
            now=utcnow(),
            dashboard=adapter,
            organization_id=cfg.meraki_org_id,
            swapped_by=by,
            swapped_by_name=name,
        )
        out = _out(session, rma_id)
    _done(out)


@rma_app.command("pickup")
@handle_errors
def pickup_cmd(
    rma_id: RmaId,
    on: Annotated[str, typer.Option("--date", help="pickup date YYYY-MM-DD")],
    courier: Annotated[str, typer.Option()],
    tracking: str = "",
) -> None:
    """Ask the courier to collect the failed unit at the site."""
    with cli_session() as session:
        service.request_pickup(
            session=session,
            actor=cli_actor(),
            rma_id=rma_id,
            pickup_date=date.fromisoformat(on),
            courier=courier,
            tracking_number=tracking,
            now=utcnow(),
        )
        out = _out(session, rma_id)
    _done(out)


@rma_app.command("receive")
@handle_errors
def receive_cmd(
    rma_id: RmaId,
    serial: Annotated[str, typer.Argument(help="the serial on the unit that arrived")],
    disposition: Disposition = Disposition.DISPOSE,
) -> None:
    """Receive a unit: a matching serial closes the RMA, any other is an exception."""
    with cli_session() as session:
        returns.receive_unit(
            session=session,
            actor=cli_actor(),
            rma_id=rma_id,
            serial=serial,
            disposition=disposition,
            policy=service.policy_from_settings(settings()),
            now=utcnow(),
        )
        out = _out(session, rma_id)
    _done(out)
    if out.status == RmaStatus.EXCEPTION:
        console.print(f"serial mismatch: expected {out.failed_serial}, got {out.mismatch_serial}")
        raise typer.Exit(ExitCode.CONFLICT)


@rma_app.command("sweep")
@handle_errors
def sweep_cmd(json_out: JsonOpt = False) -> None:
    """Mark overdue RMAs and issue their damage charge (once each; safe to run concurrently)."""
    with cli_session() as session:
        report = sweep(
            session=session,
            actor=cli_actor(),
            now=utcnow(),
            tax_rate_percent=settings().tax_rate_percent,
        )
    if json_out:
        emit_json(
            {"overdue": report.overdue, "charged": report.charged, "total_yen": report.total_yen}
        )
        return
    console.print(
        f"{len(report.overdue)} overdue, {len(report.charged)} charged, "
        f"{format_yen(report.total_yen)}"
    )


@rma_app.command("remind")
@handle_errors
def remind_cmd(json_out: JsonOpt = False) -> None:
    """Send the reminders due today (a passed one late, once; stored as notices) and list them.

    Passed reminders of a period that is over are marked missed, those of an RMA that no longer
    waits for its unit cancelled (`rma show` lists each reminder's outcome)."""
    with cli_session() as session:
        sent = returns.send_due_reminders(session=session, actor=cli_actor(), now=utcnow())
    if json_out:
        emit_json([_sent(s) for s in sent])
        return
    for s in sent:
        late = " (sent late)" if s.late else ""
        console.print(
            f"{s.number} {s.customer or ''}: reminder of {s.remind_on}{late}, due {s.due_date}"
        )
    console.print(f"{len(sent)} reminder(s) sent")


def _sent(s: returns.SentReminder) -> dict[str, object]:
    return {
        "rma_id": s.rma_id,
        "number": s.number,
        "remind_on": s.remind_on.isoformat(),
        "due_date": s.due_date.isoformat() if s.due_date else None,
        "customer": s.customer,
        "notice_id": s.notice_id,
        "late": s.late,
    }


@rma_app.command("extend")
@handle_errors
def extend_cmd(
    rma_id: RmaId,
    due: Annotated[str, typer.Option(help="new due date YYYY-MM-DD")],
    reason: Annotated[str, typer.Option()],
) -> None:
    """(admin) Give more time to return the failed unit."""
    with cli_session() as session:
        returns.extend_due_date(
            session=session,
            actor=cli_actor(),
            rma_id=rma_id,
            due_date=date.fromisoformat(due),
            reason=reason,
            policy=service.policy_from_settings(settings()),
            now=utcnow(),
        )
        out = _out(session, rma_id)
    _done(out)


@rma_app.command("waive")
@handle_errors
def waive_cmd(rma_id: RmaId, reason: Annotated[str, typer.Option()]) -> None:
    """(admin) Let the damage charge go; an issued charge is credited."""
    with cli_session() as session:
        returns.waive_charge(
            session=session,
            actor=cli_actor(),
            rma_id=rma_id,
            reason=reason,
            now=utcnow(),
            tax_rate_percent=settings().tax_rate_percent,
        )
        out = _out(session, rma_id)
    _done(out)


@rma_app.command("show")
@handle_errors
def show_cmd(rma_id: RmaId, json_out: JsonOpt = False) -> None:
    """One RMA with its charge and reminders."""
    with cli_session() as session:
        out = _out(session, rma_id)
    if json_out:
        emit_json(out)
        return
    console.print(_table([out]))
    if out.charge:
        c = out.charge
        credited = f", credited {show(c.credited_at)}" if c.credited_at else ""
        console.print(
            f"damage charge {format_yen(c.total_yen)} (net {format_yen(c.net_yen)}, "
            f"tax {format_yen(c.tax_yen)}), issued {show(c.issued_at)}{credited}"
        )
    for r in out.reminders:
        state = f"{r.outcome} {show(r.outcome_at)}" if r.outcome else "planned"
        console.print(f"reminder {r.remind_on}: {state}")
    for m in out.mismatches:
        console.print(
            f"serial mismatch: expected {m.expected_serial}, received {m.received_serial} "
            f"by {m.received_by} at {show(m.received_at)}",
            highlight=False,
        )


@rma_app.command("list")
@handle_errors
def list_cmd(
    status: RmaStatus | None = None,
    view: Annotated[
        str | None,
        typer.Option(help="open-by-state | due-this-week | overdue | charges-this-month"),
    ] = None,
    limit: int = 100,
    offset: int = 0,
    csv_out: Annotated[
        Path | None, typer.Option("-o", "--out", "--csv", help="write every match as CSV")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """List RMAs, or one of the logistics views."""
    now = utcnow()
    with cli_session() as session:
        if csv_out is not None:
            from core.csv_export import write_csv

            count = write_csv(csv_out, views.export_rows(session=session, status=status)) - 1
            console.print(f"{count} RMA(s) written to {csv_out}")
            return
        if view == "open-by-state":
            counts = views.open_by_state(session=session)
            if json_out:
                emit_json(counts)
            else:
                for name, n in sorted(counts.items()):
                    console.print(f"{name:22} {n}")
            return
        if view == "charges-this-month":
            charges = [
                ChargeRowOut(number=rma.number, customer=rma.customer, charge=ChargeOut.of(c))
                for c, rma in views.charges_in_month(session=session, now=now)
            ]
            if json_out:
                emit_json(charges)
            else:
                for line in charges:
                    total_yen = format_yen(line.charge.total_yen)
                    console.print(f"{line.number} {line.customer or ''} {total_yen}")
            return
        if view == "due-this-week":
            items = [RmaOut.of(r) for r in views.due_this_week(session=session, now=now)]
            total = len(items)
        elif view == "overdue":
            items = [RmaOut.of(r) for r in views.overdue(session=session, now=now)]
            total = len(items)
        elif view is None:
            page = views.list_rmas(session=session, status=status, limit=limit, offset=offset)
            items, total = [RmaOut.of(r) for r in page.items], page.total
        else:
            console.print(f"unknown view {view!r}", style="red")
            raise typer.Exit(ExitCode.INVALID)
    if json_out:
        emit_json({"total": total, "items": items})
        return
    console.print(_table(items))
    note(f"{len(items)} of {total}")


@rma_app.command("notice")
@handle_errors
def notice_cmd(
    rma_id: RmaId,
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="PDF file; default stdout")
    ] = None,
) -> None:
    """Write the damage-charge notice (機器損害金のご請求) PDF."""
    with cli_session() as session:
        from rma.notice_pdf import render_damage_notice  # reportlab only to print

        pdf = render_damage_notice(views.damage_notice(session=session, rma_id=rma_id))
    if out is None:
        sys.stdout.buffer.write(pdf)
    else:
        out.write_bytes(pdf)
        console.print(f"written {out}")
