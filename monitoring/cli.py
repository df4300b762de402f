"""`netkeep monitor`: thin over the monitoring services (the local CLI acts as admin)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from core.cli_support import (
    cli_actor,
    cli_engine,
    cli_session,
    console,
    emit_json,
    err_console,
    handle_errors,
    settings,
)
from core.timeutil import show, utcnow
from monitoring.schemas import AlertOut, ContactOut, NoticeOut, OutageOut, PollsOut

monitor_app = typer.Typer(
    help="Device liveness: poll now, list outages and received alerts, open an RMA from an outage.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@monitor_app.command("poll")
@handle_errors
def poll_cmd(
    full_list: Annotated[
        bool, typer.Option("--full-list", help="read every availability, not the change history")
    ] = False,
    debounce_polls: Annotated[
        int | None,
        typer.Option(
            min=1, help="sightings before an outage (default NETKEEP_MONITOR_DEBOUNCE_POLLS)"
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Poll every monitored organization's device liveness once (NETKEEP_MONITOR_ORG_IDS, side
    by side); outages open after the debounce. Exit 1 when an organization could not be read."""
    from sqlmodel import Session

    from core.settings import business_calendar, monitor_organizations
    from dashboard.monitoring import MerakiMonitoring
    from monitoring.domain import Debounce
    from monitoring.polling import poll_organizations

    cfg = settings()
    engine = cli_engine()
    done = poll_organizations(  # per organization: read, dashboard with no transaction, write
        session_factory=lambda: Session(engine, expire_on_commit=False),
        dashboard=MerakiMonitoring.from_settings(cfg),
        organization_ids=monitor_organizations(cfg),
        actor=cli_actor(),
        now=utcnow(),
        debounce=Debounce(
            debounce_polls or cfg.monitor_debounce_polls, cfg.monitor_debounce_minutes
        ),
        prefer_change_history=cfg.monitor_change_history and not full_list,
        calendar=business_calendar(cfg),
    )
    done.raise_if_none_polled()
    out = PollsOut.of(done)
    if json_out:
        emit_json(out)
    else:
        for r in out.organizations:
            console.print(
                f"{r.organization_id}: {r.devices} device(s) by {r.method}: "
                f"{len(r.opened)} outage(s) opened {r.opened}, {len(r.closed)} closed {r.closed}"
                + (" (this tick was already polled)" if r.repeated else ""),
                highlight=False,
            )
        for f in out.failed:
            err_console.print(
                f"{f.organization_id}: not polled: {f.error}", highlight=False, markup=False
            )
    if out.failed:
        raise typer.Exit(1)


