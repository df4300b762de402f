"""`netkeep incident`: thin over the helpdesk services (the local CLI acts as admin)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from core.cli_support import cli_actor, cli_session, console, emit_json, handle_errors, settings
from core.settings import business_calendar
from core.timeutil import parse_instant, show, utcnow
from helpdesk import service
from helpdesk.domain import Cause, Channel, CloseReason, IncidentKind, IncidentStatus, tokyo_month
from helpdesk.schemas import IncidentOut, MonthlyCountOut

incident_app = typer.Typer(
    help="Helpdesk incidents (seed 003): open, answer, reply, close, after-hours, list, counts, "
    "sweep.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
IncidentId = Annotated[int, typer.Argument(help="incident id (the number in INC-000123)")]
When = Annotated[str | None, typer.Option(help="YYYY-MM-DD[THH:MM] JST; default now")]


def _line(out: IncidentOut) -> str:
    due = f", auto-closes {show(out.auto_close_at)}" if out.auto_close_at else ""
    flag = " [over the monthly fault limit]" if out.over_limit else ""
    return f"{out.number} {out.contract} {out.kind}: {out.status}{due}{flag}"


def _done(outs: list[IncidentOut], json_out: bool) -> None:
    if json_out:
        emit_json(outs)
        return
    for out in outs:
        console.print(_line(out), highlight=False, markup=False)


@incident_app.command("open")
@handle_errors
def open_cmd(
    contract: str,
    question: Annotated[
        list[str], typer.Option("--question", "-q", help="one question (repeat for several)")
    ],
    reporter: Annotated[str, typer.Option(help="who contacted the desk")],
    channel: Annotated[Channel, typer.Option(help="how the contact arrived")] = Channel.PHONE,
    fault: Annotated[
        list[int] | None,
        typer.Option(help="1-based number of a question that is a fault response (repeatable)"),
    ] = None,
    received_at: When = None,
    confirm_over_limit: Annotated[
        bool,
        typer.Option("--confirm-over-limit", help="accept a fault response past 3 this month"),
    ] = False,
    outage: Annotated[
        int | None, typer.Option(help="the monitoring outage it is about (netkeep monitor outages)")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Accept a contact: each --question is one incident (consumed now)."""
    faults = set(fault or [])
    now = utcnow()
    with cli_session() as session:
        incidents = service.open_contact(
            session=session,
            actor=cli_actor(),
            contract_number=contract,
            questions=[
                service.Question(text, IncidentKind.FAULT if i in faults else IncidentKind.QUESTION)
                for i, text in enumerate(question, start=1)
            ],
            channel=channel,
            reporter=reporter,
            received_at=parse_instant(received_at) if received_at else now,
            now=now,
            confirm_over_limit=confirm_over_limit,
            outage_id=outage,
        )
        outs = [IncidentOut.of(i, contract) for i in incidents]
    _done(outs, json_out)


@incident_app.command("answer")
@handle_errors
def answer_cmd(
    incident_id: IncidentId,
    text: Annotated[str, typer.Option("--text", help="the desk's answer")],
    answered_at: When = None,
    json_out: JsonOpt = False,
) -> None:
    """The desk's answer; the incident closes 5 days later (JST days) without a reply."""
    now = utcnow()
    with cli_session() as session:
        incident = service.answer(
            session=session,
            actor=cli_actor(),
            incident_id=incident_id,
            text=text,
            answered_at=parse_instant(answered_at) if answered_at else now,
            now=now,
        )
        out = IncidentOut.of(
            incident, service.contract_number_of(session=session, incident=incident)
        )
    _done([out], json_out)


@incident_app.command("reply")
@handle_errors
def reply_cmd(incident_id: IncidentId, replied_at: When = None, json_out: JsonOpt = False) -> None:
    """The customer replied: the auto-close clock stops until the desk answers again."""
    now = utcnow()
    with cli_session() as session:
        incident = service.customer_reply(
            session=session,
            actor=cli_actor(),
            incident_id=incident_id,
            replied_at=parse_instant(replied_at) if replied_at else now,
            now=now,
        )
        out = IncidentOut.of(
            incident, service.contract_number_of(session=session, incident=incident)
        )
    _done([out], json_out)


@incident_app.command("close")
@handle_errors
def close_cmd(
    incident_id: IncidentId,
    reason: Annotated[CloseReason, typer.Option(help="consent or solved")],
    cause: Annotated[Cause | None, typer.Option(help="whose side the cause was on")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Close on the customer's consent or because it is solved."""
    with cli_session() as session:
        incident = service.close(
            session=session,
            actor=cli_actor(),
            incident_id=incident_id,
            reason=reason,
            cause=cause,
            now=utcnow(),
        )
        out = IncidentOut.of(
            incident, service.contract_number_of(session=session, incident=incident)
        )
    _done([out], json_out)


@incident_app.command("after-hours")
@handle_errors
def after_hours_cmd(
    incident_id: IncidentId,
    started: Annotated[str, typer.Option(help="when the work started, YYYY-MM-DDTHH:MM JST")],
    minutes: Annotated[int, typer.Option(help="minutes of work")],
    cause: Annotated[Cause, typer.Option(help="whose side the cause was on")],
    json_out: JsonOpt = False,
) -> None:
    """Record after-hours work: ¥3,000 per started half hour if the cause is billable."""
    with cli_session() as session:
        incident = service.bill_after_hours(
            session=session,
            actor=cli_actor(),
            incident_id=incident_id,
            work_started_at=parse_instant(started),
            minutes=minutes,
            cause=cause,
            calendar=business_calendar(settings()),
            now=utcnow(),
        )
        out = IncidentOut.of(
            incident, service.contract_number_of(session=session, incident=incident)
        )
    if not json_out:
        console.print(
            f"{out.number}: {out.after_hours_minutes} min after hours, "
            f"¥{out.after_hours_net_yen:,} + tax ¥{out.after_hours_tax_yen:,} "
            f"= ¥{out.after_hours_total_yen:,}",
            highlight=False,
        )
        return
    emit_json(out)


@incident_app.command("list")
@handle_errors
def list_cmd(
    contract: Annotated[str | None, typer.Option(help="one contract")] = None,
    status: Annotated[IncidentStatus | None, typer.Option(help="one status")] = None,
    month: Annotated[str | None, typer.Option(help="YYYY-MM (JST) of reception")] = None,
    limit: int = 100,
    json_out: JsonOpt = False,
) -> None:
    """Incidents, newest first."""
    with cli_session() as session:
        found = service.list_incidents(
            session=session, contract_number=contract, status=status, month=month, limit=limit
        )
        outs = [IncidentOut.of(i, n) for i, n in found.items]
    if json_out:
        emit_json(outs)
        return
    table = Table("number", "contract", "kind", "status", "received", "auto-close", "over limit")
    for o in outs:
        table.add_row(
            o.number,
            o.contract,
            o.kind,
            o.status,
            show(o.received_at),
            show(o.auto_close_at),
            "yes" if o.over_limit else "",
        )
    console.print(table)


@incident_app.command("counts")
@handle_errors
def counts_cmd(
    month: Annotated[str | None, typer.Option(help="YYYY-MM (JST); this month if omitted")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Per contract: incidents, fault responses (limit 3), those past it, after-hours charges."""
    month = month or tokyo_month(utcnow())
    with cli_session() as session:
        counts = service.monthly_counts(session=session, month=month)
    outs = [
        MonthlyCountOut(
            contract=c.contract,
            month=c.month,
            incidents=c.incidents,
            fault_responses=c.fault_responses,
            over_limit=c.over_limit,
            after_hours_total_yen=c.after_hours_total_yen,
        )
        for c in counts
    ]
    if json_out:
        emit_json(outs)
        return
    table = Table(
        "contract", "incidents", "fault responses", "over limit", "after hours (tax incl.)"
    )
    for o in outs:
        table.add_row(
            o.contract,
            str(o.incidents),
            str(o.fault_responses),
            str(o.over_limit),
            f"¥{o.after_hours_total_yen:,}",
        )
    console.print(table)


@incident_app.command("sweep")
@handle_errors
def sweep_cmd() -> None:
    """Close every incident answered 5 days ago (JST days) with no reply."""
    with cli_session() as session:
        closed = service.sweep(session=session, actor=cli_actor(), now=utcnow())
        numbers = [i.number for i in closed]
    console.print(f"{len(numbers)} incident(s) closed for no reply: {', '.join(numbers) or '-'}")