@monitor_app.command("outages")
@handle_errors
def outages_cmd(
    open_only: Annotated[bool, typer.Option("--open", help="only devices still down")] = False,
    serial: Annotated[str | None, typer.Option(help="one device")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    json_out: JsonOpt = False,
) -> None:
    """Outages, newest first (times in JST)."""
    from monitoring.service import list_outages

    with cli_session() as session:
        rows = [
            OutageOut.of(o)
            for o in list_outages(session=session, open_only=open_only, serial=serial, limit=limit)
        ]
    if json_out:
        emit_json(rows)
        return
    table = Table("id", "serial", "site", "customer", "since", "detected", "ended", "rma")
    for o in rows:
        table.add_row(
            str(o.id),
            o.serial,
            o.site or "",
            o.customer or "",
            show(o.started_at),
            show(o.detected_at),
            show(o.ended_at) or "still down",
            o.rma_number or "",
        )
    console.print(table)


@monitor_app.command("alerts")
@handle_errors
def alerts_cmd(
    serial: Annotated[str | None, typer.Option(help="one device")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    json_out: JsonOpt = False,
) -> None:
    """Alerts received from the dashboard's webhooks, newest first."""
    from monitoring.alerts import list_alerts

    with cli_session() as session:
        rows = [AlertOut.of(a) for a in list_alerts(session=session, serial=serial, limit=limit)]
    if json_out:
        emit_json(rows)
        return
    table = Table("alert", "type", "serial", "occurred", "received", "outage")
    for a in rows:
        table.add_row(
            a.alert_id,
            a.alert_type,
            a.serial or "",
            show(a.occurred_at),
            show(a.received_at),
            str(a.outage_id or ""),
        )
    console.print(table)


@monitor_app.command("rma")
@handle_errors
def rma_cmd(
    outage_id: Annotated[int, typer.Argument(help="outage id (netkeep monitor outages)")],
    reporter: Annotated[str, typer.Option(help="who reports it")] = "monitoring",
    json_out: JsonOpt = False,
) -> None:
    """Open the RMA for an outage's device in one step; the outage names the RMA."""
    from monitoring.service import open_rma_for_outage

    with cli_session() as session:
        outage = open_rma_for_outage(
            session=session,
            outage_id=outage_id,
            actor=cli_actor(),
            reporter=reporter,
            now=utcnow(),
        )
        out = OutageOut.of(outage)
    if json_out:
        emit_json(out)
        return
    console.print(f"outage {out.id} {out.serial}: {out.rma_number} opened", highlight=False)


@monitor_app.command("contact")
@handle_errors
def contact_cmd(
    customer: Annotated[str, typer.Argument(help="the customer, as on its contracts")],
    mail: Annotated[str | None, typer.Option(help="an e-mail address for failure notices")] = None,
    webhook: Annotated[str | None, typer.Option(help="a URL receiving signed notices")] = None,
    secret_name: Annotated[
        str | None, typer.Option(help="the customer's named secret signing the webhook")
    ] = None,
) -> None:
    """Add where a customer's failure notices go (one --mail or one --webhook)."""
    from monitoring.notices import MAIL, WEBHOOK, add_contact

    if (mail is None) == (webhook is None):
        raise typer.BadParameter("give exactly one of --mail and --webhook")
    with cli_session() as session:
        contact = add_contact(
            session=session,
            actor=cli_actor(),
            customer=customer,
            channel=MAIL if mail else WEBHOOK,
            address=mail or webhook or "",
            secret_name=secret_name,
            now=utcnow(),
        )
        shown = f"contact {contact.id}: {contact.customer} {contact.channel} {contact.address}"
    console.print(shown, highlight=False, markup=False)


@monitor_app.command("contacts")
@handle_errors
def contacts_cmd(
    customer: Annotated[str | None, typer.Option(help="one customer")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Where failure notices go (a webhook's secret by name only, never its value)."""
    from monitoring.contacts import contacts_query

    with cli_session() as session:
        rows = [ContactOut.of(c) for c in session.exec(contacts_query(customer=customer))]
    if json_out:
        emit_json(rows)
        return
    table = Table("id", "customer", "channel", "address", "secret")
    for c in rows:
        table.add_row(str(c.id), c.customer, c.channel, c.address, c.secret_name or "")
    console.print(table)


@monitor_app.command("contact-remove")
@handle_errors
def contact_remove_cmd(
    contact_id: Annotated[int, typer.Argument(help="contact id (netkeep monitor contacts)")],
) -> None:
    """Stop sending failure notices there (a secret netkeep stored for it is deleted)."""
    from monitoring.contacts import remove_contact

    with cli_session() as session:
        contact = remove_contact(
            session=session, actor=cli_actor(), contact_id=contact_id, now=utcnow()
        )
        shown = f"contact {contact.id} removed: {contact.customer} {contact.address}"
    console.print(shown, highlight=False, markup=False)


@monitor_app.command("deliver")
@handle_errors
def deliver_cmd() -> None:
    """Send the failure notices that are due now (the worker does it every minute)."""
    from core.db import get_engine
    from jobs.catalogue import JobContext, monitor_notices

    cfg = settings()
    result = monitor_notices(
        JobContext(settings=cfg, engine=get_engine(cfg.database_url)), utcnow()
    )
    assert isinstance(result, dict)
    console.print(
        f"{len(result['sent'])} notice(s) sent {result['sent']}, "
        f"{len(result['retrying'])} to retry {result['retrying']}",
        highlight=False,
        markup=False,
    )


@monitor_app.command("notices")
@handle_errors
def notices_cmd(
    unsent: Annotated[bool, typer.Option("--unsent", help="only those not sent yet")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    json_out: JsonOpt = False,
) -> None:
    """Failure notices: detected, due (the window's start), sent, attempts (times in JST)."""
    from monitoring.notices import list_notices

    with cli_session() as session:
        rows = [
            NoticeOut.of(n, c)
            for n, c in list_notices(session=session, unsent_only=unsent, limit=limit)
        ]
    if json_out:
        emit_json(rows)
        return
    table = Table("id", "outage", "to", "window", "detected", "due", "sent", "tries", "error")
    for n in rows:
        table.add_row(
            str(n.id),
            str(n.outage_id),
            n.recipient,
            n.service,
            show(n.detected_at),
            show(n.due_at),
            show(n.sent_at),
            str(n.attempts),
            n.last_error or "",
        )
    console.print(table)
